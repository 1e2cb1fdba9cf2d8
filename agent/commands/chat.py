"""`support-agent chat`: the terminal REPL."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from agent.commands.store_arg import add_store_argument, open_store


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None,
                        help="local (default, embedded 1.5B), local-small (0.5B), openai:NAME, openai-schema:NAME "
                             "(env SUPPORT_AGENT_MODEL)")
    add_store_argument(parser)
    parser.add_argument("--agent-db", default=None, metavar="PATH_OR_URL",
                        help="where the agent's own records go: a SQLite path or postgresql:// URL (env "
                             "SUPPORT_AGENT_AGENT_DB); default: the store's own database")
    parser.add_argument("--policy", default=None, help="policy document (default: the shipped one)")
    parser.add_argument("--reply", default="composed", choices=["composed", "model"],
                        help="composed (default): replies written by code from the tool results; model: the "
                             "model rewrites them, shown only when every fact survives (large models)")
    parser.add_argument("--show-tools", action="store_true", help="show tool calls and results (dimmed)")
    parser.add_argument("--lang", default=None, metavar="LANG",
                        help="the conversation's language: en, zh, es (shipped), or any other (translated by "
                             "the model); the customer's messages may change it")
    parser.add_argument("--customer", default=None, metavar="EMAIL",
                        help="operator mode: start already verified as this customer")


def run(args: argparse.Namespace) -> int:
    from agent.models import ModelError, load_model
    from agent.repl import Repl, warm_in_background
    from agent.support_agent import SupportAgent
    from tools.errors import SupportAgentError

    err = Console(stderr=True)
    try:
        store = open_store(args.store, err)
        model = load_model(args.model)
        from agent.records import records_target

        agent = SupportAgent(store, policy=args.policy, model=model, reply=args.reply,
                             records=records_target(args.agent_db))
        repl = Repl(agent, show_tools=args.show_tools, lang=args.lang)
        if args.customer:
            repl.session.bind_customer(args.customer)
        if hasattr(model, "load"):
            model.load()  # assemble/verify the weights (progress bar) and load them, in the foreground
        if hasattr(model, "warm"):
            if repl.interactive:
                warm_in_background(agent)
            else:
                agent.warm()
    except (SupportAgentError, ModelError, KeyError, ValueError) as exc:
        err.print(f"[red]error:[/] {exc}")
        return 1
    return repl.run(sys.stdin)
