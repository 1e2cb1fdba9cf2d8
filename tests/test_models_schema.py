"""The schema-mode union, its parser and the history rendering (no LLM)."""

from __future__ import annotations

import json
from enum import Enum

import pytest
from pydantic import BaseModel, Field

from agent.models.action_schema import ReplyStreamDecoder, inline_refs, parse_step, step_schema, to_schema_messages
from agent.models.base import ToolSpec

try:
    import jsonschema
except ImportError:  # pragma: no cover
    jsonschema = None


class Reason(str, Enum):
    damaged = "damaged"
    wrong_item = "wrong_item"


class Item(BaseModel):
    item_id: str
    quantity: int = Field(ge=1)


class Address(BaseModel):
    street: str
    zip_code: str


class ReturnArgs(BaseModel):
    order_id: str
    items: list[Item]
    reason: Reason


class AddressArgs(BaseModel):
    order_id: str
    address: Address


TOOLS = [
    ToolSpec(name="return_items", description="return", parameters=ReturnArgs.model_json_schema()),
    ToolSpec(name="change_address", description="address", parameters=AddressArgs.model_json_schema()),
    ToolSpec(name="get_order", description="get", parameters={"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}),
]


def test_refs_inlined():
    schema = step_schema(TOOLS)
    text = json.dumps(schema)
    assert "$ref" not in text and "$defs" not in text
    branches = schema["anyOf"][1]["properties"]["actions"]["items"]["anyOf"]
    ret = branches[0]["properties"]["arguments"]
    assert ret["properties"]["reason"]["enum"] == ["damaged", "wrong_item"]
    assert ret["properties"]["items"]["items"]["properties"]["quantity"]["minimum"] == 1
    assert schema["anyOf"][1]["properties"]["actions"]["maxItems"] == 3


def test_only_allowed_tools_and_reply_only():
    schema = step_schema(TOOLS, ["get_order", "nope"], max_actions=2)
    branches = schema["anyOf"][1]["properties"]["actions"]["items"]["anyOf"]
    assert [b["properties"]["tool"]["const"] for b in branches] == ["get_order"]
    assert schema["anyOf"][1]["properties"]["actions"]["maxItems"] == 2
    only = step_schema(TOOLS, reply_only=True)
    assert only == {"type": "object", "properties": {"reply": {"type": "string"}}, "required": ["reply"]}
    assert step_schema(TOOLS, []) == only


def test_grammar_converter_accepts_schema():
    xllamacpp = pytest.importorskip("xllamacpp")
    grammar = xllamacpp.json_schema_to_grammar(json.dumps(step_schema(TOOLS)))
    assert isinstance(grammar, str) and grammar.strip()  # llguidance or GBNF, depending on the build


@pytest.mark.skipif(jsonschema is None, reason="jsonschema not installed")
@pytest.mark.parametrize(
    "doc,ok",
    [
        ({"reply": "hello"}, True),
        ({"actions": [{"tool": "get_order", "arguments": {"order_id": "W1"}}]}, True),
        ({"actions": [{"tool": "return_items", "arguments": {"order_id": "W1", "items": [{"item_id": "I1", "quantity": 2}], "reason": "damaged"}}]}, True),
        ({"actions": [{"tool": "change_address", "arguments": {"order_id": "W1", "address": {"street": "s", "zip_code": "1"}}}]}, True),
        ({"actions": [{"tool": "return_items", "arguments": {"order_id": "W1", "items": [{"item_id": "I1", "quantity": 0}], "reason": "damaged"}}]}, False),
        ({"actions": [{"tool": "return_items", "arguments": {"order_id": "W1", "items": [], "reason": "bored"}}]}, False),
        ({"actions": [{"tool": "change_address", "arguments": {"order_id": "W1", "address": {"street": "s"}}}]}, False),
        ({"actions": [{"tool": "delete_db", "arguments": {}}]}, False),
        ({"actions": []}, False),
        ({"actions": [{"tool": "get_order", "arguments": {"order_id": "W1"}}] * 4}, False),
        ({"text": "x"}, False),
    ],
)
def test_union_validates(doc, ok):
    schema = step_schema(TOOLS)
    valid = jsonschema.Draft202012Validator(schema).is_valid(doc)
    assert valid is ok


def test_inline_refs_recursive_and_siblings():
    schema = {"$defs": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}},
              "type": "object", "properties": {"root": {"$ref": "#/$defs/Node", "description": "d"}, "title": {"type": "string"}}}
    out = inline_refs(schema)
    assert "$ref" not in json.dumps(out)
    assert out["properties"]["root"]["description"] == "d"
    assert "title" in out["properties"]  # a property named title survives


def test_parse_reply_and_actions():
    r = parse_step('{"reply": "Hi there"}', ["get_order"])
    assert r.text == "Hi there" and r.tool_calls == [] and r.error is None
    r = parse_step('{"actions": [{"tool": "get_order", "arguments": {"order_id": "W1"}}, {"tool": "get_order", "arguments": {"order_id": "W2"}}]}', ["get_order"])
    assert [c.arguments["order_id"] for c in r.tool_calls] == ["W1", "W2"]
    assert len({c.id for c in r.tool_calls}) == 2 and r.error is None and r.text is None


def test_parse_truncates_and_filters():
    actions = [{"tool": "get_order", "arguments": {"order_id": f"W{i}"}} for i in range(5)] + [{"tool": "refund", "arguments": {}}]
    r = parse_step(json.dumps({"actions": actions}), ["get_order"], max_actions=3)
    assert len(r.tool_calls) == 3 and "truncated" in r.error and "refund" in r.error
    r = parse_step(json.dumps({"actions": actions[:1]}), ["get_order"], reply_only=True)
    assert r.tool_calls == [] and r.text is None and r.error


@pytest.mark.parametrize("raw", ["", "   ", '{"actions": [{"tool": "get_or', "{}", "[1, 2]", '{"actions": "x"}', "null"])
def test_parse_garbage_never_raises(raw):
    r = parse_step(raw, ["get_order"])
    assert r.text is None and r.tool_calls == [] and r.error
    assert r.raw == raw


def test_parse_prose_is_a_flagged_reply():
    r = parse_step("Sure, your order shipped.", ["get_order"])
    assert r.text == "Sure, your order shipped." and r.error and r.tool_calls == []


def test_to_schema_messages():
    history = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "u"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "get_order", "arguments": '{"order_id": "W1"}'}},
            {"id": "b", "type": "function", "function": {"name": "get_order", "arguments": {"order_id": "W2"}}}]},
        {"role": "tool", "tool_call_id": "a", "content": '{"ok": true}'},
        {"role": "tool", "tool_call_id": "b", "content": {"ok": False}},
        {"role": "assistant", "content": "done"},
    ]
    out = to_schema_messages(history)
    assert json.loads(out[2]["content"]) == {"actions": [{"tool": "get_order", "arguments": {"order_id": "W1"}},
                                                         {"tool": "get_order", "arguments": {"order_id": "W2"}}]}
    assert out[3] == {"role": "tool", "content": '{"ok": true}'} and out[4]["content"] == '{"ok": false}'
    assert out[5] == {"role": "assistant", "content": "done"}
    users = to_schema_messages(history, tool_results="user")
    assert len(users) == 5 and users[3]["role"] == "user"
    assert users[3]["content"].count("<tool_response") == 2 and 'name="get_order"' in users[3]["content"]


def test_reply_stream_decoder():
    text = json.dumps({"reply": 'Line1\nsaid "hi" \u00e9 \U0001F600 \\ end'})
    for size in (1, 2, 3, 7, len(text)):
        d = ReplyStreamDecoder()
        out = "".join(d.feed(text[i:i + size]) for i in range(0, len(text), size))
        assert out == json.loads(text)["reply"]
    d = ReplyStreamDecoder()
    assert d.feed('{"actions": [{"tool": "x", "arguments": {"reply": "no"}}]}') == ""
    d = ReplyStreamDecoder()
    assert d.feed('{\n  "reply"') == "" and d.feed(' : "ab') == "ab" and d.feed('c"}') == "c" and d.feed("more") == ""
