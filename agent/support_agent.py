"""The agent: a store, a policy and a model, shared by any number of sessions."""

from __future__ import annotations

import hashlib
import secrets
import statistics
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from agent import language
from agent.messages import SHIPPED
from agent.models.base import ChatModel
from agent.records import Records, open_records, redact_url, same_database, store_target
from agent.session import Session
from agent.understanding.understand import Understander
from tools.backend import CommerceBackend, as_backend
from tools.context import utc_now
from tools.policy import Policy, load_policy
from tools.registry import all_tools
from tools.store import Store
from tools.values import iso


class ModelStats:
    """Model time per step, for the REPL's /trace, the eval report and the benchmarks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.steps: list[float] = []

    def record(self, seconds: float) -> None:
        with self._lock:
            self.steps.append(seconds)

    def median(self) -> float:
        with self._lock:
            return statistics.median(self.steps) if self.steps else 0.0


class SupportAgent:
    """Build once per process; open a session per conversation.

    >>> agent = SupportAgent("support_agent.db", model="local")
    >>> session = agent.session()
    >>> reply = session.send("Hi, I'm jane.doe@example.com, zip 94107. Where is W1003?")
    """

    def __init__(self, store: CommerceBackend | Store | str | Path, *, policy: Policy | str | Path | None = None,
                 model: ChatModel | str | None = None, clock: Callable[[], datetime] = utc_now,
                 reply: str = "composed", records: Records | str | Path | None = None):
        """`store`: the commerce backend, or where it is (a SQLite path or a postgresql:// URL).
        `records`: where the agent's own records go: a `Records`, a SQLite path or a postgresql://
        URL; None keeps them in the store's own database."""
        from agent.models import load_model

        self.store = as_backend(store)
        self.records = records if isinstance(records, Records) else open_records(records, store_target(self.store))
        self.records_share_store = same_database(self.records, self.store)
        self.policy = policy if isinstance(policy, Policy) else load_policy(policy)
        self.model: ChatModel = model if model is not None and not isinstance(model, str) else load_model(model)
        self.clock = clock
        self.tools = all_tools()
        self.stats = ModelStats()
        if reply not in ("composed", "model"):
            raise ValueError(f"reply must be 'composed' or 'model', not {reply!r}")
        self.reply = reply  # model: the model rewrites the composed reply, shown only if it keeps the facts
        self.understander = Understander(self.model)

    def session(self, lang: str | None = None) -> Session:
        """A new anonymous conversation, in `lang` ("zh", "es", "fr"...; default English, and the
        customer's messages may change it). `session.token` authenticates it to web clients."""
        session_id = "s_" + secrets.token_urlsafe(12)
        token = secrets.token_urlsafe(24)
        self.records.create_conversation(session_id, _hash(token), getattr(self.model, "name", ""), iso(self.clock()))
        session = Session(self, session_id, token)
        if lang:
            session.set_language(lang)
        return session

    def resume(self, session_id: str, token: str | None = None) -> Session:
        """Continue a conversation (after a restart too). With `token`, it must match."""
        row = self.records.conversation(session_id)
        if row is None:
            raise KeyError(f"no conversation {session_id}")
        if token is not None and not secrets.compare_digest(row["token_hash"], _hash(token)):
            raise PermissionError("the session token does not match")
        return Session(self, session_id)

    def warm(self) -> None:
        """Load what the first turn needs: the model's weights, its prompt prefix and grammar (embedded
        model); beside the grammar, the kind classifier and the language detector."""
        load = getattr(self.model, "load", None)
        if load is not None:  # first: loading the weights holds the interpreter (a thread would wait)
            load()
        # while the model builds its grammar tokenizer: the classifier (Python, in short slices), then the
        # language detector (one long call that holds the interpreter: by then the model's request is out)
        loading = threading.Thread(target=lambda: (self.understander.narrower, language.warm(), SHIPPED.plurals),
                                   daemon=True)
        loading.start()
        warm = getattr(self.model, "warm", None)
        if warm is not None:
            warm([{"role": "system", "content": self.understander.system}], schema=self.understander.warm_schema())
        loading.join()

    def describe(self) -> dict[str, Any]:
        return {"model": getattr(self.model, "name", type(self.model).__name__),
                "store": self.store.url.display() if hasattr(self.store, "url") else type(self.store).__name__,
                "records": redact_url(self.records.db.url),
                "policy": self.policy.source,
                "tools": [t.name for t in self.tools]}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()

