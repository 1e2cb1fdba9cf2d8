"""update_account and send_password_reset."""


def test_update_email(shop, store, ctx_for, call):
    jane = ctx_for("C-JANE")
    before = store.content_hash()
    preview = call(jane, "update_account", {"field": "email", "email": "Jane.New@Example.com"})
    assert preview.status == "needs_confirmation" and "jane.new@example.com" in preview.summary
    assert store.content_hash() == before
    assert call(jane, "update_account", {"field": "email", "email": "Jane.New@Example.com"}, execute=True).status == "ok"
    assert store.one("SELECT email FROM customers WHERE id = 'C-JANE'")["email"] == "jane.new@example.com"


def test_email_of_another_customer_is_denied(shop, ctx_for, call):
    r = call(ctx_for("C-JANE"), "update_account", {"field": "email", "email": "OMAR.haddad@example.com"})
    assert r.status == "denied" and r.rule == "account.email_unique"
    assert "omar" not in r.message.lower()


def test_invalid_email_and_phone_are_errors(shop, ctx_for, call):
    jane = ctx_for("C-JANE")
    assert call(jane, "update_account", {"field": "email", "email": "not-an-email"}).status == "error"
    assert call(jane, "update_account", {"field": "phone", "phone": "call me"}).status == "error"
    assert call(jane, "update_account", {"field": "address"}).status == "error"


def test_update_phone_and_address(shop, store, ctx_for, call):
    jane = ctx_for("C-JANE")
    assert call(jane, "update_account", {"field": "phone", "phone": "+1 (415) 555-0199"}, execute=True).status == "ok"
    r = call(jane, "update_account", {"field": "address", "address": {
        "address_line1": "9 Oak Ave", "city": "Oakland", "state": "CA", "zip_code": "94601"}})
    assert "zip code used to verify identity becomes 94601" in r.summary
    call(jane, "update_account", {"field": "address", "address": {
        "address_line1": "9 Oak Ave", "city": "Oakland", "state": "CA", "zip_code": "94601"}}, execute=True)
    row = store.one("SELECT * FROM customers WHERE id = 'C-JANE'")
    assert (row["phone"], row["address_line1"], row["zip"], row["country"]) == ("+14155550199", "9 Oak Ave", "94601", "US")


def test_field_not_in_policy_is_denied(shop, ctx_for, call, policy):
    narrow = policy.model_copy(update={"account": policy.account.model_copy(update={"updatable_fields": ["email"]})})
    r = call(ctx_for("C-JANE", policy=narrow), "update_account", {"field": "phone", "phone": "4155550199"})
    assert r.status == "denied" and r.rule == "account.updatable_fields"


def test_password_reset_goes_to_the_email_on_file(shop, store, ctx_for, call):
    r = call(ctx_for("C-JANE"), "send_password_reset", {})
    assert r.status == "ok" and r.data["sent_to"] == "j***@example.com"
    row = store.one("SELECT * FROM password_resets")
    assert (row["customer_id"], row["sent_to"]) == ("C-JANE", "jane.doe@example.com")


def test_password_reset_to_another_address_is_denied(shop, store, ctx_for, call):
    r = call(ctx_for("C-JANE"), "send_password_reset", {"email": "attacker@evil.example"})
    assert r.status == "denied" and r.rule == "account.password_reset_to_email_on_file"
    assert store.one("SELECT count(*) AS n FROM password_resets")["n"] == 0


def test_password_reset_before_verification_does_not_enumerate(shop, store, ctx_for, call):
    known = call(ctx_for(None), "send_password_reset", {"email": "mei.chen@example.com"})
    unknown = call(ctx_for(None), "send_password_reset", {"email": "nobody@example.com"})
    assert known.status == unknown.status == "ok"
    assert known.message.replace("mei.chen", "X") == unknown.message.replace("nobody", "X")
    assert [r["customer_id"] for r in store.all("SELECT customer_id FROM password_resets")] == ["C-MEI"]


def test_password_reset_without_email_is_an_error(shop, ctx_for, call):
    assert call(ctx_for(None), "send_password_reset", {}).status == "error"
