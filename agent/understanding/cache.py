"""Built once, kept on disk: what a fresh process would otherwise rebuild at start (the parsed bank,
the fitted n-grams and models), keyed by everything it is built from."""

from __future__ import annotations

import hashlib
import pickle
from typing import Any, Callable

PICKLE_ERRORS = (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError, ImportError, IndexError)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def cached(build: Callable[[], Any], key: str) -> Any:
    """The object kept under `key` in the cache directory, or `build()` now and kept there (a cache that
    cannot be read or written is rebuilt, never an error)."""
    from agent.models.embedded import cache_dir

    path = cache_dir() / f"{key}.pkl"
    try:
        return pickle.loads(path.read_bytes())
    except PICKLE_ERRORS:
        value = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{id(value)}.tmp")
        tmp.write_bytes(pickle.dumps(value))
        tmp.replace(path)  # never a half-written file for a process starting meanwhile
    except OSError:
        pass
    return value
