"""The agent's own records, behind `Records` (records.py), in SQLite or PostgreSQL.

    open_records(None, store_path)                  # the store's own SQLite file (the default)
    open_records("agent.db", store_path)            # another SQLite file
    open_records("postgresql://u@host/db", ...)     # PostgreSQL
"""

from __future__ import annotations

import os
from typing import Any
from pathlib import Path
from urllib.parse import urlsplit

from agent.records.records import Database, Records
from tools.errors import StoreError

__all__ = ["Database", "Records", "open_records", "records_target", "redact_url", "same_database", "SharedTransaction",
           "store_target"]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def records_target(arg: str | None) -> str | None:
    """`--agent-db`, else $SUPPORT_AGENT_AGENT_DB, else None (the store's own database)."""
    return arg or os.environ.get("SUPPORT_AGENT_AGENT_DB") or None


def open_records(target: str | Path | None, store_path: str | Path) -> Records:
    """Records at `target`: a postgresql:// URL, a SQLite path, or None for the store's SQLite file."""
    target = str(target) if target is not None else str(store_path)
    if target.startswith(POSTGRES_SCHEMES):
        from agent.records.postgres import PostgresDatabase

        return Records(PostgresDatabase(target))
    if "://" in target:
        raise StoreError(f"the agent database must be a SQLite path or a postgresql:// URL, not {target!r}")
    from agent.records.sqlite import SqliteDatabase

    return Records(SqliteDatabase(target))


def store_target(store: Any) -> str:
    """Where a commerce backend keeps its data (its SQLite file or PostgreSQL URL): the records'
    default home. A backend that does not say must be given the records' place explicitly."""
    url = getattr(store, "url", None)
    if url is None:
        raise StoreError(f"{type(store).__name__} has no database of its own for the agent's records: pass "
                         f"records= (or --agent-db) a SQLite path or a postgresql:// URL")
    return url.target


def same_database(records: Records, store: Any) -> bool:
    """Whether the records live in the commerce backend's own database (then a confirmed write and its
    records commit in one transaction)."""
    url = getattr(store, "url", None)
    if url is None:
        return False
    if url.kind == "sqlite":
        return "://" not in records.db.url and Path(records.db.url).resolve() == Path(url.target).resolve()
    return records.db.url == url.target


class SharedTransaction:
    """The records' statements on the store's open transaction, in the same database: `sql` is that
    transaction's statement runner (tools/backend: SqliteSql, PgSql; `?` placeholders on both)."""

    def __init__(self, sql: Any):
        self.one, self.all, self.run = sql.one, sql.all, sql.execute


def redact_url(url: str) -> str:
    """The URL without its password, for messages and /health."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()
