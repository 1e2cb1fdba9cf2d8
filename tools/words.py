"""Catalog words for the codes that tools quote in messages (order statuses, item conditions, ...).
A code missing here is shown as itself, with "_" as spaces (see `tools.i18n.word`)."""

from __future__ import annotations

from tools.i18n import N_, Listing, Msg, word

# i18n: an order's status, as in "Order W1001 is {status}"
ORDER_STATUS = {
    "pending": N_("pending"),
    "processing": N_("processing"),
    "shipped": N_("shipped"),
    "out_for_delivery": N_("out for delivery"),
    "delivered": N_("delivered"),
    "cancelled": N_("cancelled"),
    "return_requested": N_("return requested"),
    "returned": N_("returned"),
    "exchange_requested": N_("exchange requested"),
}
# i18n: a return's status, as in "(return RMA1, {return_status}, refund $10.00)"
RETURN_STATUS = {
    "label_sent": N_("label sent"),
    "authorized": N_("authorized"),
    "received": N_("received"),
    "refunded": N_("refunded"),
    "cancelled": N_("cancelled"),
}
# i18n: an item's condition (returns) or a complaint's category
CONDITION = {
    "unopened": N_("unopened"),
    "opened": N_("opened"),
    "defective": N_("defective"),
    "wrong_item": N_("wrong item"),
    "billing": N_("billing"),
    "other": N_("other"),
}
# i18n: what a lost-package claim can get: "a replacement or a refund"
REMEDY = {"replacement": N_("replacement"), "refund": N_("refund")}
# i18n: an account field, as in "The {field} cannot be changed in chat."
ACCOUNT_FIELD = {"email": N_("email"), "phone": N_("phone"), "address": N_("address")}


def status_word(status: str) -> Msg | str:
    return word(ORDER_STATUS, status)


def statuses(codes: list[str]) -> Listing:
    """Order statuses as "pending or processing"."""
    return Listing(items=[status_word(c) for c in codes], style="or")


def condition_word(condition: str) -> Msg | str:
    return word(CONDITION, condition)
