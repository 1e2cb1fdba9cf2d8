"""What every tool returns. A refusal is a result naming the rule, never an exception.

Every customer-facing text is a catalog message (tools/i18n.py): the result keeps its English
rendering in `message` (and `summary`, `alternatives`) and its id and typed params beside it, so a
runtime can render it in the customer's locale. A result with no `message_id` has nothing for the
customer: its `message` is for the model only (an argument error), as is `note` on any result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal

from pydantic import BaseModel, Field

from tools.i18n import N_, NP_, Msg, Params, msg  # noqa: F401  (re-exported: the tools' one helper)

Status = Literal["ok", "denied", "needs_confirmation", "error"]

# Fields for a runtime that renders the customer's locale; the model reads the English in `message`.
CATALOG_FIELDS = {"message_id", "params", "summary_id", "summary_params", "alternative_messages"}


class ToolResult(BaseModel):
    status: Status
    tool: str = ""
    message: str = ""  # plain language (English), safe to relay to the customer unless message_id is ""
    message_id: str = ""  # the catalog msgid of `message`; "" = the message is for the model only
    params: Params = Field(default_factory=dict)  # the facts `message` quotes, typed (Money, date, Msg...)
    data: dict[str, Any] = Field(default_factory=dict)
    rule: str | None = None  # denied: the policy parameter that decided, e.g. "returns.window_days"
    facts: dict[str, Any] = Field(default_factory=dict)  # denied: the facts that failed the rule
    alternatives: list[str] = Field(default_factory=list)  # denied: what the customer can do instead
    alternative_messages: list[Msg] = Field(default_factory=list)  # the same, as catalog messages
    summary: str | None = None  # needs_confirmation: what will happen, with computed amounts
    summary_id: str | None = None  # the catalog msgid of `summary`
    summary_params: Params = Field(default_factory=dict)
    note: str | None = None  # for the model only, never shown to the customer, never in the catalog
    # denied: the write that serves what was asked, where the store's state allows it (a refund for a
    # parcel that never came is a lost-package claim); proposed to the customer, written only on a yes
    instead: dict[str, Any] | None = None

    @property
    def for_customer(self) -> bool:
        """Whether `message` is a catalog message meant for the customer."""
        return bool(self.message_id)

    def as_msg(self) -> Msg:
        """The result's message as a catalog message, to quote inside another one."""
        return Msg(message_id=self.message_id, params=self.params, text=self.message)

    def compact(self) -> dict[str, Any]:
        """The form a model sees: no empty fields, no catalog ids (the English says the same)."""
        return self.model_dump(exclude_none=True, exclude_defaults=True, exclude={"tool", *CATALOG_FIELDS})


def _texts(message: Msg) -> dict[str, Any]:
    if not isinstance(message, Msg):
        raise TypeError(f"a customer-facing tool message must be a catalog message (msg(N_(...))), "
                        f"not {message!r}")
    return {"message": message.text, "message_id": message.message_id, "params": message.params}


def ok(message: Msg, *, note: str | None = None, **data: Any) -> ToolResult:
    return ToolResult(status="ok", data=data, note=note, **_texts(message))


def denied(rule: str, message: Msg, *, facts: dict[str, Any] | None = None,
           alternatives: list[Msg] | None = None, note: str | None = None,
           instead: dict[str, Any] | None = None) -> ToolResult:
    alternatives = alternatives or []
    for a in alternatives:
        _texts(a)
    return ToolResult(status="denied", rule=rule, facts=facts or {}, note=note, instead=instead,
                      alternatives=[a.text for a in alternatives], alternative_messages=alternatives,
                      **_texts(message))


def error(message: Msg | str, *, note: str | None = None, **data: Any) -> ToolResult:
    """An error. A catalog message is for the customer ("That email address is not valid"); a plain
    string is for the model only (an argument it must correct) and never reaches the catalog."""
    texts = _texts(message) if isinstance(message, Msg) else {"message": message}
    return ToolResult(status="error", data=data, note=note, **texts)


@dataclass
class Plan:
    """A validated write, not yet done. Write tools return one (or a denial) from a single function
    that is run twice: for the preview, and again inside the write transaction before `apply`, so the
    preview and the execution can never disagree about the rules."""

    summary: Msg  # for the customer's confirmation, with the computed amounts
    apply: Callable[[Any], dict[str, Any]]  # does the writes on a CommerceTransaction, returns result data
    done: Msg  # what to tell the customer after it ran
    data: dict[str, Any] = field(default_factory=dict)  # computed values shown with the preview

    def preview(self) -> ToolResult:
        return ToolResult(status="needs_confirmation", data=self.data, **_texts(self.summary),
                          **self.summary_fields())

    def result(self, data: dict[str, Any]) -> ToolResult:
        return ToolResult(status="ok", data=data, **_texts(self.done), **self.summary_fields())

    def summary_fields(self) -> dict[str, Any]:
        return {"summary": self.summary.text, "summary_id": self.summary.message_id,
                "summary_params": self.summary.params}
