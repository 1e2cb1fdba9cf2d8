"""The one store access layer: a SQLite file opened through sqlite-utils, one connection per thread."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlite_utils

from tools.errors import StoreError
from tools.migrations import migrate

BUSY_TIMEOUT_MS = 5000
# One writer at a time per database file within a process: SQLite's own busy-waiting starves some
# writers under many concurrent sessions ("database is locked"); a fair in-process lock does not.
_WRITE_LOCKS: dict[str, threading.Lock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock(path: Path) -> threading.Lock:
    key = str(path.resolve())
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(key, threading.Lock())


class Store:
    """A store database. Thread-safe: every thread gets its own connection to the same file."""

    def __init__(self, path: str | Path, *, create: bool = True):
        self.path = Path(path)
        if not create and not self.path.exists():
            raise StoreError(f"no store database at {self.path} (run `support-agent init` first)")
        self._local = threading.local()
        self._write_lock = _write_lock(self.path)
        try:
            migrate(self.db)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot use the store database {self.path}: {exc}") from exc

    @property
    def db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
            db = sqlite_utils.Database(conn)
            self._local.db = db
        return db

    def one(self, sql: str, params: tuple | dict = ()) -> dict | None:
        row = self.db.execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    def all(self, sql: str, params: tuple | dict = ()) -> list[dict]:
        return [dict(r) for r in self.db.execute(sql, params).fetchall()]

    @contextmanager
    def write(self) -> Iterator[sqlite_utils.Database]:
        """One write transaction. BEGIN IMMEDIATE takes the write lock up front, so two writers that
        both read-then-write (e.g. two cancels of one order) are serialised and the second sees the
        first's result."""
        db = self.db
        if not self._write_lock.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
            raise StoreError("the store is busy, try again")
        try:
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StoreError(f"the store is busy or locked, try again: {exc}") from exc
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            else:
                db.execute("COMMIT")
        finally:
            self._write_lock.release()

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.conn.close()
            self._local.db = None

    def primary_keys(self) -> dict[str, list[str]]:
        """Every table and its primary-key columns ([] for a table keyed by rowid)."""
        return {name: self.db[name].pks if self.db[name].use_rowid is False else []
                for name in self.db.table_names()}

    def content_hash(self) -> str:
        """A hash of every table's rows, for determinism tests and eval state comparison."""
        import hashlib

        h = hashlib.sha256()
        for name in sorted(self.db.table_names()):
            if name.startswith("_") or "_fts" in name:
                continue
            h.update(name.encode())
            for row in self.db.execute(f"SELECT * FROM [{name}] ORDER BY 1").fetchall():
                h.update(repr(tuple(row)).encode())
        return h.hexdigest()
