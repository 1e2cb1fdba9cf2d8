"""The one protocol every model backend speaks: messages and tool specs in, a reply and/or tool calls out."""

from __future__ import annotations

from typing import Any, Callable, Protocol, runtime_checkable

from pydantic import BaseModel, Field


class ToolSpec(BaseModel):
    """What a model is told about one tool."""

    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments (pydantic model_json_schema())


class ToolCall(BaseModel):
    """One tool call proposed by the model. `arguments` is a dict when it parsed, else the raw text."""

    id: str
    name: str
    arguments: dict[str, Any] | str = Field(default_factory=dict)


class ModelReply(BaseModel):
    """One model step: either text, or an ordered list of (at most `max_actions`) tool calls, or both."""

    text: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    seconds: float = 0.0
    streamed: bool = False  # True when `text` was already delivered through on_text
    # Set when the backend's output did not match the expected shape (schema mode: see action_schema.py).
    # With `text` set the reply is still usable (e.g. prose instead of JSON); with neither text nor
    # tool_calls the step failed and the runtime should retry it or fall back.
    error: str | None = None
    raw: str | None = None  # the raw output text (schema mode), for logs only; never show it to a customer


class ModelError(Exception):
    """The backend failed for good (after its retries, or a non-retryable error)."""


TextCallback = Callable[[str], None]


@runtime_checkable
class ChatModel(Protocol):
    """A model backend.

    messages: OpenAI chat format dicts (system/user/assistant/tool; assistant messages may carry
      `tool_calls` in OpenAI shape, tool messages carry `tool_call_id`).
    tools: every tool the agent has, always the same list in the same order (keeps prompt prefixes stable).
    allowed: names of the tools the model may call in this step (None = all). Backends must make it
      impossible (schema) or at least ineffective (filtering) to call anything else.
    reply_only: the model must answer with text, no tool call.
    max_actions: the most tool calls one step may propose (the session's agenda).
    on_text: called with text deltas of the reply as they are generated (streaming UIs).
    """

    name: str

    def complete(
        self,
        messages: list[dict[str, Any]],
        tools: list[ToolSpec],
        *,
        allowed: list[str] | None = None,
        reply_only: bool = False,
        max_actions: int = 3,
        on_text: TextCallback | None = None,
    ) -> ModelReply: ...
