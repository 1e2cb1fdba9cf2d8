"""The tests' one throwaway PostgreSQL: pytest-postgresql starts one server per test session with the
machine's pg_ctl (through tests/pg_ctl_unprivileged.sh, which runs it as an unprivileged user, created
if missing, when pytest runs as root), on a loopback port.

- `pg_server` / `pg_database`: the server, and a fresh database per test migrated with the commerce
  schema (copied from a template); the commerce-backend conformance tests use them (conftest.py).
- `postgres_server`: the server's URL (`postgresql://postgres@127.0.0.1:PORT`), for tests that make
  their own databases: `fresh_postgres_db(url)` an empty one, `demo_postgres_store(url)` a copy of the
  demo store (seed 7 at agent_harness.NOW, built once per session).
- `records_target`: where a test's agent records go: a new SQLite file or a new PostgreSQL database.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest
from pytest_postgresql import factories

from tools.backend.pg_schema import migrate

BACKENDS = ["sqlite", "postgresql"]
PG_CTL = str(Path(__file__).with_name("pg_ctl_unprivileged.sh"))
DEMO_TEMPLATE = "demo_store_template"


def _migrate_template(host: str, port: int, user: str, dbname: str, password: str | None, **_: object) -> None:
    with psycopg.connect(host=host, port=port, user=user, dbname=dbname, password=password,
                         autocommit=True) as conn:
        migrate(conn)


pg_server = factories.postgresql_proc(executable=PG_CTL, host="127.0.0.1", port=None, user="postgres",
                                      password="", load=[_migrate_template],
                                      postgres_options="-c fsync=off -c synchronous_commit=off "
                                                       "-c full_page_writes=off")
pg_database = factories.postgresql("pg_server")


@pytest.fixture(scope="session")
def postgres_server(pg_server) -> str:
    """The URL of the session's PostgreSQL server (no database: add one)."""
    return f"postgresql://{pg_server.user}@{pg_server.host}:{pg_server.port}"


def fresh_postgres_db(server_url: str, template: str = "template0") -> str:
    """The URL of a new database on the server (a copy of `template`)."""
    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    return f"{server_url}/{name}"


def demo_postgres_store(server_url: str) -> str:
    """The URL of a new database holding the demo store (as agent_harness.demo_db's SQLite copy)."""
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DEMO_TEMPLATE,)).fetchone()
        if not exists:
            from agent_harness import NOW
            from fixtures import build_demo_store

            conn.execute(f"CREATE DATABASE {DEMO_TEMPLATE}")
            build_demo_store(f"{server_url}/{DEMO_TEMPLATE}", seed=7, now=NOW).close()
    return fresh_postgres_db(server_url, DEMO_TEMPLATE)


@pytest.fixture(params=["sqlite", "postgresql"])
def records_target(request, tmp_path) -> str:
    """Where a test's records go: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "records.db")
    return fresh_postgres_db(request.getfixturevalue("postgres_server"))
