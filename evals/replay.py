"""Replay: each customer turn's recorded understanding served to the runtime's understanding step (the
one model step of a message), so the whole pipeline runs with no LLM and a divergence is reported at
the turn it happens."""

from __future__ import annotations

import json
from typing import Any

from agent.models.base import ModelReply, TextCallback, ToolSpec
from agent.models.scripted import ScriptExhausted


class ReplayModel:
    """A ChatModel that serves the current turn's recorded understanding (and translation).

    `begin_turn(turn, understand, translation)` before the customer's message (or button press),
    `end_turn()` after it; `problems` collects (turn, message) for every divergence: the runtime asked
    for an understanding or a reply the turn does not have, or did not ask for one it has."""

    name = "replay"

    def __init__(self) -> None:
        self.turn = 0
        self.problems: list[tuple[int, str]] = []
        self.understanding: dict[str, Any] | str | None = None
        self.understood = False
        self.translation: str | None = None

    def begin_turn(self, turn: int, understand: dict[str, Any] | str | None = None,
                   translation: str | None = None) -> None:
        self.turn = turn
        self.understanding = understand
        self.understood = False
        self.translation = translation

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
        if self.translation is not None:
            self.problems.append((self.turn, f"replay diverged at turn {self.turn}: the replay has a translation "
                                  f"the runtime never asked for"))

    def complete(self, messages: list[dict[str, Any]], tools: list[ToolSpec], *, allowed: list[str] | None = None,
                 reply_only: bool = False, max_actions: int = 3, on_text: TextCallback | None = None) -> ModelReply:
        """The turn's recorded translation of the composed reply (once); any other reply diverges."""
        if reply_only and self.translation is not None:
            text, self.translation = self.translation, None
            return ModelReply(text=text, raw=text)
        self.problems.append((self.turn, f"replay diverged at turn {self.turn}: the runtime asked the model for "
                              f"a reply the replay does not have"))
        raise ScriptExhausted("no recorded model reply for this turn")


class RecordingModel:
    """Wraps a live ChatModel and keeps each step it takes, so a live run's JSON shows what the model
    did: the runtime's understandings as `{"understand": ...}` (a scenario turn's replay), the
    baseline's steps as `{"calls": [...]}` or `{"reply": ...}`."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.steps: list[dict[str, Any]] = []
        self.injected: dict[str, Any] | str | None = None

    def inject(self, understanding: dict[str, Any] | str) -> None:
        """Serve this (a fault under test) instead of the model's next understanding."""
        self.injected = understanding

    def __getattr__(self, name: str) -> Any:  # name, warm, schema_mode, ... of the wrapped model
        return getattr(self.model, name)

    def structured(self, messages: list[dict[str, Any]], schema: dict[str, Any], **kwargs: Any) -> ModelReply:
        if self.injected is not None:
            step, self.injected = self.injected, None
            text = step if isinstance(step, str) else json.dumps(step, ensure_ascii=False, separators=(",", ":"))
            self.steps.append({"understand": step, "fault": True})
            return ModelReply(text=text, raw=text)
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
