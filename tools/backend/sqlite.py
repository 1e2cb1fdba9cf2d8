"""The SQLite demo store as a commerce backend (sqlite-utils; `tools.store.Store` holds the
connections). Transactions are BEGIN IMMEDIATE: one writer at a time for the whole file."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import sqlite_utils

from tools.backend.records import HelpArticle
from tools.backend.sql import DemoSchemaAccess, SqlReads, SqlWrites
from tools.backend.url import StoreURL
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


def fts_query(terms: list[str]) -> str | None:
    """Index terms as a safe FTS5 query: each quoted (so FTS syntax such as quotes, `*`, `-`, NEAR or AND
    in the customer's text is just words), ORed together and ranked by bm25."""
    quoted = ['"' + t.replace('"', '""') + '"' for t in terms]
    return " OR ".join(quoted) if quoted else None


class SqliteSearch:
    sql: SqliteSql

    def search_help(self, terms: list[str], lang: str, limit: int) -> list[HelpArticle]:
        """FTS5 over title_terms and body_terms, ranked by bm25 with the title weighing 4x the body."""
        match = fts_query(terms)
        if match is None:
            return []
        rows = self.sql.all(
            "SELECT a.* FROM help_articles_fts f JOIN help_articles a ON a.rowid = f.rowid "
            "WHERE help_articles_fts MATCH ? AND a.lang = ? ORDER BY bm25(help_articles_fts, 4.0, 1.0) LIMIT ?",
            (match, lang, limit))
        return [HelpArticle(**r) for r in rows]


class SqliteTransaction(SqliteSearch, SqlWrites):
    """A write transaction (the FTS triggers keep the help index in step with help_articles)."""


class SqliteBackend(SqliteSearch, SqlReads, DemoSchemaAccess):
    """The demo store in one SQLite file."""

    def __init__(self, store: Store | str | Path):
        self.store = store if isinstance(store, Store) else Store(store)
        self.url = StoreURL("sqlite", str(self.store.path))
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
