"""Model backends behind one protocol (base.ChatModel). Pick one with `load_model(spec)`.

Specs: `local` (embedded Qwen2.5-Coder-1.5B, the default), `local-small` (0.5B), `openai:NAME`
(native tools), `openai-schema:NAME` (constrained JSON schema mode), or a ChatModel object (returned as is).
For tests and benchmarks: `scripted` (an empty ScriptedModel) and `scripted:MODULE:FUNCTION` (every
understanding step answered by that function, scripted.FunctionModel).
Env SUPPORT_AGENT_MODEL gives the default spec; OPENAI_API_KEY / OPENAI_BASE_URL configure openai:*.
Loading is lazy: `load_model` never touches the weights; the first `complete`/`warm` does.
"""

from __future__ import annotations

import os
from typing import Any

from .base import ChatModel, ModelError, ModelReply, TextCallback, ToolCall, ToolSpec

__all__ = ["ChatModel", "ModelError", "ModelReply", "TextCallback", "ToolCall", "ToolSpec", "load_model", "DEFAULT_SPEC"]

DEFAULT_SPEC = "local"


def load_model(spec: str | ChatModel | None = None, **options: Any) -> ChatModel:
    """Build the backend named by `spec` (None -> env SUPPORT_AGENT_MODEL, else `local`).

    `options` go to the backend's constructor (e.g. n_ctx=8192 for local, timeout=30 for openai).
    Raises ModelError for an unknown spec.
    """
    if spec is not None and not isinstance(spec, str):
        if isinstance(spec, ChatModel):
            return spec
        raise ModelError(f"not a model spec or ChatModel: {spec!r}")
    spec = (spec or os.environ.get("SUPPORT_AGENT_MODEL") or DEFAULT_SPEC).strip()
    if spec in ("local", "local-small"):
        from .embedded import EmbeddedModel

        return EmbeddedModel(small=spec == "local-small", **options)
    kind, _, name = spec.partition(":")
    if kind in ("openai", "openai-schema") and name:
        from .openai_compat import OpenAIModel

        return OpenAIModel(name, mode="tools" if kind == "openai" else "schema", **options)
    if spec == "scripted":
        from .scripted import ScriptedModel

        return ScriptedModel(**options)
    if kind == "scripted" and name:
        from .scripted import FunctionModel

        return FunctionModel.named(name)
    raise ModelError(f"unknown model spec {spec!r}: use local, local-small, openai:NAME or openai-schema:NAME")
