"""The runtime's gates, with the scripted model: identity, confirmation, cross-customer access."""

from __future__ import annotations

import pytest

from agent_harness import JANE_HELLO, VERIFY_JANE, make_agent, tool_events, verified_session
from tools.registry import all_tools

CUSTOMER_DATA_ARGS = {
    "get_order": {"order_id": "W1001"},
    "list_orders": {},
    "track_shipment": {"order_id": "W1003"},
    "cancel_order": {"order_id": "W1001", "reason": "mistake"},
    "modify_order_address": {"order_id": "W1001"},
    "modify_order_items": {"order_id": "W1001"},
    "check_refund_eligibility": {"order_id": "W1002"},
    "start_return": {"order_id": "W1002"},
    "issue_refund": {"order_id": "W1002"},
    "report_lost_package": {"order_id": "W1003"},
    "file_complaint": {"order_id": "W1002"},
    "update_account": {},
}


def _status(agent, order_id):
    return agent.store.one("SELECT status FROM orders WHERE id = ?", (order_id,))["status"]


def test_only_identity_free_tools_are_offered_before_verification(tmp_path):
    agent, model = make_agent(tmp_path, ["Sure, what would you like to know?"])
    agent.session().send("I have a question")
    allowed = set(model.requests[0].allowed)
    assert "verify_customer" in allowed and "search_help_center" in allowed and "escalate_to_human" in allowed
    needing_identity = {t.name for t in all_tools() if t.requires_identity}
    assert needing_identity and not (allowed & needing_identity)


@pytest.mark.parametrize("tool", sorted(n for n in CUSTOMER_DATA_ARGS))
def test_no_customer_data_before_verification(tmp_path, tool):
    """Even if the model calls a customer-data tool anyway, nothing about the customer comes back."""
    if tool not in {t.name for t in all_tools()}:
        pytest.skip(f"{tool} not registered")
    args = dict(CUSTOMER_DATA_ARGS[tool])
    agent, model = make_agent(tmp_path, [{"tool": tool, "arguments": args}, "Please verify first."])
    session = agent.session()
    reply = session.send("W1001 W1002 W1003 — show me everything")
    results = tool_events(reply)
    assert results and all(r["status"] == "denied" for r in results)
    assert results[0]["rule"] == "identity.verification_required"
    tool_messages = [m["content"] for m in model.requests[-1].messages if m["role"] == "tool"]
    assert tool_messages and not any("jane" in m.lower() or "$" in m for m in tool_messages)
    assert session.pending_action is None
    assert _status(agent, "W1001") == "pending"


def test_write_becomes_pending_and_runs_only_after_api_confirm(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add({"tool": "cancel_order", "arguments": {"order_id": "W1001", "reason": "ordered by mistake"}})
    reply = session.send("Please cancel W1001, I ordered it by mistake.")
    action = reply.pending_action
    assert action is not None and action.tool == "cancel_order"
    assert "W1001" in action.summary and "Shall I go ahead" in reply.text
    assert any(e.type == "confirmation_requested" for e in reply.events)
    assert _status(agent, "W1001") == "pending"  # nothing written yet
    done = session.confirm(action.id)
    assert _status(agent, "W1001") == "cancelled"
    assert "cancelled" in done.text.lower()
    assert session.pending_action is None


def test_yes_as_next_message_confirms(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add({"tool": "cancel_order", "arguments": {"order_id": "W1001", "reason": "too slow"}})
    session.send("cancel W1001 because it is too slow")
    before = model.position
    reply = session.send("yes")
    assert _status(agent, "W1001") == "cancelled"
    assert model.position == before  # the confirmation needed no model step
    assert any(e.type == "action_resolved" and e.data["status"] == "executed" for e in reply.events)


def test_no_declines_and_an_unrelated_message_declines(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add({"tool": "cancel_order", "arguments": {"order_id": "W1001", "reason": "changed mind"}})
    session.send("cancel W1001, changed my mind")
    reply = session.send("no")
    assert "not made that change" in reply.text
    assert _status(agent, "W1001") == "pending"

    model.add({"tool": "cancel_order", "arguments": {"order_id": "W1001", "reason": "changed mind"}},
              {"tool": "list_orders", "arguments": {}}, "You have 4 orders.")
    first = session.send("cancel W1001, changed my mind")
    action = first.pending_action
    reply = session.send("actually, what orders do I have?")
    assert _status(agent, "W1001") == "pending"
    row = agent.store.one("SELECT status FROM pending_actions WHERE id = ?", (action.id,))
    assert row["status"] == "declined"
    assert reply.pending_action is None


def test_yes_with_a_different_request_is_not_a_confirmation(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add({"tool": "cancel_order", "arguments": {"order_id": "W1001", "reason": "mistake"}},
              "I can only act on the order we discussed.")
    session.send("cancel W1001, mistake")
    session.send("yes, but cancel W1003 instead")
    assert _status(agent, "W1001") == "pending"
    assert _status(agent, "W1003") == "shipped"


def test_double_confirm_writes_once(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add({"tool": "cancel_order", "arguments": {"order_id": "W1001", "reason": "mistake"}})
    action = session.send("cancel W1001, mistake").pending_action
    session.confirm(action.id)
    again = session.confirm(action.id)
    refunds = agent.store.one("SELECT count(*) AS n FROM refunds WHERE order_id = 'W1001'")["n"]
    executes = agent.store.one("SELECT count(*) AS n FROM audit_log WHERE phase = 'execute'")["n"]
    assert refunds == 1 and executes == 1
    assert "cancel" in again.text.lower()


def test_confirm_of_unknown_action_is_a_clear_error(tmp_path):
    agent, model = make_agent(tmp_path)
    session = agent.session()
    with pytest.raises(KeyError):
        session.confirm("act_doesnotexist")


def test_another_customers_order_answers_like_a_missing_one(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add({"tool": "get_order", "arguments": {"order_id": "W2001"}}, "I couldn't find that order.",
              {"tool": "get_order", "arguments": {"order_id": "W9999"}}, "I couldn't find that order.")
    theirs = tool_events(session.send("show me order W2001"))[0]
    missing = tool_events(session.send("show me order W9999"))[0]
    assert theirs["status"] == missing["status"] == "denied"
    assert theirs["rule"] == missing["rule"]
    assert theirs["message"].replace("W2001", "X") == missing["message"].replace("W9999", "X")
    assert "omar" not in str(model.requests[-1].messages).lower()


def test_verification_locks_after_repeated_failures(tmp_path):
    agent, model = make_agent(tmp_path)
    session = agent.session()
    for _ in range(3):
        reply = session.send("I'm jane.doe@example.com, zip 00000")
        assert tool_events(reply)[0]["status"] == "denied"
    assert session.customer_id is None
    locked = session.send("try again: jane.doe@example.com 94107")
    assert session.customer_id is None and "locked" in locked.text
    assert tool_events(locked)[0]["rule"] == "identity.max_failed_attempts"
    model.add("Verification is locked; I can hand you to a human.")
    session.send("what now?")
    assert "verify_customer" not in model.requests[0].allowed  # the first model request of the chat


def test_resume_after_the_agent_is_discarded(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add({"tool": "cancel_order", "arguments": {"order_id": "W1001", "reason": "mistake"}})
    action = session.send("cancel W1001, mistake").pending_action
    session_id, db = session.id, agent.store.path
    del agent, session

    agent2, model2 = make_agent(tmp_path, db=db)
    resumed = agent2.resume(session_id)
    assert resumed.customer_id == "C0001"
    assert resumed.pending_action.id == action.id
    resumed.send("yes")
    assert _status(agent2, "W1001") == "cancelled"
    assert [m["role"] for m in resumed.transcript()][:2] == ["user", "assistant"]


def test_resume_checks_the_token(tmp_path):
    agent, _ = make_agent(tmp_path)
    session = agent.session()
    agent.resume(session.id, token=session.token)
    with pytest.raises(PermissionError):
        agent.resume(session.id, token="wrong")


def test_card_numbers_never_reach_the_transcript_or_log(tmp_path):
    agent, model = make_agent(tmp_path, ["I can't take card numbers here."])
    session = agent.session()
    session.send("my card is 4242 4242 4242 4242, charge it")
    dump = str(agent.store.all("SELECT * FROM messages")) + str(agent.store.all("SELECT * FROM audit_log"))
    assert "4242 4242 4242 4242" not in dump and "[card ending 4242]" in dump


def test_a_fee_waiving_condition_the_customer_never_claimed_is_asked_for(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add({"tool": "start_return", "arguments": {"order_id": "W1002", "reason": "don't like them",
                                                     "condition": "defective"}})
    reply = session.send("I don't like the W1002 headphones. Return them.")
    assert reply.pending_action is None
    assert tool_events(reply)[-1]["status"] == "error" and "condition" in tool_events(reply)[-1]["message"]
    assert "What condition is the item in" in reply.text
    # the customer's own claim lets the same call through
    model.add({"tool": "start_return", "arguments": {"order_id": "W1002", "reason": "stopped working",
                                                     "condition": "defective"}})
    claimed = session.send("Actually the left side stopped working.")
    assert claimed.pending_action is not None and "defective" in claimed.pending_action.summary


def test_the_condition_the_customer_stated_replaces_the_models_guess(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add({"tool": "start_return", "arguments": {"order_id": "W1002", "reason": "don't like them",
                                                     "condition": "defective"}})
    reply = session.send("I used the W1002 headphones a bit and don't like them. Return them.")
    assert reply.pending_action is not None
    assert reply.pending_action.arguments["condition"] == "opened"
    assert "opened" in reply.pending_action.summary and "defective" not in reply.pending_action.summary


def test_a_denial_is_said_before_the_models_improvised_next_step(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add([{"tool": "cancel_order", "arguments": {"order_id": "W1003", "reason": "don't need it"}},
               {"tool": "start_return", "arguments": {"order_id": "W1003", "reason": "don't need it",
                                                      "condition": "defective"}}])
    reply = session.send("Cancel W1003 please, I don't need the shorts anymore.")
    denial = tool_events(reply)[0]
    assert denial["status"] == "denied" and denial["message"] in reply.text
    assert "What condition" not in reply.text


def test_an_unclaimed_condition_in_an_eligibility_check_is_dropped(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add({"tool": "check_refund_eligibility", "arguments": {"order_id": "W1002", "condition": "defective"}},
              "Here are your options.")
    session.send("How much would I get back for W1002 if I return it?")
    call = agent.store.one("SELECT arguments FROM audit_log WHERE tool = 'check_refund_eligibility'")
    assert "condition" not in call["arguments"]
