"""Bad input at the argument boundary: every free-text argument of every tool is FreeText (one line of
plain Unicode text, with a max_length), and ids and quantities are strict integers (a JSON true is not
line 1). Checked for every tool's argument model, so a new field cannot miss it."""

from __future__ import annotations

import json
import typing
from typing import Any

import pytest
from pydantic import BaseModel, Strict
from pydantic.fields import FieldInfo

from tools.registry import all_tools, get_tool, validate_args
from tools.results import ToolResult
from tools.values import plain_text

# A valid call of every tool; each free-text field is then replaced by bad text in turn.
VALID = {
    "verify_customer": {"email": "jane.doe@example.com", "zip_code": "94107"},
    "get_order": {"order_id": "W1001"},
    "list_orders": {"limit": 5},
    "track_shipment": {"order_id": "W1003"},
    "report_lost_package": {"order_id": "W2001", "remedy": "refund"},
    "cancel_order": {"order_id": "W1001", "reason": "ordered by mistake"},
    "modify_order_address": {"order_id": "W1001", "recipient_name": "Jane Doe", "address_line1": "5 Elm St",
                             "address_line2": "Apt 2", "city": "Oakland", "state": "CA", "zip_code": "94601",
                             "country": "US"},
    "list_variants": {"order_id": "W1001", "line_id": 1},
    "modify_order_items": {"order_id": "W1001", "line_id": 1, "new_variant": "Black / L", "new_quantity": 2},
    "check_refund_eligibility": {"order_id": "W1002", "line_ids": [1], "condition": "opened"},
    "start_return": {"order_id": "W1002", "line_ids": [1], "reason": "too loud", "condition": "opened"},
    "issue_refund": {"order_id": "W1002"},
    "file_complaint": {"category": "other", "summary": "The parcel arrived late.", "order_id": "W1002"},
    "escalate_to_human": {"reason": "customer_request", "summary": "Wants a human."},
    "update_account": {"field": "address", "email": "jane.new@example.com", "phone": "+1 415 555 0199",
                       "address": {"address_line1": "5 Elm St", "address_line2": "Apt 2", "city": "Oakland",
                                   "state": "CA", "zip_code": "94601", "country": "US"}},
    "send_password_reset": {"email": "jane.doe@example.com"},
    "search_help_center": {"query": "return policy"},
}


def _parts(annotation: Any) -> list[Any]:
    """The annotation and what it is made of (Optional[X] -> X; Annotated[X, ...] -> X and metadata)."""
    out = [annotation]
    for arg in typing.get_args(annotation):
        out.extend(_parts(arg))
    return out


def _metadata(field: FieldInfo) -> list[Any]:
    return [m for part in _parts(field.annotation) for m in getattr(part, "__metadata__", ())] + field.metadata


def _fields(model: type[BaseModel], prefix: tuple[str, ...] = ()):
    """(path, FieldInfo) for every field, nested argument models included."""
    for name, field in model.model_fields.items():
        yield (*prefix, name), field
        for part in _parts(field.annotation):
            if isinstance(part, type) and issubclass(part, BaseModel):
                yield from _fields(part, (*prefix, name))


def _is_text(field: FieldInfo) -> bool:
    return str in _parts(field.annotation) and not any(
        typing.get_origin(p) is typing.Literal for p in _parts(field.annotation))


def _is_order_id(field: FieldInfo) -> bool:
    return any(getattr(m, "pattern", None) == r"^W\d+$" for m in _metadata(field))


def _max_length(field: FieldInfo) -> int | None:
    return next((m.max_length for m in _metadata(field) if getattr(m, "max_length", None)), None)


FREE_TEXT = [(tool.name, path, _max_length(field)) for tool in all_tools()
             for path, field in _fields(tool.args_model) if _is_text(field) and not _is_order_id(field)]
UNPATTERNED = [(tool, path, limit) for tool, path, limit in FREE_TEXT if path[-1] != "zip_code"]  # zip: [A-Za-z0-9 -]
INTEGERS = [(tool.name, path) for tool in all_tools() for path, field in _fields(tool.args_model)
            if int in _parts(field.annotation)]


def _id(value: Any) -> str:
    return ".".join(value) if isinstance(value, tuple) else str(value)


def _with(args: dict, path: tuple[str, ...], value: Any) -> dict:
    args = json.loads(json.dumps(args))
    node = args
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return args


def _validate(tool: str, args: dict | str) -> BaseModel | ToolResult:
    return validate_args(get_tool(tool), args)


def test_every_tool_has_a_valid_call_here():
    assert set(VALID) == {t.name for t in all_tools()}
    for tool, args in VALID.items():
        assert not isinstance(_validate(tool, args), ToolResult), tool


def test_every_free_text_field_is_free_text_with_a_max_length():
    assert len(FREE_TEXT) >= 20
    for tool in all_tools():
        for path, field in _fields(tool.args_model):
            if _is_text(field) and not _is_order_id(field):
                assert plain_text in [getattr(m, "func", None) for m in _metadata(field)], (tool.name, path)
                assert _max_length(field), (tool.name, path)


@pytest.mark.parametrize(("tool", "path", "limit"), FREE_TEXT, ids=_id)
def test_free_text_longer_than_its_limit_is_refused(tool, path, limit):
    result = _validate(tool, _with(VALID[tool], path, "x" * (limit + 1)))
    assert isinstance(result, ToolResult) and result.status == "error"
    assert f"{path[-1]}: String should have at most {limit} characters" in result.message


BAD_CHARACTERS = {
    "\x00": "U+0000", "\x07": "U+0007", "\t": "U+0009", "\n": "U+000A", "\x1b": "U+001B", "\x7f": "U+007F",
    "\x85": "U+0085", "\x9b": "U+009B",
    "\u202a": "U+202A LEFT-TO-RIGHT EMBEDDING", "\u202e": "U+202E RIGHT-TO-LEFT OVERRIDE",
    "\u2066": "U+2066 LEFT-TO-RIGHT ISOLATE", "\u2069": "U+2069 POP DIRECTIONAL ISOLATE",
    "\u200e": "U+200E LEFT-TO-RIGHT MARK", "\u200f": "U+200F RIGHT-TO-LEFT MARK",
    "\u061c": "U+061C ARABIC LETTER MARK", "\u2028": "U+2028 LINE SEPARATOR", "\ud800": "U+D800",
}


@pytest.mark.parametrize(("tool", "path", "limit"), FREE_TEXT, ids=_id)
def test_control_and_bidi_characters_are_refused_in_every_free_text_field(tool, path, limit):
    for char, named in BAD_CHARACTERS.items():
        result = _validate(tool, _with(VALID[tool], path, f"ab{char}cd"))
        assert isinstance(result, ToolResult) and result.status == "error", (path, named)
        assert f"{path[-1]}: must be plain text on one line" in result.message
        assert f"found {named} at position 3" in result.message, result.message


@pytest.mark.parametrize(("tool", "path", "limit"), UNPATTERNED, ids=_id)
def test_ordinary_unicode_text_passes(tool, path, limit):
    """Accents, CJK, right-to-left scripts, emoji (with zero-width joiners and variation selectors)."""
    for text in ("Crème brûlée", "请退货", "שלום", "مرحبا", "👍🏽 ok", "👨‍👩‍👧", "❤️", "Łódź", "Straße"):
        args = _validate(tool, _with(VALID[tool], path, text[:limit]))
        assert not isinstance(args, ToolResult), (path, text, args)
        value = args
        for key in path:
            value = getattr(value, key)
        assert value == text[:limit]


def test_surrounding_whitespace_is_dropped_and_blank_required_text_is_refused():
    args = _validate("start_return", {**VALID["start_return"], "reason": "  too loud \n"})
    assert args.reason == "too loud"
    result = _validate("file_complaint", {**VALID["file_complaint"], "summary": " \t "})
    assert isinstance(result, ToolResult) and "summary: String should have at least 1 character" in result.message


def test_a_huge_cancel_reason_is_refused_and_nothing_is_stored(shop, store, ctx_for, call):
    before = store.content_hash()
    r = call(ctx_for("C-JANE"), "cancel_order", {"order_id": "W1001", "reason": "x" * 100_000}, execute=True)
    assert r.status == "error" and "reason: String should have at most 500 characters" in r.message
    assert store.content_hash() == before


@pytest.mark.parametrize("field,value", [("address_line1", "5 Elm St\x00; DROP"), ("city", "Oak\u202eland"),
                                         ("recipient_name", "Jane\u2066 Doe")])
def test_nul_and_direction_overrides_never_reach_an_address(shop, store, ctx_for, call, field, value):
    before = store.content_hash()
    r = call(ctx_for("C-JANE"), "modify_order_address",
             {"order_id": "W1001", "address_line1": "5 Elm St", "city": "Oakland", "state": "CA",
              "zip_code": "94601", field: value}, execute=True)
    assert r.status == "error" and f"{field}: must be plain text" in r.message
    assert store.content_hash() == before


# ---- integers -------------------------------------------------------------------------------------

def test_every_integer_field_is_strict():
    assert {path[-1] for _, path in INTEGERS} == {"limit", "line_id", "new_quantity", "line_ids"}
    for tool in all_tools():
        for path, field in _fields(tool.args_model):
            if int in _parts(field.annotation):
                assert any(isinstance(m, Strict) for m in _metadata(field)) or field.strict, (tool.name, path)


@pytest.mark.parametrize(("tool", "path"), INTEGERS, ids=_id)
@pytest.mark.parametrize("bad", [True, False, "1", 1.0])
def test_a_boolean_string_or_float_is_not_an_integer(tool, path, bad):
    value = [bad] if path[-1] == "line_ids" else bad
    result = _validate(tool, _with(VALID[tool], path, value))
    assert isinstance(result, ToolResult) and result.status == "error", (path, bad)
    assert "Input should be a valid integer" in result.message


@pytest.mark.parametrize(("tool", "path"), INTEGERS, ids=_id)
def test_json_integers_are_accepted(tool, path):
    value = [2, 3] if path[-1] == "line_ids" else 2
    args = _validate(tool, json.dumps(_with(VALID[tool], path, value)))  # as a model sends them: JSON text
    assert not isinstance(args, ToolResult), args
    assert getattr(args, path[-1]) == value


def test_true_is_not_line_one(shop, store, ctx_for, call):
    jane = ctx_for("C-JANE")
    assert shop.line_ids("W1001")[0] == 1  # the line a lax True would become
    before = store.content_hash()
    r = call(jane, "modify_order_items", {"order_id": "W1001", "line_id": True, "new_quantity": 3}, execute=True)
    assert r.status == "error" and "line_id: Input should be a valid integer" in r.message
    r = call(jane, "modify_order_items", {"order_id": "W1001", "line_id": 1, "new_quantity": True})
    assert r.status == "error" and "new_quantity: Input should be a valid integer" in r.message
    r = call(jane, "list_variants", {"order_id": "W1001", "line_id": True})
    assert r.status == "error" and "line_id: Input should be a valid integer" in r.message
    r = call(jane, "check_refund_eligibility", {"order_id": "W1002", "line_ids": [True]})
    assert r.status == "error" and "line_ids.0: Input should be a valid integer" in r.message
    r = call(jane, "list_orders", {"limit": True})
    assert r.status == "error" and "limit: Input should be a valid integer" in r.message
    assert store.content_hash() == before
