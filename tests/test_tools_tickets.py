"""file_complaint and escalate_to_human (support hours in the store's time zone)."""

from datetime import datetime, timezone


def test_complaint_opens_a_ticket_with_the_policy_remedy(shop, store, ctx_for, call, policy):
    jane = ctx_for("C-JANE")
    args = {"category": "billing", "summary": "I was charged twice", "order_id": "W1002"}
    before = store.content_hash()
    preview = call(jane, "file_complaint", args)
    assert preview.status == "needs_confirmation"
    assert preview.data["remedy"] == policy.complaints.categories["billing"]
    assert store.content_hash() == before
    done = call(jane, "file_complaint", args, execute=True)
    assert done.status == "ok"
    ticket = store.one("SELECT * FROM tickets WHERE id = ?", (done.data["ticket_id"],))
    assert (ticket["kind"], ticket["category"], ticket["order_id"], ticket["customer_id"], ticket["priority"]) == \
        ("complaint", "billing", "W1002", "C-JANE", "normal")


def test_defective_complaint_points_to_a_return(shop, ctx_for, call):
    r = call(ctx_for("C-JANE"), "file_complaint", {"category": "defective", "summary": "left ear is silent",
                                                   "order_id": "W1002"})
    assert r.data["next_step"] == "start_return with condition defective"


def test_complaint_about_someone_elses_order_is_denied(shop, ctx_for, call):
    r = call(ctx_for("C-JANE"), "file_complaint", {"category": "wrong_item", "summary": "x", "order_id": "W2001"})
    assert r.status == "denied" and r.rule == "identity.own_orders_only"


def test_complaint_category_missing_from_policy_is_denied(shop, ctx_for, call, policy):
    cats = {k: v for k, v in policy.complaints.categories.items() if k != "other"}
    narrow = policy.model_copy(update={"complaints": policy.complaints.model_copy(update={"categories": cats})})
    r = call(ctx_for("C-JANE", policy=narrow), "file_complaint", {"category": "other", "summary": "rude courier"})
    assert r.status == "denied" and r.rule == "complaints.categories"


def test_escalation_works_before_verification_and_is_urgent_on_legal_words(shop, store, ctx_for, call):
    r = call(ctx_for(None), "escalate_to_human", {"reason": "customer_request",
                                                  "summary": "I will talk to my lawyer about W1002",
                                                  "order_id": "W1002"})
    assert r.status == "ok" and r.data["priority"] == "urgent"
    ticket = store.one("SELECT * FROM tickets WHERE id = ?", (r.data["ticket_id"],))
    assert ticket["customer_id"] is None and ticket["kind"] == "escalation"
    assert ticket["order_id"] is None  # not verified: the order is only mentioned, not confirmed
    assert r.data["humans_online"] is True and "shortly" in r.message


def test_escalation_of_the_same_request_twice_is_one_ticket(shop, store, ctx_for, call):
    jane = ctx_for("C-JANE")
    args = {"reason": "approval_required", "summary": "refund above the limit", "order_id": "W1002"}
    a, b = call(jane, "escalate_to_human", args), call(jane, "escalate_to_human", args)
    assert a.data["ticket_id"] == b.data["ticket_id"] and a.data["priority"] == "high"
    assert store.one("SELECT count(*) AS n FROM tickets")["n"] == 1
    assert store.one("SELECT order_id FROM tickets")["order_id"] == "W1002"


def test_escalation_outside_hours_says_next_business_day(shop, ctx_for, call):
    # Friday 2026-03-13 18:30 in Los Angeles (PDT) = Saturday 01:30 UTC -> Monday 09:00
    friday_evening = datetime(2026, 3, 14, 1, 30, tzinfo=timezone.utc)
    r = call(ctx_for("C-JANE", now=friday_evening), "escalate_to_human",
             {"reason": "out_of_scope", "summary": "wholesale order"})
    assert r.status == "ok" and r.data["humans_online"] is False
    assert "Monday 2026-03-16 at 09:00" in r.message
    assert r.data["next_human_at"] == "2026-03-16T09:00:00-07:00"


def test_escalation_before_opening_same_day(shop, ctx_for, call):
    early = datetime(2026, 3, 11, 15, 0, tzinfo=timezone.utc)  # Wednesday 08:00 PDT
    r = call(ctx_for(None, now=early), "escalate_to_human", {"reason": "other", "summary": "question"})
    assert "Wednesday 2026-03-11 at 09:00" in r.message


def test_escalation_with_bad_reason_is_an_error(shop, ctx_for, call):
    r = call(ctx_for(None), "escalate_to_human", {"reason": "bored", "summary": "x"})
    assert r.status == "error"
