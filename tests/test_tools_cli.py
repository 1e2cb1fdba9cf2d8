"""`support-agent tools list / call` through agent.cli.main, output captured with capsys."""

import json

import pytest

import agent.cli


@pytest.fixture(autouse=True)
def only_the_tools_command(monkeypatch):
    """Test this command on its own, whatever state the other subcommands are in."""
    monkeypatch.setattr(agent.cli, "COMMANDS", {"tools": agent.cli.COMMANDS["tools"]})


def run_cli(capsys, *argv):
    code = agent.cli.main(["tools", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def call_json(capsys, *argv):
    code, out, err = run_cli(capsys, "call", *argv)
    return code, json.loads(out), err


def test_list_json_describes_every_tool(capsys):
    code, out, _ = run_cli(capsys, "list", "--json")
    assert code == 0
    tools = {t["name"]: t for t in json.loads(out)}
    assert tools["cancel_order"]["is_write"] is True and tools["cancel_order"]["requires_identity"] is True
    assert tools["search_help_center"]["requires_identity"] is False
    assert "order_id" in tools["get_order"]["schema"]["properties"]
    assert all(t["description"] for t in tools.values())


def test_list_table(capsys):
    code, out, _ = run_cli(capsys, "list")
    assert code == 0 and "track_shipment" in out and "write" in out


def test_read_tool_ok(shop, store_url, capsys):
    code, out, _ = call_json(capsys, "get_order", "--args", '{"order_id": "#W1002"}',
                             "--customer", "jane.doe@example.com", "--store", store_url)
    assert code == 0 and out["status"] == "ok" and out["data"]["order_id"] == "W1002"


def test_denied_carries_rule_and_message(shop, store_url, capsys):
    code, out, _ = call_json(capsys, "cancel_order", "--args", '{"order_id": "W1003", "reason": "late"}',
                             "--customer", "jane.doe@example.com", "--store", store_url)
    assert code == 0 and out["status"] == "denied"
    assert out["rule"] == "cancellation.allowed_statuses" and out["message"]


def test_write_without_yes_previews_and_changes_nothing(shop, store, store_url, capsys):
    before = store.content_hash()
    code, out, _ = call_json(capsys, "cancel_order", "--args", '{"order_id": "W1001", "reason": "dup"}',
                             "--customer", "jane.doe@example.com", "--store", store_url)
    assert code == 0 and out["status"] == "needs_confirmation" and "$72.95" in out["summary"]
    assert store.content_hash() == before
    code, out, _ = call_json(capsys, "cancel_order", "--args", '{"order_id": "W1001", "reason": "dup"}',
                             "--customer", "jane.doe@example.com", "--store", store_url, "--yes")
    assert code == 0 and out["status"] == "ok"
    assert store.one("SELECT status FROM orders WHERE id = 'W1001'")["status"] == "cancelled"


def test_tool_without_identity_needs_no_customer(shop, store_url, capsys):
    code, out, _ = call_json(capsys, "search_help_center", "--args", '{"query": "supported browsers"}',
                             "--store", store_url)
    assert code == 0 and out["status"] == "ok" and out["data"]["articles"]


def test_identity_tool_without_customer_is_denied(shop, store_url, capsys):
    code, out, _ = call_json(capsys, "list_orders", "--store", store_url)
    assert out["status"] == "denied" and out["rule"] == "identity.verification_required"


@pytest.mark.parametrize("argv,needle", [
    (["no_such_tool", "--args", "{}"], "unknown tool"),
    (["get_order", "--args", "{order_id: W1}"], "not valid JSON"),
    (["get_order", "--args", "[1]"], "JSON object"),
    (["get_order", "--args", '{"order_id": "banana"}'], "order_id"),
    (["get_order", "--args", '{"order_id": "W1001"}', "--customer", "ghost@example.com"], "no customer"),
])
def test_usage_problems_are_clear_and_non_zero(shop, store_url, capsys, argv, needle):
    code, out, err = call_json(capsys, *argv, "--store", store_url)
    assert code != 0 and out["status"] == "error"
    assert needle in out["message"] and needle in err
    assert "Traceback" not in err


def test_missing_database_is_clear(tmp_path, capsys):
    code, out, err = call_json(capsys, "get_order", "--args", '{"order_id": "W1001"}',
                               "--customer", "jane.doe@example.com", "--db", str(tmp_path / "nope.db"))
    assert code != 0 and "support-agent init" in out["message"]
    assert not (tmp_path / "nope.db").exists()


def test_corrupt_database_is_clear(tmp_path, capsys):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"garbage" * 1000)
    code, out, err = call_json(capsys, "get_order", "--args", '{"order_id": "W1001"}',
                               "--customer", "jane.doe@example.com", "--db", str(bad))
    assert code != 0 and out["status"] == "error" and "Traceback" not in err


def test_store_from_environment(shop, store_url, capsys, monkeypatch):
    monkeypatch.setenv("SUPPORT_AGENT_STORE", store_url)
    code, out, _ = call_json(capsys, "list_orders", "--customer", "omar.haddad@example.com")
    assert code == 0 and [o["order_id"] for o in out["data"]["orders"]] == ["W2002", "W2001"]


def test_bad_store_url_is_one_clear_line(capsys):
    code, out, err = call_json(capsys, "list_orders", "--store", "mysql://shop/orders")
    assert code != 0 and "postgresql://" in out["message"] and "Traceback" not in err


def test_unreachable_postgresql_is_one_clear_line(capsys):
    code, out, err = call_json(capsys, "list_orders", "--store", "postgresql://nobody@127.0.0.1:1/shop")
    assert code != 0 and out["message"].startswith("cannot use the PostgreSQL store postgresql://nobody@127.0.0.1:1/shop")
    assert "\n" not in out["message"] and "Traceback" not in err


@pytest.mark.sqlite_only
def test_db_from_environment(shop, db_path, capsys, monkeypatch):
    monkeypatch.setenv("SUPPORT_AGENT_DB", str(db_path))
    code, out, _ = call_json(capsys, "list_orders", "--customer", "omar.haddad@example.com")
    assert code == 0 and [o["order_id"] for o in out["data"]["orders"]] == ["W2002", "W2001"]
