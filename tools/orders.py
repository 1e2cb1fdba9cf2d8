"""Order reads: get_order (status and details) and list_orders (history)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, StrictInt

from tools.backend.records import Order
from tools.context import ToolContext
from tools.i18n import Listing
from tools.lookup import customer_order, describe_payment, order_not_found, payment_method
from tools.registry import read_tool
from tools.results import N_, ToolResult, msg, ok
from tools.values import OrderId, as_date, money
from tools.words import status_word


class GetOrderArgs(BaseModel):
    order_id: OrderId = Field(description="The order id, e.g. W1001.")


def order_view(ctx: ToolContext, order: Order) -> dict[str, Any]:
    pm = payment_method(ctx, order.payment_method_id)
    return {
        "order_id": order.id,
        "status": order.status,
        "placed_at": order.placed_at,
        "shipped_at": order.shipped_at,
        "delivered_at": order.delivered_at,
        "items": [
            {"line_id": l.id, "product": l.product_name, "variant": l.variant_desc,
             "quantity": l.quantity, "unit_price": money(l.unit_price_cents),
             "final_sale": bool(l.final_sale)}
            for l in order.lines
        ],
        "subtotal": money(order.subtotal_cents),
        "shipping": money(order.shipping_cents),
        "tax": money(order.tax_cents),
        "total": money(order.total_cents),
        "payment": describe_payment(pm),
        "ship_to": ", ".join(x for x in (order.ship_line1, order.ship_line2, order.ship_city,
                                        order.ship_state, order.ship_zip) if x),
    }


@read_tool()
def get_order(ctx: ToolContext, args: GetOrderArgs) -> ToolResult:
    """Status and details of one of the verified customer's orders: items, amounts, payment, address, dates."""
    order = customer_order(ctx, args.order_id)
    if order is None:
        return order_not_found(args.order_id)
    view = order_view(ctx, order)
    items = Listing(items=[msg(N_("{quantity} x {product} ({variant}) at {price}"), quantity=line.quantity,
                               product=line.product_name, variant=line.variant_desc,
                               price=ctx.money(line.unit_price_cents)) for line in order.lines],
                    style="semicolon")
    return ok(msg(N_("Order {order_id} is {status} (placed {placed}, total {total}): {items}."), order_id=order.id,
                  status=status_word(order.status), placed=as_date(order.placed_at),
                  total=ctx.money(order.total_cents), items=items), **view)


class ListOrdersArgs(BaseModel):
    limit: StrictInt = Field(default=10, ge=1, le=50, description="How many recent orders to list.")


@read_tool()
def list_orders(ctx: ToolContext, args: ListOrdersArgs) -> ToolResult:
    """The verified customer's order history, newest first: id, status, date, total."""
    rows = ctx.store.customer_orders(ctx.customer_id, args.limit)
    orders = [{"order_id": r.id, "status": r.status, "placed_at": r.placed_at, "total": money(r.total_cents)}
              for r in rows]
    if not orders:
        return ok(msg(N_("There are no orders on this account yet.")), orders=[])
    # i18n: {orders} is a list of "W1001 (pending, placed 2026-03-01, $116.23)", separated by semicolons
    listed = Listing(items=[msg(N_("{order_id} ({status}, placed {placed}, {total})"), order_id=r.id,
                                status=status_word(r.status), placed=as_date(r.placed_at),
                                total=ctx.money(r.total_cents)) for r in rows], style="semicolon")
    return ok(msg(N_("Your orders, newest first: {orders}."), orders=listed), orders=orders)
