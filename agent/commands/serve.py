"""`support-agent serve`: the HTTP API, the chat widget and a demo shop page, served by uvicorn.

With `--workers N`, uvicorn runs N processes, each building the agent from the same arguments
(passed in $SUPPORT_AGENT_SERVE_ARGS); they share nothing but the databases (the store, and the
agent's records: sessions, claims, rate limits) and the model endpoint (see `model-server`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time

from agent.commands.store_arg import add_store_argument, open_store


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    add_store_argument(parser)
    parser.add_argument("--agent-db", default=None, metavar="PATH_OR_URL",
                        help="where the agent's own records go (conversations, pending actions, audit log, "
                             "claims, rate limits): a SQLite path or postgresql:// URL (env "
                             "SUPPORT_AGENT_AGENT_DB); default: the store's own database")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1); give them a "
                        "shared model endpoint (model-server, vLLM, a hosted API), not --model local")
    parser.add_argument("--trusted-proxies", default=os.environ.get("SUPPORT_AGENT_TRUSTED_PROXIES", ""),
                        metavar="ADDRS", help="comma-separated addresses or CIDRs of reverse proxies whose "
                        "X-Forwarded-For is believed (env SUPPORT_AGENT_TRUSTED_PROXIES); default none")
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
    parser.add_argument("--session-rate-limit", default="30/minute",
                        help="new conversations per client address, e.g. 30/minute; 'none' disables")
    parser.add_argument("--claim-seconds", type=float, default=120, metavar="S",
                        help="a turn's claim on its session lasts S seconds past its last renewal (default "
                             "120): after a worker dies mid-turn, another worker may take the session then")
    parser.add_argument("--max-message-chars", type=int, default=2000, help="longest customer message")
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])


def run(args: argparse.Namespace) -> int:
    import uvicorn
    from rich.console import Console

    err = Console(stderr=True)
    built = _build(args, err)
    if isinstance(built, int):
        return built
    agent, app = built
    _log_to_stderr(args.log_level)
    base = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else args.host}:{args.port}"
    err.print(f"[bold]Support agent[/] on {base}/  (model {agent.describe()['model']}, store {agent.describe()['store']}, "
              f"records {agent.describe()['records']}, {args.workers} worker(s))")
    err.print(f"[dim]Embed on a page: <script src=\"{base}/widget.js\" data-server=\"{base}\" defer></script>[/]",
              soft_wrap=True)
    options = {"host": args.host, "port": args.port, "log_level": args.log_level, "proxy_headers": False,
               "timeout_graceful_shutdown": 5}
    if args.workers <= 1:
        warm_in_background(agent, app)
        uvicorn.run(app, **options)
        return 0
    if getattr(agent.model, "warm", None) is not None:
        err.print("[yellow]Each worker loads its own copy of the embedded model; to share one, run "
                  "`support-agent model-server` and serve with --model openai-schema:NAME (see README).[/]")
    agent.records.db.close()  # the workers open their own
    os.environ[ARGS_ENV] = json.dumps({k: v for k, v in vars(args).items() if not k.startswith("_")})
    uvicorn.run("agent.commands.serve:worker_app", factory=True, workers=args.workers, **options)
    return 0


ARGS_ENV = "SUPPORT_AGENT_SERVE_ARGS"


def worker_app():
    """One worker's app (uvicorn's factory, in each worker process), from the parent's arguments."""
    from rich.console import Console

    args = argparse.Namespace(**json.loads(os.environ[ARGS_ENV]))
    built = _build(args, Console(stderr=True))
    if isinstance(built, int):
        raise SystemExit(built)
    agent, app = built
    _log_to_stderr(args.log_level)
    warm_in_background(agent, app)
    return app


def _build(args: argparse.Namespace, err):
    """The agent and its app from the arguments, or an exit code after a clear message."""
    from agent.models import ModelError, load_model
    from agent.records import records_target
    from agent.server import create_app
    from agent.support_agent import SupportAgent
    from tools.errors import SupportAgentError

    try:
        agent = SupportAgent(open_store(args.store, err), policy=args.policy, model=load_model(args.model), reply=args.reply,
                             records=records_target(args.agent_db))
    except (SupportAgentError, ModelError, KeyError, ValueError) as exc:
        err.print(f"[red]error:[/] {exc}")
        return 1
    proxies = [p.strip() for p in (args.trusted_proxies or "").split(",") if p.strip()]
    try:
        return agent, create_app(agent, allowed_origins=args.allow_origin, rate_limit=_limit(args.rate_limit),
                                 session_rate_limit=_limit(args.session_rate_limit),
                                 claim_seconds=args.claim_seconds,
                                 max_message_chars=args.max_message_chars, trusted_proxies=proxies)
    except ValueError as exc:  # e.g. a rate limit the `limits` notation cannot parse
        err.print(f"[red]error:[/] {exc}")
        return 2


def _limit(value: str | None) -> str | None:
    """A rate limit in `limits` notation, or None when it is switched off."""
    return None if str(value).lower() in ("none", "off", "0") else value


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
