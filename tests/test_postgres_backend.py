"""What only the PostgreSQL backend has: its migrations, a lost connection retried once, and a
clear error when the server is gone. (The tool and store tests run on it too, parametrized.)"""

import psycopg
import pytest

from tools.backend import open_backend
from tools.backend.pg_schema import MIGRATIONS, migrate
from tools.errors import StoreError
from tools.registry import run_tool


@pytest.fixture
def pg(pg_database):
    info = pg_database.info
    backend = open_backend(f"postgresql://{info.user}@{info.host}:{info.port}/{info.dbname}")
    yield backend, pg_database
    backend.close()


def _drop_other_connections(conn: psycopg.Connection) -> int:
    rows = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid()").fetchall()
    return len(rows)


def test_migrations_rerun_is_a_no_op(pg):
    backend, conn = pg
    conn.autocommit = True
    assert migrate(conn) == []
    names = [r["name"] for r in backend.all("SELECT name FROM _migrations ORDER BY name")]
    assert names == sorted(n for n, _ in MIGRATIONS)


def test_lost_connection_is_retried_once(pg, ctx_for, policy, now):
    backend, conn = pg
    conn.autocommit = True
    backend.one("SELECT 1 AS x")  # the pool holds a live connection now
    assert _drop_other_connections(conn) >= 1
    assert backend.one("SELECT count(*) AS n FROM orders")["n"] == 0  # retried on a fresh connection
    assert _drop_other_connections(conn) >= 1
    ctx = ctx_for(None, store=backend)
    r = run_tool(ctx, "escalate_to_human", {"reason": "other", "summary": "after a lost connection"})
    assert r.status == "ok"  # the write's transaction retried once too
    assert backend.one("SELECT count(*) AS n FROM tickets")["n"] == 1


def test_a_server_gone_for_good_is_a_clear_error(pg, ctx_for):
    backend, conn = pg
    backend.pool.close()  # no connection can be had any more
    with pytest.raises(StoreError):
        backend.customer("C-JANE")
    r = run_tool(ctx_for(None, store=backend), "escalate_to_human", {"reason": "other", "summary": "x"})
    assert r.status == "error" and "nothing was changed" in r.message
