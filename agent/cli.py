"""`support-agent`: one entry point; each subcommand lives in agent/commands/<name>.py with
`add_arguments(parser)` and `run(args) -> int`."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from tools.backend.url import StoreURL, parse_store_url

COMMANDS = {
    "init": ("init", "create the demo store"),
    "chat": ("chat", "chat with the agent in the terminal"),
    "tools": ("tools_cmd", "list tools, or call one directly (JSON out, no model)"),
    "eval": ("eval_cmd", "run evaluation scenarios"),
    "export-scenario": ("export_scenario", "turn a recorded conversation into an evaluation scenario"),
    "serve": ("serve", "run the HTTP server and the chat widget"),
    "model-server": ("model_server", "serve the embedded model over the OpenAI-compatible HTTP API"),
}


def default_db_path() -> Path:
    """`--db`, else $SUPPORT_AGENT_DB, else ./support_agent.db."""
    return Path(os.environ.get("SUPPORT_AGENT_DB", "support_agent.db"))


def store_location(value: str | Path | None) -> StoreURL:
    """`--store` (a SQLite path or a postgresql:// URL), else $SUPPORT_AGENT_STORE, else the default
    SQLite file. A StoreError with one clear line when it is not a store location."""
    return parse_store_url(value, default=default_db_path())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="support-agent", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        try:
            mod = importlib.import_module(f"agent.commands.{module}")
        except ImportError as exc:  # an optional part is missing: the other commands still work
            p.set_defaults(_run=lambda args, exc=exc: _unavailable(args.command, exc))
            continue
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def _unavailable(command: str, exc: ImportError) -> int:
    print(f"support-agent {command} is not available: {exc}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
