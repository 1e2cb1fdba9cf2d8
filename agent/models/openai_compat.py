"""Any OpenAI-compatible chat-completions endpoint through the `openai` SDK.

mode="tools":  native function calling; only the allowed tools are sent (none when reply_only).
mode="schema": the constrained union of action_schema.py as a `json_schema` response_format (works with
               llama.cpp server, vLLM, OpenAI); the embedded model uses this mode.

Retries: the SDK's own retries are off (max_retries=0); tenacity retries transient failures (429, 408,
409, 5xx, timeouts, connection errors) with exponential backoff + jitter, honouring Retry-After /
retry-after-ms, up to `max_attempts` attempts. Anything else (400, 401, 403, 404, 422, ...) fails at once.
Every final failure is raised as ModelError.

Sampling: `temperature` and `seed` go with every request when set (None: the endpoint's default, and
no seed); an evaluation sets them per trial (`support-agent eval --temperature T --seed S`).

Tool schemas (tools mode): `function_tools` sends each spec with `lean_parameters`, the same argument
schema in fewer tokens (the endpoint puts it in the prompt of every request); the tools validate every
call with pydantic anyway.

Streaming: with `on_text`, schema mode always streams (the reply string is decoded incrementally out of
`{"reply": "..."}`; an actions step emits nothing); tools mode streams when reply_only, otherwise it
calls on_text once with the whole reply text at the end. In every case the concatenated deltas equal
`ModelReply.text`. A stream that fails after text was emitted is not retried.
"""

from __future__ import annotations

import email.utils
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import tenacity

from .action_schema import ReplyStreamDecoder, allowed_tools, new_call_id, parse_step, response_format, step_schema, to_schema_messages
from .base import ModelError, ModelReply, TextCallback, ToolCall, ToolSpec

TRANSIENT_STATUS = {408, 409, 429}


def _openai():
    try:
        import openai
    except ImportError as exc:  # pragma: no cover - openai is a dependency
        raise ModelError(f"the openai package is required for this backend: {exc}") from None
    return openai


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: rate limits, 408/409, 5xx, timeouts, connection errors."""
    openai = _openai()
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in TRANSIENT_STATUS or exc.status_code >= 500
    return False


def retry_after_seconds(exc: BaseException | None) -> float | None:
    """Seconds asked for by a `retry-after-ms` / `retry-after` (seconds or HTTP date) header, if any."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        if parsed is None:
            return None
        seconds = parsed.timestamp() - time.time()
    return max(0.0, seconds) if math.isfinite(seconds) else None


class RetryAfterWait(tenacity.wait.wait_base):
    """Wait what the server's Retry-After says (capped), else exponential backoff with jitter."""

    def __init__(self, initial: float = 1.0, maximum: float = 30.0, jitter: float = 1.0, max_retry_after: float = 60.0):
        self.backoff = tenacity.wait_exponential_jitter(multiplier=initial, max=maximum, jitter=jitter)
        self.max_retry_after = max_retry_after

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        seconds = retry_after_seconds(exc)
        if seconds is not None:
            return min(seconds, self.max_retry_after)
        return self.backoff(retry_state)


@dataclass
class RawCompletion:
    content: str = ""
    tool_calls: list[dict[str, str]] = field(default_factory=list)  # {"id", "name", "arguments"(str)}
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    finish_reason: str | None = None


def _usage_into(raw: RawCompletion, obj: Any) -> None:
    usage = getattr(obj, "usage", None)
    if usage is not None:
        raw.prompt_tokens = getattr(usage, "prompt_tokens", 0) or 0
        raw.completion_tokens = getattr(usage, "completion_tokens", 0) or 0
        details = getattr(usage, "prompt_tokens_details", None)
        raw.cached_tokens = (getattr(details, "cached_tokens", 0) or 0) if details is not None else 0
    timings = getattr(obj, "timings", None)  # llama.cpp extension
    if isinstance(timings, dict) and not raw.cached_tokens:
        raw.cached_tokens = int(timings.get("cache_n") or 0)


def normalize_tool_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI-shape history for native tools mode (dict arguments serialized, `type` filled in)."""
    out = []
    for message in messages:
        if message.get("role") == "assistant" and message.get("tool_calls"):
            calls = []
            for call in message["tool_calls"]:
                fn = dict(call.get("function", call))
                args = fn.get("arguments", {})
                calls.append(
                    {
                        "id": call.get("id") or new_call_id(),
                        "type": "function",
                        "function": {"name": fn.get("name"), "arguments": args if isinstance(args, str) else json.dumps(args)},
                    }
                )
            message = {"role": "assistant", "content": message.get("content"), "tool_calls": calls}
        elif message.get("role") == "tool" and not isinstance(message.get("content"), str):
            message = {**message, "content": json.dumps(message.get("content"))}
        out.append(message)
    return out


# Left out of tool schemas in tools mode: constraints the tools' pydantic models enforce on every call
# and defaults they apply when an argument is left out; to the model they are only tokens.
_LEAN_DROPPED = frozenset({"title", "default", "minLength", "maxLength", "pattern"})


def lean_parameters(schema: dict[str, Any]) -> dict[str, Any]:
    """A tool's argument schema for the prompt, still valid JSON schema: local `$ref`s inlined (then
    `$defs` dropped), an optional `anyOf: [X, {"type": "null"}]` reduced to X (leaving the argument out
    is the way to say null), `type` left out beside an enum of strings, and the keywords of
    _LEAN_DROPPED left out."""
    defs = schema.get("$defs") or {}
    unresolved: list[str] = []

    def lean(node: Any, inlining: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [lean(v, inlining) for v in node]
        if not isinstance(node, dict):
            return node
        node = dict(node)
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.removeprefix("#/$defs/")
            if ref.startswith("#/$defs/") and name in defs and name not in inlining:
                del node["$ref"]
                return lean({**defs[name], **node}, (*inlining, name))
            unresolved.append(ref)
        branches = node.get("anyOf")
        if isinstance(branches, list) and len(branches) == 2 and {"type": "null"} in branches:
            del node["anyOf"]
            other = branches[0] if branches[1] == {"type": "null"} else branches[1]
            return lean({**other, **node}, inlining)
        enum = node.get("enum")
        if node.get("type") == "string" and isinstance(enum, list) and all(isinstance(v, str) for v in enum):
            del node["type"]  # the quoted values say it
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):  # names of arguments, not keywords
                out[key] = {name: lean(sub, inlining) for name, sub in value.items()}
            elif key == "$defs" or key in _LEAN_DROPPED:
                continue
            else:
                out[key] = lean(value, inlining)
        return out

    result = lean(schema, ())
    if unresolved and defs:
        result["$defs"] = {name: lean(sub, ()) for name, sub in defs.items()}
    return result


def function_tools(specs: list[ToolSpec]) -> list[dict[str, Any]]:
    """The `tools` field of a chat-completions request: one function per spec, lean schemas."""
    return [{"type": "function", "function": {"name": s.name, "description": s.description,
                                              "parameters": lean_parameters(s.parameters)}} for s in specs]


LLGUIDANCE_JSON = "%llguidance {}\nstart: %json "
COMPACT_JSON = {"whitespace_flexible": False, "item_separator": ",", "key_separator": ":"}


class OpenAIModel:
    """ChatModel over an OpenAI-compatible endpoint (env OPENAI_API_KEY / OPENAI_BASE_URL respected)."""

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        mode: str = "tools",
        timeout: float = 120.0,
        max_attempts: int = 4,
        *,
        temperature: float | None = None,
        seed: int | None = None,
        max_tokens: int | None = None,
        strict_schema: bool = False,
        schema_tool_results: str = "user",
        wait_initial: float = 1.0,
        wait_max: float = 30.0,
        wait_jitter: float = 1.0,
        max_retry_after: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        http_client: Any = None,
        extra_body: dict[str, Any] | None = None,
        grammar: str | None = None,
    ):
        if mode not in ("tools", "schema"):
            raise ValueError(f"mode must be 'tools' or 'schema', not {mode!r}")
        self.model = model
        self.mode = mode
        self.name = f"openai:{model}" if mode == "tools" else f"openai-schema:{model}"
        self.base_url = base_url
        self.api_key = api_key
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.temperature = temperature  # None: the endpoint's default
        self.seed = seed  # sampling seed sent with each request (None: not sent)
        self.max_tokens = max_tokens
        self.strict_schema = strict_schema
        self.schema_tool_results = schema_tool_results
        self.wait = RetryAfterWait(wait_initial, wait_max, wait_jitter, max_retry_after)
        self.sleep = sleep
        self.http_client = http_client
        self.extra_body = extra_body
        self.grammar = grammar  # "llguidance": send schemas as llama.cpp llguidance grammars (compact)
        self.attempts = 0  # attempts made by the last request (for tests and logs)
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            openai = _openai()
            kwargs: dict[str, Any] = {"timeout": self.timeout, "max_retries": 0}
            if self.base_url:
                kwargs["base_url"] = self.base_url
            if self.api_key:
                kwargs["api_key"] = self.api_key
            if self.http_client is not None:
                kwargs["http_client"] = self.http_client
            try:
                self._client = openai.OpenAI(**kwargs)
            except openai.OpenAIError as exc:
                raise ModelError(f"{self.name}: cannot create the OpenAI client: {exc} (set OPENAI_API_KEY / OPENAI_BASE_URL)") from None
        return self._client

    # ------------------------------------------------------------------ the ChatModel protocol
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
        t0 = time.perf_counter()
        usable = [] if reply_only else allowed_tools(tools, allowed)
        names = [t.name for t in usable]
        emitted: list[str] = []

        def emit(delta: str) -> None:
            if delta and on_text is not None:
                emitted.append(delta)
                on_text(delta)

        if self.mode == "tools":
            params: dict[str, Any] = {"messages": normalize_tool_messages(messages)}
            if usable and max_actions > 0:
                params["tools"] = function_tools(usable)
            stream = on_text is not None and "tools" not in params
            raw = self._create(params, on_delta=emit if stream else None)
            reply = self._parse_tools(raw, names, max_actions)
        else:
            schema = step_schema(tools, allowed, reply_only=reply_only, max_actions=max_actions)
            params = {
                "messages": to_schema_messages(messages, tool_results=self.schema_tool_results),
                "response_format": response_format(schema, strict=self.strict_schema),
            }
            decoder = ReplyStreamDecoder()
            raw = self._create(params, on_delta=(lambda d: emit(decoder.feed(d))) if on_text else None)
            reply = parse_step(raw.content, names, reply_only=reply_only or not names, max_actions=max_actions)
            if raw.finish_reason == "length" and reply.error:
                reply.error += " (output hit max_tokens)"
        if on_text is not None and reply.text and not emitted:
            on_text(reply.text)
        reply.prompt_tokens = raw.prompt_tokens
        reply.completion_tokens = raw.completion_tokens
        reply.cached_tokens = raw.cached_tokens
        reply.seconds = time.perf_counter() - t0
        return reply

    def structured(self, messages: list[dict[str, Any]], schema: dict[str, Any], *,
                   max_tokens: int | None = None) -> ModelReply:
        """One JSON-schema-constrained answer (the understanding step); `text` is the raw JSON.
        With `grammar="llguidance"` (llama.cpp servers) the schema goes as a compact grammar: no
        whitespace between JSON tokens, so no generated token is spent on layout."""
        t0 = time.perf_counter()
        params: dict[str, Any] = {"messages": messages}
        if self.grammar == "llguidance":
            compact = {**schema, "x-guidance": COMPACT_JSON}
            params["extra_body"] = {**(self.extra_body or {}), "grammar": LLGUIDANCE_JSON + json.dumps(compact)}
        else:
            params["response_format"] = response_format(schema, strict=self.strict_schema)
        if max_tokens is not None:
            params["max_tokens"] = max_tokens
        raw = self._create(params)
        reply = ModelReply(text=raw.content, raw=raw.content, prompt_tokens=raw.prompt_tokens,
                           completion_tokens=raw.completion_tokens, cached_tokens=raw.cached_tokens)
        if raw.finish_reason == "length":
            reply.error = "output hit max_tokens"
        reply.seconds = time.perf_counter() - t0
        return reply

    # ------------------------------------------------------------------ internals
    def _parse_tools(self, raw: RawCompletion, names: list[str], max_actions: int) -> ModelReply:
        errors = []
        calls = []
        for call in raw.tool_calls:
            if call["name"] not in names:
                errors.append(f"dropped call of tool not allowed now: {call['name']}")
                continue
            text = call.get("arguments") or ""
            try:
                args: dict[str, Any] | str = json.loads(text) if text.strip() else {}
                if not isinstance(args, dict):
                    args = text
            except ValueError:
                args = text
            calls.append(ToolCall(id=call.get("id") or new_call_id(), name=call["name"], arguments=args))
        if len(calls) > max_actions:
            errors.append(f"truncated {len(calls)} tool calls to {max_actions}")
            calls = calls[:max_actions]
        text = raw.content or None
        if text is None and not calls:
            errors.append("no reply and no usable tool call")
        return ModelReply(text=text, tool_calls=calls, error="; ".join(errors) or None)

    def _create(self, params: dict[str, Any], on_delta: Callable[[str], None] | None = None) -> RawCompletion:
        """One chat-completions request with retries; raises ModelError when it fails for good."""
        openai = _openai()
        kwargs: dict[str, Any] = {"model": self.model, **params}
        if self.temperature is not None:
            kwargs.setdefault("temperature", self.temperature)
        if self.seed is not None:
            kwargs.setdefault("seed", self.seed)
        if self.max_tokens is not None:
            kwargs.setdefault("max_tokens", self.max_tokens)
        if self.extra_body:
            kwargs.setdefault("extra_body", self.extra_body)
        client = self.client
        started = [False]  # text already emitted: a retry would duplicate it
        self.attempts = 0

        def once() -> RawCompletion:
            self.attempts += 1
            if on_delta is None:
                return self._once_plain(client, kwargs)
            return self._once_stream(client, kwargs, on_delta, started)

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_attempts),
            wait=self.wait,
            retry=tenacity.retry_if_exception(lambda e: is_transient(e) and not started[0]),
            sleep=self.sleep,
            reraise=True,
        )
        try:
            return retrying(once)
        except openai.APIStatusError as exc:
            detail = _error_detail(exc)
            raise ModelError(
                f"{self.name}: HTTP {exc.status_code} from the model endpoint after {self.attempts} attempt(s): {detail}"
            ) from exc
        except openai.APITimeoutError as exc:
            raise ModelError(f"{self.name}: the model endpoint timed out ({self.timeout}s) after {self.attempts} attempt(s)") from exc
        except openai.APIConnectionError as exc:
            raise ModelError(f"{self.name}: cannot reach the model endpoint after {self.attempts} attempt(s): {exc}") from exc
        except openai.OpenAIError as exc:
            raise ModelError(f"{self.name}: {exc}") from exc

    @staticmethod
    def _once_plain(client: Any, kwargs: dict[str, Any]) -> RawCompletion:
        completion = client.chat.completions.create(**kwargs)
        raw = RawCompletion()
        if completion.choices:
            choice = completion.choices[0]
            raw.finish_reason = choice.finish_reason
            message = choice.message
            raw.content = message.content or ""
            for call in message.tool_calls or []:
                fn = getattr(call, "function", None)
                if fn is None:
                    continue
                raw.tool_calls.append({"id": call.id, "name": fn.name, "arguments": fn.arguments or ""})
        _usage_into(raw, completion)
        return raw

    @staticmethod
    def _once_stream(client: Any, kwargs: dict[str, Any], on_delta: Callable[[str], None], started: list[bool]) -> RawCompletion:
        stream = client.chat.completions.create(**kwargs, stream=True, stream_options={"include_usage": True})
        raw = RawCompletion()
        parts: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        for chunk in stream:
            if getattr(chunk, "usage", None) is not None or getattr(chunk, "timings", None) is not None:
                _usage_into(raw, chunk)
            for choice in chunk.choices or []:
                if choice.finish_reason:
                    raw.finish_reason = choice.finish_reason
                delta = choice.delta
                if delta is None:
                    continue
                if delta.content:
                    parts.append(delta.content)
                    started[0] = True
                    on_delta(delta.content)
                for tc in delta.tool_calls or []:
                    slot = calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
                    if tc.id:
                        slot["id"] = tc.id
                    if tc.function is not None:
                        slot["name"] += tc.function.name or ""
                        slot["arguments"] += tc.function.arguments or ""
        raw.content = "".join(parts)
        raw.tool_calls = [calls[i] for i in sorted(calls)]
        return raw


def _error_detail(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:500]
    return str(getattr(exc, "message", exc))[:500]
