"""PostgreSQL as a commerce backend (psycopg 3 + psycopg-pool), on the demo schema.

A transaction takes `pg_advisory_xact_lock` on its customer, so one customer's writes run one at a
time across every process; the writes themselves are conditional (tools/backend/sql.py). A
connection lost on a read is retried once on a fresh connection (tenacity); a write is retried
once by `run_tool`, whose action key makes the retry safe."""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Iterator

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout
from tenacity import retry, retry_if_exception_type, stop_after_attempt

from tools.backend.bm25 import Corpus, bm25
from tools.backend.interface import ConnectionLost
from tools.backend.pg_schema import IDENTITY_TABLES, MIGRATIONS, migrate
from tools.backend.records import HelpArticle
from tools.backend.sql import DemoSchemaAccess, SqlReads, SqlWrites
from tools.backend.url import StoreURL
from tools.errors import StoreError

CONNECT_TIMEOUT_S = 5
POOL_SIZE = 10
COMMERCE_TABLES = ("customers", "payment_methods", "products", "variants", "orders", "order_lines", "shipments",
                   "tracking_events", "returns", "return_lines", "refunds", "order_adjustments", "tickets",
                   "password_resets", "executed_actions", "store_meta", "help_articles")


@lru_cache(maxsize=512)
def pg_sql(sql: str) -> str:
    """`?` placeholders as psycopg's `%s` (a literal `%` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class PgSql:
    """Statements on one connection (a transaction's)."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def one(self, sql: str, params: tuple = ()) -> dict[str, Any] | None:
        return self.conn.execute(pg_sql(sql), params).fetchone()

    def all(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        return self.conn.execute(pg_sql(sql), params).fetchall()

    def execute(self, sql: str, params: tuple = ()) -> int:
        return self.conn.execute(pg_sql(sql), params).rowcount

    def executemany(self, sql: str, rows: list[tuple]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(pg_sql(sql), rows)


_retry_once = retry(retry=retry_if_exception_type(ConnectionLost), stop=stop_after_attempt(2), reraise=True)


class PgPoolSql:
    """Each statement on a connection from the pool, in autocommit; a lost connection is retried once."""

    def __init__(self, pool: ConnectionPool):
        self.pool = pool

    @_retry_once
    def one(self, sql: str, params: tuple = ()) -> dict[str, Any] | None:
        with connection(self.pool) as conn:
            return PgSql(conn).one(sql, params)

    @_retry_once
    def all(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        with connection(self.pool) as conn:
            return PgSql(conn).all(sql, params)


@contextmanager
def connection(pool: ConnectionPool) -> Iterator[psycopg.Connection]:
    """A pooled connection; database errors become StoreError (ConnectionLost when the link broke)."""
    try:
        with pool.connection() as conn:
            yield conn
    except PoolTimeout as exc:
        raise ConnectionLost(f"no PostgreSQL connection available: {exc}") from exc
    except psycopg.OperationalError as exc:
        if not pool.closed:
            pool.check()  # the server may have dropped every idle connection, not just this one
        raise ConnectionLost(f"lost the connection to PostgreSQL: {exc}".strip()) from exc
    except psycopg.Error as exc:
        raise StoreError(f"PostgreSQL error: {exc}".strip()) from exc


def ts_query(terms: list[str]) -> str | None:
    """Index terms as a safe tsquery: each a quoted lexeme (so `&`, `|`, `!` or `:*` in the customer's
    text is just characters), ORed together."""
    quoted = ["'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in terms]
    return " | ".join(quoted) if quoted else None


class PgSearch:
    sql: Any
    _corpus: tuple[str | None, Corpus] | None = None

    def search_help(self, terms: list[str], lang: str, limit: int) -> list[HelpArticle]:
        """The tsvector index (the `simple` configuration: the terms are analysed already) finds the
        articles; BM25 ranks them as SQLite's FTS5 does, the title weighing 4x the body."""
        query = ts_query(terms)
        if query is None:
            return []
        rows = self.sql.all(
            "SELECT id, lang, title, section, body, source, title_terms, body_terms "
            "FROM help_articles WHERE lang = ? AND search @@ to_tsquery('simple', ?) ORDER BY id", (lang, query))
        corpus = self._help_corpus()
        ranked = sorted(rows, key=lambda r: -bm25(corpus, terms, [r["title_terms"], r["body_terms"]], [4.0, 1.0]))
        return [HelpArticle(**r) for r in ranked[:limit]]

    def _help_corpus(self) -> Corpus:
        """The index statistics, read again only when the articles were replaced (a new version)."""
        version = self.help_center_version()
        if self._corpus is None or self._corpus[0] != version:
            rows = self.sql.all("SELECT title_terms, body_terms FROM help_articles")
            self._corpus = (version, Corpus.of([[r["title_terms"], r["body_terms"]] for r in rows]))
        return self._corpus[1]


class PgTransaction(PgSearch, SqlWrites):
    """A write transaction on one connection."""


class PostgresBackend(PgSearch, SqlReads, DemoSchemaAccess):
    """The demo store in a PostgreSQL database, migrated on open."""

    def __init__(self, url: StoreURL, *, pool_size: int = POOL_SIZE):
        self.url = url
        try:
            with psycopg.connect(url.target, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True) as conn:
                migrate(conn)
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreError(f"cannot use the PostgreSQL store {url.display()}: {first}") from exc
        self.pool = ConnectionPool(url.target, min_size=1, max_size=pool_size, open=True, timeout=CONNECT_TIMEOUT_S,
                                   kwargs={"autocommit": True, "row_factory": dict_row,
                                           "connect_timeout": CONNECT_TIMEOUT_S})
        super().__init__(PgPoolSql(self.pool))

    @contextmanager
    def transaction(self, customer_id: str | None = None) -> Iterator[PgTransaction]:
        with connection(self.pool) as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key(customer_id),))
            yield PgTransaction(PgSql(conn))

    def close(self) -> None:
        self.pool.close()

    # -- the demo schema, for fixtures, tests and evals (not part of the commerce interface) --------
    @contextmanager
    def write(self) -> Iterator[PgSql]:
        """A raw write transaction: yields an object with `execute(sql, params)` and `executemany`."""
        with connection(self.pool) as conn, conn.transaction():
            yield PgSql(conn)

    def load_rows(self, tables: list[tuple[str, tuple[str, ...], list[tuple]]]) -> None:
        """Bulk-load (table, columns, rows) in one transaction (COPY); identity sequences follow, and
        the tables are analysed (without statistics the planner scans a 100k-order table where an
        index would do, until autovacuum gets to it)."""
        with self.write() as sql:
            for table, columns, rows in tables:
                with sql.conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                if table in IDENTITY_TABLES:
                    sql.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)")
            for table in dict.fromkeys(table for table, _, _ in tables):
                sql.execute(f"ANALYZE {table}")

    def clear(self) -> None:
        """Empty every table of the store (`init --force`); the schema stays."""
        with self.write() as sql:
            sql.execute(f"TRUNCATE {', '.join(COMMERCE_TABLES)} RESTART IDENTITY CASCADE")

    def primary_keys(self) -> dict[str, list[str]]:
        """The store's tables and their primary-key columns."""
        rows = self.all("SELECT tc.table_name AS t, kcu.column_name AS c FROM information_schema.table_constraints tc "
                        "JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name "
                        "AND kcu.table_schema = tc.table_schema WHERE tc.constraint_type = 'PRIMARY KEY' "
                        "AND tc.table_schema = current_schema() ORDER BY tc.table_name, kcu.ordinal_position")
        keys: dict[str, list[str]] = {}
        for r in rows:
            if r["t"] in COMMERCE_TABLES:
                keys.setdefault(r["t"], []).append(r["c"])
        return keys

    def content_hash(self) -> str:
        h = hashlib.sha256()
        keys = self.primary_keys()
        for name in sorted(COMMERCE_TABLES):
            h.update(name.encode())
            for row in self.all(f"SELECT * FROM {name} ORDER BY {', '.join(keys[name])}"):
                h.update(repr(tuple(row.values())).encode())
        return h.hexdigest()


def _lock_key(customer_id: str | None) -> int:
    """A stable 63-bit advisory lock key for a customer (anonymous writes share one)."""
    digest = hashlib.blake2b((customer_id or "").encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


__all__ = ["PostgresBackend", "MIGRATIONS"]
