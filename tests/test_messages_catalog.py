"""The message catalog: every customer-facing text is a gettext message (msgid = the English text)
in agent/messages/messages.pot, every shipped locale has every msgid with the same placeholders, and
Babel's English rendering of a tool result's id + params is the tool's own `message`."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po

from agent.turn import texts
from agent.messages import HERE, MessageCatalog, check_catalogs, render
from agent.messages.extract import ROOT, SOURCES, _new_locale, extract_template, sync
from tools.i18n import N_, NP_, Listing, Money, Msg, decode_params, encode_params, msg
from tools.results import ToolResult, denied, error, ok
from tools.values import money

POT_IDS = {m.id[0] if m.pluralizable else m.id for m in MessageCatalog().template if m.id}

# Calls on the story shop that reach every tool's messages: reads, denials, previews, executions.
CALLS = [
    ("C-JANE", "get_order", {"order_id": "W1001"}, False),
    ("C-JANE", "list_orders", {}, False),
    ("C-JANE", "track_shipment", {"order_id": "W1003"}, False),
    ("C-JANE", "track_shipment", {"order_id": "W1001"}, False),
    ("C-OMAR", "track_shipment", {"order_id": "W2001"}, False),
    ("C-JANE", "cancel_order", {"order_id": "W1003", "reason": "late"}, False),
    ("C-PRIYA", "cancel_order", {"order_id": "W5001", "reason": "late"}, False),
    ("C-JANE", "cancel_order", {"order_id": "W1001", "reason": "changed my mind"}, False),
    ("C-JANE", "cancel_order", {"order_id": "W9999", "reason": "x"}, False),
    ("C-JANE", "check_refund_eligibility", {"order_id": "W1002"}, False),
    ("C-JANE", "check_refund_eligibility", {"order_id": "W1004"}, False),
    ("C-MEI", "check_refund_eligibility", {"order_id": "W3001"}, False),
    ("C-MEI", "check_refund_eligibility", {"order_id": "W3001", "condition": "opened"}, False),
    ("C-LUCAS", "check_refund_eligibility", {"order_id": "W4001", "condition": "defective"}, False),
    ("C-JANE", "start_return", {"order_id": "W1002", "reason": "too big", "condition": "opened"}, True),
    ("C-JANE", "issue_refund", {"order_id": "W1002"}, False),
    ("C-JANE", "issue_refund", {"order_id": "W1001"}, False),
    ("C-OMAR", "report_lost_package", {"order_id": "W2001", "remedy": "refund"}, True),
    ("C-JANE", "report_lost_package", {"order_id": "W1003", "remedy": "replacement"}, False),
    ("C-JANE", "modify_order_items", {"order_id": "W1001", "line_id": 1, "new_variant": "L"}, False),
    ("C-OMAR", "modify_order_items", {"order_id": "W2002", "line_id": 5, "new_variant": "XL"}, False),
    ("C-JANE", "modify_order_items", {"order_id": "W1001", "line_id": 1, "new_variant": "White / M"}, False),
    ("C-MEI", "modify_order_address", {"order_id": "W3001", "address_line1": "1 Main St", "city": "Chicago",
                                       "zip_code": "60601"}, False),
    ("C-JANE", "list_variants", {"order_id": "W1001"}, False),
    ("C-JANE", "file_complaint", {"category": "billing", "summary": "charged twice", "order_id": "W1001"}, True),
    ("C-JANE", "escalate_to_human", {"reason": "customer_request", "summary": "wants a person"}, False),
    ("C-JANE", "update_account", {"field": "phone", "phone": "+1 415 555 0199"}, True),
    ("C-JANE", "update_account", {"field": "email", "email": "omar.haddad@example.com"}, False),
    ("C-JANE", "send_password_reset", {"email": "someone@else.com"}, False),
    (None, "send_password_reset", {"email": "mei.chen@example.com"}, False),
    (None, "verify_customer", {"email": "jane.doe@example.com", "zip_code": "00000"}, False),
    (None, "search_help_center", {"query": "reset password"}, False),
    (None, "get_order", {"order_id": "W1001"}, False),
]


@pytest.fixture
def results(shop, ctx_for, call) -> list[ToolResult]:
    out = []
    for customer, name, args, execute in CALLS:
        out.append(call(ctx_for(customer), name, args))
        if execute and out[-1].status == "needs_confirmation":
            out.append(call(ctx_for(customer), name, args, execute=True))
    return out


def _texts(result: ToolResult) -> list[tuple[str, dict, str]]:
    """(id, params, English) of every customer-facing text of a result."""
    out = [(result.message_id, result.params, result.message)] if result.message_id else []
    if result.summary_id:
        out.append((result.summary_id, result.summary_params, result.summary))
    out += [(m.message_id, m.params, text) for m, text in zip(result.alternative_messages, result.alternatives)]
    return out


def _ids(message_id: str, params: dict) -> set[str]:
    """The id and the ids of the phrases nested in its params."""
    ids = {message_id}
    for value in params.values():
        for item in value.items if isinstance(value, Listing) else [value]:
            if isinstance(item, Msg):
                ids |= _ids(item.message_id, item.params)
    return ids


# ---- the .pot and the code ----------------------------------------------------------------------

def test_the_committed_pot_and_catalogs_are_what_the_code_says():
    extracted = {m.id[0] if m.pluralizable else m.id for m in extract_template() if m.id}
    assert extracted == POT_IDS, "run scripts/extract_messages.sh: " + repr(extracted ^ POT_IDS)
    assert sync(write=False) == [], "run scripts/extract_messages.sh"


def test_every_message_id_the_tools_return_is_in_the_pot(results):
    seen = set().union(*(_ids(i, p) for r in results for i, p, _ in _texts(r)))
    assert len(seen) > 60 and seen <= POT_IDS, seen - POT_IDS


def _marked(node: ast.expr) -> bool:
    """A msg() template: N_("...") / NP_("...", "...") (or either of two), or a name for one."""
    if isinstance(node, ast.IfExp):
        return _marked(node.body) and _marked(node.orelse)
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Name) and node.func.id in ("N_", "NP_")
    return isinstance(node, (ast.Name, ast.Attribute, ast.Subscript))


def test_every_msg_call_takes_a_marked_template():
    calls = 0
    for source in SOURCES:
        for path in (ROOT / source).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "msg":
                    calls += 1
                    assert node.args and _marked(node.args[0]), f"{path}:{node.lineno}: msg() of an unmarked text"
    assert calls > 100


def test_a_customer_message_must_be_a_catalog_message_and_model_only_text_stays_out():
    with pytest.raises(TypeError):
        ok("Order W1 is fine.")
    with pytest.raises(TypeError):
        denied("some.rule", msg(N_("ask for a human agent")), alternatives=["a plain string"])
    for_model = error("Say what to change: new_variant, new_quantity or both.")
    assert not for_model.for_customer and for_model.message not in POT_IDS
    assert set(ok(msg(N_("Verified: {name}."), name="Jane")).compact()) == {"status", "message"}


def test_model_only_text_of_real_results_is_not_in_the_catalog(shop, ctx_for, call):
    r = call(ctx_for("C-JANE"), "check_refund_eligibility", {"order_id": "W1002"})
    assert r.note == "Ask the customer for the item's condition." and r.note not in POT_IDS
    assert "Ask the customer" not in r.message and "note" in r.compact()
    r = call(ctx_for(None), "search_help_center", {"query": "???"})
    assert r.status == "error" and r.message_id == "" and r.message not in POT_IDS
    r = call(ctx_for("C-JANE"), "get_order", {"order_id": "not an id"})
    assert r.status == "error" and not r.for_customer


# ---- rendering ----------------------------------------------------------------------------------

def test_english_rendering_of_every_result_is_the_tools_own_text(results):
    texts_ = [t for r in results for t in _texts(r)]
    assert len(texts_) > 60
    for message_id, params, english in texts_:
        assert render(message_id, params, "en") == english


def test_a_denial_from_a_real_tool_call_renders_as_its_message_also_after_json(shop, ctx_for, call):
    r = call(ctx_for("C-JANE"), "cancel_order", {"order_id": "W1003", "reason": "too late"})
    assert r.status == "denied" and r.message_id.startswith("Order {order_id} is {status}")
    assert r.message == "Order W1003 is shipped; orders can only be cancelled while pending or processing."
    assert render(r.message_id, r.params) == r.message
    again = ToolResult.model_validate_json(r.model_dump_json())
    assert again.params == r.params and render(again.message_id, again.params) == r.message
    assert [render(m.message_id, m.params) for m in again.alternative_messages] == r.alternatives


def test_a_cancel_preview_has_typed_money_and_a_plural(shop, ctx_for, call):
    r = call(ctx_for("C-JANE"), "cancel_order", {"order_id": "W1001", "reason": "changed my mind"})
    assert r.summary_params["amount"] == Money(cents=7295, currency="USD") and r.summary_params["count"] == 3
    assert "Cancel order W1001 (3 items) and refund $72.95 to Visa ending 4242 within 5-7 business days" in r.summary
    assert render(r.summary_id, {**r.summary_params, "count": 1}).startswith("Cancel order W1001 (1 item)")


def _spaced(text: str) -> str:
    """CLDR's no-break spaces as plain ones."""
    return text.replace("\xa0", " ").replace("\u202f", " ")


@pytest.mark.parametrize("cents", [0, 5, 99, 11623, 100000, 123456789, -500, -123456])
def test_english_money_by_babel_is_the_tools_money(cents):
    assert render(N_("{amount}"), {"amount": Money(cents=cents)}) == money(cents)


def test_english_and_other_locales_format_money_dates_and_counts_by_babel():
    template = N_("Refund {amount} by {day} ({day:EEEE}), {count} items.")
    params = {"amount": Money(cents=11623), "day": date(2026, 3, 16), "count": 1234}
    assert render(template, params, "en") == "Refund $116.23 by 2026-03-16 (Monday), 1,234 items."
    assert _spaced(render(template, params, "de")) == "Refund 116,23 $ by 2026-03-16 (Montag), 1.234 items."
    euros = {**params, "amount": Money(cents=11623, currency="EUR")}
    assert _spaced(render(template, euros, "fr_FR")) == "Refund 116,23 € by 2026-03-16 (lundi), 1 234 items."
    assert render(template, params, "zz-nowhere") == render(template, params, "en")


def test_lists_and_nested_phrases_follow_the_locale():
    either = Listing(items=[msg(N_("pending")), msg(N_("processing"))], style="or")
    assert render(N_("while {allowed}"), {"allowed": either}, "en") == "while pending or processing"
    assert render(N_("while {allowed}"), {"allowed": either}, "de") == "while pending oder processing"


def test_params_survive_json_tagged_by_type():
    params = {"amount": Money(cents=-5, currency="EUR"), "day": date(2026, 1, 2), "n": 3, "id": "W1",
              "what": msg(N_("items {amount}"), amount=Money(cents=100)),
              "list": Listing(items=["a", msg(N_("none"))], style="and")}
    encoded = encode_params(params)
    assert encoded["day"] == {"type": "date", "value": "2026-01-02"} and encoded["id"] == "W1"
    assert decode_params(encoded) == params


# ---- the runtime's own words --------------------------------------------------------------------

RUNTIME_TEXTS = {name: value for name, value in vars(texts).items() if name.isupper() and isinstance(value, str)}


def test_the_runtimes_words_are_catalog_messages():
    assert len(RUNTIME_TEXTS) > 20
    for name, text in RUNTIME_TEXTS.items():
        assert text in POT_IDS, f"agent/turn/texts.py {name} is not in the .pot: wrap it in N_()"
    confirm = texts.CONFIRM.format(summary="Cancel W1.")
    assert render(texts.CONFIRM, {"summary": "Cancel W1."}) == confirm == "Cancel W1.\nShall I go ahead? (yes / no)"
    assert render(texts.VERIFIED_HOW_CAN_I_HELP, {"name": " Jane"}) == "Thanks Jane, you're verified. How can I help?"
    assert render(texts.ASK_ITEM, {"order_id": "W1001"}) == texts.ASK_ITEM.format(order_id="W1001")


def test_the_runtimes_words_live_in_one_module():
    """agent/turn/texts.py is the one place of the runtime's own words, agent/labels.py the one place of
    the surfaces' labels (REPL, widget, activity): no other module of agent/ marks a catalog message."""
    places = {path for m in MessageCatalog().template if m.id for path, _ in m.locations if path.startswith("agent/")}
    assert places == {"agent/turn/texts.py", "agent/labels.py"}


# ---- shipped catalogs and the check over them ---------------------------------------------------

def test_every_shipped_catalog_has_every_msgid_with_the_same_placeholders():
    assert {"en", "zh", "es"} <= set(MessageCatalog().locales())
    assert check_catalogs() == []


def test_the_check_catches_an_untranslated_msgid_and_a_missing_plural_form(tmp_path):
    def translate(catalog):
        catalog[N_("Verified: {name}.")].string = ""
        catalog[N_("within {count} business day")].string = ("[xx] in {count} day",)
    _pseudo_locale(tmp_path, translate)
    problems = check_catalogs(tmp_path)
    assert problems == ["xx: msgid 'Verified: {name}.' is not translated",
                        "xx: msgid 'within {count} business day' is not translated"]


@pytest.mark.parametrize("lang", ["zh", "es"])
def test_every_message_id_the_tools_return_renders_in_each_shipped_language(results, lang):
    """Every real tool result, in Chinese and Spanish: translated (not the English), with its ids."""
    texts_ = [t for r in results for t in _texts(r)]
    translated = 0
    for message_id, params, english in texts_:
        said = render(message_id, params, lang)
        assert said and "{" not in said
        for order in {v for v in params.values() if isinstance(v, str) and v.startswith("W")}:
            assert order in said
        translated += said != english
    assert translated >= len(texts_) - 2


def _pseudo_locale(directory: Path, translate) -> Path:
    """A test-only `xx` catalog in `directory` beside a copy of the shipped .pot, changed by `translate`."""
    (directory / "messages.pot").write_bytes((HERE / "messages.pot").read_bytes())
    with (HERE / "messages.pot").open("rb") as f:
        catalog = _new_locale("en", read_po(f))
    for message in catalog:  # a complete catalog (every msgid "translated" as itself), then the test's changes
        if message.id:
            message.string = message.id
    translate(catalog)
    path = directory / "locale" / "xx" / "LC_MESSAGES" / "messages.po"
    path.parent.mkdir(parents=True)
    with path.open("wb") as f:
        write_po(f, catalog)
    return path


def test_the_check_catches_a_missing_msgid_and_a_placeholder_mismatch(tmp_path):
    def translate(catalog):
        catalog.delete(texts.GREETING)
        catalog[N_("Verified: {name}.")].string = "Verifiziert: {nom}."
        catalog[N_("I could not find an order {order_id} on your account.")].string = "Keine Bestellung {order_id}."
    _pseudo_locale(tmp_path, translate)
    problems = check_catalogs(tmp_path)
    assert len(problems) == 2, problems
    assert problems[0].startswith("xx: missing msgid 'Hello! How can I help you today?'")
    assert "'Verified: {name}.'" in problems[1] and "['nom']" in problems[1]
    # shipped anyway, the broken translation is said in English rather than failing the conversation
    assert MessageCatalog(tmp_path).render(N_("Verified: {name}."), {"name": "Jane"}, "xx") == "Verified: Jane."


def test_a_translated_pseudo_locale_renders_with_plurals_and_falls_back_to_english(tmp_path):
    def translate(catalog):
        catalog[N_("I could not find an order {order_id} on your account.")].string = "[xx] no {order_id}"
        catalog[N_("within {count} business day")].string = ("[xx] in {count} day", "[xx] in {count} days")
        catalog[N_("yyyy-MM-dd")].string = "dd.MM.yyyy"
    _pseudo_locale(tmp_path, translate)
    assert check_catalogs(tmp_path) == []
    catalog = MessageCatalog(tmp_path)
    assert catalog.render(N_("I could not find an order {order_id} on your account."), {"order_id": "W1"},
                          "xx_YY") == "[xx] no W1"
    plural = NP_("within {count} business day", "within {count} business days")
    assert [catalog.render(plural.singular, {"count": n}, "xx") for n in (1, 2)] == ["[xx] in 1 day", "[xx] in 2 days"]
    assert catalog.render(N_("Order {order_id} was delivered on {day}."), {"order_id": "W1", "day": date(2026, 3, 1)},
                          "xx") == "Order W1 was delivered on 01.03.2026."
