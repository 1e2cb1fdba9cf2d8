"""`support-agent serve`: the HTTP API, the chat widget and a demo shop page, served by uvicorn."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--db", default=None, help="store database (env SUPPORT_AGENT_DB); created with the "
                                                   "demo data if missing")
    parser.add_argument("--model", default=None,
                        help="local (default, embedded 1.5B), local-small (0.5B), openai:NAME, openai-schema:NAME "
                             "(env SUPPORT_AGENT_MODEL)")
    parser.add_argument("--reply", default="composed", choices=["composed", "model"],
                        help="composed (default): replies written by code from the tool results; model: the "
                             "model rewrites them, shown only when every fact survives (large models)")
    parser.add_argument("--policy", default=None, help="policy document (default: the shipped one)")
    parser.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                        help="an origin whose pages may embed the widget, e.g. https://shop.example.com "
                             "(repeatable; '*' allows any)")
    parser.add_argument("--rate-limit", default="20/minute",
                        help="turns per session, e.g. 20/minute or '5/5seconds;20/minute'; 'none' disables")
    parser.add_argument("--max-message-chars", type=int, default=2000, help="longest customer message")
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])


def run(args: argparse.Namespace) -> int:
    import uvicorn
    from rich.console import Console

    from agent.cli import default_db_path
    from agent.models import ModelError, load_model
    from agent.server import create_app
    from agent.support_agent import SupportAgent
    from tools.errors import SupportAgentError

    err = Console(stderr=True)
    db_path = Path(args.db or default_db_path())
    try:
        if not db_path.exists():
            from fixtures import build_demo_store

            err.print(f"[dim]No store at {db_path}: creating the demo store…[/]")
            build_demo_store(db_path).close()
        agent = SupportAgent(db_path, policy=args.policy, model=load_model(args.model), reply=args.reply)
    except (SupportAgentError, ModelError, KeyError, ValueError) as exc:
        err.print(f"[red]error:[/] {exc}")
        return 1
    rate_limit = None if str(args.rate_limit).lower() in ("none", "off", "0") else args.rate_limit
    try:
        app = create_app(agent, allowed_origins=args.allow_origin, rate_limit=rate_limit,
                         max_message_chars=args.max_message_chars)
    except ValueError as exc:  # e.g. a rate limit the `limits` notation cannot parse
        err.print(f"[red]error:[/] {exc}")
        return 2
    _log_to_stderr(args.log_level)
    warm_in_background(agent, app)
    base = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else args.host}:{args.port}"
    err.print(f"[bold]Support agent[/] on {base}/  (model {agent.describe()['model']}, store {db_path})")
    err.print(f"[dim]Embed on a page: <script src=\"{base}/widget.js\" data-server=\"{base}\" defer></script>[/]",
              soft_wrap=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, proxy_headers=True,
                timeout_graceful_shutdown=5)
    return 0


def _log_to_stderr(level: str) -> None:
    """The server's own messages (model warm-up, failed turns) next to uvicorn's, in its format."""
    log = logging.getLogger("agent")
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        log.addHandler(handler)
        log.setLevel(level.upper())


def warm_in_background(agent, app) -> threading.Thread | None:
    """Load and prefill the model while the server starts answering; /health shows the state."""
    log = logging.getLogger("agent.server")
    if getattr(agent.model, "warm", None) is None:
        app.state.model_state = "ready"
        return None
    app.state.model_state = "warming"

    def work() -> None:
        started = time.perf_counter()
        try:
            agent.warm()
        except Exception as exc:  # the first turn loads the model itself (and reports a failure calmly)
            app.state.model_state = "failed"
            log.warning("warming the model failed: %s", exc)
            return
        app.state.model_state = "ready"
        log.info("model warm in %.1f s", time.perf_counter() - started)

    thread = threading.Thread(target=work, name="model-warm", daemon=True)
    thread.start()
    return thread


if __name__ == "__main__":  # pragma: no cover
    from agent.cli import main

    sys.exit(main(["serve", *sys.argv[1:]]))
