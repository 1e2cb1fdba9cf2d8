"""Every tool, generically: documented for the model, typed, and never raising on bad input."""

import json

import pytest

from tools.registry import all_tools, run_tool

EXPECTED = {"verify_customer", "get_order", "list_orders", "track_shipment", "cancel_order",
            "modify_order_address", "modify_order_items", "list_variants", "check_refund_eligibility",
            "start_return", "issue_refund", "report_lost_package", "file_complaint", "escalate_to_human",
            "search_help_center", "update_account", "send_password_reset"}
TOOLS = all_tools()


def test_every_required_tool_is_registered():
    assert EXPECTED <= {t.name for t in TOOLS}


@pytest.mark.parametrize("tool", TOOLS, ids=lambda t: t.name)
def test_tool_is_documented_for_the_model(tool):
    assert 20 < len(tool.description) < 400
    schema = tool.args_model.model_json_schema()
    json.dumps(schema)
    for name, prop in schema.get("properties", {}).items():
        assert prop.get("description") or "$ref" in prop or "anyOf" in prop, f"{tool.name}.{name} lacks a description"


BAD_ARGS = [None, "", "not json", "[1, 2]", {"order_id": "X1"}, {"order_id": 12}, {"line_id": "abc"},
            {"order_id": "W1001", "line_ids": "all"}, {"query": ""}, {"email": 5}, {"field": "password"}]


@pytest.mark.parametrize("tool", TOOLS, ids=lambda t: t.name)
@pytest.mark.parametrize("execute", [False, True])
def test_bad_input_is_a_result_never_an_exception(shop, ctx_for, tool, execute):
    for raw in BAD_ARGS:
        result = run_tool(ctx_for("C-JANE"), tool.name, raw, execute=execute)
        assert result.status in ("ok", "denied", "error", "needs_confirmation"), (tool.name, raw)
        assert result.tool == tool.name


def test_unknown_tool_is_an_error(ctx_for):
    r = run_tool(ctx_for(None), "drop_tables", {})
    assert r.status == "error" and "drop_tables" in r.message
