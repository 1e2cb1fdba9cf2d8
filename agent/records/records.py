"""`Records`: the agent's own records — conversations, messages, pending actions, the audit log — and
the state server workers share (the one-turn-at-a-time claim on a session, rate-limit counters).

One implementation in portable SQL over a small database object (`SqliteDatabase`,
`PostgresDatabase`: `one` / `all` / `run` / `transaction`). Every change that must happen together
is one transaction; shared state changes by atomic conditional upserts, never read-then-write.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Protocol

from agent.persistence import AUDIT_COLUMNS
from agent.records.schema import statements

Row = dict[str, Any]
MIGRATION_LOCK = 0x5A6E7451  # the advisory lock key of the records' migrations (PostgreSQL)


class Database(Protocol):
    dialect: str
    url: str

    def one(self, sql: str, params: tuple = ()) -> Row | None: ...
    def all(self, sql: str, params: tuple = ()) -> list[Row]: ...
    def run(self, sql: str, params: tuple = ()) -> int: ...
    def transaction(self) -> Any: ...
    def close(self) -> None: ...


class Records:
    def __init__(self, db: Database):
        self.db = db
        self.migrate()

    def migrate(self) -> None:
        """Apply the migrations not applied yet, in one transaction that one process at a time runs
        (workers starting together on a new database): SQLite's BEGIN IMMEDIATE, PostgreSQL's
        advisory lock (CREATE TABLE IF NOT EXISTS alone races there)."""
        with self.db.transaction() as tx:
            if self.db.dialect == "postgresql":
                tx.run("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
            tx.run("CREATE TABLE IF NOT EXISTS agent_migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
            done = {r["name"] for r in tx.all("SELECT name FROM agent_migrations")}
            for name, sqls in statements(self.db.dialect, done):
                for sql in sqls:
                    tx.run(sql)
                tx.run("INSERT INTO agent_migrations (name, applied_at) VALUES (?, ?)",
                       (name, datetime.now(timezone.utc).isoformat()))

    # ---- conversations ---------------------------------------------------------------------------

    def create_conversation(self, session_id: str, token_hash: str, model: str, now: str) -> None:
        self.db.run("INSERT INTO conversations (id, token_hash, customer_id, failed_verifications, agenda, "
                    "created_at, updated_at, model) VALUES (?,?,?,?,?,?,?,?)",
                    (session_id, token_hash, None, 0, "[]", now, now, model))

    def conversation(self, session_id: str) -> Row | None:
        return self.db.one("SELECT * FROM conversations WHERE id = ?", (session_id,))

    def save_state(self, session_id: str, customer_id: str | None, failed: int, agenda: str, lang: str,
                   now: str) -> None:
        self.db.run("UPDATE conversations SET customer_id = ?, failed_verifications = ?, agenda = ?, lang = ?, "
                    "updated_at = ? WHERE id = ?", (customer_id, failed, agenda, lang, now, session_id))

    # ---- messages --------------------------------------------------------------------------------

    def add_message(self, session_id: str, turn: int, role: str, content: str | None, now: str, *,
                    visible: bool = False, tool_calls: str | None = None, tool_call_id: str | None = None) -> None:
        self.db.run("INSERT INTO messages (conversation_id, turn, role, content, tool_calls, tool_call_id, "
                    "visible, created_at) VALUES (?,?,?,?,?,?,?,?)",
                    (session_id, turn, role, content, tool_calls, tool_call_id, int(visible), now))

    def last_turn(self, session_id: str) -> int:
        row = self.db.one("SELECT max(turn) AS t FROM messages WHERE conversation_id = ?", (session_id,))
        return (row or {}).get("t") or 0

    def messages(self, session_id: str, *, role: str | None = None, visible_only: bool = False,
                 newest: int | None = None) -> list[Row]:
        """A conversation's messages in order; `newest`: only the last N."""
        where = "conversation_id = ?" + (" AND role = ?" if role else "") + (" AND visible = 1" if visible_only else "")
        params: tuple = (session_id, role) if role else (session_id,)
        limit = f" LIMIT {int(newest)}" if newest is not None else ""
        rows = self.db.all(f"SELECT * FROM messages WHERE {where} ORDER BY id DESC{limit}", params)
        return rows[::-1]

    # ---- pending actions -------------------------------------------------------------------------

    def create_pending(self, action_id: str, session_id: str, tool: str, arguments: str, summary: str | None,
                       now: str) -> None:
        self.db.run("INSERT INTO pending_actions (id, conversation_id, tool, arguments, summary, status, "
                    "created_at, seq) VALUES (?,?,?,?,?,?,?, (SELECT count(*) + 1 FROM pending_actions WHERE "
                    "conversation_id = ?))", (action_id, session_id, tool, arguments, summary, "pending", now,
                                              session_id))

    def pending(self, session_id: str) -> Row | None:
        return self.db.one("SELECT * FROM pending_actions WHERE conversation_id = ? AND status = 'pending' "
                           "ORDER BY created_at DESC, seq DESC LIMIT 1", (session_id,))

    def action(self, session_id: str, action_id: str) -> Row | None:
        return self.db.one("SELECT * FROM pending_actions WHERE id = ? AND conversation_id = ?",
                           (action_id, session_id))

    def actions_in(self, session_id: str, status: str) -> list[Row]:
        """A conversation's actions in one status, in the order they were proposed."""
        return self.db.all("SELECT * FROM pending_actions WHERE conversation_id = ? AND status = ? "
                           "ORDER BY created_at, seq", (session_id, status))

    def start_executing(self, action_id: str) -> bool:
        """pending -> executing, only if still pending (one confirmation runs it, whichever worker)."""
        return self.db.run("UPDATE pending_actions SET status = 'executing' WHERE id = ? AND status = 'pending'",
                           (action_id,)) == 1

    def finish_action(self, action_id: str, status: str, result: str | None, now: str, audit: Row | None,
                      *, within: Database | None = None) -> None:
        """The action's outcome and its audit row, in one transaction (`within`: an open transaction of
        the same database, e.g. the store's own when the records live in the store's file)."""
        def write(tx: Database) -> None:
            tx.run("UPDATE pending_actions SET status = ?, result = ?, resolved_at = ? WHERE id = ?",
                   (status, result, now, action_id))
            if audit is not None:
                self._insert_audit(tx, audit)

        if within is not None:
            write(within)
            return
        with self.db.transaction() as tx:
            write(tx)

    def reopen(self, action_id: str) -> None:
        """executing -> pending: the write never reached the store (a crash before it committed)."""
        self.db.run("UPDATE pending_actions SET status = 'pending' WHERE id = ? AND status = 'executing'",
                    (action_id,))

    # ---- audit log -------------------------------------------------------------------------------

    def audit(self, row: Row) -> None:
        self._insert_audit(self.db, row)

    @staticmethod
    def _insert_audit(db: Database, row: Row) -> None:
        db.run(f"INSERT INTO audit_log ({', '.join(AUDIT_COLUMNS)}) VALUES ({', '.join('?' * len(AUDIT_COLUMNS))})",
               tuple(row.get(c) for c in AUDIT_COLUMNS))

    def audited_arguments(self, session_id: str, limit: int = 20) -> list[str | None]:
        """Arguments of the newest tool calls that found what they looked for (newest first)."""
        rows = self.db.all("SELECT arguments FROM audit_log WHERE conversation_id = ? AND (status IN "
                           "('ok', 'needs_confirmation') OR (status = 'denied' AND rule != "
                           "'identity.own_orders_only')) ORDER BY id DESC LIMIT ?", (session_id, limit))
        return [r["arguments"] for r in rows]

    def turn_audit(self, session_id: str, turn: int) -> list[Row]:
        """What one turn did, in order: the phase, status and action id of each of its audit rows."""
        return self.db.all("SELECT phase, status, action_id FROM audit_log WHERE conversation_id = ? AND turn = ? "
                           "ORDER BY id", (session_id, turn))

    # ---- shared state of the server workers ----------------------------------------------------------

    def claim(self, session_id: str, owner: str, ttl: float) -> bool:
        """Take the session for one turn, unless another owner holds an unexpired claim."""
        now = time.time()
        row = self.db.one("INSERT INTO turn_claims (session_id, owner, expires_at) VALUES (?,?,?) "
                          "ON CONFLICT (session_id) DO UPDATE SET owner = excluded.owner, "
                          "expires_at = excluded.expires_at WHERE turn_claims.expires_at < ? RETURNING owner",
                          (session_id, owner, now + ttl, now))
        return row is not None

    def renew(self, session_id: str, owner: str, ttl: float) -> bool:
        return self.db.run("UPDATE turn_claims SET expires_at = ? WHERE session_id = ? AND owner = ?",
                           (time.time() + ttl, session_id, owner)) == 1

    def release(self, session_id: str, owner: str) -> None:
        self.db.run("DELETE FROM turn_claims WHERE session_id = ? AND owner = ?", (session_id, owner))

    def claimed(self, session_id: str) -> bool:
        return self.db.one("SELECT 1 AS busy FROM turn_claims WHERE session_id = ? AND expires_at >= ?",
                           (session_id, time.time())) is not None

    def hit(self, key: str, windows: list[tuple[int, int]]) -> float | None:
        """Count one request for `key` against each (amount, seconds) moving window: None if every
        window has room (the request is logged), else the seconds until it would (nothing logged).
        The key's row is locked first (an upsert), so concurrent workers count one after another."""
        now = time.time()
        horizon = now + max(seconds for _, seconds in windows)
        with self.db.transaction() as tx:
            tx.run("INSERT INTO rate_keys (key, expires_at) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                   "SET expires_at = excluded.expires_at", (key, horizon))
            waits = [self._wait(tx, key, amount, seconds, now) for amount, seconds in windows]
            if any(w is not None for w in waits):
                return max(w for w in waits if w is not None)
            tx.run("INSERT INTO rate_hits (key, at, expires_at) VALUES (?, ?, ?)", (key, now, horizon))
            tx.run("DELETE FROM rate_hits WHERE expires_at < ?", (now,))
            tx.run("DELETE FROM rate_keys WHERE expires_at < ?", (now,))
        return None

    @staticmethod
    def _wait(tx: Database, key: str, amount: int, seconds: int, now: float) -> float | None:
        hits = tx.all("SELECT at FROM rate_hits WHERE key = ? AND at > ? ORDER BY at DESC LIMIT ?",
                      (key, now - seconds, amount))
        return None if len(hits) < amount else max(1.0, hits[-1]["at"] + seconds - now)
