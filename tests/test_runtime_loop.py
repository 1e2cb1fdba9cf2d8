"""The turn loop, with the scripted model: bad calls, failures, the agenda, provenance, the guard."""

from __future__ import annotations

from agent.models.base import ModelError, ModelReply, ToolCall
from agent_harness import make_agent, tool_events, verified_session


def test_malformed_arguments_go_back_to_the_model_which_corrects(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add(ModelReply(tool_calls=[ToolCall(id="c1", name="get_order", arguments="{order: W1003")]),
              {"tool": "get_order", "arguments": {"order_id": "W1003"}},
              "Order W1003 has shipped.")
    reply = session.send("what's up with W1003?")
    statuses = [r["status"] for r in tool_events(reply)]
    assert statuses == ["error", "ok"]
    assert reply.text == "Order W1003 has shipped."
    fed_back = [m for m in model.requests[-2].messages if m["role"] == "tool"][-1]["content"]
    assert "not valid JSON" in fed_back


def test_unknown_tool_is_reported_to_the_model(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add({"tool": "teleport_parcel", "arguments": {}}, {"tool": "list_orders", "arguments": {}},
              "You have a few orders.")
    reply = session.send("list my stuff")
    results = tool_events(reply)
    assert results[0]["status"] == "error" and "no tool named" in results[0]["message"]
    assert results[1]["status"] == "ok"


def test_the_same_failing_call_twice_stops_with_an_honest_answer(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    bad = {"tool": "list_orders", "arguments": {"limit": 500}}
    model.add(bad, bad, "should never be used")
    reply = session.send("show W1003")
    assert "same step failed twice" in reply.text
    assert model.remaining == 1


def test_model_failure_after_retries_apologises_and_keeps_state(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add({"tool": "cancel_order", "arguments": {"order_id": "W1001", "reason": "mistake"}})
    action = session.send("cancel W1001, mistake").pending_action
    model.add(ModelError("endpoint down after 4 attempts"))
    reply = session.send("also, what's my order history?")
    assert "technical problem" in reply.text and "human" in reply.text
    assert any(e.type == "error" for e in reply.events)
    assert session.customer_id == "C0001"  # nothing already done is lost
    transcript = [m["content"] for m in session.transcript()]
    assert "also, what's my order history?" in transcript
    # the pending cancel was declined by the unrelated message, but it is recorded, not lost
    row = agent.store.one("SELECT status FROM pending_actions WHERE id = ?", (action.id,))
    assert row["status"] == "declined"


def test_order_id_the_customer_never_gave_is_asked_for_not_used(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add({"tool": "cancel_order", "arguments": {"order_id": "W1001", "reason": "mistake"}})
    reply = session.send("cancel my order please, it was a mistake")
    assert "Which order" in reply.text
    assert reply.pending_action is None
    assert agent.store.one("SELECT status FROM orders WHERE id = 'W1001'")["status"] == "pending"
    audit = agent.store.one("SELECT phase FROM audit_log WHERE tool = 'cancel_order'")
    assert audit["phase"] == "blocked"


def test_two_reads_in_one_message_are_both_answered(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add([{"tool": "track_shipment", "arguments": {"order_id": "W1003"}},
               {"tool": "check_refund_eligibility", "arguments": {"order_id": "W1002"}}],
              "W1003 is on its way with UPS, and W1002 can still be returned.")
    reply = session.send("track W1003 and tell me if W1002 can still be returned")
    results = tool_events(reply)
    assert [r["tool"] for r in results] == ["track_shipment", "check_refund_eligibility"]
    assert all(r["status"] == "ok" for r in results)
    final_request = model.requests[-1]
    assert final_request.reply_only
    tool_msgs = [m for m in final_request.messages if m["role"] == "tool"]
    assert len(tool_msgs) >= 2


def test_a_write_and_a_read_in_one_message(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add([{"tool": "cancel_order", "arguments": {"order_id": "W1001", "reason": "found it cheaper"}},
               {"tool": "track_shipment", "arguments": {"order_id": "W1003"}}],
              "W1003 is in transit with UPS.")
    reply = session.send("cancel W1001 (found it cheaper) and where is W1003?")
    assert reply.pending_action is not None and reply.pending_action.tool == "cancel_order"
    assert "in transit" in reply.text and "Shall I go ahead" in reply.text
    assert [r["tool"] for r in tool_events(reply)] == ["cancel_order", "track_shipment"]


def test_second_write_waits_on_the_agenda_until_the_first_is_resolved(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add([{"tool": "cancel_order", "arguments": {"order_id": "W1001", "reason": "mistake"}},
               {"tool": "start_return", "arguments": {"order_id": "W1002", "reason": "too small",
                                                      "condition": "unopened"}}])
    first = session.send("cancel W1001 (mistake) and return W1002, unopened, too small")
    assert first.pending_action.tool == "cancel_order"
    second = session.confirm(first.pending_action.id)
    assert agent.store.one("SELECT status FROM orders WHERE id = 'W1001'")["status"] == "cancelled"
    assert second.pending_action is not None and second.pending_action.tool == "start_return"
    assert agent.store.one("SELECT status FROM orders WHERE id = 'W1002'")["status"] == "delivered"


def test_help_question_answered_without_search_is_routed_to_the_help_center(tmp_path):
    agent, model = make_agent(tmp_path, ["We accept all cards!", "We accept the methods listed in our help center."])
    reply = agent.session().send("Which payment methods do you accept?")
    assert [r["tool"] for r in tool_events(reply)] == ["search_help_center"]
    assert reply.text.startswith("We accept the methods")


def test_guard_rejects_an_invented_order_id(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add({"tool": "list_orders", "arguments": {}}, "Your latest order is W4242.",
              "Your latest order is W1001.")
    reply = session.send("what's my latest order")
    assert reply.text == "Your latest order is W1001."
    assert any(e.type == "text_reset" for e in reply.events)


def test_guard_replaces_an_invented_amount_after_one_retry(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add({"tool": "get_order", "arguments": {"order_id": "W1002"}}, "You paid $149.00.",
              "You paid $149.00, really.")
    reply = session.send("how much did W1002 cost?")
    assert "$149.00" not in reply.text
    assert reply.text.startswith("Here is what I found")
    rows = agent.store.all("SELECT status FROM audit_log WHERE phase = 'guard'")
    assert [r["status"] for r in rows] == ["rejected", "replaced"]


def test_guard_catches_a_claimed_cancellation_with_no_tool_call(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add("I have cancelled order W1001 for you.", "I can cancel W1001 once you confirm.")
    reply = session.send("cancel W1001 now!!")
    assert reply.text == "I can cancel W1001 once you confirm."
    assert agent.store.one("SELECT status FROM orders WHERE id = 'W1001'")["status"] == "pending"


def test_streamed_events_arrive_in_order(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add({"tool": "track_shipment", "arguments": {"order_id": "W1003"}}, "It is with UPS, in transit.")
    kinds = [e.type for e in session.stream("where is W1003?")]
    assert kinds[0] == "tool_call" and kinds[1] == "tool_result"
    assert "text_delta" in kinds and kinds[-1] == "turn_done"


async def test_async_send_and_stream(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add({"tool": "list_orders", "arguments": {}}, "You have orders W1001 to W1004.",
              {"tool": "list_orders", "arguments": {}}, "Still W1001 to W1004.")
    reply = await session.asend("my orders?")
    assert "W1001" in reply.text
    kinds = [e.type async for e in session.astream("my orders again?")]
    assert kinds[-1] == "turn_done"


def test_many_sessions_share_one_agent_across_threads(tmp_path):
    import threading

    def script(messages, allowed, reply_only):
        return "Hello!"

    agent, model = make_agent(tmp_path, [script] * 40)
    errors: list[Exception] = []

    def chat() -> None:
        try:
            for _ in range(2):
                agent.session().send("hi")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=chat) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert agent.store.one("SELECT count(*) AS n FROM conversations")["n"] == 10 * 2


def test_guard_rejects_an_invented_link(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add({"tool": "track_shipment", "arguments": {"order_id": "W1003"}},
              "Track it at https://track.example.com/W1003.", "It is in transit with UPS.")
    reply = session.send("where is W1003?")
    assert reply.text == "It is in transit with UPS."


def test_help_question_looked_up_as_an_unmentioned_order_is_routed_to_help(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add({"tool": "get_order", "arguments": {"order_id": "W1004"}},
              "We accept the payment methods in the help center.")
    reply = session.send("What payment methods do you accept?")
    assert [r["tool"] for r in tool_events(reply)] == ["search_help_center"]


def test_tool_results_reach_the_model_compact(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add({"tool": "track_shipment", "arguments": {"order_id": "W1003"}}, "It is with UPS.")
    session.send("where is W1003?")
    tool_msg = [m for m in model.requests[-1].messages if m["role"] == "tool"][-1]["content"]
    assert "null" not in tool_msg and ": " not in tool_msg.split('"message"')[0]


def test_empty_optional_arguments_are_ignored_not_errors(tmp_path):
    agent, model = make_agent(tmp_path, [
        {"tool": "escalate_to_human", "arguments": {"order_id": "", "reason": "customer_request",
                                                     "summary": "wants a human"}},
        "A human will help you."])
    reply = agent.session().send("I want a human please")
    assert tool_events(reply)[0]["status"] == "ok"


def test_invented_login_for_a_help_question_goes_to_the_help_center(tmp_path):
    agent, model = make_agent(tmp_path, [
        {"tool": "verify_customer", "arguments": {"email": "your_email@example.com", "zip_code": "12345"}},
        "You can pay with PayPal."])
    reply = agent.session().send("Can I pay with PayPal or Apple Pay?")
    assert [r["tool"] for r in tool_events(reply)] == ["verify_customer", "search_help_center"]
    assert "email address" not in reply.text


def test_invented_login_next_to_real_work_is_dropped_silently(tmp_path):
    agent, model = make_agent(tmp_path, [
        [{"tool": "escalate_to_human", "arguments": {"reason": "customer_request", "summary": "human"}},
         {"tool": "verify_customer", "arguments": {"email": "your_email@example.com", "zip_code": "12345"}}],
        "I've escalated this to a human colleague."])
    reply = agent.session().send("get me a human")
    assert "email address" not in reply.text


def test_credentials_only_first_message_needs_no_model_step(tmp_path):
    agent, model = make_agent(tmp_path, [])
    reply = agent.session().send("Hi, I'm Jane Doe: jane.doe@example.com, zip 94107.")
    assert reply.text == "Thanks Jane, you're verified. How can I help?"
    assert model.requests == []


def test_credentials_the_code_cannot_read_are_left_to_the_model(tmp_path):
    agent, model = make_agent(tmp_path, [{"tool": "verify_customer", "arguments": {
        "email": "jane.doe@example.com", "order_id": "W1001"}}])
    session = agent.session()
    reply = session.send("Hi, I'm Jane Doe: jane.doe@example.com, W1001.")
    assert session.customer_id == "C0001"
    assert reply.text == "Thanks Jane, you're verified. How can I help?"
    assert len(model.requests) == 1


def test_credentials_with_a_request_keep_going(tmp_path):
    agent, model = make_agent(tmp_path, [
        {"tool": "verify_customer", "arguments": {"email": "jane.doe@example.com", "zip_code": "94107"}},
        {"tool": "list_orders", "arguments": {}}, "You have four orders."])
    reply = agent.session().send("jane.doe@example.com 94107 - show me my orders")
    assert reply.text == "You have four orders." and len(model.requests) == 3


def test_guard_does_not_take_an_amount_from_the_customer(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add({"tool": "check_refund_eligibility", "arguments": {"order_id": "W1002"}},
              "Sure, you'll get $250 back.", "You'll get $250.")
    reply = session.send("Return W1002 and refund me $250, that's fair")
    assert "$250" not in reply.text


def test_a_dropped_second_request_is_asked_for_by_the_runtime(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add({"tool": "track_shipment", "arguments": {"order_id": "W1003"}},
              {"tool": "check_refund_eligibility", "arguments": {"order_id": "W1002"}},
              "W1003 is with UPS; W1002 can still be returned.")
    reply = session.send("track W1003 and tell me if W1002 can still be returned")
    assert [r["tool"] for r in tool_events(reply)] == ["track_shipment", "check_refund_eligibility"]
    note = model.requests[-2].messages[-1]["content"]
    assert "W1002" in note and "system" in note
