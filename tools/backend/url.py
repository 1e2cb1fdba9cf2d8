"""Where a store lives, from one string: a SQLite file path (or `sqlite:///path`) or a
`postgresql://` URL. `--store` / $SUPPORT_AGENT_STORE use it; so may any other layer (the agent's
own records)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from tools.errors import StoreError

ENV = "SUPPORT_AGENT_STORE"
POSTGRES_SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True)
class StoreURL:
    kind: Literal["sqlite", "postgresql"]
    target: str  # the file path (sqlite) or the libpq URL (postgresql)

    @property
    def path(self) -> Path:
        return Path(self.target)

    def display(self) -> str:
        """The location without any password, for messages and logs."""
        if self.kind == "sqlite":
            return self.target
        parts = urlsplit(self.target)
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
        user = f"{parts.username}@" if parts.username else ""
        return f"postgresql://{user}{host}{port}{parts.path}"


def parse_store_url(value: str | Path | None, default: str | Path | None = None) -> StoreURL:
    """`value`, else $SUPPORT_AGENT_STORE, else `default`, as a StoreURL; a StoreError that says what
    is wrong and what is accepted when it is none of them."""
    raw = str(value if value is not None else os.environ.get(ENV) or default or "").strip()
    if not raw:
        raise StoreError(f"no store given: pass a SQLite file path or a postgresql:// URL (or set ${ENV})")
    scheme = raw.split("://", 1)[0].lower() if "://" in raw else ""
    if scheme in POSTGRES_SCHEMES:
        return StoreURL("postgresql", _checked_postgres(raw))
    if scheme == "sqlite":
        path = raw.split("://", 1)[1]  # sqlite:///relative.db, sqlite:////absolute.db
        return StoreURL("sqlite", path[1:] if path.startswith("/") else path)
    if scheme:
        raise StoreError(f"unsupported store URL scheme {scheme!r} in {raw.split('@')[-1]!r}: use a SQLite "
                         f"file path or a postgresql:// URL")
    return StoreURL("sqlite", raw)


def _checked_postgres(raw: str) -> str:
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError as exc:
        raise StoreError(f"bad PostgreSQL URL ({exc}); expected postgresql://user:password@host:port/dbname") from exc
    if not parts.path.strip("/") and "dbname=" not in parts.query:
        raise StoreError("the PostgreSQL URL names no database; expected postgresql://user:password@host:port/dbname")
    return raw
