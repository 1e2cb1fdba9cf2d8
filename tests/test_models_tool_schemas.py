"""`lean_parameters`: the tool schemas native tools mode sends are smaller but still valid JSON schema,
with the same arguments; the tools' pydantic models still validate every call."""

from __future__ import annotations

import jsonschema
import pytest

from agent.models.openai_compat import lean_parameters
from tools.registry import all_tools, get_tool, validate_args
from tools.results import ToolResult

DROPPED = {"title", "default", "minLength", "maxLength", "pattern", "anyOf", "$ref", "$defs"}

ADDRESS = {"address_line1": "1 Main St", "city": "Springfield", "zip_code": "12345"}
VALID_CALLS = [
    ("verify_customer", {"email": "jane.doe@example.com", "zip_code": "94107"}),
    ("verify_customer", {"email": "jane.doe@example.com", "order_id": "W1001"}),
    ("list_orders", {"limit": 5}),
    ("modify_order_address", {"order_id": "W1001", **ADDRESS, "state": "CA"}),
    ("modify_order_items", {"order_id": "W1001", "line_id": 2, "new_variant": "Black / L", "new_quantity": 2}),
    ("check_refund_eligibility", {"order_id": "W1002", "line_ids": [1], "condition": "opened"}),
    ("start_return", {"order_id": "W1002", "reason": "too small", "condition": "unopened"}),
    ("issue_refund", {"order_id": "W1002", "to_store_credit": True}),
    ("escalate_to_human", {"reason": "customer_request", "summary": "wants a human"}),
    ("update_account", {"field": "address", "address": ADDRESS}),
    ("send_password_reset", {}),
]


def _walk(node):
    if isinstance(node, dict):
        yield node
        for key, value in node.items():
            if key == "properties":
                for sub in value.values():
                    yield from _walk(sub)
            else:
                yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _arguments(schema: dict, defs: dict | None = None) -> dict:
    """Argument names and required lists, nested objects included, with $refs and Optionals resolved."""
    defs = schema.get("$defs", defs or {})
    if "$ref" in schema:
        return _arguments(defs[schema["$ref"].split("/")[-1]], defs)
    if "anyOf" in schema:
        return next(_arguments(b, defs) for b in schema["anyOf"] if b != {"type": "null"})
    if "properties" not in schema:
        return {}
    return {"required": schema.get("required", []),
            "properties": {n: _arguments(p, defs) for n, p in schema["properties"].items()}}


@pytest.mark.parametrize("tool", all_tools(), ids=lambda t: t.name)
def test_lean_schema_is_valid_and_keeps_every_argument(tool):
    full = tool.spec()["parameters"]
    lean = lean_parameters(full)
    jsonschema.Draft202012Validator.check_schema(lean)
    assert lean["type"] == "object"
    assert _arguments(lean) == _arguments(full)
    for node in _walk(lean):
        assert not DROPPED & node.keys(), node


@pytest.mark.parametrize(("name", "arguments"), VALID_CALLS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(VALID_CALLS)])
def test_calls_valid_for_the_lean_schema_are_valid_for_the_tool(name, arguments):
    tool = get_tool(name)
    jsonschema.validate(arguments, lean_parameters(tool.spec()["parameters"]))
    assert not isinstance(validate_args(tool, arguments), ToolResult)


def test_pydantic_still_enforces_what_the_lean_schema_leaves_out():
    tool = get_tool("modify_order_address")
    lean = lean_parameters(tool.spec()["parameters"])
    bad_zip = {"order_id": "W1001", **ADDRESS, "zip_code": "!!"}
    jsonschema.validate(bad_zip, lean)  # no pattern in the prompt...
    result = validate_args(tool, bad_zip)
    assert isinstance(result, ToolResult) and result.status == "error" and "zip_code" in result.message
    result = validate_args(get_tool("list_orders"), {"limit": 500})
    assert isinstance(result, ToolResult) and result.status == "error"
    # ...and a null for an optional argument (no longer in the schema) is still accepted
    assert not isinstance(validate_args(get_tool("verify_customer"),
                                        {"email": "jane.doe@example.com", "zip_code": "94107", "order_id": None}),
                          ToolResult)


def test_lean_parameters_edge_cases():
    schema = {
        "$defs": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}},
        "type": "object",
        "properties": {
            "default": {"type": "string", "default": "x"},  # argument names are not keywords
            "title": {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 1}], "default": None,
                      "description": "kept"},
            "kind": {"type": "string", "enum": ["a", "b"]},
            "level": {"type": "integer", "enum": [1, 2]},
            "tree": {"$ref": "#/$defs/Node"},
        },
    }
    lean = lean_parameters(schema)
    jsonschema.Draft202012Validator.check_schema(lean)
    props = lean["properties"]
    assert props["default"] == {"type": "string"}
    assert props["title"] == {"type": "integer", "minimum": 1, "description": "kept"}
    assert props["kind"] == {"enum": ["a", "b"]}
    assert props["level"] == {"type": "integer", "enum": [1, 2]}
    # a recursive $ref is inlined once, then kept with its $defs
    assert props["tree"]["properties"]["child"] == {"$ref": "#/$defs/Node"}
    assert "Node" in lean["$defs"]
    jsonschema.validate({"tree": {"child": {"child": {}}}}, lean)
    assert schema["properties"]["default"] == {"type": "string", "default": "x"}  # input untouched
