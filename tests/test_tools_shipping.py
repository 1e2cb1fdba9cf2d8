"""track_shipment and report_lost_package against the story shop (see conftest.build_story_shop)."""

def test_track_in_transit_keeps_estimate_and_last_scan_apart(shop, ctx_for, call):
    r = call(ctx_for("C-JANE"), "track_shipment", {"order_id": "#w1003"})
    assert r.status == "ok"
    d = r.data
    assert d["carrier"] == "UPS" and d["tracking_number"] == "1ZW1003"
    assert d["estimated_delivery"] == shop.ahead(days=2)[:10]
    assert d["last_event"]["description"] == "In transit"
    assert d["last_event_at"] == shop.ago(days=1)
    assert [e["description"] for e in d["events"]] == ["In transit", "Picked up"]  # newest first
    assert d["delayed"] is False and d["lost_claim_eligible"] is False


def test_track_stalled_parcel_is_delayed_and_claimable(shop, ctx_for, call):
    r = call(ctx_for("C-OMAR"), "track_shipment", {"order_id": "W2001"})
    assert r.status == "ok"
    assert r.data["delayed"] is True
    assert r.data["days_without_movement"] == 9
    assert r.data["estimated_delivery_passed"] is True
    assert r.data["lost_claim_eligible"] is True


def test_a_refund_for_a_claimable_parcel_names_the_claim_that_would_pay_it(shop, ctx_for, call):
    r = call(ctx_for("C-OMAR"), "issue_refund", {"order_id": "W2001"})
    assert r.status == "denied" and r.rule == "refunds.owed_only" and r.facts["lost_claim_eligible"] is True
    assert r.instead == {"tool": "report_lost_package", "arguments": {"order_id": "W2001", "remedy": "refund"}}
    assert r.alternatives == ["report the parcel lost and get a full refund"]
    on_time = call(ctx_for("C-JANE"), "issue_refund", {"order_id": "W1003"})  # in transit, on time
    assert on_time.rule == "refunds.owed_only" and on_time.instead is None


def test_track_unshipped_order_has_no_tracking(shop, ctx_for, call):
    r = call(ctx_for("C-JANE"), "track_shipment", {"order_id": "W1001"})
    assert r.status == "ok" and r.data["shipped"] is False


def test_track_other_customers_order_is_denied(shop, ctx_for, call):
    r = call(ctx_for("C-JANE"), "track_shipment", {"order_id": "W2001"})
    assert r.status == "denied" and r.rule == "identity.own_orders_only"


def test_track_requires_verification(shop, ctx_for, call):
    r = call(ctx_for(None), "track_shipment", {"order_id": "W1003"})
    assert r.status == "denied" and r.rule == "identity.verification_required"


def test_lost_package_refund_preview_then_execute(shop, store, ctx_for, call):
    ctx = ctx_for("C-OMAR")
    before = store.content_hash()
    preview = call(ctx, "report_lost_package", {"order_id": "W2001", "remedy": "refund"})
    assert preview.status == "needs_confirmation"
    assert preview.data["refund_amount"] == "$30.99"
    assert store.content_hash() == before
    done = call(ctx, "report_lost_package", {"order_id": "W2001", "remedy": "refund"}, execute=True)
    assert done.status == "ok"
    ticket = store.one("SELECT * FROM tickets WHERE order_id = 'W2001'")
    assert ticket["kind"] == "lost_package" and ticket["category"] == "refund" and ticket["status"] == "resolved"
    refund = store.one("SELECT * FROM refunds WHERE order_id = 'W2001'")
    assert refund["amount_cents"] == 3099 and refund["status"] == "completed"  # gift card: immediate
    assert store.one("SELECT balance_cents FROM payment_methods WHERE id = 'PM-OMAR-GC'")["balance_cents"] == 2500 + 3099
    # nothing left to refund, and no second claim
    nothing = call(ctx, "issue_refund", {"order_id": "W2001"})
    assert nothing.rule == "refunds.owed_only" and nothing.instead is None  # the claim is made: none proposed
    again = call(ctx, "report_lost_package", {"order_id": "W2001", "remedy": "refund"})
    assert again.status == "denied" and again.rule == "tracking.one_claim_per_order"


def test_lost_package_replacement_creates_free_order(shop, store, ctx_for, call):
    ctx = ctx_for("C-OMAR")
    r = call(ctx, "report_lost_package", {"order_id": "W2001", "remedy": "replacement"}, execute=True)
    assert r.status == "ok"
    new_id = r.data["replacement_order_id"]
    order = store.one("SELECT * FROM orders WHERE id = ?", (new_id,))
    assert order["status"] == "processing" and order["total_cents"] == 0 and order["customer_id"] == "C-OMAR"
    lines = store.all("SELECT * FROM order_lines WHERE order_id = ?", (new_id,))
    assert [(l["variant_id"], l["quantity"], l["unit_price_cents"]) for l in lines] == [("V-TEE-BLK-L", 1, 0)]
    assert store.one("SELECT stock FROM variants WHERE id = 'V-TEE-BLK-L'")["stock"] == 4
    # a free replacement can never be refunded as if it had been paid
    assert store.one("SELECT count(*) AS n FROM refunds")["n"] == 0
    assert call(ctx, "get_order", {"order_id": new_id}).status == "ok"


def test_lost_package_denied_while_parcel_is_moving(shop, ctx_for, call):
    r = call(ctx_for("C-JANE"), "report_lost_package", {"order_id": "W1003", "remedy": "refund"})
    assert r.status == "denied" and r.rule == "tracking.lost_after_days_without_movement"
    assert r.facts["required_days"] == 7


def test_lost_package_denied_before_estimate_passes(builder, store, ctx_for, call):
    builder.build_story_shop()
    builder.order("W9001", "C-JANE", "shipped", [("V-SOCKS", 1)], payment_method_id="PM-JANE-CC",
                  placed_days_ago=12, shipped_days_ago=10)
    builder.shipment("W9001", shipped_days_ago=10, estimated_delivery=builder.ahead(days=1)[:10],
                     events=[(10, "Reno, NV", "Picked up")])
    r = call(ctx_for("C-JANE"), "report_lost_package", {"order_id": "W9001", "remedy": "replacement"})
    assert r.status == "denied" and r.rule == "tracking.lost_requires_estimate_passed"


def test_lost_package_denied_for_delivered_order(shop, ctx_for, call):
    r = call(ctx_for("C-JANE"), "report_lost_package", {"order_id": "W1002", "remedy": "refund"})
    assert r.status == "denied" and r.rule == "tracking.lost_claims_in_transit_only"


def test_lost_package_refund_above_threshold_waits_for_a_human(builder, store, ctx_for, call):
    builder.build_story_shop()
    builder.order("W9002", "C-LUCAS", "shipped", [("V-BOOTS-10", 2)], payment_method_id="PM-LUCAS-CC",
                  placed_days_ago=16, shipped_days_ago=15)
    builder.shipment("W9002", shipped_days_ago=15, estimated_delivery=builder.ago(days=8)[:10],
                     events=[(15, "Dallas, TX", "Picked up"), (10, "Waco, TX", "In transit")])
    ctx = ctx_for("C-LUCAS")
    r = call(ctx, "report_lost_package", {"order_id": "W9002", "remedy": "refund"}, execute=True)
    assert r.status == "ok" and r.data["needs_human_approval"] is True
    assert store.one("SELECT count(*) AS n FROM refunds WHERE order_id = 'W9002'")["n"] == 0
    assert store.one("SELECT status FROM tickets WHERE order_id = 'W9002'")["status"] == "awaiting_refund"
    refund = call(ctx, "issue_refund", {"order_id": "W9002"})
    assert refund.status == "denied" and refund.rule == "refunds.approval_threshold"
    assert "escalate to a human for approval" in refund.alternatives


def test_lost_claim_refund_is_owed_until_paid(builder, store, ctx_for, call, policy):
    """A claim filed while the threshold was lower is paid by issue_refund once it fits."""
    builder.build_story_shop()
    low = policy.model_copy(update={"refunds": policy.refunds.model_copy(update={"approval_threshold": 10})})
    omar_low = ctx_for("C-OMAR", policy=low)
    assert call(omar_low, "report_lost_package", {"order_id": "W2001", "remedy": "refund"},
                execute=True).data["needs_human_approval"] is True
    omar = ctx_for("C-OMAR")
    preview = call(omar, "issue_refund", {"order_id": "W2001"})
    assert preview.status == "needs_confirmation" and preview.data["refund_amount"] == "$30.99"
    assert call(omar, "issue_refund", {"order_id": "W2001"}, execute=True).status == "ok"
    assert store.one("SELECT status FROM tickets WHERE order_id = 'W2001'")["status"] == "resolved"
    assert call(omar, "issue_refund", {"order_id": "W2001"}).rule == "refunds.owed_only"


def test_replacement_denied_when_out_of_stock(shop, store, ctx_for, call):
    with store.write() as db:
        db.execute("UPDATE variants SET stock = 0 WHERE id = 'V-TEE-BLK-L'")
    r = call(ctx_for("C-OMAR"), "report_lost_package", {"order_id": "W2001", "remedy": "replacement"})
    assert r.status == "denied" and r.rule == "tracking.replacement_in_stock"
    assert "choose a refund instead" in r.alternatives
