"""The tests' throwaway PostgreSQL: pytest-postgresql starts one server per test session with the
machine's pg_ctl (through tests/pg_ctl_unprivileged.sh, which runs it as an unprivileged user when
pytest runs as root), migrates a template database once, and gives every test a fresh copy of it."""

from __future__ import annotations

from pathlib import Path

import psycopg
from pytest_postgresql import factories

from tools.backend.pg_schema import migrate

BACKENDS = ["sqlite", "postgresql"]
PG_CTL = str(Path(__file__).with_name("pg_ctl_unprivileged.sh"))


def _migrate_template(host: str, port: int, user: str, dbname: str, password: str | None, **_: object) -> None:
    with psycopg.connect(host=host, port=port, user=user, dbname=dbname, password=password,
                         autocommit=True) as conn:
        migrate(conn)


pg_server = factories.postgresql_proc(executable=PG_CTL, host="127.0.0.1", port=None, user="postgres",
                                      password="", load=[_migrate_template],
                                      postgres_options="-c fsync=off -c synchronous_commit=off "
                                                       "-c full_page_writes=off")
pg_database = factories.postgresql("pg_server")
