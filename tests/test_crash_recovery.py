"""A crash at any point of a confirmed write leaves the store, the audit log and the pending action
consistent once the conversation resumes (on SQLite records in the store's file, and on PostgreSQL
records beside a SQLite store): the crash is a raise inside the runtime between the steps, the store
is the real demo store."""

from __future__ import annotations

import pytest
from agent_harness import NOW, YES, demo_db, understood, verified_session
from pg_harness import fresh_postgres_db

from agent.models.scripted import ScriptedModel
from agent.records import Records
from agent.support_agent import SupportAgent

CANCEL = understood("cancel_order", "W1001", reason="ordered by mistake")


@pytest.fixture(params=["store-file", "postgresql"])
def agent(request, tmp_path):
    records = None
    if request.param == "postgresql":
        records = fresh_postgres_db(request.getfixturevalue("postgres_server"))
    agent = SupportAgent(demo_db(tmp_path), model=ScriptedModel(), clock=lambda: NOW, records=records)
    yield agent
    agent.records.db.close()


def proposed_cancel(agent):
    session = verified_session(agent, agent.model)
    agent.model.add(CANCEL)
    reply = session.send("Please cancel W1001, I ordered by mistake")
    assert reply.pending_action is not None
    return session, reply.pending_action.id


def order_status(agent) -> str:
    return agent.store.one("SELECT status FROM orders WHERE id = 'W1001'")["status"]


def test_a_crash_after_the_store_committed_is_reconciled_as_done(agent, monkeypatch):
    session, action_id = proposed_cancel(agent)

    def crash(self, *args, **kwargs):
        raise SystemExit("worker killed after the store's commit")

    monkeypatch.setattr(Records, "finish_action", crash)
    with pytest.raises(SystemExit):
        session.confirm(action_id)
    monkeypatch.undo()
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
