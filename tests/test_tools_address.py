"""Every tool that writes an address (modify_order_address, update_account with field=address) saves
only an address that is complete for its country (`address.complete` in the policy header): a partial
address is asked for, never saved."""

import pytest

NEW = {"address_line1": "5 Elm St", "city": "Oakland", "state": "CA", "zip_code": "94601"}


def _order_address(store, order_id="W1001"):
    row = store.one("SELECT ship_name, ship_line1, ship_line2, ship_city, ship_state, ship_zip, ship_country "
                    "FROM orders WHERE id = ?", (order_id,))
    return tuple(row.values())


def _account_address(store, customer_id="C-JANE"):
    row = store.one("SELECT address_line1, address_line2, city, state, zip, country FROM customers WHERE id = ?",
                    (customer_id,))
    return tuple(row.values())


def _write_order(ctx, call, **address):
    return call(ctx, "modify_order_address", {"order_id": "W1001", **address}, execute=True)


def _write_account(ctx, call, **address):
    return call(ctx, "update_account", {"field": "address", "address": address}, execute=True)


WRITERS = [(_write_order, _order_address), (_write_account, _account_address)]


@pytest.mark.parametrize("write,read", WRITERS, ids=["order", "account"])
@pytest.mark.parametrize("leave_out,missing,said", [("state", ["state"], "missing the state"),
                                                     ("zip_code", ["zip_code"], "missing the ZIP code"),
                                                     ("city", ["city"], "missing the city")])
def test_partial_address_is_asked_for_never_saved(shop, store, ctx_for, call, write, read, leave_out, missing, said):
    before, stored = store.content_hash(), read(store)
    r = write(ctx_for("C-JANE"), call, **{k: v for k, v in NEW.items() if k != leave_out})
    assert r.status == "denied" and r.rule == "address.complete"  # refused by the rule, naming what is missing
    assert r.facts["missing"] == missing and r.facts["country"] == "US"
    assert said in r.message and "ZIP code" in r.message
    assert read(store) == stored and store.content_hash() == before


@pytest.mark.parametrize("write,read", WRITERS, ids=["order", "account"])
@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_state_counts_as_missing(shop, store, ctx_for, call, write, read, blank):
    stored = read(store)
    r = write(ctx_for("C-JANE"), call, **{**NEW, "state": blank})
    assert r.status == "denied" and r.rule == "address.complete" and r.facts["missing"] == ["state"]
    assert read(store) == stored


@pytest.mark.parametrize("write,read", WRITERS, ids=["order", "account"])
@pytest.mark.parametrize("zip_code", ["9460", "946011", "94601-12", "ABCDE", "94601 1234"])
def test_a_zip_code_that_is_not_a_us_zip_is_refused(shop, store, ctx_for, call, write, read, zip_code):
    stored = read(store)
    r = write(ctx_for("C-JANE"), call, **{**NEW, "zip_code": zip_code})
    assert r.status == "denied" and r.rule == "address.complete"
    assert r.facts["invalid"] == {"zip_code": zip_code} and "ZIP+4" in r.message
    assert read(store) == stored


def test_zip_plus_four_is_accepted(shop, store, ctx_for, call):
    assert _write_order(ctx_for("C-JANE"), call, **{**NEW, "zip_code": "94601-1234"}).status == "ok"
    assert _order_address(store)[5] == "94601-1234"


@pytest.mark.parametrize("written", ["US", "us", "USA", "U.S.A.", "United States", "united states of america"])
def test_the_country_is_stored_as_its_code(shop, store, ctx_for, call, written):
    assert _write_order(ctx_for("C-JANE"), call, **NEW, country=written).status == "ok"
    assert _order_address(store)[6] == "US"


@pytest.mark.parametrize("write,read", WRITERS, ids=["order", "account"])
def test_a_country_the_policy_does_not_list_is_refused(shop, store, ctx_for, call, write, read):
    stored = read(store)
    r = write(ctx_for("C-JANE"), call, **NEW, country="Canada")
    assert r.status == "denied" and r.rule == "address.complete"
    assert r.facts == {"country": "Canada", "countries": ["US"]}
    assert read(store) == stored


def test_recipient_and_country_left_out_are_kept(shop, store, ctx_for, call):
    assert _write_order(ctx_for("C-JANE"), call, **NEW).status == "ok"
    assert _order_address(store) == ("Jane Doe", "5 Elm St", None, "Oakland", "CA", "94601", "US")


def test_a_unit_left_out_means_no_unit_and_the_confirmation_says_so(shop, store, ctx_for, call):
    """The new address is complete as given: no unit given, no unit. The old one is not silently
    blanked: the confirmation names it as removed."""
    with store.write() as db:
        db.execute("UPDATE orders SET ship_line2 = 'Apt 4' WHERE id = 'W1001'")
        db.execute("UPDATE customers SET address_line2 = 'Apt 4' WHERE id = 'C-JANE'")
    jane = ctx_for("C-JANE")
    preview = call(jane, "modify_order_address", {"order_id": "W1001", **NEW})
    assert "The apartment or unit (Apt 4) is removed." in preview.summary
    account = call(jane, "update_account", {"field": "address", "address": NEW})
    assert "The apartment or unit (Apt 4) is removed." in account.summary
    kept = call(jane, "modify_order_address", {"order_id": "W1001", **NEW, "address_line2": "Apt 9"})
    assert "removed" not in kept.summary and "Apt 9" in kept.summary
    assert _write_order(jane, call, **NEW).status == "ok"
    assert _order_address(store)[2] is None


def test_the_same_address_again_is_nothing_to_change(shop, ctx_for, call):
    same = {"address_line1": "1 Main St", "city": "San Francisco", "state": "CA", "zip_code": "94107"}
    jane = ctx_for("C-JANE")
    r = call(jane, "modify_order_address", {"order_id": "W1001", **same})
    assert r.status == "error" and "nothing to change" in r.message
    r = call(jane, "update_account", {"field": "address", "address": same})
    assert r.status == "error" and "nothing to change" in r.message


def test_what_is_complete_comes_from_the_policy(shop, store, ctx_for, call, policy):
    """Another country's rules are data: a country with no required state and its own postal-code format."""
    from tools.policy import CountryAddressRules

    gb = CountryAddressRules(names=["United Kingdom", "UK"], required=["address_line1", "city", "zip_code"],
                             postal_code=r"^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$", postal_code_format="like SW1A 1AA",
                             labels={"zip_code": "postcode"})
    wider = policy.model_copy(update={"address": policy.address.model_copy(
        update={"complete": {**policy.address.complete, "GB": gb}})})
    jane = ctx_for("C-JANE", policy=wider)
    london = {"address_line1": "10 Downing St", "city": "London", "zip_code": "SW1A 2AA", "country": "UK"}
    bad = call(jane, "modify_order_address", {"order_id": "W1001", **london, "zip_code": "94601"})
    assert bad.status == "denied" and "not a valid postcode in GB (like SW1A 1AA)" in bad.message
    r = call(jane, "modify_order_address", {"order_id": "W1001", **london}, execute=True)
    assert r.status == "ok"
    assert _order_address(store) == ("Jane Doe", "10 Downing St", None, "London", None, "SW1A 2AA", "GB")
    # and with the shipped policy, the same address is refused: GB is not listed there
    assert call(ctx_for("C-JANE"), "update_account",
                {"field": "address", "address": london}).rule == "address.complete"

