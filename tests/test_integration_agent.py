"""The dialogue loop with the real embedded model (Qwen2.5-Coder-1.5B on the CPU).

These assert routing and well-formedness, not wording. Slow: a model step takes seconds.
"""

from __future__ import annotations

import pytest

from agent_harness import NOW, demo_db
from agent.support_agent import SupportAgent

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def model():
    from agent.models import load_model

    try:
        m = load_model("local")
        m.load()
    except Exception as exc:  # the model packages are part of the test install; say why if not
        pytest.fail(f"embedded model unavailable: {exc}")
    return m


@pytest.fixture
def jane(tmp_path, model):
    agent = SupportAgent(demo_db(tmp_path), model=model, clock=lambda: NOW)
    session = agent.session()
    session.bind_customer("jane.doe@example.com")
    return agent, session


def _calls(reply):
    return [(e.data["tool"], e.data["arguments"]) for e in reply.events if e.type == "tool_call"]


def test_where_is_my_order_routes_to_tracking(jane):
    agent, session = jane
    reply = session.send("where is my order W1003")
    calls = _calls(reply)
    assert any(tool in ("track_shipment", "get_order") and args.get("order_id") == "W1003"
               for tool, args in calls), calls
    assert reply.text.strip()
    lowered = reply.text.lower()
    assert any(word in lowered for word in ("ups", "shipped", "transit", "on its way", "delivery")), reply.text


def test_cancel_request_becomes_a_pending_action_not_a_write(jane):
    agent, session = jane
    reply = session.send("Please cancel order W1001, I ordered the wrong size.")
    assert reply.pending_action is not None, (reply.text, _calls(reply))
    assert reply.pending_action.tool == "cancel_order"
    assert reply.pending_action.arguments["order_id"] == "W1001"
    assert agent.store.one("SELECT status FROM orders WHERE id = 'W1001'")["status"] == "pending"


def test_two_requests_in_one_message_are_both_answered(jane):
    agent, session = jane
    reply = session.send("track W1003 and tell me if W1002 can still be returned")
    calls = _calls(reply)
    orders = {args.get("order_id") for _, args in calls}
    assert {"W1003", "W1002"} <= orders, calls
    assert reply.text.strip()
