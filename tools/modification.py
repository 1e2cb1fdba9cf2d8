"""Changing an order before it ships: modify_order_address, list_variants, modify_order_items."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, StrictInt

from tools.address import Address, complete_address, format_address, removed_parts
from tools.amounts import share_of
from tools.backend.interface import CommerceTransaction
from tools.backend.records import LineChange, Order, PaymentMethod, ShipAddress
from tools.context import ToolContext
from tools.i18n import Listing, Msg
from tools.lookup import customer_order, order_not_found, payment_method, payment_words
from tools.refund_rules import refund_timing, refund_words
from tools.registry import read_tool, write_tool
from tools.results import N_, NP_, Plan, ToolResult, denied, error, msg, ok
from tools.values import FreeText, OrderId, iso, money
from tools.variants import match_variant, product_variants, variant_label, variant_view
from tools.words import status_word, statuses


def _status_denial(rule: str, order: Order, allowed: list[str], what: Msg) -> ToolResult:
    return denied(rule, msg(N_("Order {order_id} is {status}; {what} can only be changed while it is {allowed}."),
                            order_id=order.id, status=status_word(order.status), what=what,
                            allowed=statuses(allowed)),
                  facts={"order_id": order.id, "status": order.status},
                  alternatives=([msg(N_("start a return after delivery"))]
                                if order.status in ("shipped", "out_for_delivery", "delivered")
                                else [msg(N_("ask for a human agent"))]))


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
    if order.status not in allowed:
        return _status_denial("modification.address_statuses", order, allowed, msg(N_("the shipping address")))
    address = complete_address(ctx.policy, args, current_country=order.ship_country)
    if isinstance(address, ToolResult):
        return address
    name = args.recipient_name or order.ship_name
    new = ShipAddress(ship_name=name, ship_line1=address.line1, ship_line2=address.line2, ship_city=address.city,
                      ship_state=address.state, ship_zip=address.zip, ship_country=address.country)
    if all(value == getattr(order, k) for k, value in new):
        return error(msg(N_("Order {order_id} already ships to {address}; nothing to change."),
                         order_id=order.id, address=address.one_line(name)))
    old_line = format_address(order.ship_name, order.ship_line1, order.ship_line2, order.ship_city,
                              order.ship_state, order.ship_zip, order.ship_country)
    new_line = address.one_line(name)
    # The whole label, recipient and country included, old and new: every field the write changes.
    removed = removed_parts({"address_line2": order.ship_line2, "state": order.ship_state},
                            {"address_line2": address.line2, "state": address.state})
    # i18n: {notes} is empty or a sentence naming a removed apartment or state
    summary = msg(N_("Change the shipping address of order {order_id} from {old} to {new}. {notes}"),
                  order_id=order.id, old=old_line, new=new_line, notes=Listing(items=removed, style="sentences"))

    def apply(tx: CommerceTransaction) -> dict:
        tx.change_ship_address(order.id, allowed, new, iso(ctx.now()))
        return {"order_id": order.id, "ship_to": new_line}

    return Plan(summary=summary, apply=apply,
                done=msg(N_("Order {order_id} will now ship to {address}."), order_id=order.id, address=new_line),
                data={"order_id": order.id, "old_ship_to": old_line, "new_ship_to": new_line})


class ListVariantsArgs(BaseModel):
    order_id: OrderId = Field(description="The order id, e.g. W1001.")
    line_id: StrictInt | None = Field(default=None, description="One item line of the order; leave empty for all lines.")


@read_tool()
def list_variants(ctx: ToolContext, args: ListVariantsArgs) -> ToolResult:
    """The other sizes/colours (variants) available for the items of one of the verified customer's orders, with prices and stock, to change an item with modify_order_items."""
    order = customer_order(ctx, args.order_id)
    if order is None:
        return order_not_found(args.order_id)
    lines = [l for l in order.lines if args.line_id is None or l.id == args.line_id]
    if not lines:
        return error(f"Order {order.id} has no item line {args.line_id}. Its lines are "
                     f"{', '.join(str(l.id) for l in order.lines)}.")
    items = []
    for line in lines:
        variants = product_variants(ctx, line.product_id) if line.product_id else []
        items.append({"line_id": line.id, "product": line.product_name,
                      "current_variant": line.variant_desc, "current_variant_id": line.variant_id,
                      "quantity": line.quantity, "variants": [variant_view(v) for v in variants]})
    return ok(msg(NP_("Variants for {count} item line of order {order_id}.",
                      "Variants for {count} item lines of order {order_id}."), count=len(items), order_id=order.id),
              order_id=order.id, items=items)


def _price_change(ctx: ToolContext, pm: PaymentMethod | None, difference: int) -> tuple[Msg, dict[str, Any]]:
    """What a price difference means for the customer, and the refund timing when money goes back."""
    if difference > 0:
        return msg(N_("{amount} will be charged to {payment}"), amount=ctx.money(difference),
                   payment=payment_words(pm)), {}
    if difference < 0:
        return msg(N_("{amount} will be refunded to {refund_to} {timing}"), amount=ctx.money(-difference),
                   **refund_words(ctx, pm)), refund_timing(ctx, pm)
    return msg(N_("the price does not change")), {}


class ModifyOrderItemsArgs(BaseModel):
    order_id: OrderId = Field(description="The order id, e.g. W1001.")
    line_id: StrictInt | None = Field(default=None,
                                      description="The item line to change (line_id from get_order or list_variants).")
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
    if order.status not in rules.item_statuses:  # the order's rule first: no detail changes it
        return _status_denial("modification.item_statuses", order, rules.item_statuses, msg(N_("items")))
    if args.line_id is None or args.new_variant is None and args.new_quantity is None:
        return error("Say which item line (line_id) and what to change: new_variant, new_quantity or both.")
    line = next((l for l in order.lines if l.id == args.line_id), None)
    if line is None:
        return error(f"Order {order.id} has no item line {args.line_id}. Its lines are "
                     f"{', '.join(str(l.id) for l in order.lines)}.")
    variants = product_variants(ctx, line.product_id) if line.product_id else []
    current = next((v for v in variants if v.id == line.variant_id), None)
    target = current
    if args.new_variant is not None:
        target, candidates = match_variant(variants, args.new_variant, current)
        if target is None and candidates:
            return error(msg(N_("'{wanted}' matches several variants of {product}: {variants}."),
                             wanted=args.new_variant, product=line.product_name,
                             variants=Listing(items=[f"{variant_label(v.options)} ({v.id})" for v in candidates],
                                              style="semicolon")),
                         note="Ask which one.")
        if target is None:
            other = ctx.store.variant(args.new_variant.strip())
            if other is not None:
                return denied("modification.same_product_only",
                              msg(N_("An item can only be changed to another size or colour of the same product "
                                     "({product})."), product=line.product_name),
                              facts={"line_id": line.id, "product": line.product_name,
                                     "requested_variant": args.new_variant},
                              alternatives=[msg(N_("choose another size or colour of the same product")),
                                            msg(N_("cancel the order and place a new one"))],
                              note="list_variants shows the product's variants.")
            available = (Listing(items=[variant_label(v.options) for v in variants]) if variants
                         else msg(N_("none")))
            return error(msg(N_("{product} has no variant '{wanted}'. Available: {available}."),
                             product=line.product_name, wanted=args.new_variant, available=available))
    if target is None:
        return error(msg(N_("The item on line {line_id} can no longer be changed (its variant is not sold any more)."),
                         line_id=str(line.id)))
    quantity = args.new_quantity if args.new_quantity is not None else line.quantity
    if target.id == line.variant_id and quantity == line.quantity:
        return error(msg(N_("Line {line_id} already is {quantity} x {product} ({variant}); nothing to change."),
                         line_id=str(line.id), quantity=quantity, product=line.product_name,
                         variant=line.variant_desc))
    # Stock the change needs: all of it from a new variant, only the increase from the same one.
    needed = quantity - line.quantity if target.id == line.variant_id else quantity
    if needed > 0 and target.stock < needed:
        return denied("modification.in_stock_only",
                      msg(N_("{product} ({variant}) has only {in_stock} in stock; {needed} needed."),
                          product=line.product_name, variant=variant_label(target.options),
                          in_stock=max(target.stock, 0), needed=needed),
                      facts={"variant_id": target.id, "in_stock": max(target.stock, 0), "needed": needed},
                      alternatives=[msg(N_("choose another variant")), msg(N_("keep the order as it is"))])
    subtotal_delta = target.price_cents * quantity - line.unit_price_cents * line.quantity
    # Tax follows the order's own tax rate (its tax over its subtotal), rounded half up.
    tax_delta = share_of(subtotal_delta, order.subtotal_cents, order.tax_cents)
    difference = subtotal_delta + tax_delta
    pm = payment_method(ctx, order.payment_method_id)
    is_gift = pm is not None and pm.kind == "gift_card"
    if difference > 0 and is_gift and rules.gift_card_must_cover_increase:
        balance = pm.balance_cents or 0
        if balance < difference:
            return denied("modification.gift_card_must_cover_increase",
                          msg(N_("This change costs {difference} more, and the order was paid by gift card, which "
                                 "must cover the increase; its balance is {balance}."),
                              difference=ctx.money(difference), balance=ctx.money(balance)),
                          facts={"price_difference": money(difference), "gift_card_balance": money(balance)},
                          alternatives=[msg(N_("choose a cheaper variant or a smaller quantity")),
                                        msg(N_("keep the order as it is"))])
    new_desc = variant_label(target.options)
    change_text = (f"{line.quantity} x {line.product_name} ({line.variant_desc}) -> {quantity} x {new_desc} "
                   f"at {money(target.price_cents)} each")
    change = msg(N_("{old_quantity} x {product} ({old_variant}) -> {quantity} x {variant} at {unit_price} each"),
                 old_quantity=line.quantity, product=line.product_name, old_variant=line.variant_desc,
                 quantity=quantity, variant=new_desc, unit_price=ctx.money(target.price_cents))
    money_text, timing = _price_change(ctx, pm, difference)
    new_total = money(order.total_cents + difference)
    summary = msg(N_("Order {order_id}, line {line_id}: {change}; {price}. The order total becomes {new_total}."),
                  order_id=order.id, line_id=str(line.id), change=change, price=money_text,
                  new_total=ctx.money(order.total_cents + difference))

    def apply(tx: CommerceTransaction) -> dict:
        now = iso(ctx.now())
        tx.change_order_line(LineChange(
            order_id=order.id, line_id=line.id, old_variant_id=line.variant_id, old_quantity=line.quantity,
            variant_id=target.id, variant_desc=new_desc, quantity=quantity, unit_price_cents=target.price_cents,
            subtotal_delta=subtotal_delta, tax_delta=tax_delta, at=now), rules.item_statuses)
        if difference != 0:
            if is_gift and (difference > 0 or timing.get("immediate")):
                tx.adjust_balance(pm.id, -difference)
            tx.record_adjustment(order.id, "charge" if difference > 0 else "refund", abs(difference),
                                 pm.id if pm else None, f"line {line.id}: {change_text}", now)
        return {"order_id": order.id, "new_total": new_total}

    return Plan(summary=summary, apply=apply,
                done=msg(N_("Order {order_id} is updated: {change}; {price}."), order_id=order.id, change=change,
                         price=money_text),
                data={"order_id": order.id, "line_id": line.id, "new_variant_id": target.id,
                      "new_variant": new_desc, "new_quantity": quantity,
                      "price_difference": money(difference),
                      "new_total": new_total,
                      **({"refund_to": timing["refund_to"], "timing": timing["timing"]} if timing else {})})
