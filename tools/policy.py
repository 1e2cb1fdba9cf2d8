"""The policy document: a YAML header of rule parameters (validated here) and prose for the model.

One document, two readers: tools read `Policy` fields; the agent's prompt reads `Policy.prose`, whose
`{{ dotted.name }}` placeholders are filled from the same header.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import frontmatter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from policies import DEFAULT_POLICY
from tools.errors import PolicyError

OrderStatus = Literal[
    "pending", "processing", "shipped", "out_for_delivery", "delivered", "cancelled",
    "return_requested", "returned", "exchange_requested",
]
PaymentKind = Literal["credit_card", "paypal", "gift_card", "e_wallet"]
Condition = Literal["unopened", "opened", "defective", "wrong_item"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoreInfo(_Section):
    name: str
    timezone: str = "UTC"
    currency: str = "USD"


class IdentityRules(_Section):
    methods: list[Literal["email_zip", "order_email"]]
    max_failed_attempts: int = Field(ge=1)


class CancellationRules(_Section):
    allowed_statuses: list[OrderStatus]
    reason_required: bool = True


class ModificationRules(_Section):
    address_statuses: list[OrderStatus]
    item_statuses: list[OrderStatus]
    gift_card_must_cover_increase: bool = True


class TrackingRules(_Section):
    delayed_after_days: int = Field(ge=0)
    lost_after_days_without_movement: int = Field(ge=0)
    lost_requires_estimate_passed: bool = True
    lost_remedies: list[Literal["replacement", "refund"]]


class ReturnRules(_Section):
    window_days: int = Field(ge=0)
    restocking_fee_percent: Decimal = Field(ge=0, le=100)
    final_sale_allowed_conditions: list[Condition]
    full_refund_conditions: list[Condition]
    shipping_refund_conditions: list[Condition]
    prepaid_label_conditions: list[Condition]


class RefundRules(_Section):
    business_days: dict[PaymentKind, tuple[int, int]]
    store_credit_immediate: bool = True
    approval_threshold: Decimal = Field(ge=0)

    @property
    def approval_threshold_cents(self) -> int:
        return int(self.approval_threshold * 100)


class EscalationRules(_Section):
    support_days: list[Literal["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]]
    support_open: str = Field(pattern=r"^\d\d:\d\d$")
    support_close: str = Field(pattern=r"^\d\d:\d\d$")
    urgent_keywords: list[str] = []


class ComplaintRules(_Section):
    categories: dict[str, str]


class AccountRules(_Section):
    updatable_fields: list[Literal["email", "phone", "address"]]


AddressField = Literal["address_line1", "address_line2", "city", "state", "zip_code"]


class CountryAddressRules(_Section):
    """What a complete address is in one country."""

    names: list[str] = []  # other ways customers write the country ("USA", "United States")
    required: list[AddressField]
    postal_code: str | None = None  # a regular expression the whole postal code must match
    postal_code_format: str = ""  # that format in words, for the customer
    labels: dict[AddressField, str] = {}  # the country's words for fields ("ZIP code")

    @field_validator("postal_code")
    @classmethod
    def _compiles(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return v


class AddressRules(_Section):
    # country code (as stored on orders and accounts) -> its rules; an address in a country not
    # listed here cannot be written in chat
    complete: dict[str, CountryAddressRules] = Field(min_length=1)


class Policy(_Section):
    store: StoreInfo
    identity: IdentityRules
    cancellation: CancellationRules
    modification: ModificationRules
    tracking: TrackingRules
    returns: ReturnRules
    refunds: RefundRules
    escalation: EscalationRules
    complaints: ComplaintRules
    account: AccountRules
    address: AddressRules
    prose: str = ""
    source: str = ""

    @field_validator("prose")
    @classmethod
    def _strip(cls, v: str) -> str:
        return v.strip()

    def param(self, dotted: str) -> Any:
        value: Any = self
        for part in dotted.split("."):
            value = value[part] if isinstance(value, dict) else getattr(value, part)
        return value


_PLACEHOLDER = re.compile(r"\{\{\s*([\w.]+)\s*\}\}")


def _render_value(value: Any) -> str:
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return f"{value[0]}-{value[1]}" if value[0] != value[1] else str(value[0])
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    if isinstance(value, list) and len(value) > 2 and all(v in days for v in value):
        idx = [days.index(v) for v in value]
        if idx == list(range(idx[0], idx[-1] + 1)):
            return f"{value[0]}-{value[-1]}"
    if isinstance(value, (list, tuple)):
        items = [str(v).replace("_", " ") for v in value]
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
    return str(value)


def render_prose(text: str, policy: Policy) -> str:
    def fill(match: re.Match) -> str:
        try:
            return _render_value(policy.param(match.group(1)))
        except (AttributeError, KeyError) as exc:
            raise PolicyError(f"{policy.source}: the prose names an unknown rule parameter "
                              f"'{match.group(1)}'") from exc

    return _PLACEHOLDER.sub(fill, text)


def load_policy(path: str | Path | None = None) -> Policy:
    """Read and validate a policy document. Errors name the file and the bad field."""
    path = Path(path) if path else DEFAULT_POLICY
    try:
        post = frontmatter.load(path)
    except FileNotFoundError as exc:
        raise PolicyError(f"policy document not found: {path}") from exc
    except Exception as exc:  # yaml errors come in several types
        raise PolicyError(f"{path}: the rule header is not valid YAML: {exc}") from exc
    try:
        policy = Policy.model_validate({**post.metadata, "source": str(path)})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise PolicyError(f"{path}: invalid rule parameter(s): {problems}") from exc
    return policy.model_copy(update={"prose": render_prose(post.content, policy)})
