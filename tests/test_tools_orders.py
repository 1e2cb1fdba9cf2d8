"""verify_customer, get_order, list_orders and cancel_order: the tools every other tool builds on."""

import pytest


def test_verify_by_email_and_zip(shop, ctx_for, call):
    ctx = ctx_for(None)
    r = call(ctx, "verify_customer", {"email": "Jane.Doe@example.com", "zip_code": "94107"})
    assert r.status == "ok" and ctx.customer_id == "C-JANE"


def test_verify_by_order_id_and_email(shop, ctx_for, call):
    ctx = ctx_for(None)
    assert call(ctx, "verify_customer", {"email": "mei.chen@example.com", "order_id": "#w3001"}).status == "ok"
    assert ctx.customer_id == "C-MEI"


def test_verification_locks_after_the_policy_limit(shop, ctx_for, call, policy):
    ctx = ctx_for(None)
    for _ in range(policy.identity.max_failed_attempts):
        r = call(ctx, "verify_customer", {"email": "jane.doe@example.com", "zip_code": "00000"})
        assert r.status == "denied"
    assert r.rule == "identity.max_failed_attempts"
    locked = call(ctx, "verify_customer", {"email": "jane.doe@example.com", "zip_code": "94107"})
    assert locked.status == "denied" and ctx.customer_id is None


def test_get_order_and_denial(shop, ctx_for, call):
    jane = ctx_for("C-JANE")
    r = call(jane, "get_order", {"order_id": "w1001"})
    assert r.status == "ok" and r.data["total"] == "$72.95" and r.data["payment"] == "Visa ending 4242"
    assert call(jane, "get_order", {"order_id": "W3001"}).rule == "identity.own_orders_only"


def test_list_orders_newest_first_and_unverified_denied(shop, ctx_for, call):
    r = call(ctx_for("C-JANE"), "list_orders", {})
    assert [o["order_id"] for o in r.data["orders"]] == ["W1001", "W1003", "W1002", "W1004"]
    assert call(ctx_for(None), "list_orders", {}).rule == "identity.verification_required"


def test_cancel_pending_order(shop, store, ctx_for, call):
    jane = ctx_for("C-JANE")
    before = store.content_hash()
    preview = call(jane, "cancel_order", {"order_id": "W1001", "reason": "ordered twice"})
    assert preview.status == "needs_confirmation" and "$72.95" in preview.summary
    assert store.content_hash() == before
    assert call(jane, "cancel_order", {"order_id": "W1001", "reason": "ordered twice"}, execute=True).status == "ok"
    assert store.one("SELECT status FROM orders WHERE id = 'W1001'")["status"] == "cancelled"
    assert store.one("SELECT amount_cents FROM refunds WHERE order_id = 'W1001'")["amount_cents"] == 7295


@pytest.mark.parametrize("order_id,rule", [("W1003", "cancellation.allowed_statuses"),
                                           ("W1002", "cancellation.allowed_statuses")])
def test_cancel_denied_after_shipping(shop, ctx_for, call, order_id, rule):
    r = call(ctx_for("C-JANE"), "cancel_order", {"order_id": order_id, "reason": "x"})
    assert r.status == "denied" and r.rule == rule


def test_cancel_needs_a_reason(shop, ctx_for, call):
    r = call(ctx_for("C-JANE"), "cancel_order", {"order_id": "W1001"})
    assert r.status == "denied" and r.rule == "cancellation.reason_required"
