"""Changing an order before it ships: modify_order_address, list_variants, modify_order_items."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, StrictInt

from tools.address import Address, complete_address, format_address, removed_parts
from tools.amounts import share_of
from tools.context import ToolContext
from tools.lookup import customer_order, describe_payment, order_not_found, payment_method
from tools.refund_rules import refund_timing
from tools.registry import read_tool, write_tool
from tools.results import Plan, ToolResult, denied, error, ok
from tools.values import FreeText, OrderId, iso, money
from tools.variants import match_variant, product_variants, variant_label, variant_view


def _status_denial(rule: str, order: dict[str, Any], allowed: list[str], what: str) -> ToolResult:
    return denied(rule, f"Order {order['id']} is {order['status'].replace('_', ' ')}; {what} can only be "
                  f"changed while it is {' or '.join(allowed)}.",
                  facts={"order_id": order["id"], "status": order["status"]},
                  alternatives=(["start a return after delivery"]
                                if order["status"] in ("shipped", "out_for_delivery", "delivered")
                                else ["ask for a human agent"]))


class ModifyOrderAddressArgs(Address):
    order_id: OrderId = Field(description="The order id, e.g. W1001.")
    recipient_name: FreeText(100) | None = Field(default=None,
                                                 description="Recipient name; leave empty to keep the current one.")


@write_tool()
def modify_order_address(ctx: ToolContext, args: ModifyOrderAddressArgs) -> Plan | ToolResult:
    """Change the shipping address of one of the verified customer's orders that has not shipped yet. Give the full new address. The customer must confirm."""
    allowed = ctx.policy.modification.address_statuses
    order = customer_order(ctx, args.order_id)
    if order is None:
        return order_not_found(args.order_id)
    if order["status"] not in allowed:
        return _status_denial("modification.address_statuses", order, allowed, "the shipping address")
    address = complete_address(ctx.policy, args, current_country=order["ship_country"])
    if isinstance(address, ToolResult):
        return address
    name = args.recipient_name or order["ship_name"]
    new = {"ship_name": name, "ship_line1": address.line1, "ship_line2": address.line2,
           "ship_city": address.city, "ship_state": address.state, "ship_zip": address.zip,
           "ship_country": address.country}
    if all(new[k] == order[k] for k in new):
        return error(f"Order {order['id']} already ships to {address.one_line(name)}; nothing to change.")
    old_line = format_address(order["ship_name"], order["ship_line1"], order["ship_line2"], order["ship_city"],
                              order["ship_state"], order["ship_zip"], order["ship_country"])
    new_line = address.one_line(name)
    # The whole label, recipient and country included, old and new: every field the write changes.
    summary = (f"Change the shipping address of order {order['id']} from {old_line} to {new_line}."
               + removed_parts({"address_line2": order["ship_line2"], "state": order["ship_state"]},
                               {"address_line2": address.line2, "state": address.state}))

    def apply(db) -> dict:
        db.execute("UPDATE orders SET ship_name = :ship_name, ship_line1 = :ship_line1, "
                   "ship_line2 = :ship_line2, ship_city = :ship_city, ship_state = :ship_state, "
                   "ship_zip = :ship_zip, ship_country = :ship_country, updated_at = :now WHERE id = :id",
                   {**new, "now": iso(ctx.now()), "id": order["id"]})
        return {"order_id": order["id"], "ship_to": new_line}

    return Plan(summary=summary, apply=apply,
                done_message=f"Order {order['id']} will now ship to {new_line}.",
                data={"order_id": order["id"], "old_ship_to": old_line, "new_ship_to": new_line})


class ListVariantsArgs(BaseModel):
    order_id: OrderId = Field(description="The order id, e.g. W1001.")
    line_id: StrictInt | None = Field(default=None, description="One item line of the order; leave empty for all lines.")


@read_tool()
def list_variants(ctx: ToolContext, args: ListVariantsArgs) -> ToolResult:
    """The other sizes/colours (variants) available for the items of one of the verified customer's orders, with prices and stock, to change an item with modify_order_items."""
    order = customer_order(ctx, args.order_id)
    if order is None:
        return order_not_found(args.order_id)
    lines = [l for l in order["lines"] if args.line_id is None or l["id"] == args.line_id]
    if not lines:
        return error(f"Order {order['id']} has no item line {args.line_id}. Its lines are "
                     f"{', '.join(str(l['id']) for l in order['lines'])}.")
    items = []
    for line in lines:
        variants = product_variants(ctx, line["product_id"]) if line["product_id"] else []
        items.append({"line_id": line["id"], "product": line["product_name"],
                      "current_variant": line["variant_desc"], "current_variant_id": line["variant_id"],
                      "quantity": line["quantity"], "variants": [variant_view(v) for v in variants]})
    return ok(f"Variants for {len(items)} item line(s) of order {order['id']}.", order_id=order["id"],
              items=items)


class ModifyOrderItemsArgs(BaseModel):
    order_id: OrderId = Field(description="The order id, e.g. W1001.")
    line_id: StrictInt = Field(description="The item line to change (line_id from get_order or list_variants).")
    new_variant: FreeText(100) | None = Field(default=None,
                                              description="The variant wanted: a variant_id from list_variants or its options as the customer says them, e.g. 'L' or 'Black / L'. Leave empty to keep the variant.")
    new_quantity: StrictInt | None = Field(default=None, ge=1, le=99,
                                           description="The new quantity of that line. Leave empty to keep it.")


@write_tool()
def modify_order_items(ctx: ToolContext, args: ModifyOrderItemsArgs) -> Plan | ToolResult:
    """Change the variant (size/colour of the same product) or the quantity of one item line of one of the verified customer's orders that is still pending. The price difference is charged or refunded to the original payment method. The customer must confirm."""
    rules = ctx.policy.modification
    order = customer_order(ctx, args.order_id)
    if order is None:
        return order_not_found(args.order_id)
    if args.new_variant is None and args.new_quantity is None:
        return error("Say what to change: new_variant, new_quantity or both.")
    if order["status"] not in rules.item_statuses:
        return _status_denial("modification.item_statuses", order, rules.item_statuses, "items")
    line = next((l for l in order["lines"] if l["id"] == args.line_id), None)
    if line is None:
        return error(f"Order {order['id']} has no item line {args.line_id}. Its lines are "
                     f"{', '.join(str(l['id']) for l in order['lines'])}.")
    variants = product_variants(ctx, line["product_id"]) if line["product_id"] else []
    current = next((v for v in variants if v["id"] == line["variant_id"]), None)
    target = current
    if args.new_variant is not None:
        target, candidates = match_variant(variants, args.new_variant, current)
        if target is None and candidates:
            return error(f"'{args.new_variant}' matches several variants of {line['product_name']}: "
                         f"{'; '.join(variant_label(v['options']) + ' (' + v['id'] + ')' for v in candidates)}. "
                         f"Ask which one.")
        if target is None:
            other = ctx.store.one("SELECT id FROM variants WHERE id = ?", (args.new_variant.strip(),))
            if other is not None:
                return denied("modification.same_product_only",
                              f"An item can only be changed to another size or colour of the same product "
                              f"({line['product_name']}).",
                              facts={"line_id": line["id"], "product": line["product_name"],
                                     "requested_variant": args.new_variant},
                              alternatives=["choose a variant from list_variants",
                                            "cancel the order and place a new one"])
            return error(f"{line['product_name']} has no variant '{args.new_variant}'. Available: "
                         f"{', '.join(variant_label(v['options']) for v in variants) or 'none'}.")
    if target is None:
        return error(f"The item on line {line['id']} can no longer be changed (its variant is not sold any more).")
    quantity = args.new_quantity if args.new_quantity is not None else line["quantity"]
    if target["id"] == line["variant_id"] and quantity == line["quantity"]:
        return error(f"Line {line['id']} already is {quantity} x {line['product_name']} "
                     f"({line['variant_desc']}); nothing to change.")
    # Stock the change needs: all of it from a new variant, only the increase from the same one.
    needed = quantity - line["quantity"] if target["id"] == line["variant_id"] else quantity
    if needed > 0 and target["stock"] < needed:
        return denied("modification.in_stock_only",
                      f"{line['product_name']} ({variant_label(target['options'])}) has only "
                      f"{max(target['stock'], 0)} in stock; {needed} needed.",
                      facts={"variant_id": target["id"], "in_stock": max(target["stock"], 0), "needed": needed},
                      alternatives=["choose another variant", "keep the order as it is"])
    subtotal_delta = target["price_cents"] * quantity - line["unit_price_cents"] * line["quantity"]
    # Tax follows the order's own tax rate (its tax over its subtotal), rounded half up.
    tax_delta = share_of(subtotal_delta, order["subtotal_cents"], order["tax_cents"])
    difference = subtotal_delta + tax_delta
    pm = payment_method(ctx, order["payment_method_id"])
    is_gift = pm is not None and pm["kind"] == "gift_card"
    if difference > 0 and is_gift and rules.gift_card_must_cover_increase:
        balance = pm["balance_cents"] or 0
        if balance < difference:
            return denied("modification.gift_card_must_cover_increase",
                          f"This change costs {money(difference)} more, and the order was paid by gift card, "
                          f"which must cover the increase; its balance is {money(balance)}.",
                          facts={"price_difference": money(difference), "gift_card_balance": money(balance)},
                          alternatives=["choose a cheaper variant or a smaller quantity",
                                        "keep the order as it is"])
    new_desc = variant_label(target["options"])
    change = (f"{line['quantity']} x {line['product_name']} ({line['variant_desc']}) -> {quantity} x {new_desc} "
              f"at {money(target['price_cents'])} each")
    if difference > 0:
        money_text = f"{money(difference)} will be charged to {describe_payment(pm)}"
        timing: dict[str, Any] = {}
    elif difference < 0:
        timing = refund_timing(ctx, pm)
        money_text = f"{money(-difference)} will be refunded to {timing['refund_to']} {timing['timing']}"
    else:
        money_text, timing = "the price does not change", {}
    new_total = money(order["total_cents"] + difference)
    summary = f"Order {order['id']}, line {line['id']}: {change}; {money_text}. The order total becomes {new_total}."

    def apply(db) -> dict:
        now = iso(ctx.now())
        db.execute("UPDATE variants SET stock = stock + ? WHERE id = ?", (line["quantity"], line["variant_id"]))
        db.execute("UPDATE variants SET stock = stock - ? WHERE id = ?", (quantity, target["id"]))
        db.execute("UPDATE order_lines SET variant_id = ?, variant_desc = ?, quantity = ?, unit_price_cents = ? "
                   "WHERE id = ?", (target["id"], new_desc, quantity, target["price_cents"], line["id"]))
        db.execute("UPDATE orders SET subtotal_cents = subtotal_cents + ?, tax_cents = tax_cents + ?, "
                   "total_cents = total_cents + ?, updated_at = ? WHERE id = ?",
                   (subtotal_delta, tax_delta, difference, now, order["id"]))
        if difference != 0:
            if is_gift and (difference > 0 or timing.get("immediate")):
                db.execute("UPDATE payment_methods SET balance_cents = coalesce(balance_cents, 0) - ? "
                           "WHERE id = ?", (difference, pm["id"]))
            db.execute("INSERT INTO order_adjustments (order_id, kind, amount_cents, payment_method_id, reason, "
                       "created_at) VALUES (?,?,?,?,?,?)",
                       (order["id"], "charge" if difference > 0 else "refund", abs(difference),
                        pm["id"] if pm else None, f"line {line['id']}: {change}", now))
        return {"order_id": order["id"], "new_total": new_total}

    return Plan(summary=summary, apply=apply,
                done_message=f"Order {order['id']} is updated: {change}; {money_text}.",
                data={"order_id": order["id"], "line_id": line["id"], "new_variant_id": target["id"],
                      "new_variant": new_desc, "new_quantity": quantity,
                      "price_difference": money(difference),
                      "new_total": new_total,
                      **({"refund_to": timing["refund_to"], "timing": timing["timing"]} if timing else {})})
