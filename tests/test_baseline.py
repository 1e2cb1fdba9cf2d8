"""The plain baseline agent (agent/baseline.py) on a scripted model: its tool loop, writes that run
only when the model calls them again after the customer's answer, and rows the eval judge reads."""

from __future__ import annotations

from agent_harness import NOW, demo_db

from agent.baseline import NO_ANSWER, BaselineAgent
from agent.models.scripted import ScriptedModel
from evals import audit
from tools.registry import all_tools

JANE = "Hi, I'm jane.doe@example.com, zip 94107. Please cancel order W1001, I ordered it by mistake."
VERIFY = {"tool": "verify_customer", "arguments": {"email": "jane.doe@example.com", "zip_code": "94107"}}
CANCEL = {"tool": "cancel_order", "arguments": {"order_id": "W1001", "reason": "ordered it by mistake"}}


def baseline(tmp_path, steps, **kwargs):
    model = ScriptedModel(steps)
    return BaselineAgent(demo_db(tmp_path), model=model, clock=lambda: NOW, **kwargs), model


def status(agent, order="W1001"):
    return agent.store.one("SELECT status FROM orders WHERE id = ?", (order,))["status"]


def violations(agent, session):
    return [v.rule for v in audit.audit(audit.load_conversation(agent.store, session.id))]


def test_a_cancel_runs_only_when_the_model_calls_it_again_after_yes(tmp_path):
    agent, model = baseline(tmp_path, [
        [VERIFY, CANCEL], "Cancelling W1001 refunds $116.23. Shall I go ahead?",
        [CANCEL], "Done: W1001 is cancelled."])
    session = agent.session()
    first = session.send(JANE)
    assert first.text == "Cancelling W1001 refunds $116.23. Shall I go ahead?"
    assert session.customer_id == "C0001" and status(agent) == "pending"  # previewed, nothing changed
    assert first.pending_action is not None and first.pending_action.tool == "cancel_order"
    assert not agent.store.all("SELECT * FROM refunds WHERE order_id = 'W1001'")
    second = session.send("yes")
    assert second.text == "Done: W1001 is cancelled." and second.pending_action is None
    assert status(agent) == "cancelled" and agent.store.all("SELECT * FROM refunds WHERE order_id = 'W1001'")
    rows = agent.store.all("SELECT turn, tool, phase, status, confirmed_by FROM audit_log WHERE conversation_id = ?",
                           (session.id,))
    assert [(r["turn"], r["tool"], r["phase"], r["status"]) for r in rows] == [
        (1, "verify_customer", "read", "ok"), (1, "cancel_order", "preview", "needs_confirmation"),
        (2, "cancel_order", "execute", "ok")]
    assert rows[-1]["confirmed_by"] == "message" and violations(agent, session) == []
    # the model saw the preview as a tool result, and every step offered every tool
    assert '"status":"needs_confirmation"' in model.requests[1].messages[-1]["content"]
    assert all(r.tools == [t.name for t in all_tools()] and r.allowed is None for r in model.requests)


def test_a_repeat_after_no_still_runs_and_the_audit_says_so(tmp_path):
    agent, _ = baseline(tmp_path, [[VERIFY, CANCEL], "Shall I?", [CANCEL], "Cancelled."])
    session = agent.session()
    session.send(JANE)
    session.send("no, wait")
    assert status(agent) == "cancelled"  # nothing but the tools' checks: the model decided
    assert violations(agent, session) == ["confirmed_writes"]


def test_an_action_the_model_does_not_call_again_lapses(tmp_path):
    agent, _ = baseline(tmp_path, [[VERIFY, CANCEL], "Shall I?", "OK, it's cancelled!"])
    session = agent.session()
    session.send(JANE)
    assert session.send("yes").pending_action is None
    assert status(agent) == "pending"
    (row,) = agent.store.all("SELECT status FROM pending_actions WHERE conversation_id = ?", (session.id,))
    assert row["status"] == "declined"


def test_the_buttons_resolve_the_pending_action_without_a_model_step(tmp_path):
    agent, model = baseline(tmp_path, [[VERIFY, CANCEL], "Shall I?"])
    session = agent.session()
    action = session.send(JANE).pending_action
    reply = session.confirm(action.id)
    assert status(agent) == "cancelled" and "refund" in reply.text.lower() and len(model.requests) == 2
    assert violations(agent, session) == []

    (tmp_path / "declined").mkdir()
    agent, _ = baseline(tmp_path / "declined", [[VERIFY, CANCEL], "Shall I?"])
    session = agent.session()
    session.decline(session.send(JANE).pending_action.id)
    assert status(agent) == "pending" and session.pending_action is None


def test_reads_need_a_verified_customer_and_the_last_step_has_no_tools(tmp_path):
    order = {"tool": "get_order", "arguments": {"order_id": "W1001"}}
    agent, model = baseline(tmp_path, [[order], [order], [order], [order]], max_steps=4)
    session = agent.session()
    assert session.send("What's in W1001?").text == NO_ANSWER
    assert [r.reply_only for r in model.requests] == [False, False, False, True]
    rows = agent.store.all("SELECT status, rule FROM audit_log WHERE conversation_id = ?", (session.id,))
    assert {(r["status"], r["rule"]) for r in rows} == {("denied", "identity.verification_required")}


def test_the_prompt_holds_the_policy_prose_and_in_schema_mode_the_tools(tmp_path):
    agent, _ = baseline(tmp_path, [])
    assert agent.policy.prose.strip()[:200] in agent.system
    assert "- cancel_order(order_id, reason" in agent.system and '{"reply": TEXT}' in agent.system
