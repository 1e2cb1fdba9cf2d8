"""Schema mode: the JSON-schema-constrained output of one model step, its parser, and message rendering.

One step's output is either `{"reply": "..."}` or `{"actions": [{"tool": NAME, "arguments": {...}}, ...]}`.
`step_schema()` builds that union with one branch per allowed tool (its argument schema with `$ref`s
inlined, since llama.cpp's grammar converter does not follow `$defs`), so a constrained decoder can
only produce a known tool with schema-valid arguments, or a reply.

`parse_step()` never raises. Outcomes:
- a valid reply / actions  -> ModelReply(text=...) / ModelReply(tool_calls=[...]), `error=None`;
- prose that is not JSON   -> ModelReply(text=<the prose>, error="output was not JSON ...") - usable as
  a reply (an unconstrained endpoint ignored the format); `raw` holds the output;
- broken JSON or wrong shape (e.g. truncated at max_tokens) -> ModelReply(text=None, tool_calls=[],
  error="...", raw=<output>): the runtime should retry the step or fall back; never show `raw` to a customer.
Calls of tools that are not allowed are dropped (noted in `error`); more than max_actions are truncated.
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from .base import ModelReply, ToolCall, ToolSpec

REPLY_BRANCH: dict[str, Any] = {
    "type": "object",
    "properties": {"reply": {"type": "string"}},
    "required": ["reply"],
}


def new_call_id() -> str:
    return "call_" + uuid.uuid4().hex[:16]


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Return `schema` with local `$ref`s (`#/$defs/X`, `#/definitions/X`) replaced by their targets.

    Drops `$defs`/`definitions` and pydantic's cosmetic `title`s; recursive models are cut at depth 8
    (replaced by `{}`), which the grammar converter accepts.
    """
    defs: dict[str, Any] = {}
    defs.update(schema.get("definitions", {}))
    defs.update(schema.get("$defs", {}))

    def resolve(node: Any, depth: int) -> Any:
        if isinstance(node, list):
            return [resolve(x, depth) for x in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            ref = node["$ref"]
            name = ref.rsplit("/", 1)[-1]
            if not ref.startswith("#/") or name not in defs or depth > 8:
                return {}
            target = resolve(copy.deepcopy(defs[name]), depth + 1)
            extra = {k: resolve(v, depth) for k, v in node.items() if k != "$ref"}
            if extra:  # sibling keywords next to $ref (e.g. description, default)
                target = {**target, **{k: v for k, v in extra.items() if k not in target}}
            return target
        out = {}
        for key, value in node.items():
            if key in ("$defs", "definitions", "title"):
                continue
            if key in ("properties", "patternProperties") and isinstance(value, dict):
                out[key] = {k: resolve(v, depth) for k, v in value.items()}  # property names named 'title' stay
            else:
                out[key] = resolve(value, depth)
        return out

    resolved = resolve(schema, 0)
    if resolved.get("type") is None and "properties" in resolved:
        resolved["type"] = "object"
    if resolved == {}:
        resolved = {"type": "object"}
    return resolved


def action_branch(tool: ToolSpec) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"tool": {"const": tool.name}, "arguments": inline_refs(tool.parameters)},
        "required": ["tool", "arguments"],
    }


def allowed_tools(tools: list[ToolSpec], allowed: list[str] | None) -> list[ToolSpec]:
    """The tools that may be called this step, in the agent's order (unknown names in `allowed` ignored)."""
    if allowed is None:
        return list(tools)
    names = set(allowed)
    return [t for t in tools if t.name in names]


def step_schema(
    tools: list[ToolSpec], allowed: list[str] | None = None, *, reply_only: bool = False, max_actions: int = 3
) -> dict[str, Any]:
    """The union schema of one step: a reply, or 1..max_actions calls of allowed tools."""
    usable = [] if reply_only else allowed_tools(tools, allowed)
    if not usable or max_actions < 1:
        return copy.deepcopy(REPLY_BRANCH)
    actions = {
        "type": "object",
        "properties": {
            "actions": {
                "type": "array",
                "minItems": 1,
                "maxItems": max_actions,
                "items": {"anyOf": [action_branch(t) for t in usable]},
            }
        },
        "required": ["actions"],
    }
    return {"anyOf": [copy.deepcopy(REPLY_BRANCH), actions]}


def response_format(schema: dict[str, Any], *, strict: bool = False) -> dict[str, Any]:
    """The OpenAI `response_format` carrying a step schema."""
    return {"type": "json_schema", "json_schema": {"name": "step", "schema": schema, "strict": strict}}


def parse_step(raw: str | None, allowed: list[str] | None = None, *, reply_only: bool = False, max_actions: int = 3) -> ModelReply:
    """Turn a schema-mode output into a ModelReply (see the module docstring for the error contract)."""
    text = (raw or "").strip()
    if text.startswith("```"):  # some endpoints fence JSON
        text = text.strip("`").removeprefix("json").strip()
    if not text:
        return ModelReply(error="empty model output", raw=raw)
    try:
        data = json.loads(text)
    except ValueError as exc:
        if not text.startswith(("{", "[", '"')):
            return ModelReply(text=text, error="output was not JSON; used as reply text", raw=raw)
        return ModelReply(error=f"invalid JSON from model: {exc}", raw=raw)
    if isinstance(data, list):  # a bare list of actions
        data = {"actions": data}
    if not isinstance(data, dict):
        return ModelReply(error="model output is JSON but not an object", raw=raw)
    reply = data.get("reply")
    actions = data.get("actions")
    errors: list[str] = []
    calls: list[ToolCall] = []
    if isinstance(actions, dict):
        actions = [actions]
    if actions is not None and not isinstance(actions, list):
        errors.append("'actions' is not a list")
        actions = []
    for item in actions or []:
        if not isinstance(item, dict) or not isinstance(item.get("tool"), str):
            errors.append(f"malformed action {item!r:.80}")
            continue
        name = item["tool"]
        if reply_only or (allowed is not None and name not in allowed):
            errors.append(f"dropped call of tool not allowed now: {name}")
            continue
        args = item.get("arguments", {})
        if args is None:
            args = {}
        if not isinstance(args, (dict, str)):
            args = json.dumps(args)
        calls.append(ToolCall(id=new_call_id(), name=name, arguments=args))
    if len(calls) > max_actions:
        errors.append(f"truncated {len(calls)} actions to {max_actions}")
        calls = calls[:max_actions]
    if reply is not None and not isinstance(reply, str):
        reply = json.dumps(reply)
    if reply is None and not calls:
        errors.append("no reply and no usable action")
    return ModelReply(text=reply, tool_calls=calls, error="; ".join(errors) or None, raw=raw)


def action_json(tool_calls: list[dict[str, Any]]) -> str:
    """The schema-mode rendering of OpenAI-shaped assistant tool_calls: `{"actions": [...]}`."""
    actions = []
    for call in tool_calls:
        fn = call.get("function", call)
        args: Any = fn.get("arguments", {})
        if isinstance(args, str):
            try:
                args = json.loads(args) if args.strip() else {}
            except ValueError:
                pass
        actions.append({"tool": fn.get("name"), "arguments": args})
    return json.dumps({"actions": actions}, ensure_ascii=False)


def to_schema_messages(messages: list[dict[str, Any]], *, tool_results: str = "tool") -> list[dict[str, Any]]:
    """Render an OpenAI-shaped history for schema mode.

    - an assistant message with `tool_calls` becomes an assistant message whose content is the action
      JSON it produced (`{"actions": [...]}`), without `tool_calls`;
    - an assistant text message stays plain text (only calls are rendered as JSON);
    - tool results: tool_results="tool" keeps role `tool` messages (content only; Qwen's template renders
      consecutive ones as one user turn of `<tool_response>` blocks; llama.cpp accepts them without
      tool_calls). tool_results="user" merges consecutive results into one user message of
      `<tool_response name="...">...</tool_response>` blocks, for endpoints (OpenAI) that reject role
      tool without a matching tool call.
    """
    names: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role == "assistant" and message.get("tool_calls"):
            for call in message["tool_calls"]:
                fn = call.get("function", call)
                if call.get("id"):
                    names[call["id"]] = fn.get("name", "")
            out.append({"role": "assistant", "content": action_json(message["tool_calls"])})
        elif role == "tool":
            content = message.get("content")
            if not isinstance(content, str):
                content = json.dumps(content, ensure_ascii=False)
            if tool_results == "user":
                name = message.get("name") or names.get(message.get("tool_call_id", ""), "")
                block = f'<tool_response name="{name}">\n{content}\n</tool_response>'
                if out and out[-1].get("role") == "user" and out[-1].get("_tool_block"):
                    out[-1]["content"] += "\n" + block
                else:
                    out.append({"role": "user", "content": block, "_tool_block": True})
            else:
                out.append({"role": "tool", "content": content})
        else:
            out.append({k: v for k, v in message.items() if k in ("role", "content", "name")})
    for message in out:
        message.pop("_tool_block", None)
    return out


class ReplyStreamDecoder:
    """Incrementally extracts the reply string from a streamed `{"reply": "..."}` output.

    feed(delta) returns the newly decoded reply text ('' if none, e.g. the output is an actions object).
    """

    def __init__(self) -> None:
        self.buffer = ""
        self.state = "head"  # head -> string -> done | other
        self.pos = 0

    def feed(self, delta: str) -> str:
        self.buffer += delta
        out: list[str] = []
        while True:
            if self.state == "head":
                stripped = self.buffer.lstrip()
                if not stripped:
                    return ""
                if not stripped.startswith("{"):
                    self.state = "other"
                    return ""
                rest = stripped[1:].lstrip()
                if not rest:
                    return ""
                if not rest.startswith('"'):
                    self.state = "other"
                    return ""
                key_end = rest.find('"', 1)
                if key_end < 0:
                    return ""
                if rest[1:key_end] != "reply":
                    self.state = "other"
                    return ""
                after = rest[key_end + 1 :].lstrip()
                if not after:
                    return ""
                if not after.startswith(":"):
                    self.state = "other"
                    return ""
                after = after[1:].lstrip()
                if not after:
                    return ""
                if not after.startswith('"'):
                    self.state = "other"
                    return ""
                self.buffer = after[1:]
                self.pos = 0
                self.state = "string"
            elif self.state == "string":
                buf = self.buffer
                i = self.pos
                while i < len(buf):
                    ch = buf[i]
                    if ch == '"':
                        self.state = "done"
                        break
                    if ch == "\\":
                        if i + 1 >= len(buf):
                            break
                        esc = buf[i + 1]
                        if esc == "u":
                            if i + 6 > len(buf):
                                break
                            code = int(buf[i + 2 : i + 6], 16)
                            if 0xD800 <= code < 0xDC00:  # surrogate pair
                                if i + 12 > len(buf):
                                    break
                                if buf[i + 6 : i + 8] == "\\u":
                                    low = int(buf[i + 8 : i + 12], 16)
                                    out.append(chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)))
                                    i += 12
                                    continue
                            out.append(chr(code))
                            i += 6
                            continue
                        out.append({"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}.get(esc, esc))
                        i += 2
                        continue
                    out.append(ch)
                    i += 1
                self.pos = i
                return "".join(out)
            else:
                return ""
