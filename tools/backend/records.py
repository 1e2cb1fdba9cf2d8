"""The typed records the commerce backend hands to the tools. Field names follow the demo schema;
an implementation over another order system fills them from its own data. Money in integer cents,
times as ISO 8601 UTC strings (a bare YYYY-MM-DD for an estimated delivery day)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Customer(Record):
    id: str
    name: str
    email: str
    zip: str
    phone: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None


class PaymentMethod(Record):
    id: str
    customer_id: str
    kind: str  # credit_card | paypal | gift_card | e_wallet
    brand: str | None = None
    last4: str | None = None
    balance_cents: int | None = None


class OrderLine(Record):
    id: int
    order_id: str
    variant_id: str | None
    product_id: str | None
    product_name: str
    variant_desc: str | None
    quantity: int
    unit_price_cents: int
    final_sale: bool = False


class OrderSummary(Record):
    id: str
    status: str
    placed_at: str
    total_cents: int


class Order(OrderSummary):
    customer_id: str
    payment_method_id: str | None
    ship_name: str | None = None
    ship_line1: str | None = None
    ship_line2: str | None = None
    ship_city: str | None = None
    ship_state: str | None = None
    ship_zip: str | None = None
    ship_country: str | None = None
    subtotal_cents: int
    shipping_cents: int
    tax_cents: int
    shipped_at: str | None = None
    delivered_at: str | None = None
    lines: tuple[OrderLine, ...] = ()


class ShipAddress(Record):
    """An order's shipping label: what `change_ship_address` writes."""
    ship_name: str | None
    ship_line1: str
    ship_line2: str | None
    ship_city: str
    ship_state: str | None
    ship_zip: str
    ship_country: str


class TrackingEvent(Record):
    at: str
    location: str | None
    description: str | None


class Shipment(Record):
    id: str
    order_id: str
    carrier: str | None
    tracking_number: str | None
    service_level: str | None
    shipped_at: str | None
    estimated_delivery: str | None
    delivered_at: str | None
    events: tuple[TrackingEvent, ...] = ()  # newest first


class Variant(Record):
    id: str
    product_id: str
    sku: str | None
    options: str | None  # JSON ({"color": "Black", "size": "M"}) or plain text ("Black / M")
    price_cents: int
    stock: int


class Refund(Record):
    id: str
    order_id: str
    amount_cents: int
    return_id: str | None = None


class Return(Record):
    id: str
    order_id: str
    status: str  # label_sent | authorized | received | refunded | cancelled
    condition: str | None
    refund_cents: int | None
    created_at: str
    line_ids: tuple[int, ...] = ()


class NewReturn(Record):
    """A return to create: its lines are (order line id, quantity)."""
    id: str
    order_id: str
    customer_id: str
    reason: str
    condition: str
    status: str
    label_url: str | None
    refund_cents: int
    restocking_fee_cents: int
    created_at: str
    lines: tuple[tuple[int, int], ...]


class NewRefund(Record):
    id: str
    order_id: str
    customer_id: str
    return_id: str | None
    amount_cents: int
    method: str  # original | store_credit
    payment_method_id: str | None
    status: str  # pending | completed
    reason: str
    expected_by: str
    created_at: str


class Ticket(Record):
    id: str
    customer_id: str | None
    order_id: str | None
    kind: str  # complaint | escalation | lost_package
    category: str | None
    priority: str
    summary: str
    status: str
    remedy: str | None = None
    created_at: str


class LineChange(Record):
    """One order line changed to another variant and/or quantity, with the order's new amounts."""
    order_id: str
    line_id: int
    old_variant_id: str | None
    old_quantity: int
    variant_id: str
    variant_desc: str
    quantity: int
    unit_price_cents: int
    subtotal_delta: int
    tax_delta: int
    at: str


class HelpArticle(Record):
    id: str
    lang: str  # one row per article and language it is written in
    title: str
    section: str
    body: str
    source: str  # help_center | policy
    title_terms: str  # the index terms (tools/help_index.py), space-separated
    body_terms: str
