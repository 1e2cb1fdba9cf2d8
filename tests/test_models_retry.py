"""OpenAIModel against a fake OpenAI-compatible endpoint on 127.0.0.1 (the real openai SDK, no LLM)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agent.models.base import ModelError, ToolSpec
from agent.models.openai_compat import OpenAIModel


def completion(content=None, tool_calls=None, usage=(10, 5)):
    message = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "fake",
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}],
        "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage),
                  "prompt_tokens_details": {"cached_tokens": 4}},
    }


def error(status, message="boom", headers=None):
    return {"status": status, "body": {"error": {"message": message, "type": "x"}}, "headers": headers or {}}


class FakeEndpoint:
    """Plays queued responses: dicts {"status", "body", "headers", "delay"} or a plain completion body."""

    def __init__(self):
        self.queue: list[dict] = []
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                fake.requests.append(json.loads(self.rfile.read(length) or b"{}"))
                item = fake.queue.pop(0) if fake.queue else error(500, "queue empty")
                if "status" not in item and "stream" not in item:
                    item = {"status": 200, "body": item}
                time.sleep(item.get("delay", 0))
                if item.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    for chunk in item["stream"]:
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.write(b"data: [DONE]\n\n")
                    return
                data = json.dumps(item["body"]).encode()
                try:
                    self.send_response(item["status"])
                    for k, v in item.get("headers", {}).items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake():
    endpoint = FakeEndpoint()
    yield endpoint
    endpoint.close()


TOOLS = [
    ToolSpec(name="get_order", description="look up", parameters={"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}),
    ToolSpec(name="cancel_order", description="cancel", parameters={"type": "object", "properties": {"order_id": {"type": "string"}}}),
    ToolSpec(name="refund", description="refund", parameters={"type": "object", "properties": {"amount": {"type": "number"}}}),
]
MSGS = [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"}]


def make(fake, mode="tools", **kw):
    sleeps: list[float] = []
    kw.setdefault("timeout", 5)
    model = OpenAIModel("fake", base_url=fake.url, api_key="k", mode=mode, sleep=sleeps.append, wait_initial=0.01, wait_max=0.05, wait_jitter=0.01, **kw)
    return model, sleeps


def test_429_with_retry_after_then_success(fake):
    fake.queue = [error(429, "slow down", {"Retry-After": "7"}), completion("hello")]
    model, sleeps = make(fake)
    reply = model.complete(MSGS, TOOLS)
    assert reply.text == "hello" and reply.error is None
    assert model.attempts == 2 and len(fake.requests) == 2
    assert sleeps == [7.0]  # honoured Retry-After (the sleep is injected, so the test does not wait)
    assert (reply.prompt_tokens, reply.completion_tokens, reply.cached_tokens) == (10, 5, 4)
    assert reply.seconds > 0


def test_500_twice_then_success(fake):
    fake.queue = [error(500), error(503), completion("ok")]
    model, sleeps = make(fake)
    assert model.complete(MSGS, TOOLS).text == "ok"
    assert model.attempts == 3 and len(sleeps) == 2 and all(0 < s <= 0.06 for s in sleeps)


def test_5xx_gives_up_after_max_attempts(fake):
    fake.queue = [error(502)] * 5
    model, sleeps = make(fake, max_attempts=3)
    with pytest.raises(ModelError, match="HTTP 502.*3 attempt"):
        model.complete(MSGS, TOOLS)
    assert len(fake.requests) == 3


def test_timeout_then_success(fake):
    fake.queue = [{"status": 200, "body": completion("late"), "delay": 1.0}, completion("fast")]
    model, sleeps = make(fake, timeout=0.3)
    assert model.complete(MSGS, TOOLS).text == "fast"
    assert model.attempts == 2


def test_timeout_gives_up(fake):
    fake.queue = [{"status": 200, "body": completion("late"), "delay": 0.8}] * 2
    model, _ = make(fake, timeout=0.2, max_attempts=2)
    with pytest.raises(ModelError, match="timed out"):
        model.complete(MSGS, TOOLS)
    assert model.attempts == 2


def test_connection_error_is_retried_then_fails():
    model = OpenAIModel("fake", base_url="http://127.0.0.1:9/v1", api_key="k", max_attempts=2, sleep=lambda s: None, timeout=2)
    with pytest.raises(ModelError, match="cannot reach"):
        model.complete(MSGS, TOOLS)
    assert model.attempts == 2


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_non_retryable_fails_after_one_attempt(fake, status):
    fake.queue = [error(status, "bad request")] * 3
    model, sleeps = make(fake)
    with pytest.raises(ModelError, match=f"HTTP {status}"):
        model.complete(MSGS, TOOLS)
    assert model.attempts == 1 and len(fake.requests) == 1 and sleeps == []


def test_tools_mode_parses_calls_filters_and_caps(fake):
    calls = [
        {"id": "a", "type": "function", "function": {"name": "get_order", "arguments": '{"order_id": "W1"}'}},
        {"id": "b", "type": "function", "function": {"name": "cancel_order", "arguments": '{"order_id": '}},  # malformed
        {"id": "c", "type": "function", "function": {"name": "refund", "arguments": "{}"}},  # not allowed
        {"id": "d", "type": "function", "function": {"name": "get_order", "arguments": '{"order_id": "W2"}'}},
    ]
    fake.queue = [completion(None, calls)]
    model, _ = make(fake)
    reply = model.complete(MSGS, TOOLS, allowed=["get_order", "cancel_order"], max_actions=2)
    assert [c.name for c in reply.tool_calls] == ["get_order", "cancel_order"]
    assert reply.tool_calls[0].arguments == {"order_id": "W1"} and reply.tool_calls[0].id == "a"
    assert reply.tool_calls[1].arguments == '{"order_id": '  # raw string when not JSON
    assert "refund" in reply.error and "truncated" in reply.error
    sent = fake.requests[0]
    assert [t["function"]["name"] for t in sent["tools"]] == ["get_order", "cancel_order"]
    assert "response_format" not in sent


def test_tools_mode_reply_only_sends_no_tools_and_streams(fake):
    chunks = [
        {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "fake",
         "choices": [{"index": 0, "delta": {"role": "assistant", "content": piece}, "finish_reason": None}]}
        for piece in ["Hel", "lo ", "there"]
    ] + [{"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "fake", "choices": [],
          "usage": {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}}]
    fake.queue = [{"stream": chunks}]
    model, _ = make(fake)
    deltas: list[str] = []
    history = MSGS + [
        {"role": "assistant", "content": None, "tool_calls": [{"id": "a", "function": {"name": "get_order", "arguments": {"order_id": "W1"}}}]},
        {"role": "tool", "tool_call_id": "a", "content": {"status": "shipped"}},
    ]
    reply = model.complete(history, TOOLS, reply_only=True, on_text=deltas.append)
    assert deltas == ["Hel", "lo ", "there"] and reply.text == "Hello there"
    assert reply.prompt_tokens == 3
    sent = fake.requests[0]
    assert "tools" not in sent and sent["stream"] is True
    assert sent["messages"][2]["tool_calls"][0]["function"]["arguments"] == '{"order_id": "W1"}'
    assert sent["messages"][3]["content"] == '{"status": "shipped"}'


def test_schema_mode_request_shape(fake):
    fake.queue = [completion('{"actions": [{"tool": "cancel_order", "arguments": {"order_id": "W9"}}]}')]
    model, _ = make(fake, mode="schema", temperature=0.0, max_tokens=200)
    history = MSGS + [
        {"role": "assistant", "content": None, "tool_calls": [{"id": "a", "type": "function", "function": {"name": "get_order", "arguments": '{"order_id": "W9"}'}}]},
        {"role": "tool", "tool_call_id": "a", "content": '{"status": "pending"}'},
    ]
    reply = model.complete(history, TOOLS, allowed=["get_order", "cancel_order"])
    assert reply.tool_calls[0].name == "cancel_order" and reply.tool_calls[0].arguments == {"order_id": "W9"}
    sent = fake.requests[0]
    assert "tools" not in sent and sent["temperature"] == 0.0 and sent["max_tokens"] == 200
    fmt = sent["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "step"
    branches = fmt["json_schema"]["schema"]["anyOf"][1]["properties"]["actions"]["items"]["anyOf"]
    assert [b["properties"]["tool"]["const"] for b in branches] == ["get_order", "cancel_order"]
    # history rendered for schema mode: action JSON in the assistant turn; tool result as a user block (default)
    assert json.loads(sent["messages"][2]["content"]) == {"actions": [{"tool": "get_order", "arguments": {"order_id": "W9"}}]}
    assert "tool_calls" not in sent["messages"][2]
    assert sent["messages"][3]["role"] == "user" and 'name="get_order"' in sent["messages"][3]["content"]


def test_schema_mode_reply_only_streams_decoded_reply(fake):
    pieces = ['{"re', 'ply": "Your ord', 'er is \\"shipped\\"', '\\u00e9."}']
    chunks = [
        {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "fake",
         "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]}
        for p in pieces
    ]
    fake.queue = [{"stream": chunks}]
    model, _ = make(fake, mode="schema")
    deltas: list[str] = []
    reply = model.complete(MSGS, TOOLS, reply_only=True, on_text=deltas.append)
    assert reply.text == 'Your order is "shipped"é.'
    assert "".join(deltas) == reply.text and len(deltas) >= 2
    assert fake.requests[0]["response_format"]["json_schema"]["schema"] == {
        "type": "object", "properties": {"reply": {"type": "string"}}, "required": ["reply"]}
