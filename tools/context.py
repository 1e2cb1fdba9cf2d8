"""What a tool runs with: the commerce backend, the policy, who the customer is, and a clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from tools.backend.interface import CommerceReads
from tools.i18n import Money
from tools.policy import Policy
from tools.store import Store


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class ToolContext:
    store: CommerceReads  # a CommerceBackend; inside a write, the CommerceTransaction that runs it
    policy: Policy
    customer_id: str | None = None  # set only by verify_customer (or by an operator), never by a model
    failed_verifications: int = 0
    clock: Callable[[], datetime] = field(default=utc_now)

    def __post_init__(self) -> None:
        if isinstance(self.store, Store):  # the demo store's SQLite connections, as the agent holds them
            from tools.backend.sqlite import SqliteBackend

            self.store = SqliteBackend(self.store)

    def now(self) -> datetime:
        return self.clock()

    def money(self, cents: int) -> Money:
        """An amount for a message, in the store's currency."""
        return Money(cents=cents, currency=self.policy.store.currency)

    @property
    def verification_locked(self) -> bool:
        return self.failed_verifications >= self.policy.identity.max_failed_attempts
