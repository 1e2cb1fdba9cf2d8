"""`support-agent export-scenario CONVERSATION_ID`: turn a recorded conversation into an evaluation
scenario (customer turns, each message's recorded understanding as its `understand:`, starter
expectations), checked by replaying it; `--list` shows the recent conversations and their ids.

Exit codes:
  0  exported, and the eval runner replays the scenario with every check passing (or --list).
  1  exported, but the replay check failed (the file says why in its header: edit the scenario).
  2  nothing exported: no store, no such conversation, a bad scenario id, --out exists.

(A separate command rather than `eval export`: `eval` takes any number of scenario paths.)
"""

from __future__ import annotations

import argparse
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = __doc__.split("\n\n", 1)[1]
    parser.add_argument("conversation", nargs="?", metavar="CONVERSATION_ID",
                        help="the conversation to export (an id from --list, or a unique prefix of one)")
    parser.add_argument("--store", "--db", dest="store", default=None, metavar="PATH_OR_URL",
                        help="the store the conversation is in, with the agent's records: a SQLite file or a "
                             "postgresql:// URL (default: $SUPPORT_AGENT_STORE, else $SUPPORT_AGENT_DB, else "
                             "./support_agent.db)")
    parser.add_argument("--out", type=Path, default=None, metavar="FILE",
                        help="write the scenario file here (default: print it)")
    parser.add_argument("--append", action="store_true",
                        help="add the scenario to the existing scenario file --out (e.g. evals/scenarios/regressions.yaml)")
    parser.add_argument("--force", action="store_true", help="replace an existing --out file")
    parser.add_argument("--id", dest="scenario_id", default=None, metavar="ID",
                        help="the scenario id (default: conv-<conversation id>)")
    parser.add_argument("--list", action="store_true", help="list the recent conversations instead")
    parser.add_argument("--limit", type=int, default=20, metavar="N", help="conversations --list shows (default 20)")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape

    from tools.errors import StoreError

    err = Console(stderr=True)
    if not args.list and not args.conversation:
        err.print("[red]error:[/] give a CONVERSATION_ID (see --list)")
        return EXIT_USAGE
    if args.append and args.force:
        err.print("[red]error:[/] --append or --force, not both")
        return EXIT_USAGE
    if (args.append or args.force) and not args.out:
        err.print("[red]error:[/] --append and --force need --out FILE")
        return EXIT_USAGE
    try:
        store = _open(args.store)
    except StoreError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        return EXIT_USAGE
    try:
        if args.list:
            return _list(store, args.limit)
        return _export(store, args, err)
    finally:
        store.close()


def _open(value: str | None):
    """The store the conversation is in: a SQLite file (never created here) or a PostgreSQL database."""
    from agent.cli import store_location
    from tools.backend import open_backend
    from tools.store import Store

    where = store_location(value)
    return Store(where.path, create=False) if where.kind == "sqlite" else open_backend(where)


def _list(store, limit: int) -> int:
    from rich.console import Console
    from rich.table import Table

    from evals.recorded import list_conversations, location

    out = Console()
    if not out.is_terminal:  # piped: wide enough for the table
        out = Console(width=160)
    conversations = list_conversations(store, limit)
    if not conversations:
        Console(stderr=True).print(f"No conversations in {location(store)} yet: chat with the agent first "
                                   f"(support-agent chat --store {location(store)}).", highlight=False)
        return EXIT_OK
    table = Table(title=f"Recent conversations in {location(store)}")
    for col in ("id", "customer", "started", "turns", "first message"):
        table.add_column(col, no_wrap=col != "first message", min_width=24 if col == "first message" else None)
    for c in conversations:
        first = " ".join(c.first_message.split())
        table.add_row(c.id, c.customer or "-", c.started_at, str(c.turns), first[:80] + ("…" if len(first) > 80 else ""))
    out.print(table)
    return EXIT_OK


def _export(store, args: argparse.Namespace, err) -> int:
    import yaml
    from rich.markup import escape

    from evals.export import export_conversation
    from evals.recorded import ExportError
    from evals.scenario import ScenarioError, load_file

    out_path: Path | None = args.out
    if out_path and out_path.exists() and not (args.append or args.force):
        err.print(f"[red]error:[/] {escape(str(out_path))} exists: use --append to add the scenario to it, "
                  f"or --force to replace it")
        return EXIT_USAGE
    try:
        result = export_conversation(store, args.conversation, scenario_id=args.scenario_id)
    except ExportError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        return EXIT_USAGE
    text = result.yaml
    if out_path and args.append and out_path.exists():
        try:
            taken = {s.id for s in load_file(out_path)}
        except ScenarioError as exc:
            err.print(f"[red]error:[/] cannot append: {escape(str(exc))}")
            return EXIT_USAGE
        if result.scenario_id in taken:
            err.print(f"[red]error:[/] {escape(str(out_path))} already has a scenario {result.scenario_id!r} "
                      f"(choose another with --id)")
            return EXIT_USAGE
        existing = out_path.read_text(encoding="utf-8")
        text = existing + ("" if existing.endswith("\n") else "\n") + "\n" + text
        combined = yaml.safe_load(text)
        if not isinstance(combined, list) or len(combined) != len(taken) + 1:  # `scenarios: [...]` form
            err.print(f"[red]error:[/] cannot append to {escape(str(out_path))}: it is not a plain list of "
                      f"scenarios")
            return EXIT_USAGE
    if out_path:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(text, encoding="utf-8")
        err.print(f"Scenario {result.scenario_id!r} written to {escape(str(out_path))}", highlight=False)
    else:
        print(text, end="")
    for note in result.notes:
        err.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
    if result.passed:
        err.print("[green]Replay check passed[/]: the eval runner replays it with every check passing. "
                  "Now edit the expectations to what the agent should have done.", highlight=False)
        return EXIT_OK
    err.print("[red]Replay check failed[/] (fix the scenario by hand, then run `support-agent eval FILE`):",
              highlight=False)
    for f in (result.check.failures + result.check.violations) if result.check else []:
        err.print(f"  [red]✗[/] {escape(f.check)}: {escape(f.message)}", highlight=False)
    return EXIT_FAILED
