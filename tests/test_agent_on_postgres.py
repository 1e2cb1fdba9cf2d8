"""The whole agent on a PostgreSQL commerce backend: `--store postgresql://...` reaches every tool and
every read the session makes, and the agent's records go into the same database by default."""

from __future__ import annotations

import pytest
from agent_harness import NOW, YES, understood, verified_session
from pg_harness import demo_postgres_store, fresh_postgres_db

from agent.commands.store_arg import open_store
from agent.models.scripted import ScriptedModel
from agent.support_agent import SupportAgent
from tools.backend.postgres import PostgresBackend


@pytest.fixture
def agent(postgres_server):
    agent = SupportAgent(demo_postgres_store(postgres_server), model=ScriptedModel(), clock=lambda: NOW)
    yield agent
    agent.records.db.close()
    agent.store.close()


def test_a_confirmed_cancel_writes_the_postgresql_store_and_its_records(agent):
    assert isinstance(agent.store, PostgresBackend)
    assert agent.records.db.url == agent.store.url.target  # the store's own database by default
    session = verified_session(agent, agent.model)
    agent.model.add(understood("cancel_order", "W1001", reason="ordered by mistake"))
    reply = session.send("Please cancel W1001, I ordered by mistake")
    action = reply.pending_action
    assert action is not None and action.tool == "cancel_order"
    assert agent.store.one("SELECT status FROM orders WHERE id = 'W1001'")["status"] == "pending"

    agent.model.add(YES)
    reply = session.send("yes please")
    assert "cancelled" in reply.text.lower() and reply.pending_action is None
    assert agent.store.one("SELECT status FROM orders WHERE id = 'W1001'")["status"] == "cancelled"
    assert agent.store.one("SELECT count(*) AS n FROM refunds WHERE order_id = 'W1001'")["n"] == 1
    assert agent.store.executed_result(action.id) is not None
    assert agent.records.action(session.id, action.id)["status"] == "executed"
    audit = agent.records.db.all("SELECT phase, status FROM audit_log WHERE action_id = ? ORDER BY id", (action.id,))
    assert [a["phase"] for a in audit] == ["preview", "execute"] and audit[-1]["status"] == "ok"


def test_the_session_reads_customers_and_order_lines_through_the_backend(agent):
    session = agent.session()
    session.bind_customer("JANE.DOE@example.com")
    assert session.customer_id == "C0001"
    assert session.order_line("W1001", "socks") is not None
    with pytest.raises(KeyError):
        session.bind_customer("nobody@example.com")


def test_store_argument_opens_postgresql_and_a_bad_url_says_so(postgres_server, capsys):
    from rich.console import Console

    from tools.errors import StoreError

    filled = Console(stderr=True, record=True)
    backend = open_store(demo_postgres_store(postgres_server), filled)
    assert isinstance(backend, PostgresBackend) and backend.customer_by_email("jane.doe@example.com")
    assert "warning" not in filled.export_text()
    backend.close()
    with pytest.raises(StoreError, match="unsupported store URL scheme"):
        open_store("mysql://x@y/z", Console(stderr=True))


def test_an_empty_postgresql_store_is_named_with_the_command_that_fills_it(postgres_server):
    from rich.console import Console

    url = fresh_postgres_db(postgres_server)  # a database nobody ran `init` on
    err = Console(stderr=True, record=True, width=300)
    backend = open_store(url, err)
    said = " ".join(err.export_text().split())
    assert "is empty (not initialised)" in said and f"support-agent init --store {url}" in said
    backend.close()
