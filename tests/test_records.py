"""The agent's records (agent/records/) on SQLite and PostgreSQL alike: the claim on a session, rate
limits shared by every process, pending actions, and the model history repaired after a crash."""

from __future__ import annotations

import json
import threading

import pytest
from pg_harness import records_target  # noqa: F401  (fixture)

from agent.records import open_records
from agent.records.history import model_history
from tools.errors import StoreError


@pytest.fixture
def records(records_target, tmp_path):  # noqa: F811
    records = open_records(records_target, tmp_path / "unused-store.db")
    yield records
    records.db.close()


def test_migrations_run_once(records, records_target, tmp_path):  # noqa: F811
    again = open_records(records_target, tmp_path / "unused-store.db")
    names = [r["name"] for r in again.db.all("SELECT name FROM agent_migrations ORDER BY name")]
    assert names == ["m001_conversations", "m002_shared_state", "m003_pending_order", "m004_conversation_language"]
    again.db.close()


def test_workers_starting_together_on_a_new_database_migrate_it_once(records_target, tmp_path):  # noqa: F811
    failures, opened, start = [], [], threading.Barrier(4)

    def open_at_once() -> None:
        start.wait()
        try:
            opened.append(open_records(records_target, tmp_path / "unused-store.db"))
        except Exception as exc:  # e.g. two CREATE TABLE IF NOT EXISTS racing on PostgreSQL
            failures.append(exc)

    threads = [threading.Thread(target=open_at_once) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert opened[0].db.one("SELECT count(*) AS n FROM agent_migrations")["n"] == 4
    for records in opened:
        records.db.close()


def test_a_live_claim_holds_and_an_expired_one_is_taken_over(records):
    assert records.claim("s_1", "worker-a", 60)
    assert not records.claim("s_1", "worker-b", 60) and records.claimed("s_1")
    records.release("s_1", "worker-b")  # not its claim: nothing happens
    assert records.claimed("s_1")
    records.release("s_1", "worker-a")
    assert not records.claimed("s_1") and records.claim("s_1", "worker-b", 60)
    # a worker that died holding a claim: once it has expired, another worker takes the session
    assert records.claim("s_2", "dead-worker", -1)
    assert records.claim("s_2", "worker-a", 60)
    assert not records.renew("s_2", "dead-worker", 60) and records.renew("s_2", "worker-a", 60)


def test_only_one_of_many_concurrent_claims_wins(records):
    wins, start = [], threading.Barrier(8)

    def contend(i: int) -> None:
        start.wait()
        if records.claim("s_race", f"w{i}", 60):
            wins.append(i)

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1


def test_a_rate_limit_is_one_budget_for_every_process(records, records_target, tmp_path):  # noqa: F811
    other = open_records(records_target, tmp_path / "unused-store.db")  # a second worker's connection
    windows = [(3, 60), (5, 3600)]
    assert [r.hit("sessions:1.2.3.4", windows) for r in (records, other, records)] == [None, None, None]
    wait = other.hit("sessions:1.2.3.4", windows)
    assert wait is not None and 1 <= wait <= 60
    assert records.hit("sessions:1.2.3.4", windows) is not None  # a refused request costs nothing...
    assert len(records.db.all("SELECT * FROM rate_hits WHERE key = ?", ("sessions:1.2.3.4",))) == 3
    assert records.hit("sessions:5.6.7.8", windows) is None  # ...and another key has its own budget
    other.db.close()


def test_concurrent_hits_never_pass_the_limit(records):
    allowed, start = [], threading.Barrier(10)

    def hit() -> None:
        start.wait()
        if records.hit("turns:s_busy", [(4, 60)]) is None:
            allowed.append(1)

    threads = [threading.Thread(target=hit) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(allowed) == 4


def test_an_action_runs_from_one_confirmation_only(records):
    records.create_conversation("s_1", "hash", "scripted", "2026-11-23T18:00:00Z")
    for action in ("act_1", "act_2"):
        records.create_pending(action, "s_1", "cancel_order", '{"order_id": "W1001"}', "Cancel W1001",
                               "2026-11-23T18:00:00Z")
    assert records.pending("s_1")["id"] == "act_2"  # the newest, though both have the same time
    assert [r["id"] for r in records.actions_in("s_1", "pending")] == ["act_1", "act_2"]
    assert records.start_executing("act_2") and not records.start_executing("act_2")
    records.reopen("act_2")  # the write never reached the store: the customer is asked again
    assert records.action("s_1", "act_2")["status"] == "pending"
    records.start_executing("act_2")
    records.finish_action("act_2", "executed", '{"status": "ok"}', "2026-11-23T18:01:00Z",
                          {"conversation_id": "s_1", "tool": "cancel_order", "phase": "execute", "status": "ok",
                           "action_id": "act_2"})
    assert records.action("s_1", "act_2")["status"] == "executed"
    assert records.db.one("SELECT phase, status FROM audit_log WHERE action_id = 'act_2'") == {
        "phase": "execute", "status": "ok"}


def test_a_crash_before_the_audit_row_leaves_the_action_unresolved(records, monkeypatch):
    """The outcome and its audit row commit together or not at all."""
    records.create_conversation("s_1", "hash", "scripted", "2026-11-23T18:00:00Z")
    records.create_pending("act_1", "s_1", "cancel_order", "{}", "Cancel", "2026-11-23T18:00:00Z")
    records.start_executing("act_1")

    def crash(db, row):
        raise SystemExit("killed between the two writes")

    monkeypatch.setattr(type(records), "_insert_audit", staticmethod(crash))
    with pytest.raises(SystemExit):
        records.finish_action("act_1", "executed", "{}", "now", {"conversation_id": "s_1"})
    assert records.action("s_1", "act_1")["status"] == "executing"


def test_an_unanswered_tool_call_is_dropped_from_the_model_history():
    call = {"id": "call_1", "type": "function", "function": {"name": "track_order", "arguments": "{}"}}
    answered = {"id": "call_2", "type": "function", "function": {"name": "get_order", "arguments": "{}"}}
    rows = [
        {"role": "tool", "content": "cut from its call", "tool_call_id": "call_0", "tool_calls": None},
        {"role": "user", "content": "where is W1003?", "tool_calls": None, "tool_call_id": None},
        {"role": "assistant", "content": None, "tool_calls": json.dumps([call]), "tool_call_id": None},
        # the worker died here: no answer to call_1
        {"role": "user", "content": "hello?", "tool_calls": None, "tool_call_id": None},
        {"role": "assistant", "content": None, "tool_calls": json.dumps([call, answered]), "tool_call_id": None},
        {"role": "tool", "content": "{}", "tool_call_id": "call_2", "tool_calls": None},
    ]
    history = model_history(rows)
    assert [m["role"] for m in history] == ["user", "user", "assistant", "tool"]
    assert json.loads(history[2]["tool_calls"]) == [answered]


def test_a_bad_target_or_an_unreachable_server_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="SQLite path or a postgresql:// URL"):
        open_records("mysql://x/y", tmp_path / "store.db")
    with pytest.raises(StoreError, match="cannot reach the agent's records database"):
        open_records("postgresql://nobody:secret@127.0.0.1:9/none", tmp_path / "store.db")
