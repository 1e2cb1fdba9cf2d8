"""check_refund_eligibility, start_return and issue_refund. Rounding: a share of an amount (fee, tax)
is rounded half up to the cent."""

import pytest

from tools.amounts import percent_of, share_of


def test_rounding_is_half_up_to_the_cent():
    assert percent_of(19999, 15) == 3000  # 29.9985 -> 30.00
    assert percent_of(1010, 5) == 51  # 50.5 -> 51
    assert share_of(2200, 6200, 496) == 176
    assert share_of(1, 0, 100) == 0


def test_opened_item_pays_the_restocking_fee(shop, ctx_for, call):
    r = call(ctx_for("C-JANE"), "check_refund_eligibility", {"order_id": "W1002", "condition": "opened"})
    assert r.status == "ok" and r.data["eligible"] is True
    assert r.data["restocking_fee"] == "$30.00"
    assert r.data["refund_amount"] == "$169.99"  # 199.99 - 15% (30.00, rounded half up)
    assert r.data["prepaid_label"] is False


def test_unopened_item_gets_a_full_refund(shop, ctx_for, call):
    r = call(ctx_for("C-JANE"), "check_refund_eligibility", {"order_id": "W1002", "condition": "unopened"})
    assert r.data["refund_amount"] == "$199.99" and r.data["restocking_fee"] == "$0.00"


def test_defective_refunds_shipping_and_sends_a_label(shop, ctx_for, call):
    mei = ctx_for("C-MEI")
    r = call(mei, "check_refund_eligibility", {"order_id": "W3001", "condition": "defective"})
    assert r.status == "ok"
    assert r.data["refund_amount"] == "$75.99"  # 45.00 + 25.00 + original shipping 5.99
    assert r.data["shipping_refunded"] == "$5.99" and r.data["prepaid_label"] is True


def test_tax_on_returned_lines_is_refunded(builder, ctx_for, call):
    builder.build_story_shop()
    builder.order("W9100", "C-JANE", "delivered", [("V-TEE-BLK-M", 1), ("V-SOCKS", 1)],
                  payment_method_id="PM-JANE-CC", placed_days_ago=6, shipped_days_ago=5, delivered_days_ago=4,
                  shipping_cents=599, tax_cents=297)
    socks = builder.line_ids("W9100")[1]
    r = call(ctx_for("C-JANE"), "check_refund_eligibility",
             {"order_id": "W9100", "line_ids": [socks], "condition": "opened"})
    # socks 12.00 of a 37.00 subtotal -> tax 2.97 * 12/37 = 0.963 -> 0.96; fee 15% of 12.00 = 1.80
    assert r.data["tax_refunded"] == "$0.96" and r.data["restocking_fee"] == "$1.80"
    assert r.data["refund_amount"] == "$11.16"


def test_outside_the_window_is_denied(shop, ctx_for, call):
    r = call(ctx_for("C-JANE"), "check_refund_eligibility", {"order_id": "W1004", "condition": "unopened"})
    assert r.status == "denied" and r.rule == "returns.window_days"
    assert r.facts["days_since_delivery"] == 45 and r.facts["window_days"] == 30


def test_final_sale_only_if_defective_or_wrong(shop, ctx_for, call):
    mei = ctx_for("C-MEI")
    r = call(mei, "check_refund_eligibility", {"order_id": "W3001", "condition": "opened"})
    assert r.status == "denied" and r.rule == "returns.final_sale_allowed_conditions"
    regular = shop.line_ids("W3001")[1]
    other = [i for i in call(mei, "get_order", {"order_id": "W3001"}).data["items"] if not i.get("final_sale")]
    names = [i.get("product") or i.get("name") for i in other]
    assert any(f"return only the other item: {names[0]}" in a for a in r.alternatives)  # named, not its line id
    ok = call(mei, "check_refund_eligibility", {"order_id": "W3001", "line_ids": [regular], "condition": "opened"})
    assert ok.status == "ok" and ok.data["refund_amount"] == "$21.25"  # 25.00 - 3.75


def test_not_delivered_is_denied(shop, ctx_for, call):
    r = call(ctx_for("C-JANE"), "check_refund_eligibility", {"order_id": "W1003", "condition": "unopened"})
    assert r.status == "denied" and r.rule == "returns.after_delivery_only"
    r = call(ctx_for("C-JANE"), "start_return", {"order_id": "W1001", "condition": "unopened", "reason": "x"})
    assert r.status == "denied" and "cancel the order instead" in r.alternatives


def test_above_threshold_needs_approval(shop, ctx_for, call):
    r = call(ctx_for("C-LUCAS"), "check_refund_eligibility", {"order_id": "W4001", "condition": "unopened"})
    assert r.status == "ok" and r.data["needs_human_approval"] is True and r.data["refund_amount"] == "$780.00"


def test_unknown_line_is_an_error(shop, ctx_for, call):
    r = call(ctx_for("C-JANE"), "check_refund_eligibility", {"order_id": "W1002", "line_ids": [999],
                                                             "condition": "opened"})
    assert r.status == "error"


def test_start_return_preview_changes_nothing_execute_writes(shop, store, ctx_for, call):
    jane = ctx_for("C-JANE")
    args = {"order_id": "W1002", "condition": "opened", "reason": "not what I hoped"}
    before = store.content_hash()
    preview = call(jane, "start_return", args)
    assert preview.status == "needs_confirmation" and "$169.99" in preview.summary
    assert store.content_hash() == before
    done = call(jane, "start_return", args, execute=True)
    assert done.status == "ok"
    rma = store.one("SELECT * FROM returns WHERE order_id = 'W1002'")
    assert rma["id"] == done.data["return_id"]
    assert (rma["status"], rma["refund_cents"], rma["restocking_fee_cents"], rma["label_url"]) == \
        ("authorized", 16999, 3000, None)
    assert store.one("SELECT count(*) AS n FROM return_lines WHERE return_id = ?", (rma["id"],))["n"] == 1
    assert store.one("SELECT status FROM orders WHERE id = 'W1002'")["status"] == "return_requested"
    again = call(jane, "start_return", {**args, "reason": "again"})
    assert again.status == "denied" and again.rule == "returns.once_per_item"


def test_start_return_defective_sends_a_prepaid_label(shop, store, ctx_for, call):
    r = call(ctx_for("C-MEI"), "start_return", {"order_id": "W3001", "condition": "defective",
                                                 "reason": "seam split"}, execute=True)
    assert r.status == "ok" and r.data["label_url"].endswith("/label.pdf")
    rma = store.one("SELECT * FROM returns WHERE order_id = 'W3001'")
    assert rma["status"] == "label_sent" and rma["refund_cents"] == 7599


@pytest.mark.parametrize("store_credit", [False, True])
def test_issue_refund_pays_the_open_return_once(shop, store, ctx_for, call, store_credit):
    jane = ctx_for("C-JANE")
    call(jane, "start_return", {"order_id": "W1002", "condition": "opened", "reason": "meh"}, execute=True)
    before = store.content_hash()
    preview = call(jane, "issue_refund", {"order_id": "W1002", "to_store_credit": store_credit})
    assert preview.status == "needs_confirmation" and preview.data["refund_amount"] == "$169.99"
    assert store.content_hash() == before
    done = call(jane, "issue_refund", {"order_id": "W1002", "to_store_credit": store_credit}, execute=True)
    assert done.status == "ok"
    refund = store.one("SELECT * FROM refunds WHERE order_id = 'W1002'")
    assert refund["amount_cents"] == 16999 and refund["return_id"] is not None
    if store_credit:
        assert refund["method"] == "store_credit" and refund["status"] == "completed"
        gift = store.one("SELECT balance_cents FROM payment_methods WHERE customer_id = 'C-JANE' AND kind = 'gift_card'")
        assert gift["balance_cents"] == 16999
    else:
        assert refund["status"] == "pending" and refund["expected_by"] == "2026-03-20"  # 7 business days
    assert store.one("SELECT status FROM orders WHERE id = 'W1002'")["status"] == "returned"
    assert store.one("SELECT status FROM returns WHERE order_id = 'W1002'")["status"] == "refunded"
    nothing = call(jane, "issue_refund", {"order_id": "W1002"})
    assert nothing.status == "denied" and nothing.rule == "refunds.owed_only"


def test_issue_refund_with_nothing_owed_is_denied(shop, ctx_for, call):
    r = call(ctx_for("C-JANE"), "issue_refund", {"order_id": "W1002"})
    assert r.status == "denied" and r.rule == "refunds.owed_only"


def test_issue_refund_above_threshold_is_escalated(shop, store, ctx_for, call):
    lucas = ctx_for("C-LUCAS")
    started = call(lucas, "start_return", {"order_id": "W4001", "condition": "unopened", "reason": "too big"},
                   execute=True)
    assert started.status == "ok" and started.data["next_step"] == "escalate_to_human"
    r = call(lucas, "issue_refund", {"order_id": "W4001"})
    assert r.status == "denied" and r.rule == "refunds.approval_threshold"
    assert r.alternatives == ["escalate to a human for approval"]
    assert store.one("SELECT count(*) AS n FROM refunds")["n"] == 0


def test_refunds_never_exceed_the_order_total(shop, store, ctx_for, call):
    """A refund made outside the tools (say, by a human) leaves less to refund."""
    with store.write() as db:
        db.execute("INSERT INTO refunds (id, order_id, customer_id, amount_cents, method, status, created_at) "
                   "VALUES ('RF-MANUAL', 'W1002', 'C-JANE', 19000, 'original', 'completed', '2026-03-10T00:00:00Z')")
    jane = ctx_for("C-JANE")
    quote = call(jane, "check_refund_eligibility", {"order_id": "W1002", "condition": "unopened"})
    assert quote.data["refund_amount"] == "$9.99"
    call(jane, "start_return", {"order_id": "W1002", "condition": "unopened", "reason": "x"}, execute=True)
    assert call(jane, "issue_refund", {"order_id": "W1002"}, execute=True).data["refund_amount"] == "$9.99"
    total = store.one("SELECT sum(amount_cents) AS s FROM refunds WHERE order_id = 'W1002'")["s"]
    assert total == 19999


def test_cancelled_order_cannot_be_returned_or_refunded_twice(shop, ctx_for, call):
    priya = ctx_for("C-PRIYA")
    assert call(priya, "start_return", {"order_id": "W5001", "condition": "unopened", "reason": "x"}).rule == \
        "returns.after_delivery_only"
    assert call(priya, "issue_refund", {"order_id": "W5001"}).rule == "refunds.owed_only"


def test_eligibility_without_condition_answers_for_each(shop, ctx_for, call):
    r = call(ctx_for("C-JANE"), "check_refund_eligibility", {"order_id": "W1002"})
    assert r.status == "ok" and r.data["eligible"] is True
    by = r.data["refund_by_condition"]
    assert by["unopened"]["refund_amount"] == "$199.99" and by["opened"]["refund_amount"] == "$169.99"
    assert by["defective"]["prepaid_label"] is True
    assert "condition" in r.message


def test_eligibility_without_condition_for_final_sale_lists_the_allowed_ones(shop, ctx_for, call):
    r = call(ctx_for("C-MEI"), "check_refund_eligibility", {"order_id": "W3001"})
    assert r.status == "ok" and r.data["only_if"] == ["defective", "wrong_item"]
    assert "final sale" in r.message


def test_eligibility_without_condition_outside_window_is_denied(shop, ctx_for, call):
    r = call(ctx_for("C-JANE"), "check_refund_eligibility", {"order_id": "W1004"})
    assert r.status == "denied" and r.rule == "returns.window_days"
