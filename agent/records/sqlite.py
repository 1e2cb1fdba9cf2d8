"""The agent's records in a SQLite file (by default the store's own file): one connection per thread,
write transactions with BEGIN IMMEDIATE so read-then-write is serialised across processes too."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from tenacity import retry, retry_if_exception, stop_after_delay, wait_random

from tools.errors import StoreError

BUSY_TIMEOUT_S = 30  # several worker processes share one file: wait for the writer rather than fail


@retry(retry=retry_if_exception(lambda e: isinstance(e, sqlite3.OperationalError) and "locked" in str(e)),
       stop=stop_after_delay(BUSY_TIMEOUT_S), wait=wait_random(0.01, 0.2), reraise=True)
def _wal(conn: sqlite3.Connection) -> None:
    """WAL mode; on a new file, workers starting together race for it and SQLite answers "locked" at
    once (the busy timeout does not cover a journal-mode change): wait and try again."""
    conn.execute("PRAGMA journal_mode = WAL")


class SqliteDatabase:
    dialect = "sqlite"

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.url = str(self.path)
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                       check_same_thread=False)
                conn.row_factory = sqlite3.Row
                _wal(conn)
                conn.execute("PRAGMA synchronous = NORMAL")
            except (sqlite3.Error, OSError) as exc:
                raise StoreError(f"cannot open the agent's records database {self.path}: {exc}") from exc
            self._local.conn = conn
        return conn

    def _execute(self, sql: str, params: tuple) -> sqlite3.Cursor:
        try:
            return self._conn().execute(sql, params)
        except sqlite3.OperationalError as exc:
            raise StoreError(f"the agent's records database {self.path} failed: {exc}") from exc

    def one(self, sql: str, params: tuple = ()) -> dict[str, Any] | None:
        row = self._execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    def all(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in self._execute(sql, params).fetchall()]

    def run(self, sql: str, params: tuple = ()) -> int:
        return self._execute(sql, params).rowcount

    @contextmanager
    def transaction(self) -> Iterator["SqliteDatabase"]:
        """One write transaction (nested calls join the outer one)."""
        if getattr(self._local, "depth", 0):
            self._local.depth += 1
            try:
                yield self
            finally:
                self._local.depth -= 1
            return
        self._execute("BEGIN IMMEDIATE", ())
        self._local.depth = 1
        try:
            yield self
        except BaseException:
            self._conn().execute("ROLLBACK")
            raise
        else:
            self._execute("COMMIT", ())
        finally:
            self._local.depth = 0

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
