"""The commerce backend: the interface the tools call (interface.py, records.py) and its
implementations, chosen by one URL (url.py): a SQLite file or a PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

from tools.backend.interface import CommerceBackend, CommerceTransaction, ConcurrentChange, ConnectionLost
from tools.backend.url import StoreURL, parse_store_url
from tools.store import Store


def as_backend(store: CommerceBackend | Store | str | Path | StoreURL) -> CommerceBackend:
    """The backend for what a caller holds: a backend as it is, the demo `Store` as its SQLite
    backend, a location (SQLite path or postgresql:// URL) opened."""
    if isinstance(store, (str, Path, StoreURL)):
        return open_backend(store)
    if isinstance(store, Store):
        from tools.backend.sqlite import SqliteBackend

        return SqliteBackend(store)
    return store


def open_backend(url: str | Path | StoreURL | None, *, create: bool = True) -> CommerceBackend:
    """The backend at `url` (a SQLite path or a postgresql:// URL; None: $SUPPORT_AGENT_STORE),
    migrated. A StoreError with one clear line when the URL is bad or the database unreachable."""
    where = url if isinstance(url, StoreURL) else parse_store_url(url)
    if where.kind == "postgresql":
        from tools.backend.postgres import PostgresBackend

        return PostgresBackend(where)
    from tools.backend.sqlite import SqliteBackend

    return SqliteBackend(Store(where.path, create=create))


__all__ = ["as_backend", "CommerceBackend", "CommerceTransaction", "ConcurrentChange", "ConnectionLost", "StoreURL",
           "open_backend", "parse_store_url"]
