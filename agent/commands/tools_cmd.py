"""`support-agent tools list [--json]` and `support-agent tools call NAME --args JSON --customer EMAIL
[--yes] [--store PATH_OR_URL]`: the tools with no model, as an operator would use them. `call` prints exactly
one JSON object; problems are a clear message and a non-zero exit, never a traceback."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_TOOL_ERROR, EXIT_USAGE = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="tools_command", required=True)
    lst = sub.add_parser("list", help="list every tool with its description and argument schema")
    lst.add_argument("--json", action="store_true", help="print JSON instead of a table")
    call = sub.add_parser("call", help="run one tool as a customer and print one JSON object")
    call.add_argument("name", help="the tool's name, e.g. get_order")
    call.add_argument("--args", default="{}", help='the arguments as a JSON object, e.g. \'{"order_id": "W1001"}\'')
    call.add_argument("--customer", help="the customer's email; the call runs as that customer, verified")
    call.add_argument("--yes", action="store_true", help="execute a write (without it a write only previews)")
    call.add_argument("--store", "--db", dest="store", metavar="PATH_OR_URL",
                      help="the store: a SQLite file or a postgresql:// URL (default: $SUPPORT_AGENT_STORE, "
                           "else $SUPPORT_AGENT_DB, else ./support_agent.db)")
    call.add_argument("--policy", type=Path, help="a policy document (default: the shipped one)")


def run(args: argparse.Namespace) -> int:
    if args.tools_command == "list":
        return list_tools(as_json=args.json)
    return call_tool(args)


def list_tools(*, as_json: bool) -> int:
    from tools.registry import all_tools

    tools = all_tools()
    if as_json:
        print(json.dumps([{"name": t.name, "description": t.description,
                           "schema": t.args_model.model_json_schema(), "is_write": t.is_write,
                           "requires_identity": t.requires_identity} for t in tools], indent=2))
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Tools", show_lines=False)
    table.add_column("name", style="bold")
    table.add_column("kind")
    table.add_column("needs identity")
    table.add_column("arguments")
    table.add_column("description", overflow="fold")
    for t in tools:
        schema = t.args_model.model_json_schema()
        required = set(schema.get("required", []))
        arguments = ", ".join(f"{n}{'' if n in required else '?'}" for n in schema.get("properties", {}))
        table.add_row(t.name, "[red]write[/red]" if t.is_write else "read", "yes" if t.requires_identity else "no",
                      arguments, t.description)
    Console().print(table)
    return EXIT_OK


def _emit(payload: dict[str, Any]) -> None:
    print(json.dumps(payload, indent=2, default=str))


def _fail(message: str, code: int = EXIT_USAGE, **extra: Any) -> int:
    """A usage problem: one JSON object on stdout (for scripts), the message on stderr (for people)."""
    _emit({"status": "error", "message": message, **extra})
    print(f"error: {message}", file=sys.stderr)
    return code


def call_tool(args: argparse.Namespace) -> int:
    from agent.cli import store_location
    from tools.backend import open_backend
    from tools.context import ToolContext
    from tools.errors import SupportAgentError
    from tools.policy import load_policy
    from tools.registry import TOOLS, get_tool, run_tool, validate_args
    from tools.results import ToolResult

    tool = get_tool(args.name)
    if tool is None:
        return _fail(f"unknown tool {args.name!r}; known tools: {', '.join(sorted(TOOLS))}")
    try:
        raw = json.loads(args.args) if args.args.strip() else {}
    except json.JSONDecodeError as exc:
        return _fail(f"--args is not valid JSON ({exc.msg} at position {exc.pos})", tool=tool.name)
    if not isinstance(raw, dict):
        return _fail("--args must be a JSON object, e.g. '{\"order_id\": \"W1001\"}'", tool=tool.name)
    checked = validate_args(tool, raw)
    if isinstance(checked, ToolResult):
        return _fail(checked.message, tool=tool.name)
    try:
        policy = load_policy(args.policy)
        where = store_location(args.store)
        store = open_backend(where, create=False)
    except SupportAgentError as exc:
        return _fail(str(exc), tool=tool.name)
    try:
        customer_id = None
        if args.customer:
            customer = store.customer_by_email(args.customer)
            if customer is None:
                return _fail(f"no customer with the email {args.customer!r} in {where.display()}", tool=tool.name)
            customer_id = customer.id
        ctx = ToolContext(store=store, policy=policy, customer_id=customer_id)
        result = run_tool(ctx, tool.name, raw, execute=args.yes)
    except SupportAgentError as exc:
        return _fail(str(exc), code=EXIT_TOOL_ERROR, tool=tool.name)
    finally:
        store.close()
    _emit({"tool": tool.name, **result.compact()})
    return EXIT_TOOL_ERROR if result.status == "error" else EXIT_OK
