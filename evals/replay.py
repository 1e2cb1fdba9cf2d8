"""Replay: the scenario's recorded agent steps played by the scripted model, one customer turn at a
time, so the whole pipeline runs with no LLM and a divergence is reported at the turn it happens."""

from __future__ import annotations

import json
from typing import Any

from agent.models.base import ModelReply, TextCallback, ToolCall, ToolSpec
from agent.models.scripted import ScriptedModel, ScriptExhausted
from evals.scenario import ReplayStep


def scripted_step(step: ReplayStep, turn: int, index: int) -> Any:
    """A ReplayStep in ScriptedModel's step format."""
    if step.reply is not None:
        return step.reply
    return [ToolCall(id=f"call_t{turn}_{index}_{n}", name=c.tool, arguments=c.args)
            for n, c in enumerate(step.calls or [], 1)]


class ReplayModel:
    """A ChatModel that serves the current turn's replay steps through a ScriptedModel.

    `begin_turn(turn, steps)` before the customer's message, `end_turn()` after it; `problems` collects
    (turn, message) for every divergence: the runtime asked for more steps than the turn has, fewer,
    or a reply where the replay has tool calls."""

    name = "replay"

    def __init__(self) -> None:
        self.turn = 0
        self.script = ScriptedModel(name="replay")
        self.problems: list[tuple[int, str]] = []
        self.understanding: dict[str, Any] | str | None = None
        self.understood = False

    def begin_turn(self, turn: int, steps: list[ReplayStep], understand: dict[str, Any] | str | None = None) -> None:
        self.turn = turn
        self.script = ScriptedModel([scripted_step(s, turn, i) for i, s in enumerate(steps, 1)], name="replay")
        self.understanding = understand
        self.understood = False

    def structured(self, messages: list[dict[str, Any]], schema: dict[str, Any], *,
                   max_tokens: int | None = None) -> ModelReply:
        """The turn's recorded understanding (one per turn)."""
        if self.understanding is None or self.understood:
            self.problems.append((self.turn, f"replay diverged at turn {self.turn}: the runtime asked for an "
                                  f"understanding the replay does not have"))
            raise ScriptExhausted("no recorded understanding for this turn")
        self.understood = True
        step = self.understanding
        text = step if isinstance(step, str) else json.dumps(step, ensure_ascii=False, separators=(",", ":"))
        return ModelReply(text=text, raw=text)

    def end_turn(self) -> None:
        if self.understanding is not None and not self.understood:
            self.problems.append((self.turn, f"replay diverged at turn {self.turn}: the replay has an understanding "
                                  f"the runtime never asked for"))
        if self.script.remaining:
            self.problems.append((self.turn, f"replay diverged at turn {self.turn}: the runtime asked for "
                                  f"{self.script.position} model step(s), the replay has {len(self.script.steps)} "
                                  f"({self.script.remaining} unused)"))

    def complete(self, messages: list[dict[str, Any]], tools: list[ToolSpec], *, allowed: list[str] | None = None,
                 reply_only: bool = False, max_actions: int = 3, on_text: TextCallback | None = None) -> ModelReply:
        position = self.script.position
        if position < len(self.script.steps):
            step = self.script.steps[position]
            if reply_only and isinstance(step, list):
                self.problems.append((self.turn, f"replay diverged at turn {self.turn}, step {position + 1}: the "
                                      f"runtime asked for a reply only, the replay has tool calls "
                                      f"({', '.join(c.name for c in step)})"))
        try:
            return self.script.complete(messages, tools, allowed=allowed, reply_only=reply_only,
                                        max_actions=max_actions, on_text=on_text)
        except ScriptExhausted:
            kind = "a reply" if reply_only else "a step"
            self.problems.append((self.turn, f"replay diverged at turn {self.turn}: the runtime asked for {kind} "
                                  f"(step {position + 1}) but the replay has only {len(self.script.steps)}"))
            raise


class RecordingModel:
    """Wraps a live ChatModel and keeps each step it takes, in the replay format, so a live run's
    JSON shows what the model did and a good conversation can be turned into a scenario's replay."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.steps: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:  # name, warm, schema_mode, ... of the wrapped model
        return getattr(self.model, name)

    def structured(self, messages: list[dict[str, Any]], schema: dict[str, Any], **kwargs: Any) -> ModelReply:
        reply = self.model.structured(messages, schema, **kwargs)
        try:
            understood: Any = json.loads(reply.text or "")
        except ValueError:
            understood = reply.text or ""
        self.steps.append({"understand": understood})
        return reply

    def complete(self, messages: list[dict[str, Any]], tools: list[ToolSpec], **kwargs: Any) -> ModelReply:
        reply = self.model.complete(messages, tools, **kwargs)
        if reply.tool_calls and not kwargs.get("reply_only"):
            step: dict[str, Any] = {"calls": [{"tool": c.name, "args": c.arguments} for c in reply.tool_calls]}
        else:
            step = {"reply": reply.text or ""}
        if kwargs.get("reply_only"):
            step["reply_only"] = True
        self.steps.append(step)
        return reply
