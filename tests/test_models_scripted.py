from __future__ import annotations

import pytest

from agent.models import load_model
from agent.models.base import ChatModel, ModelError, ModelReply, ToolCall, ToolSpec
from agent.models.scripted import ScriptedModel, ScriptExhausted

TOOLS = [ToolSpec(name="get_order", description="", parameters={}), ToolSpec(name="refund", description="", parameters={})]
MSG = [{"role": "user", "content": "hi"}]


def test_shorthands_and_recording():
    model = ScriptedModel([
        "hello",
        {"tool": "get_order", "arguments": {"order_id": "W1"}},
        [{"tool": "get_order", "arguments": {"order_id": "W1"}}, {"tool": "refund"}],
        ModelReply(text="x", tool_calls=[ToolCall(id="z", name="refund")]),
    ])
    assert isinstance(model, ChatModel)
    assert model.complete(MSG, TOOLS).text == "hello"
    one = model.complete(MSG, TOOLS, allowed=["get_order"])
    assert one.tool_calls[0].name == "get_order" and one.tool_calls[0].arguments == {"order_id": "W1"}
    two = model.complete(MSG, TOOLS, reply_only=False, max_actions=2)
    assert [c.name for c in two.tool_calls] == ["get_order", "refund"] and two.tool_calls[1].arguments == {}
    assert len({c.id for c in one.tool_calls + two.tool_calls}) == 3
    assert model.complete(MSG, TOOLS, reply_only=True).tool_calls[0].id == "z"
    assert [r.allowed for r in model.requests] == [None, ["get_order"], None, None]
    assert [r.reply_only for r in model.requests] == [False, False, False, True]
    assert model.requests[0].messages == MSG and model.requests[0].tools == ["get_order", "refund"]
    assert model.remaining == 0


def test_exhausted_and_exception_steps():
    model = ScriptedModel([ModelError("endpoint down")])
    with pytest.raises(ModelError, match="endpoint down"):
        model.complete(MSG, TOOLS)
    with pytest.raises(ScriptExhausted, match="no step #2.*'hi'"):
        model.complete(MSG, TOOLS)
    assert issubclass(ScriptExhausted, ModelError)


def test_callable_step_and_streaming():
    def react(messages, allowed, reply_only):
        return "only text" if reply_only else {"tool": "refund"}

    model = ScriptedModel([react, react])
    deltas: list[str] = []
    assert model.complete(MSG, TOOLS, reply_only=True, on_text=deltas.append).text == "only text"
    assert "".join(deltas) == "only text" and len(deltas) == 2
    assert model.complete(MSG, TOOLS).tool_calls[0].name == "refund"


def test_enforce_allowed():
    model = ScriptedModel([[{"tool": "refund"}, {"tool": "get_order"}]], enforce_allowed=True)
    assert [c.name for c in model.complete(MSG, TOOLS, allowed=["get_order"]).tool_calls] == ["get_order"]


def test_replies_are_copies():
    reply = ModelReply(text="a")
    model = ScriptedModel([reply, reply])
    model.complete(MSG, TOOLS).text = "changed"
    assert model.complete(MSG, TOOLS).text == "a"


def test_load_model_specs(monkeypatch):
    scripted = ScriptedModel()
    assert load_model(scripted) is scripted
    assert load_model("openai:gpt-x").mode == "tools"
    assert load_model("openai-schema:gpt-x").mode == "schema"
    assert load_model("local-small").name == "local-small"
    monkeypatch.setenv("SUPPORT_AGENT_MODEL", "openai:env-model")
    assert load_model().name == "openai:env-model"
    with pytest.raises(ModelError, match="unknown model spec"):
        load_model("gpt")


def test_a_function_model_answers_every_step_with_its_function():
    from agent.models.scripted import FunctionModel

    model = load_model("scripted:agent.models.scripted_steps:shop_customer")
    assert isinstance(model, FunctionModel) and model.name.startswith("scripted:")
    prompt = [{"role": "user", "content": "...\nCustomer: Please cancel W1001, I ordered it by mistake."}]
    for _ in range(3):  # no script position: the same message, the same understanding
        reply = model.structured(prompt, {"type": "object"})
        assert '"kind":"cancel_order"' in reply.text and '"order":"W1001"' in reply.text
    answer = model.structured([{"role": "user", "content": "Customer: yes"}], {"anyOf": []})
    assert answer.text == '{"answer":"yes"}'
    with pytest.raises(ModelError, match="only answers the understanding step"):
        model.complete(MSG, TOOLS)
    with pytest.raises(ModelError, match="no scripted step function"):
        load_model("scripted:agent.models.scripted_steps:nothing_here")
