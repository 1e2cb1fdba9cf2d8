"""A deterministic model for tests and replays: plays a given list of steps in order.

A step is one of:
- a ModelReply                         -> returned as is (a copy);
- a str                                -> ModelReply(text=str);
- a dict {"tool": name, "arguments": {...}} -> one tool call (id generated: "call_1", "call_2", ...);
- a list of such dicts                 -> several tool calls in one step;
- an Exception instance                -> raised (e.g. ModelError("down") to test the runtime's handling);
- a callable f(messages, allowed, reply_only) -> any of the above (evaluated when the step is played).

Every request is recorded in `requests` (ScriptedRequest: messages copy, tool names, allowed, reply_only,
max_actions). `on_text` gets the reply text in word-sized deltas. When the script is exhausted,
`complete` raises ScriptExhausted (a ModelError, so a runtime treats it as a model failure and a test
sees a clear message). Calls to tools outside `allowed` (or any call when reply_only) are NOT filtered:
the script says exactly what the "model" does, so tests can check that the runtime guards them; pass
`enforce_allowed=True` to drop them like the real backends do.

`FunctionModel(f)` answers every structured step with one stateless function f(messages, schema),
so any number of sessions and worker processes share it with no script position: a server or a
benchmark without a model (`--model scripted:MODULE:FUNCTION`, e.g. the demo-store customer of
agent/models/scripted_steps.py).
"""

from __future__ import annotations

import copy
import importlib
import json
import itertools
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .base import ModelError, ModelReply, TextCallback, ToolCall, ToolSpec


class ScriptExhausted(ModelError):
    """The scripted model was asked for more steps than it was given."""


@dataclass
class ScriptedRequest:
    messages: list[dict[str, Any]]
    tools: list[str]
    allowed: list[str] | None
    reply_only: bool
    max_actions: int
    extra: dict[str, Any] = field(default_factory=dict)


Step = Any  # ModelReply | str | dict | list[dict] | BaseException | Callable[..., Any]


class ScriptedModel:
    name = "scripted"

    def __init__(self, steps: Iterable[Step] = (), *, enforce_allowed: bool = False, name: str = "scripted"):
        self.steps: list[Step] = list(steps)
        self.position = 0
        self.requests: list[ScriptedRequest] = []
        self.enforce_allowed = enforce_allowed
        self.name = name
        self._ids = itertools.count(1)

    def add(self, *steps: Step) -> "ScriptedModel":
        self.steps.extend(steps)
        return self

    @property
    def remaining(self) -> int:
        return len(self.steps) - self.position

    def complete(
        self,
        messages: list[dict[str, Any]],
        tools: list[ToolSpec],
        *,
        allowed: list[str] | None = None,
        reply_only: bool = False,
        max_actions: int = 3,
        on_text: TextCallback | None = None,
    ) -> ModelReply:
        self.requests.append(
            ScriptedRequest(copy.deepcopy(messages), [t.name for t in tools], list(allowed) if allowed is not None else None, reply_only, max_actions)
        )
        if self.position >= len(self.steps):
            last = next((m.get("content") for m in reversed(messages) if m.get("role") == "user"), None)
            raise ScriptExhausted(
                f"scripted model has no step #{self.position + 1} (script has {len(self.steps)}); last user message: {last!r}"
            )
        step = self.steps[self.position]
        self.position += 1
        if callable(step) and not isinstance(step, (ModelReply, BaseException)):
            step = step(messages, allowed, reply_only)
        reply = self._to_reply(step)
        if self.enforce_allowed:
            keep = [c for c in reply.tool_calls if not reply_only and (allowed is None or c.name in allowed)]
            reply.tool_calls = keep[:max_actions]
        if on_text is not None and reply.text:
            for delta in re.findall(r"\S+\s*|\s+", reply.text):
                on_text(delta)
        return reply

    def structured(self, messages: list[dict[str, Any]], schema: dict[str, Any], *,
                   max_tokens: int | None = None) -> ModelReply:
        """The next step as a constrained answer: a dict is sent as its JSON, a str as is."""
        self.requests.append(ScriptedRequest(copy.deepcopy(messages), [], None, False, 0, {"schema": schema}))
        if self.position >= len(self.steps):
            raise ScriptExhausted(f"scripted model has no step #{self.position + 1} (script has {len(self.steps)})")
        step = self.steps[self.position]
        self.position += 1
        if callable(step) and not isinstance(step, BaseException):
            step = step(messages, schema)
        if isinstance(step, BaseException):
            raise step
        text = step if isinstance(step, str) else json.dumps(step, ensure_ascii=False, separators=(",", ":"))
        return ModelReply(text=text, raw=text)

    def _to_reply(self, step: Step) -> ModelReply:
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, ModelReply):
            return step.model_copy(deep=True)
        if isinstance(step, str):
            return ModelReply(text=step)
        if isinstance(step, dict):
            step = [step]
        if isinstance(step, list):
            return ModelReply(tool_calls=[self._call(d) for d in step])
        raise TypeError(f"unsupported scripted step: {step!r}")

    def _call(self, d: Any) -> ToolCall:
        if isinstance(d, ToolCall):
            return d.model_copy(deep=True)
        if not isinstance(d, dict) or "tool" not in d:
            raise TypeError(f"a scripted tool call is {{'tool': name, 'arguments': {{...}}}}, not {d!r}")
        return ToolCall(id=d.get("id") or f"call_{next(self._ids)}", name=d["tool"], arguments=d.get("arguments", {}))


class FunctionModel:
    """Every structured step is `step(messages, schema)` (a dict, sent as its JSON, or a str); nothing
    is recorded, so it can serve for hours. Only the understanding step: `complete` is not offered."""

    def __init__(self, step: Callable[[list[dict[str, Any]], dict[str, Any]], Any], *, name: str = "scripted"):
        self.step = step
        self.name = name

    @classmethod
    def named(cls, target: str) -> "FunctionModel":
        """From "package.module:function" (the part of `scripted:...` after the colon)."""
        module, _, attr = target.partition(":")
        try:
            step = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError, ValueError) as exc:
            raise ModelError(f"no scripted step function {target!r}: {exc}") from exc
        return cls(step, name=f"scripted:{target}")

    def structured(self, messages: list[dict[str, Any]], schema: dict[str, Any], *,
                   max_tokens: int | None = None) -> ModelReply:
        step = self.step(messages, schema)
        text = step if isinstance(step, str) else json.dumps(step, ensure_ascii=False, separators=(",", ":"))
        return ModelReply(text=text, raw=text)

    def complete(self, messages: list[dict[str, Any]], tools: list[ToolSpec], **kwargs: Any) -> ModelReply:
        raise ModelError(f"{self.name} only answers the understanding step (use --reply composed)")
