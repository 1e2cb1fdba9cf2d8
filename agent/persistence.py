"""Conversations, messages, pending actions and the audit log, in the store's SQLite file.

The runtime keeps no state between turns in memory that is not also here, so a session can be
resumed after the process died, and web workers can be added freely.
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from tools.masking import mask_card_numbers
from tools.migrations import Migration, migrate
from tools.store import Store

AGENT_MIGRATIONS: list[tuple[str, Migration]] = []


def _agent_migration(fn: Migration) -> Migration:
    AGENT_MIGRATIONS.append((f"agent_{fn.__name__}", fn))
    return fn


@_agent_migration
def m001_conversations(db: sqlite_utils.Database) -> None:
    db["conversations"].create(
        {
            "id": str, "token_hash": str, "customer_id": str, "failed_verifications": int,
            "agenda": str, "created_at": str, "updated_at": str, "model": str,
        },
        pk="id",
    )
    db["messages"].create(
        {
            "id": int, "conversation_id": str, "turn": int, "role": str, "content": str,
            "tool_calls": str, "tool_call_id": str, "name": str, "visible": int, "created_at": str,
        },
        pk="id",
    )
    db["messages"].create_index(["conversation_id", "id"])
    db["pending_actions"].create(
        {
            "id": str, "conversation_id": str, "tool": str, "arguments": str, "summary": str,
            "status": str, "result": str, "created_at": str, "resolved_at": str,
        },
        pk="id",
    )
    db["pending_actions"].create_index(["conversation_id", "status"])
    db["audit_log"].create(
        {
            "id": int, "conversation_id": str, "turn": int, "at": str, "tool": str,
            "arguments": str, "phase": str, "status": str, "rule": str, "message": str,
            "customer_id": str, "action_id": str, "confirmed_by": str,
        },
        pk="id",
    )
    db["audit_log"].create_index(["conversation_id", "id"])


@_agent_migration
def m002_conversation_language(db: sqlite_utils.Database) -> None:
    # the conversation's language (a locale such as "zh" or "es"), kept so a resumed one goes on in it
    db["conversations"].add_column("lang", str)


def migrate_agent_tables(store: Store) -> None:
    migrate(store.db, AGENT_MIGRATIONS)


def redact(text: str | None) -> str | None:
    """Payment card numbers never reach transcripts or logs: masked to their last four digits."""
    return mask_card_numbers(text)


def dumps(value: Any) -> str:
    return redact(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)) or ""
