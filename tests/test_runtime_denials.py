"""Every denial reaches the customer with its rule: a reply that leaves one out (or contradicts it)
is replaced by the tools' own words."""

from agent.guard import relays
from agent_harness import make_agent, tool_events, verified_session

SHIPPED = "Order W1003 is shipped; a return can be started only after delivery."


def test_relays_needs_the_denials_facts():
    assert relays("Sorry, W1003 has shipped but isn't delivered yet; a return can only be started after "
                  "delivery.", SHIPPED)
    assert not relays("You can start a return for this order. Please confirm.", SHIPPED)
    assert relays("anything", "")


def test_a_reply_that_contradicts_a_denial_is_replaced(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add([{"tool": "start_return", "arguments": {"order_id": "W1003", "reason": "wrong colour",
                                                      "condition": "unopened"}},
               {"tool": "track_shipment", "arguments": {"order_id": "W1003"}}],
              "You can start a return for this order. The refund goes to your card. Please confirm.")
    reply = session.send("I want to return W1003, the beanie is the wrong colour.")
    denial, tracking = tool_events(reply)
    assert denial["status"] == "denied" and denial["rule"] == "returns.after_delivery_only"
    assert reply.text.startswith(denial["message"])
    assert tracking["message"] in reply.text  # what the reads found is kept
    assert "Please confirm" not in reply.text and reply.pending_action is None
    guard = agent.store.one("SELECT * FROM audit_log WHERE tool = 'reply_guard' AND status = 'replaced'")
    assert guard and "did not pass on" in guard["message"]


def test_a_reply_that_passes_the_denial_on_is_kept(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    kept = "I'm sorry: W1003 has shipped and a return can be started only after delivery."
    model.add({"tool": "start_return", "arguments": {"order_id": "W1003", "reason": "wrong colour",
                                                     "condition": "unopened"}}, kept)
    assert session.send("Return W1003 please, wrong colour.").text == kept


def test_a_denial_followed_by_a_successful_call_of_the_same_tool_is_settled(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add({"tool": "get_order", "arguments": {"order_id": "W9999"}},
              {"tool": "get_order", "arguments": {"order_id": "W1003"}},
              "W1003 is on its way.")
    reply = session.send("where is W9999, I mean W1003?")
    assert [e["status"] for e in tool_events(reply)] == ["denied", "ok"]
    assert reply.text == "W1003 is on its way."
