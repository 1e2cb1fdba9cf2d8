"""The SQLite demo store as a commerce backend (sqlite-utils; `tools.store.Store` holds the
connections). Transactions are BEGIN IMMEDIATE: one writer at a time for the whole file."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import sqlite_utils

from tools.backend.records import HelpArticle
from tools.backend.sql import DemoSchemaAccess, SqlReads, SqlWrites
from tools.errors import StoreError
from tools.store import Store


class SqliteSql:
    """Statements on the calling thread's connection (inside `Store.write()` when one is open)."""

    def __init__(self, store: Store):
        self.store = store

    def one(self, sql: str, params: tuple = ()) -> dict[str, Any] | None:
        return self.store.one(sql, params)

    def all(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        return self.store.all(sql, params)

    def execute(self, sql: str, params: tuple = ()) -> int:
        return self.store.db.execute(sql, params).rowcount

    def executemany(self, sql: str, rows: list[tuple]) -> None:
        self.store.db.conn.executemany(sql, rows)


class SqliteSearch:
    sql: SqliteSql

    def search_help(self, words: list[str], limit: int) -> list[HelpArticle]:
        """FTS5, ranked by bm25 with the title weighing 4x the body. Each word is quoted, so FTS
        syntax in the customer's text is just words."""
        if not words:
            return []
        match = " OR ".join(f'"{w}"' for w in words)
        rows = self.sql.all(
            "SELECT a.* FROM help_articles_fts f JOIN help_articles a ON a.rowid = f.rowid "
            "WHERE help_articles_fts MATCH ? ORDER BY bm25(help_articles_fts, 4.0, 1.0) LIMIT ?", (match, limit))
        return [HelpArticle(**r) for r in rows]


class SqliteTransaction(SqliteSearch, SqlWrites):
    def replace_help_articles(self, articles: list[HelpArticle], version: str) -> None:
        self.sql.execute("DELETE FROM help_articles")  # the FTS triggers keep the index in step
        self.sql.executemany("INSERT INTO help_articles (id, title, section, body, source) VALUES (?,?,?,?,?)",
                             [(a.id, a.title, a.section, a.body, a.source) for a in articles])
        self._set_meta("help_center_version", version)


class SqliteBackend(SqliteSearch, SqlReads, DemoSchemaAccess):
    """The demo store in one SQLite file."""

    def __init__(self, store: Store | str | Path):
        self.store = store if isinstance(store, Store) else Store(store)
        super().__init__(SqliteSql(self.store))

    @contextmanager
    def transaction(self, customer_id: str | None = None) -> Iterator[SqliteTransaction]:
        with self.store.write():
            yield SqliteTransaction(self.sql)

    def close(self) -> None:
        self.store.close()

    # -- the demo schema, for fixtures, tests and evals (not part of the commerce interface) --------
    def write(self):
        """A raw write transaction: yields an object with `execute(sql, params)`."""
        return self.store.write()

    def load_rows(self, tables: list[tuple[str, tuple[str, ...], list[tuple]]]) -> None:
        """Bulk-load (table, columns, rows) in one transaction."""
        with self.store.write():
            for table, columns, rows in tables:
                self.sql.executemany(f"INSERT INTO {table} ({', '.join(columns)}) "
                                     f"VALUES ({', '.join('?' * len(columns))})", rows)

    def clear(self) -> None:
        raise StoreError(f"{self.store.path} already holds a store; build the demo store into a new file")

    def primary_keys(self) -> dict[str, list[str]]:
        return self.store.primary_keys()

    def content_hash(self) -> str:
        return self.store.content_hash()

    @property
    def db(self) -> sqlite_utils.Database:
        return self.store.db
