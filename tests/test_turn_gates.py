"""The runtime's gates on the understood turn, with the scripted model: confirmation, identity,
cross-customer access, persistence, redaction, streaming and concurrency.

Each customer message is one understanding step (`model.structured`): the scripted model answers it
with the understanding dict given, e.g. `understood("cancel_order", "W1001", reason=...)`, or
`{"answer": "yes"}` while a change is pending."""

from __future__ import annotations

import threading

import pytest

from agent_harness import NO, YES, make_agent, tool_events, understood, verified_session
from agent.turn import texts
from agent.understanding.kinds import KINDS
from tools.registry import get_tool

CANCEL = "Please cancel W1001, I ordered it by mistake."
CANCEL_W1001 = understood("cancel_order", "W1001", reason="I ordered it by mistake")


def _status(agent, order_id):
    return agent.store.one("SELECT status FROM orders WHERE id = ?", (order_id,))["status"]


def _pending_cancel(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add(CANCEL_W1001)
    reply = session.send(CANCEL)
    assert reply.pending_action is not None and reply.pending_action.tool == "cancel_order"
    return agent, model, session, reply


# ---- confirmation ---------------------------------------------------------------------------------


def test_write_becomes_pending_and_runs_only_after_api_confirm(tmp_path):
    agent, model, session, reply = _pending_cancel(tmp_path)
    action = reply.pending_action
    assert action.arguments == {"order_id": "W1001", "reason": "I ordered it by mistake"}
    assert "W1001" in action.summary and reply.text.endswith(texts.CONFIRM.format(summary=action.summary))
    assert [e.data["action_id"] for e in reply.events if e.type == "confirmation_requested"] == [action.id]
    assert _status(agent, "W1001") == "pending"  # nothing written yet
    assert not agent.store.all("SELECT * FROM refunds WHERE order_id = 'W1001'")
    done = session.confirm(action.id)
    assert _status(agent, "W1001") == "cancelled"
    assert "cancelled" in done.text.lower()
    assert session.pending_action is None
    row = agent.store.one("SELECT confirmed_by FROM audit_log WHERE phase = 'execute'")
    assert row["confirmed_by"] == "api"


@pytest.mark.parametrize("yes", ["yes", "是的", "sí"])
def test_yes_as_next_message_confirms(tmp_path, yes):
    """The model says the message is a yes (in any language); code runs exactly the previewed action."""
    agent, model, session, first = _pending_cancel(tmp_path)
    model.add(YES)
    reply = session.send(yes)
    assert _status(agent, "W1001") == "cancelled"
    assert [(e.data["action_id"], e.data["status"]) for e in reply.events if e.type == "action_resolved"] == [
        (first.pending_action.id, "executed")]
    # the understanding step was told what is waiting, and its schema puts the answer first
    assert first.pending_action.summary in model.requests[-1].messages[-1]["content"]
    assert "anyOf" in model.requests[-1].extra["schema"]
    row = agent.store.one("SELECT confirmed_by, arguments FROM audit_log WHERE phase = 'execute'")
    assert row["confirmed_by"] == "message" and "W1001" in row["arguments"]


def test_no_declines_and_something_else_keeps_the_change_open(tmp_path):
    agent, model, session, first = _pending_cancel(tmp_path)
    model.add(NO)
    reply = session.send("no")
    assert reply.text == texts.DECLINED
    assert _status(agent, "W1001") == "pending"
    row = agent.store.one("SELECT status FROM pending_actions WHERE id = ?", (first.pending_action.id,))
    assert row["status"] == "declined"
    assert reply.pending_action is None

    # proposed again, then the customer asks something else: nothing runs, the question is asked again
    model.add(CANCEL_W1001, {"answer": "other", "lang": "en", "requests": [{"kind": "list_orders"}]})
    again = session.send(CANCEL)
    reply = session.send("actually, what orders do I have?")
    assert _status(agent, "W1001") == "pending"
    assert [r["tool"] for r in tool_events(reply)] == ["list_orders"]
    assert reply.pending_action is not None and reply.pending_action.id == again.pending_action.id
    assert reply.text.endswith(texts.CONFIRM.format(summary=again.pending_action.summary))


def test_yes_with_a_different_request_is_not_a_confirmation(tmp_path):
    agent, model, session, first = _pending_cancel(tmp_path)
    model.add({"answer": "other", "lang": "en", "requests": [{"kind": "cancel_order", "order": "W1003"}]})
    session.send("yes, but cancel W1003 instead")
    assert _status(agent, "W1001") == "pending"
    assert _status(agent, "W1003") == "shipped"
    assert session.pending_action.id == first.pending_action.id  # still waiting for a clear answer


def test_double_confirm_writes_once(tmp_path):
    agent, model, session, reply = _pending_cancel(tmp_path)
    action = reply.pending_action
    session.confirm(action.id)
    again = session.confirm(action.id)
    refunds = agent.store.one("SELECT count(*) AS n FROM refunds WHERE order_id = 'W1001'")["n"]
    executes = agent.store.one("SELECT count(*) AS n FROM audit_log WHERE phase = 'execute'")["n"]
    assert refunds == 1 and executes == 1
    assert "cancel" in again.text.lower()
    # a "yes" after that finds nothing waiting and writes nothing
    model.add(YES)
    assert session.send("yes").text == texts.NOTHING_PENDING
    assert agent.store.one("SELECT count(*) AS n FROM audit_log WHERE phase = 'execute'")["n"] == 1


def test_confirm_of_unknown_action_is_a_clear_error(tmp_path):
    agent, _ = make_agent(tmp_path)
    session = agent.session()
    with pytest.raises(KeyError, match="no action act_doesnotexist"):
        session.confirm("act_doesnotexist")
    with pytest.raises(KeyError):
        session.decline("act_doesnotexist")


def test_another_sessions_action_is_unknown_here(tmp_path):
    agent, model, _, reply = _pending_cancel(tmp_path)
    other = agent.session()
    with pytest.raises(KeyError):
        other.confirm(reply.pending_action.id)
    assert _status(agent, "W1001") == "pending"


# ---- identity and the customer's own words ---------------------------------------------------------


IDENTITY_KINDS = sorted(k.name for k in KINDS.values() if k.tool and get_tool(k.tool).requires_identity)


def test_every_tool_but_the_identity_free_ones_needs_a_verified_customer():
    free = {k.tool for k in KINDS.values() if k.tool} - {KINDS[k].tool for k in IDENTITY_KINDS}
    assert free == {"verify_customer", "search_help_center", "escalate_to_human", "send_password_reset"}


@pytest.mark.parametrize("kind", IDENTITY_KINDS)
def test_no_customer_data_before_verification(tmp_path, kind):
    """Whatever the model understood, a request that needs the customer's identity runs no tool before
    login: it waits for the login (the customer is asked for it), and nothing about anyone comes back."""
    order = "W1001" if KINDS[kind].takes_order else None
    agent, model = make_agent(tmp_path, [understood(kind, order)])
    session = agent.session()
    reply = session.send("W1001 — show me everything, change it, refund it")
    assert reply.text == texts.ASK_LOGIN
    assert not reply.tool_calls and session.pending_action is None
    assert not agent.store.all("SELECT * FROM audit_log WHERE phase != 'understand'")
    assert [item["deferred"]["kind"] for item in session.agenda] == [kind]
    assert _status(agent, "W1001") == "pending"


def test_another_customers_order_answers_like_a_missing_one(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add(understood("get_order", "W2001"), understood("get_order", "W9999"))
    theirs_reply = session.send("show me order W2001")
    missing_reply = session.send("show me order W9999")
    theirs, missing = tool_events(theirs_reply)[0], tool_events(missing_reply)[0]
    assert theirs["status"] == missing["status"] == "denied"
    assert theirs["rule"] == missing["rule"] == "identity.own_orders_only"
    assert theirs["message"].replace("W2001", "X") == missing["message"].replace("W9999", "X")
    assert theirs_reply.text.replace("W2001", "X") == missing_reply.text.replace("W9999", "X")
    assert "omar" not in (str(theirs_reply.events) + theirs_reply.text).lower()


def test_verification_locks_after_repeated_failures(tmp_path):
    agent, model = make_agent(tmp_path, [understood("login")] * 4)
    session = agent.session()
    for _ in range(3):
        reply = session.send("I'm jane.doe@example.com, zip 00000")
        assert [(r["tool"], r["status"]) for r in tool_events(reply)] == [("verify_customer", "denied")]
    assert session.customer_id is None
    locked = session.send("try again: jane.doe@example.com 94107")  # the right details, too late
    assert session.customer_id is None and "locked" in locked.text
    assert tool_events(locked)[0]["rule"] == "identity.max_failed_attempts"
    # a locked-out customer still gets a human, with the reason said
    model.add(understood("handoff"))
    human = session.send("what now? get me a person")
    (call,) = [c for c in human.tool_calls if c["tool"] == "escalate_to_human"]
    assert call["arguments"]["reason"] == "verification_locked"
    assert tool_events(human)[0]["status"] == "ok"


def test_a_condition_the_customer_never_stated_is_dropped_from_an_eligibility_check(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add(understood("check_refund_eligibility", "W1002", condition="defective", condition_words="broken"))
    reply = session.send("How much would I get back for W1002 if I return it?")
    assert [(r["tool"], r["status"]) for r in tool_events(reply)] == [("check_refund_eligibility", "ok")]
    call = agent.store.one("SELECT arguments FROM audit_log WHERE tool = 'check_refund_eligibility'")
    assert "condition" not in call["arguments"]


# ---- persistence ----------------------------------------------------------------------------------


def test_resume_after_the_agent_is_discarded(tmp_path):
    agent, model, session, reply = _pending_cancel(tmp_path)
    action = reply.pending_action
    session_id, db = session.id, agent.store.url.target
    del agent, session

    agent2, model2 = make_agent(tmp_path, [YES], db=db)
    resumed = agent2.resume(session_id)
    assert resumed.customer_id == "C0001"
    assert resumed.pending_action.id == action.id
    resumed.send("yes")
    assert _status(agent2, "W1001") == "cancelled"
    assert [m["role"] for m in resumed.transcript()] == ["user", "assistant"] * 3
    assert model2.remaining == 0


def test_resume_checks_the_token(tmp_path):
    agent, _ = make_agent(tmp_path)
    session = agent.session()
    assert agent.resume(session.id, token=session.token).id == session.id
    with pytest.raises(PermissionError):
        agent.resume(session.id, token="wrong")
    with pytest.raises(KeyError):
        agent.resume("s_doesnotexist")


def test_card_numbers_never_reach_the_transcript_or_log(tmp_path):
    """Not the customer's message, nor the model's understanding (its raw output and its dump in the
    audit log), nor a tool's arguments that carry the customer's words."""
    card = "4242 4242 4242 4242"
    agent, model = make_agent(tmp_path, [understood("question", topic=f"charge card {card}")])
    session = agent.session()
    reply = session.send(f"my card is {card}, charge it")
    assert card not in reply.text
    dump = str(agent.store.all("SELECT * FROM messages")) + str(agent.store.all("SELECT * FROM audit_log")) + \
        str(agent.store.all("SELECT * FROM conversations"))
    assert card not in dump and "4242424242424242" not in dump
    assert "[card ending 4242]" in dump
    understand = agent.store.one("SELECT arguments, message FROM audit_log WHERE phase = 'understand'")
    assert "[card ending 4242]" in understand["arguments"] and "[card ending 4242]" in understand["message"]


# ---- streaming and concurrency ----------------------------------------------------------------------


def test_streamed_events_arrive_in_order(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add(understood("track_shipment", "W1003"), CANCEL_W1001)
    events = list(session.stream("where is W1003?"))
    kinds = [e.type for e in events]
    assert kinds == ["tool_call", "tool_result", "text_delta", "turn_done"]
    assert events[0].data["label"] == "Tracking order W1003..."
    assert events[2].data["text"] == events[3].data["text"] and "W1003" in events[3].data["text"]
    kinds = [e.type for e in session.stream(CANCEL)]
    assert kinds == ["tool_call", "tool_result", "confirmation_requested", "text_delta", "turn_done"]


async def test_async_send_and_stream(tmp_path):
    agent, model = make_agent(tmp_path)
    session = verified_session(agent, model)
    model.add(understood("list_orders"), understood("list_orders"))
    reply = await session.asend("my orders?")
    assert "W1001" in reply.text
    kinds = [e.type async for e in session.astream("my orders again?")]
    assert kinds[0] == "tool_call" and kinds[-1] == "turn_done"


def test_many_sessions_share_one_agent_across_threads(tmp_path):
    def hello(messages, schema):
        return understood("smalltalk")

    agent, model = make_agent(tmp_path, [hello] * 40)
    errors: list[Exception] = []
    replies: list[str] = []

    def chat() -> None:
        try:
            session = agent.session()
            replies.append(session.send("hi").text)
            replies.append(session.send("thanks!").text)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=chat) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert agent.store.one("SELECT count(*) AS n FROM conversations")["n"] == 10
    assert sorted(set(replies)) == sorted({texts.GREETING, texts.ANYTHING_ELSE})
    assert agent.store.one("SELECT count(*) AS n FROM messages WHERE role = 'assistant'")["n"] == 20
