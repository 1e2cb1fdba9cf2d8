"""track_shipment, and the tracking rules (delayed, lost-claim eligible) that report_lost_package reuses."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Any

from pydantic import BaseModel, Field

from tools.backend.records import Order, Shipment, TrackingEvent
from tools.context import ToolContext
from tools.lookup import customer_order, order_not_found
from tools.registry import read_tool
from tools.results import N_, Msg, ToolResult, msg, ok
from tools.values import OrderId, as_date, iso, parse_time
from tools.words import status_word

IN_TRANSIT = ("shipped", "out_for_delivery")


def as_utc(value: str | None, *, end_of_day: bool = False) -> datetime | None:
    """A stored time as an aware UTC datetime. A bare date (an estimated delivery such as
    2026-03-01) means the whole day, so `end_of_day` turns it into the end of that day."""
    if not value:
        return None
    dt = parse_time(value)
    if len(value.strip()) == 10:  # YYYY-MM-DD
        dt = datetime.combine(dt.date(), time.max if end_of_day else time.min)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt


def order_shipment(ctx: ToolContext, order_id: str) -> Shipment | None:
    """The order's latest shipment with its tracking events, newest first."""
    return ctx.store.latest_shipment(order_id)


def movement_status(ctx: ToolContext, order: Order, shipment: Shipment) -> dict[str, Any]:
    """How long the parcel has not moved, and what the tracking rules say about it. A shipment with no
    scan at all counts from the time it shipped."""
    rules = ctx.policy.tracking
    now = ctx.now()
    last_scan = shipment.events[0].at if shipment.events else None
    since = as_utc(last_scan) or as_utc(shipment.shipped_at) or as_utc(order.shipped_at) or now
    days_still = (now - since).total_seconds() / 86400
    estimate = as_utc(shipment.estimated_delivery, end_of_day=True)
    estimate_passed = estimate is not None and now > estimate
    in_transit = order.status in IN_TRANSIT and not shipment.delivered_at
    lost_eligible = (in_transit and days_still >= rules.lost_after_days_without_movement
                     and (estimate_passed or not rules.lost_requires_estimate_passed))
    return {
        "in_transit": in_transit,
        "days_without_movement": round(days_still, 1),
        "delayed": in_transit and days_still > rules.delayed_after_days,
        "estimate_passed": estimate_passed,
        "lost_claim_eligible": lost_eligible,
        "lost_claim_possible_from": iso(since + timedelta(days=rules.lost_after_days_without_movement)),
    }


def _tracking_message(order: Order, shipment: Shipment, move: dict[str, Any],
                      status: Msg | str, last: TrackingEvent | None) -> Msg:
    if shipment.delivered_at or order.status == "delivered":
        day = shipment.delivered_at or order.delivered_at
        if not day:
            return msg(N_("Order {order_id} was delivered."), order_id=order.id)
        return msg(N_("Order {order_id} was delivered on {day}."), order_id=order.id, day=as_date(day))
    if move["lost_claim_eligible"]:
        return msg(N_("Order {order_id} has had no tracking movement for {days} days and its estimated delivery "
                      "has passed: you can report it lost and choose a replacement or a refund."),
                   order_id=order.id, days=move["days_without_movement"])
    if move["delayed"]:
        return msg(N_("Order {order_id} is delayed: no tracking update for {days} days."),
                   order_id=order.id, days=move["days_without_movement"])
    where = {"order_id": order.id, "status": status, "carrier": shipment.carrier,
             "estimated_delivery": as_date(shipment.estimated_delivery)}
    if not last:
        return msg(N_("Order {order_id} is {status} with {carrier}, estimated delivery {estimated_delivery}."),
                   **where)
    return msg(N_("Order {order_id} is {status} with {carrier}, estimated delivery {estimated_delivery}. "
                  "Last scan: {scan}, {location} ({day})."),
               scan=last.description, location=last.location, day=as_date(last.at), **where)


class TrackShipmentArgs(BaseModel):
    order_id: OrderId = Field(description="The order id, e.g. W1003.")


@read_tool()
def track_shipment(ctx: ToolContext, args: TrackShipmentArgs) -> ToolResult:
    """Where one of the verified customer's orders is: carrier, tracking number, estimated delivery, the last scan and all tracking events. Says whether the parcel is delayed or can be claimed as lost."""
    order = customer_order(ctx, args.order_id)
    if order is None:
        return order_not_found(args.order_id)
    shipment = order_shipment(ctx, order.id)
    status = status_word(order.status)
    if shipment is None:
        return ok(msg(N_("Order {order_id} is {status} and has not shipped yet, so there is no tracking yet."),
                      order_id=order.id, status=status),
                  order_id=order.id, order_status=order.status, shipped=False)
    move = movement_status(ctx, order, shipment)
    events = [e.model_dump() for e in shipment.events]
    last = shipment.events[0] if shipment.events else None
    message = _tracking_message(order, shipment, move, status, last)
    return ok(
        message,
        order_id=order.id,
        order_status=order.status,
        shipped=True,
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        service_level=shipment.service_level,
        shipped_at=shipment.shipped_at,
        # The carrier's promise and the last real scan are different facts; keep them apart.
        estimated_delivery=shipment.estimated_delivery,
        estimated_delivery_passed=move["estimate_passed"],
        delivered_at=shipment.delivered_at,
        last_event=events[0] if events else None,
        last_event_at=last.at if last else None,
        events=events,
        delayed=move["delayed"],
        days_without_movement=move["days_without_movement"],
        lost_claim_eligible=move["lost_claim_eligible"],
    )
