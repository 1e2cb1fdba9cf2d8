"""modify_order_address, list_variants and modify_order_items."""

import json

from tools.backend.records import Variant
from tools.variants import match_variant

ADDRESS = {"address_line1": "5 Elm St", "address_line2": "Apt 2", "city": "Oakland", "state": "CA",
           "zip_code": "94601"}


def test_address_change_preview_then_execute(shop, store, ctx_for, call):
    jane = ctx_for("C-JANE")
    before = store.content_hash()
    preview = call(jane, "modify_order_address", {"order_id": "W1001", **ADDRESS})
    assert preview.status == "needs_confirmation" and "5 Elm St" in preview.summary
    assert store.content_hash() == before
    assert call(jane, "modify_order_address", {"order_id": "W1001", **ADDRESS}, execute=True).status == "ok"
    order = store.one("SELECT * FROM orders WHERE id = 'W1001'")
    assert (order["ship_line1"], order["ship_line2"], order["ship_city"], order["ship_zip"], order["ship_country"]) \
        == ("5 Elm St", "Apt 2", "Oakland", "94601", "US")


def test_address_change_allowed_while_processing(shop, ctx_for, call):
    r = call(ctx_for("C-MEI"), "modify_order_address", {"order_id": "W3002", **ADDRESS})
    assert r.status == "needs_confirmation"


def test_address_change_denied_after_shipping(shop, ctx_for, call):
    r = call(ctx_for("C-JANE"), "modify_order_address", {"order_id": "W1003", **ADDRESS})
    assert r.status == "denied" and r.rule == "modification.address_statuses"


def test_address_missing_fields_is_refused_by_the_rule_naming_them(shop, ctx_for, call):
    r = call(ctx_for("C-JANE"), "modify_order_address", {"order_id": "W1001", "city": "Oakland"})
    assert r.status == "denied" and r.rule == "address.complete" and "address_line1" in r.facts["missing"]


def test_list_variants_shows_sizes_and_stock(shop, ctx_for, call):
    tee = shop.line_ids("W1001")[0]
    r = call(ctx_for("C-JANE"), "list_variants", {"order_id": "W1001", "line_id": tee})
    assert r.status == "ok"
    variants = {v["options"]: v for v in r.data["items"][0]["variants"]}
    assert variants["Black / L"]["in_stock"] is True and variants["White / M"]["in_stock"] is False


def test_list_variants_other_customer_denied(shop, ctx_for, call):
    r = call(ctx_for("C-MEI"), "list_variants", {"order_id": "W1001"})
    assert r.status == "denied" and r.rule == "identity.own_orders_only"


def test_size_change_by_name_keeps_the_colour(shop, store, ctx_for, call):
    tee = shop.line_ids("W1001")[0]
    jane = ctx_for("C-JANE")
    before = store.content_hash()
    r = call(jane, "modify_order_items", {"order_id": "W1001", "line_id": tee, "new_variant": "size L"})
    assert r.status == "needs_confirmation" and r.data["new_variant_id"] == "V-TEE-BLK-L"
    assert r.data["price_difference"] == "$0.00"
    assert store.content_hash() == before
    assert call(jane, "modify_order_items", {"order_id": "W1001", "line_id": tee, "new_variant": "size L"},
                execute=True).status == "ok"
    line = store.one("SELECT * FROM order_lines WHERE id = ?", (tee,))
    assert (line["variant_id"], line["quantity"], line["variant_desc"]) == ("V-TEE-BLK-L", 2, "Black / L")
    stock = {r["id"]: r["stock"] for r in store.all("SELECT id, stock FROM variants WHERE product_id = 'P-TEE'")}
    assert stock["V-TEE-BLK-M"] == 12 and stock["V-TEE-BLK-L"] == 3


def test_price_decrease_is_refunded_with_its_tax(shop, store, ctx_for, call):
    """W1001: 2 x 25.00 tee + 12.00 socks, tax 4.96 on 62.00. 2 x M -> 1 x XL (28.00): subtotal -22.00,
    tax -22.00 * 4.96 / 62.00 = -1.76 -> refund 23.76 to the card."""
    tee = shop.line_ids("W1001")[0]
    r = call(ctx_for("C-JANE"), "modify_order_items",
             {"order_id": "W1001", "line_id": tee, "new_variant": "V-TEE-BLK-XL", "new_quantity": 1}, execute=True)
    assert r.status == "ok" and r.data["price_difference"] == "-$23.76"
    order = store.one("SELECT * FROM orders WHERE id = 'W1001'")
    assert (order["subtotal_cents"], order["tax_cents"], order["total_cents"]) == (4000, 320, 4919)
    adj = store.one("SELECT * FROM order_adjustments WHERE order_id = 'W1001'")
    assert (adj["kind"], adj["amount_cents"], adj["payment_method_id"]) == ("refund", 2376, "PM-JANE-CC")


def test_price_increase_is_charged(shop, store, ctx_for, call):
    tee = shop.line_ids("W1001")[0]
    r = call(ctx_for("C-JANE"), "modify_order_items", {"order_id": "W1001", "line_id": tee, "new_quantity": 3},
             execute=True)
    assert r.status == "ok" and r.data["price_difference"] == "$27.00"  # 25.00 + 2.00 tax
    adj = store.one("SELECT * FROM order_adjustments WHERE order_id = 'W1001'")
    assert (adj["kind"], adj["amount_cents"]) == ("charge", 2700)


def test_gift_card_must_cover_an_increase(shop, store, ctx_for, call):
    omar = ctx_for("C-OMAR")
    tee = shop.line_ids("W2002")[0]
    r = call(omar, "modify_order_items", {"order_id": "W2002", "line_id": tee, "new_variant": "XL", "new_quantity": 2})
    assert r.status == "denied" and r.rule == "modification.gift_card_must_cover_increase"
    assert r.facts == {"price_difference": "$31.00", "gift_card_balance": "$25.00"}
    ok = call(omar, "modify_order_items", {"order_id": "W2002", "line_id": tee, "new_variant": "XL"}, execute=True)
    assert ok.status == "ok" and ok.data["price_difference"] == "$3.00"
    assert store.one("SELECT balance_cents FROM payment_methods WHERE id = 'PM-OMAR-GC'")["balance_cents"] == 2200


def test_items_only_while_pending(shop, ctx_for, call):
    socks = shop.line_ids("W3002")[0]
    r = call(ctx_for("C-MEI"), "modify_order_items", {"order_id": "W3002", "line_id": socks, "new_quantity": 1})
    assert r.status == "denied" and r.rule == "modification.item_statuses"


def test_out_of_stock_variant_is_denied(shop, ctx_for, call):
    tee = shop.line_ids("W1001")[0]
    r = call(ctx_for("C-JANE"), "modify_order_items", {"order_id": "W1001", "line_id": tee, "new_variant": "White / M"})
    assert r.status == "denied" and r.rule == "modification.in_stock_only"


def test_other_product_is_denied(shop, ctx_for, call):
    tee = shop.line_ids("W1001")[0]
    r = call(ctx_for("C-JANE"), "modify_order_items", {"order_id": "W1001", "line_id": tee, "new_variant": "V-JKT-M"})
    assert r.status == "denied" and r.rule == "modification.same_product_only"


def test_bad_item_changes_are_errors(shop, ctx_for, call):
    jane = ctx_for("C-JANE")
    tee = shop.line_ids("W1001")[0]
    assert call(jane, "modify_order_items", {"order_id": "W1001", "line_id": tee}).status == "error"
    assert call(jane, "modify_order_items", {"order_id": "W1001", "line_id": 999, "new_quantity": 1}).status == "error"
    assert call(jane, "modify_order_items", {"order_id": "W1001", "line_id": tee, "new_variant": "Purple"}).status == "error"
    assert call(jane, "modify_order_items", {"order_id": "W1001", "line_id": tee, "new_quantity": 0}).status == "error"
    assert call(jane, "modify_order_items", {"order_id": "W1001", "line_id": tee, "new_quantity": 2}).status == "error"


# match_variant on its own: a bottle whose option values contain spaces ("1 L", "Matte Black")
def _bottle(size: str, color: str, vid: str) -> Variant:
    return Variant(id=vid, product_id="P-BOT", sku=f"SKU-{vid}", options=json.dumps({"size": size, "color": color}),
                   price_cents=1500, stock=5)


BOTTLES = [_bottle("500 ml", "Steel", "V-BOT-500-STL"), _bottle("1 L", "Steel", "V-BOT-1L-STL"),
           _bottle("500 ml", "Matte Black", "V-BOT-500-BLK"), _bottle("1 L", "Matte Black", "V-BOT-1L-BLK")]


def _matched(wanted: str, current: Variant | None = BOTTLES[0]) -> str | None:
    found, _ = match_variant(BOTTLES, wanted, current)
    return found.id if found else None


def test_variant_value_with_a_space_matches_as_a_whole():
    for wanted in ("1 L", "1 l", "1L", "the 1 L one", "size 1  L", "steel 1 l", "1 L / Steel", "1 L, steel"):
        assert _matched(wanted) == "V-BOT-1L-STL", wanted
    assert _matched("matte black") == "V-BOT-500-BLK"
    assert _matched("1 L in Matte Black") == "V-BOT-1L-BLK"
    assert _matched("1 L steel", current=None) == "V-BOT-1L-STL"


def test_variant_part_of_a_value_does_not_match():
    assert match_variant(BOTTLES, "black", BOTTLES[0]) == (None, [])
    assert match_variant(BOTTLES, "1", BOTTLES[0]) == (None, [])
    assert match_variant(BOTTLES, "L", BOTTLES[0]) == (None, [])
    assert match_variant(BOTTLES, "the one", BOTTLES[0]) == (None, [])


def test_variant_with_spaces_by_id_sku_or_label_and_ambiguity():
    assert _matched("v-bot-1l-blk") == "V-BOT-1L-BLK"
    assert _matched("SKU-V-BOT-500-BLK") == "V-BOT-500-BLK"
    assert _matched("1 l / matte black") == "V-BOT-1L-BLK"
    found, candidates = match_variant(BOTTLES, "1 L", None)
    assert found is None and [v.id for v in candidates] == ["V-BOT-1L-STL", "V-BOT-1L-BLK"]
