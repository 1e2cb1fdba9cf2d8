"""The agent's records in PostgreSQL: psycopg 3 with a psycopg-pool connection pool. The records' SQL
is written once with `?` placeholders (SQLite's); here they become psycopg's `%s` (as in the
commerce backend's, tools/backend/postgres.py)."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Iterator

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from agent.records import redact_url
from tools.backend.postgres import PgSql
from tools.errors import StoreError

CONNECT_TIMEOUT_S = 5


class _Connection(PgSql):
    """The statements of one transaction, on one pooled connection."""

    def run(self, sql: str, params: tuple = ()) -> int:
        return self.execute(sql, params)


class PostgresDatabase:
    dialect = "postgresql"

    def __init__(self, url: str, *, max_size: int = 10):
        self.url = url
        self._local = threading.local()
        self.pool = ConnectionPool(
            url, min_size=1, max_size=max_size, open=False, check=ConnectionPool.check_connection,
            kwargs={"row_factory": dict_row, "autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S})
        try:
            self.pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
        except PoolTimeout as exc:
            self.pool.close()
            raise StoreError(f"cannot reach the agent's records database {redact_url(url)}: {exc}") from exc

    @contextmanager
    def transaction(self) -> Iterator[_Connection]:
        """One transaction on one pooled connection (nested calls join the outer one). A connection
        lost since its last use is replaced on checkout (`check`)."""
        current = getattr(self._local, "tx", None)
        if current is not None:
            yield current
            return
        try:
            with self.pool.connection() as conn, conn.transaction():
                self._local.tx = _Connection(conn)
                try:
                    yield self._local.tx
                finally:
                    self._local.tx = None
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise StoreError(f"the agent's records database {redact_url(self.url)} failed: {exc}") from exc

    def _once(self, method: str, sql: str, params: tuple) -> Any:
        """One statement; a lost connection is retried once on a fresh one, then reported."""
        current = getattr(self._local, "tx", None)
        if current is not None:
            return getattr(current, method)(sql, params)
        for attempt in (1, 2):
            try:
                with self.pool.connection() as conn:
                    return getattr(_Connection(conn), method)(sql, params)
            except (psycopg.OperationalError, PoolTimeout) as exc:
                if attempt == 2:
                    raise StoreError(f"the agent's records database {redact_url(self.url)} failed: {exc}") from exc

    def one(self, sql: str, params: tuple = ()) -> dict[str, Any] | None:
        return self._once("one", sql, params)

    def all(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        return self._once("all", sql, params)

    def run(self, sql: str, params: tuple = ()) -> int:
        return self._once("run", sql, params)

    def close(self) -> None:
        self.pool.close()

