"""A crash at any point of a confirmed write leaves the store, the audit log and the pending action
consistent once the conversation resumes: records in the store's own database (SQLite file or
PostgreSQL: the write, its audit row and the action's status commit in one transaction), and
PostgreSQL records beside a SQLite store (reconciled by the action key). The crash is a raise inside
the runtime between the steps; the store is the real demo store."""

from __future__ import annotations

import pytest
from agent_harness import NOW, YES, demo_db, understood, verified_session
from pg_harness import demo_postgres_store, fresh_postgres_db

from agent.models.scripted import ScriptedModel
from agent.records import Records
from agent.support_agent import SupportAgent

CANCEL = understood("cancel_order", "W1001", reason="ordered by mistake")


SHARED = ["store-file", "postgresql-store"]  # the records in the store's own database
SEPARATE = ["postgresql-records"]  # PostgreSQL records beside a SQLite store


def _agent(request, tmp_path):
    store, records = demo_db(tmp_path), None
    if request.param == "postgresql-records":
        records = fresh_postgres_db(request.getfixturevalue("postgres_server"))
    if request.param == "postgresql-store":
        store = demo_postgres_store(request.getfixturevalue("postgres_server"))
    agent = SupportAgent(store, model=ScriptedModel(), clock=lambda: NOW, records=records)
    assert agent.records_share_store == (request.param in SHARED)
    yield agent
    agent.records.db.close()
    agent.store.close()


agent = pytest.fixture(params=SHARED + SEPARATE, name="agent")(_agent)
shared_agent = pytest.fixture(params=SHARED, name="shared_agent")(_agent)
separate_agent = pytest.fixture(params=SEPARATE, name="separate_agent")(_agent)


def proposed_cancel(agent):
    session = verified_session(agent, agent.model)
    agent.model.add(CANCEL)
    reply = session.send("Please cancel W1001, I ordered by mistake")
    assert reply.pending_action is not None
    return session, reply.pending_action.id


def confirm_crashing_in_finish(session, action_id, monkeypatch) -> None:
    """Confirm, with the worker killed when the action's outcome is being recorded."""
    def crash(self, *args, **kwargs):
        raise SystemExit("worker killed while recording the outcome")

    monkeypatch.setattr(Records, "finish_action", crash)
    with pytest.raises(SystemExit):
        session.confirm(action_id)
    monkeypatch.undo()


def order_status(agent) -> str:
    return agent.store.one("SELECT status FROM orders WHERE id = 'W1001'")["status"]


def test_a_crash_before_the_shared_commit_writes_nothing_and_asks_again(shared_agent, monkeypatch):
    """Records in the store's database: the outcome is written inside the write's transaction, so a
    crash there leaves neither the write nor the outcome, and the customer is asked again."""
    agent = shared_agent
    session, action_id = proposed_cancel(agent)
    confirm_crashing_in_finish(session, action_id, monkeypatch)  # inside the write's transaction
    assert order_status(agent) == "pending" and agent.store.executed_result(action_id) is None

    resumed = agent.resume(session.id)
    agent.model.add(YES)
    reply = resumed.send("yes please")
    assert order_status(agent) == "cancelled" and reply.pending_action is None
    assert agent.records.action(session.id, action_id)["status"] == "executed"
    audit = agent.records.db.all("SELECT confirmed_by FROM audit_log WHERE action_id = ? AND phase = 'execute'",
                                 (action_id,))
    assert len(audit) == 1
    assert agent.store.one("SELECT count(*) AS n FROM refunds WHERE order_id = 'W1001'")["n"] == 1


def test_a_crash_after_the_store_committed_is_reconciled_as_done(separate_agent, monkeypatch):
    """Records in another database: the store commits first; the outcome is reconciled by the key."""
    agent = separate_agent
    session, action_id = proposed_cancel(agent)
    confirm_crashing_in_finish(session, action_id, monkeypatch)  # after the store's commit
    assert order_status(agent) == "cancelled"
    assert agent.records.action(session.id, action_id)["status"] == "executing"

    resumed = agent.resume(session.id)  # the next message, on any worker
    agent.model.add(understood("smalltalk"))
    reply = resumed.send("thanks")
    assert "cancelled" in reply.text.lower()  # told it was done, never that it was not
    row = agent.records.action(session.id, action_id)
    assert row["status"] == "executed" and '"ok"' in row["result"]
    audit = agent.records.db.all("SELECT confirmed_by FROM audit_log WHERE action_id = ? AND phase = 'execute'",
                                 (action_id,))
    assert audit == [{"confirmed_by": "recovered"}]
    assert resumed.pending_action is None
    assert agent.store.one("SELECT count(*) AS n FROM refunds WHERE order_id = 'W1001'")["n"] == 1


def test_a_crash_before_the_store_committed_asks_again_and_writes_once(agent, monkeypatch):
    session, action_id = proposed_cancel(agent)

    def crash(*args, **kwargs):
        raise SystemExit("worker killed before the store's commit")

    monkeypatch.setattr("agent.session.run_tool", crash)
    with pytest.raises(SystemExit):
        session.confirm(action_id)
    monkeypatch.undo()
    assert order_status(agent) == "pending"

    resumed = agent.resume(session.id)
    agent.model.add(YES)
    reply = resumed.send("yes please")  # the change is still waiting for their answer
    assert order_status(agent) == "cancelled" and reply.pending_action is None
    assert agent.records.action(session.id, action_id)["status"] == "executed"
    assert agent.store.one("SELECT count(*) AS n FROM refunds WHERE order_id = 'W1001'")["n"] == 1


def test_the_repl_stays_usable_when_the_database_goes_away(agent, monkeypatch):
    import io

    from rich.console import Console

    from agent.repl import DATABASE_DOWN, Repl
    from tools.errors import StoreError

    repl = Repl(agent)
    repl.console = Console(file=io.StringIO(), width=200)
    real_run = type(agent.records.db).run

    def unreachable(db, sql, params=()):
        raise StoreError("the agent's records database failed: connection refused")

    monkeypatch.setattr(type(agent.records.db), "run", unreachable)
    repl.run(io.StringIO("hello\n"))
    monkeypatch.setattr(type(agent.records.db), "run", real_run)
    agent.model.add(understood("smalltalk"))
    repl.run(io.StringIO("hello again\n"))
    out = repl.console.file.getvalue()
    assert DATABASE_DOWN.split(".")[0] in out and "connection refused" in out
    said = [m["content"] for m in repl.session.transcript() if m["role"] == "user"]
    assert said == ["hello again"]  # nothing half-written from the failed message


def test_a_message_cut_off_while_being_understood_is_answered_on_resume(agent):
    """The worker dies inside the model step: the message was saved, nothing else; the next turn (on
    any worker) answers it first, then the new message."""
    session = verified_session(agent, agent.model)

    def killed(messages, schema):
        raise SystemExit("worker killed during the understanding step")

    agent.model.add(killed)
    with pytest.raises(SystemExit):
        session.send("Where is my order W1003?")
    said = [m["content"] for m in session.transcript()]
    assert said[-1] == "Where is my order W1003?"  # saved before the model ran, unanswered

    resumed = agent.resume(session.id)
    agent.model.add(understood("track_shipment", "W1003"), understood("smalltalk"))
    reply = resumed.send("Are you still there?")
    assert "W1003" in reply.text and reply.text.count("W1003") >= 1
    roles = [(m["role"], m["content"]) for m in resumed.transcript()][-4:]
    assert [r for r, _ in roles] == ["user", "assistant", "user", "assistant"]
    assert roles[0][1] == "Where is my order W1003?" and "W1003" in roles[1][1]
    tracked = agent.records.db.all("SELECT turn FROM audit_log WHERE conversation_id = ? AND tool = "
                                   "'track_shipment'", (session.id,))
    assert len(tracked) == 1  # answered once


def test_a_confirmation_cut_off_after_the_write_is_told_as_done(shared_agent, monkeypatch):
    """The write and its outcome committed; the worker died before the reply was saved. The next
    message is told the change was made (never that it was not), and nothing runs twice."""
    agent = shared_agent
    session, action_id = proposed_cancel(agent)

    def crash(self, emit):
        raise SystemExit("worker killed after the write committed")

    monkeypatch.setattr(type(session), "_next_from_agenda", crash)
    with pytest.raises(SystemExit):
        session.confirm(action_id)
    monkeypatch.undo()
    assert order_status(agent) == "cancelled"
    assert agent.records.action(session.id, action_id)["status"] == "executed"

    resumed = agent.resume(session.id)
    agent.model.add(understood("smalltalk"))
    reply = resumed.send("thanks")
    assert "cancelled" in reply.text.lower() and "have not made" not in reply.text.lower()
    assert resumed.pending_action is None
    assert agent.store.one("SELECT count(*) AS n FROM refunds WHERE order_id = 'W1001'")["n"] == 1
    audit = agent.records.db.all("SELECT confirmed_by FROM audit_log WHERE action_id = ? AND phase = 'execute'",
                                 (action_id,))
    assert audit == [{"confirmed_by": "api"}]


def test_a_turn_that_failed_with_an_error_is_not_answered_again(agent, monkeypatch):
    """An error the customer was told about (the process lives on) is not a cut turn: their next
    message is answered, the failed one is not run a second time."""
    session = verified_session(agent, agent.model)

    def boom(session, text, emit):
        raise RuntimeError("a bug in processing")

    monkeypatch.setattr("agent.session.understood_turn", boom)
    with pytest.raises(RuntimeError):
        session.send("Where is my order W1003?")
    monkeypatch.undo()
    agent.model.add(understood("smalltalk"))
    reply = agent.resume(session.id).send("hello?")
    assert "W1003" not in reply.text and agent.model.remaining == 0
