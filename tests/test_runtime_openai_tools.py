"""The runtime against an OpenAI-compatible endpoint in native `tools` mode (a local fake endpoint)."""

from __future__ import annotations

import json

import httpx

from agent.models.openai_compat import OpenAIModel
from agent.support_agent import SupportAgent
from agent_harness import NOW, demo_db


def _completion(message: dict) -> dict:
    return {"id": "c", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", **message}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}


def test_native_tool_calls_flow_through_the_gates(tmp_path):
    requests: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        requests.append(body)
        last = body["messages"][-1]
        if last["role"] == "user" and "94107" in last["content"]:
            msg = {"content": None, "tool_calls": [{"id": "t1", "type": "function", "function": {
                "name": "verify_customer", "arguments": json.dumps({"email": "jane.doe@example.com", "zip_code": "94107"})}}]}
        elif last["role"] == "user" and "cancel" in last["content"]:
            msg = {"content": None, "tool_calls": [{"id": "t2", "type": "function", "function": {
                "name": "cancel_order", "arguments": json.dumps({"order_id": "W1001", "reason": "wrong size"})}}]}
        else:
            msg = {"content": "Done, you're verified."}
        return httpx.Response(200, json=_completion(msg))

    model = OpenAIModel("gpt-test", base_url="http://fake/v1", api_key="k", mode="tools",
                        http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    agent = SupportAgent(demo_db(tmp_path), model=model, clock=lambda: NOW)
    assert "Answer with JSON only" not in agent.prefix  # tools mode gets the tools-mode rules
    session = agent.session()
    session.send("hello, I need help with an order")
    session.send("I'm jane.doe@example.com, zip 94107")  # the runtime verifies these itself
    assert session.customer_id == "C0001"
    first_tools = {t["function"]["name"] for t in requests[0]["tools"]}
    assert "cancel_order" not in first_tools and "verify_customer" in first_tools
    reply = session.send("cancel W1001 please, wrong size")
    assert reply.pending_action is not None
    # every tool message the endpoint saw follows an assistant message holding its tool call
    for body in requests:
        ids = set()
        for m in body["messages"]:
            if m["role"] == "assistant":
                ids |= {c["id"] for c in m.get("tool_calls") or []}
            if m["role"] == "tool":
                assert m["tool_call_id"] in ids
