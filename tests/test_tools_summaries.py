"""A confirmation shows every field the write will change. For each write tool: preview, execute, diff
the whole store, and check each changed column against the summary the customer confirmed. A column
is either SHOWN (its new value, or the old one when it is removed, must be in the summary) or IMPLIED
(bookkeeping, or said by the action itself, with the reason written down); a column that is neither
fails, so a new write cannot slip past its confirmation."""

from __future__ import annotations

import re
from typing import Any, Callable

import pytest

from evals.store_state import diff, snapshot
from tools.values import money

Row = dict[str, Any]


def _text(value, old, row, before) -> str | None:
    """The value itself; a removed value: the old one (the summary must say it goes away)."""
    return str(value) if value not in (None, "") else (str(old) if old not in (None, "") else None)


def _money(value, old, row, before) -> str:
    return money(value)


def _words(value, old, row, before) -> str:
    return str(value).replace("_", " ")


def _balance(value, old, row, before) -> str:
    return money(abs(value - (old or 0)))


# (table, column) -> what of it the summary must contain
SHOWN: dict[tuple[str, str], Callable[..., str | None]] = {
    **{("orders", c): _text for c in ("ship_name", "ship_line1", "ship_line2", "ship_city", "ship_state",
                                      "ship_zip", "ship_country")},
    ("orders", "cancel_reason"): _text,
    ("orders", "status"): lambda v, *_: {"cancelled": "Cancel", "return_requested": "Start a return",
                                         "returned": "shows as returned", "delivered": "closes return",
                                         "processing": "replacement"}[v],
    ("orders", "total_cents"): lambda v, old, row, before: money(v) if before else "no charge",
    ("order_lines", "quantity"): lambda v, *_: f"{v} x",
    ("order_lines", "variant_desc"): _text,
    ("order_lines", "product_name"): _text,
    ("order_lines", "unit_price_cents"): lambda v, old, row, before: money(v) if before else "no charge",
    ("order_adjustments", "amount_cents"): _money,
    ("order_adjustments", "kind"): lambda v, *_: {"charge": "charged", "refund": "refunded"}[v],
    ("payment_methods", "balance_cents"): _balance,
    ("payment_methods", "label"): lambda *_: "store credit",
    ("refunds", "amount_cents"): _money,
    ("refunds", "method"): lambda v, *_: {"store_credit": "store credit", "original": "to"}[v],
    ("returns", "reason"): _text,
    ("returns", "condition"): _words,
    ("returns", "refund_cents"): _money,
    ("returns", "restocking_fee_cents"): lambda v, *_: money(v) if v else "Refund",
    ("returns", "label_url"): lambda *_: "prepaid return label",
    ("returns", "status"): lambda v, old, row, before: (f"closes return {row['id']}" if before
                                                        else "Start a return"),
    ("return_lines", "quantity"): lambda v, *_: f"{v} x",
    ("tickets", "category"): _words,
    ("tickets", "status"): lambda v, old, row, before: "closes the lost-package claim" if before else None,
    ("customers", "email"): _text,
    ("customers", "phone"): _text,
    **{("customers", c): _text for c in ("address_line1", "address_line2", "city", "state", "zip", "country")},
}

# Changed by a write, and not a separate thing to confirm, with the reason.
IMPLIED = {
    **{(t, c): "a time stamp" for t, c in [("orders", "updated_at"), ("orders", "cancelled_at"),
                                            ("orders", "placed_at"), ("refunds", "created_at"),
                                            ("refunds", "expected_by"), ("returns", "created_at"),
                                            ("tickets", "created_at"), ("order_adjustments", "created_at")]},
    **{(t, c): "a generated id or a link between rows the summary names otherwise"
       for t, c in [("orders", "id"), ("orders", "customer_id"), ("orders", "payment_method_id"),
                    ("order_lines", "id"), ("order_lines", "order_id"), ("order_lines", "variant_id"),
                    ("order_lines", "product_id"), ("refunds", "id"), ("refunds", "order_id"),
                    ("refunds", "customer_id"), ("refunds", "payment_method_id"), ("refunds", "return_id"),
                    ("returns", "id"), ("returns", "order_id"), ("returns", "customer_id"),
                    ("return_lines", "return_id"), ("return_lines", "order_line_id"), ("return_lines", "id"),
                    ("tickets", "id"), ("tickets", "order_id"), ("tickets", "customer_id"),
                    ("order_adjustments", "id"), ("order_adjustments", "order_id"),
                    ("order_adjustments", "payment_method_id"), ("payment_methods", "id"),
                    ("payment_methods", "customer_id")]},
    ("orders", "subtotal_cents"): "a part of the new order total, which is shown",
    ("orders", "tax_cents"): "a part of the new order total, which is shown",
    ("orders", "shipping_cents"): "0 on a replacement sent at no charge, which is shown",
    ("order_lines", "final_sale"): "copied from the product",
    ("variants", "stock"): "the store's inventory, not the customer's",
    ("refunds", "status"): "pending or completed follows from the timing, which is shown",
    ("refunds", "reason"): "the store's note of what the refund is for, which is shown",
    ("order_adjustments", "reason"): "the store's note of the change, which is shown",
    ("payment_methods", "kind"): "store credit is a gift card, which is shown",
    ("tickets", "kind"): "said by the action (complaint, lost-package claim)",
    ("tickets", "priority"): "internal triage",
    ("tickets", "summary"): "checked per tool below: the customer's words for a complaint",
    ("tickets", "remedy"): "checked per tool below: the policy's remedy for a complaint",
}

# Per tool: what else its summary must carry.
EXTRA: dict[str, Callable[[Row], list[str]]] = {
    "file_complaint": lambda row: [row["summary"], row["remedy"]] if row.get("kind") == "complaint" else [],
}


# A case's setup gets (store, ctx_for, call, policy) and may return the policy the case runs under.
def _setup_unit(store, ctx_for, call, policy):
    with store.write() as db:
        db.execute("UPDATE orders SET ship_line2 = 'Apt 4' WHERE id = 'W1001'")
        db.execute("UPDATE customers SET address_line2 = 'Apt 4' WHERE id = 'C-JANE'")


def _setup_second_country(store, ctx_for, call, policy):
    """A store that also ships to the United Kingdom (no state there), so that an address change can
    change the country and drop the state."""
    from tools.policy import CountryAddressRules

    gb = CountryAddressRules(names=["United Kingdom", "UK"], required=["address_line1", "city", "zip_code"],
                             postal_code=r"^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$", labels={"zip_code": "postcode"})
    return policy.model_copy(update={"address": policy.address.model_copy(
        update={"complete": {**policy.address.complete, "GB": gb}})})


def _setup_return(store, ctx_for, call, policy):
    call(ctx_for("C-JANE"), "start_return", {"order_id": "W1002", "condition": "defective",
                                             "reason": "stopped charging"}, execute=True)


def _setup_partial_return(store, ctx_for, call, policy):
    tee = store.one("SELECT id FROM order_lines WHERE order_id = 'W3001' AND product_name = 'Trail Tee'")["id"]
    call(ctx_for("C-MEI"), "start_return", {"order_id": "W3001", "line_ids": [tee], "condition": "unopened",
                                            "reason": "wrong size"}, execute=True)


def _setup_lost_refund_awaiting(store, ctx_for, call, policy):
    with store.write() as db:  # a claim waiting for its refund (as after a human's approval)
        db.execute("INSERT INTO tickets (id, customer_id, order_id, kind, category, priority, summary, status, "
                   "remedy, created_at) VALUES ('T-LOST', 'C-OMAR', 'W2001', 'lost_package', 'refund', 'high', "
                   "'Lost package', 'awaiting_refund', 'refund', '2026-03-10T00:00:00Z')")


CASES = [
    ("cancel_order", "C-JANE", {"order_id": "W1001", "reason": "ordered the wrong size"}, None),
    ("cancel_order", "C-OMAR", {"order_id": "W2002", "reason": "found it cheaper"}, None),  # gift card: balance
    ("modify_order_address", "C-JANE", {"order_id": "W1001", "recipient_name": "John Roe", "address_line1": "5 Elm St",
                                        "address_line2": "Apt 2", "city": "Oakland", "state": "NV",
                                        "zip_code": "89501-1234", "country": "United States"}, None),
    ("modify_order_address", "C-JANE", {"order_id": "W1001", "address_line1": "5 Elm St", "city": "Oakland",
                                        "state": "CA", "zip_code": "94601"}, _setup_unit),
    ("modify_order_address", "C-JANE", {"order_id": "W1001", "address_line1": "10 Downing St", "city": "London",
                                        "zip_code": "SW1A 2AA", "country": "United Kingdom"}, _setup_second_country),
    ("modify_order_items", "C-JANE", {"order_id": "W1001", "line_id": 1, "new_variant": "XL", "new_quantity": 1}, None),
    ("modify_order_items", "C-JANE", {"order_id": "W1001", "line_id": 1, "new_quantity": 3}, None),
    ("modify_order_items", "C-OMAR", {"order_id": "W2002", "line_id": None, "new_variant": "XL"}, None),
    ("start_return", "C-JANE", {"order_id": "W1002", "condition": "opened", "reason": "too loud"}, None),
    ("start_return", "C-MEI", {"order_id": "W3001", "condition": "defective", "reason": "torn seam"}, None),
    ("issue_refund", "C-JANE", {"order_id": "W1002"}, _setup_return),
    ("issue_refund", "C-JANE", {"order_id": "W1002", "to_store_credit": True}, _setup_return),
    ("issue_refund", "C-MEI", {"order_id": "W3001"}, _setup_partial_return),  # the order is delivered again
    ("issue_refund", "C-OMAR", {"order_id": "W2001"}, _setup_lost_refund_awaiting),
    ("report_lost_package", "C-OMAR", {"order_id": "W2001", "remedy": "refund"}, None),
    ("report_lost_package", "C-OMAR", {"order_id": "W2001", "remedy": "replacement"}, None),
    ("file_complaint", "C-JANE", {"category": "billing", "order_id": "W1002", "summary": "I was charged twice"}, None),
    ("update_account", "C-JANE", {"field": "email", "email": "jane.new@example.com"}, None),
    ("update_account", "C-JANE", {"field": "phone", "phone": "415 555 0199"}, None),
    ("update_account", "C-JANE", {"field": "address", "address": {
        "address_line1": "9 Oak Ave", "address_line2": "Unit 7", "city": "Reno", "state": "NV",
        "zip_code": "89501", "country": "USA"}}, None),
    ("update_account", "C-JANE", {"field": "address", "address": {
        "address_line1": "9 Oak Ave", "city": "Oakland", "state": "CA", "zip_code": "94601"}}, _setup_unit),
    ("update_account", "C-JANE", {"field": "address", "address": {
        "address_line1": "10 Downing St", "city": "London", "zip_code": "SW1A 2AA", "country": "uk"}},
     _setup_second_country),
]


def _changes(before, after) -> list[tuple[str, str, Any, Any, Row, bool]]:
    """(table, column, new value, old value, the row after, whether the row existed before)."""
    out = []
    for row in diff(before, after):
        assert row.kind != "removed", row.describe()
        if row.kind == "added":
            out += [(row.table, c, v, None, row.after, False) for c, v in row.after.items()
                    if c != "rowid" and v is not None]
        else:
            out += [(row.table, c, row.after[c], row.before[c], row.after, True) for c in row.columns]
    return out


def test_every_write_tool_has_a_case():
    from tools.registry import all_tools

    writes = {t.name for t in all_tools() if t.is_write}
    assert writes == {c[0] for c in CASES}
    assert writes == {"cancel_order", "modify_order_address", "modify_order_items", "start_return", "issue_refund",
                      "report_lost_package", "file_complaint", "update_account"}


@pytest.mark.parametrize(("tool", "customer", "args", "setup"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_the_summary_names_every_field_the_write_changes(shop, store, ctx_for, call, policy, tool, customer, args,
                                                        setup):
    policy = (setup(store, ctx_for, call, policy) if setup else None) or policy
    if args.get("line_id", 0) is None:
        args = {**args, "line_id": shop.line_ids(args["order_id"])[0]}
    ctx = ctx_for(customer, policy=policy)
    preview = call(ctx, tool, args)
    assert preview.status == "needs_confirmation", preview.message
    summary = preview.summary
    before = snapshot(store)
    done = call(ctx, tool, args, execute=True)
    assert done.status == "ok" and done.summary == summary
    changes = _changes(before, snapshot(store))
    assert changes, "the write changed nothing"
    unknown = [f"{t}.{c}" for t, c, *_ in changes if (t, c) not in SHOWN and (t, c) not in IMPLIED]
    assert not unknown, f"changed, but neither shown nor implied: {unknown}"
    for table, column, new, old, row, existed in changes:
        render = SHOWN.get((table, column))
        wanted = render(new, old, row, existed) if render else None
        if wanted is not None:  # as whole words: a country code is not found inside another word
            assert re.search(rf"(?<!\w){re.escape(wanted)}(?!\w)", summary, re.I), \
                f"{table}.{column} -> {new!r}: {wanted!r} is not in: {summary}"
        for extra in (EXTRA.get(tool, lambda r: [])(row) if not existed else []):
            assert extra in summary, f"{extra!r} is not in: {summary}"


def test_recipient_and_country_are_in_the_address_confirmation(shop, ctx_for, call):
    r = call(ctx_for("C-JANE"), "modify_order_address",
             {"order_id": "W1001", "recipient_name": "John Roe", "address_line1": "5 Elm St", "city": "Oakland",
              "state": "CA", "zip_code": "94601", "country": "usa"})
    assert r.summary == ("Change the shipping address of order W1001 from Jane Doe, 1 Main St, San Francisco, "
                         "CA 94107, US to John Roe, 5 Elm St, Oakland, CA 94601, US.")
