"""`support-agent model-server`: the embedded model served over the OpenAI-compatible HTTP API
(llama.cpp's server inside xllamacpp), so several `serve` workers share one loaded model:

    support-agent model-server --port 8080
    OPENAI_BASE_URL=http://127.0.0.1:8080/v1 OPENAI_API_KEY=unused \
        support-agent serve --workers 2 --model openai-schema:qwen2.5-coder-1.5b
"""

from __future__ import annotations

import argparse
import threading


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    parser.add_argument("--small", action="store_true", help="the 0.5B model instead of the 1.5B")
    parser.add_argument("--parallel", type=int, default=1,
                        help="requests served at once, each in its own slot with its own prompt cache "
                             "(default 1: on a 2-core CPU concurrent requests only share the cores)")
    parser.add_argument("--n-ctx", type=int, default=4096, help="context tokens per slot (default 4096)")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from agent.models import ModelError
    from agent.models.embedded import LocalServer, resolve_model_path

    err = Console(stderr=True)
    try:
        path = resolve_model_path(small=args.small, show_progress=True)
        server = LocalServer(path, n_ctx=args.n_ctx, host=args.host, port=args.port, n_parallel=args.parallel)
    except ModelError as exc:
        err.print(f"[red]error:[/] {exc}")
        return 1
    err.print(f"[bold]Model server[/] {path.name} on {server.base_url}/v1 (loaded in {server.load_seconds:.1f} s)")
    err.print(f"[dim]Workers: OPENAI_BASE_URL={server.base_url}/v1 OPENAI_API_KEY=unused "
              f"support-agent serve --workers 2 --model openai-schema:{path.stem}[/]", soft_wrap=True)
    try:
        threading.Event().wait()  # llama.cpp serves from its own threads until Ctrl-C
    except KeyboardInterrupt:
        return 0
    return 0
