"""Load benchmark of the web server: N concurrent sessions against uvicorn on 127.0.0.1, each a full short
conversation through the HTTP + SSE API, with the scripted model. Re-runnable; prints a summary and
(--json) writes the figures.

    .venv/bin/python bench/bench_server.py [--sessions 200] [--phases paced,burst] [--think 8] [--json out.json]
        [--setups 1/sqlite,2/postgresql]

Each session is one demo-store customer with a cancellable order: create the session, verify (email +
zip), ask about another of their orders (get_order), ask to cancel the cancellable one (a pending
action), confirm it through the API. All sessions start at once. Two phases, each on a fresh store and server:
`paced`: before each turn a customer pauses a random 0..--think seconds (typing; default 8 s, so 200
sessions offer ~50 turns/s); `burst`: no pauses, every session sends its next turn the moment the
last one ends (200 turns in flight at all times: a capacity test, where a turn's time is mostly
queueing behind the other 199).

A setup is WORKERS/STORE: `1/sqlite` (one uvicorn process on a SQLite demo store, the default),
`2/postgresql` (two uvicorn worker processes sharing a PostgreSQL demo store, in which the agent's
records, session claims and rate-limit rows live too). `postgresql` starts a throwaway server
(bench/throwaway_pg.py); `2/postgresql://...` uses yours (a new database is made on it). With several
setups, the figures of each are given as a ratio to the first's.

The server runs in its own process (`--serve`, started by this script) so the client's work is not
counted against it. Its model is a FunctionModel whose understanding step is a stateless function of
the customer's message (agent/models/scripted_steps.py: 200 sessions and N workers share no script
position), wrapped to time every model call per turn (each worker's times are collected at the end).
Server overhead of a turn = the turn's time at the client (request sent -> last SSE event read) minus
the time the server spent inside the model for that turn (~0 here). Errors: any non-2xx answer, any
`error` event, a turn without its expected outcome, and a final database state that does not match.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# ---- the server side (a separate process) ----------------------------------------------------------

def timed_model():
    """The scripted model (agent/models/scripted_steps.py: the understanding of the customer's message
    alone, no script position), timed per turn: keyed by the turn's customer message."""
    from agent.models.scripted import FunctionModel
    from agent.models.scripted_steps import customer_text, shop_customer

    class TimedModel(FunctionModel):
        def __init__(self):
            super().__init__(shop_customer)
            self.lock = threading.Lock()
            self.by_turn: dict[str, float] = defaultdict(float)

        def structured(self, messages, schema, *, max_tokens=None):
            started = time.perf_counter()
            reply = super().structured(messages, schema)
            with self.lock:
                self.by_turn[customer_text(messages)] += time.perf_counter() - started
            return reply

    return TimedModel()


def bench_app(store: str):
    """One worker's app: the agent on `store` (its records in the same database), no rate limits,
    and /bench/model-times (this worker's model time per turn)."""
    from agent.server import create_app
    from agent.support_agent import SupportAgent

    model = timed_model()
    app = create_app(SupportAgent(store, model=model), rate_limit=None, session_rate_limit=None)

    @app.get("/bench/model-times")
    def model_times():
        with model.lock:
            return dict(model.by_turn)

    return app


def worker_app():
    """uvicorn's factory in each worker process (--workers > 1)."""
    return bench_app(os.environ["BENCH_SERVER_STORE"])


def serve(store: str, port: int, workers: int) -> None:
    import uvicorn

    options = {"host": "127.0.0.1", "port": port, "log_level": "warning", "backlog": 2048}
    if workers <= 1:
        uvicorn.run(bench_app(store), **options)
        return
    os.environ["BENCH_SERVER_STORE"] = store
    uvicorn.run("bench_server:worker_app", factory=True, workers=workers, **options)


# ---- the client side -----------------------------------------------------------------------------------

def pick_customers(db: str, n: int) -> list[dict]:
    """n customers, each with a cancellable order (the tool's dry run agrees) and another order."""
    from tools.backend import open_backend
    from tools.context import ToolContext
    from tools.policy import load_policy
    from tools.registry import run_tool

    store, policy = open_backend(db), load_policy()
    picked = []
    for c in store.all("SELECT id, email, zip FROM customers ORDER BY id"):
        orders = store.all("SELECT id, status FROM orders WHERE customer_id = ? ORDER BY placed_at DESC", (c["id"],))
        ctx = ToolContext(store, policy, customer_id=c["id"])
        cancel = next((o["id"] for o in orders if o["status"] in policy.cancellation.allowed_statuses and
                       run_tool(ctx, "cancel_order", {"order_id": o["id"], "reason": "ordered by mistake"})
                       .status == "needs_confirmation"), None)
        other = next((o["id"] for o in orders if o["id"] != cancel), None)
        if cancel and other:
            picked.append({"email": c["email"], "zip": c["zip"], "cancel": cancel, "ask": other})
        if len(picked) == n:
            break
    store.close()
    if len(picked) < n:
        raise SystemExit(f"only {len(picked)} customers fit; raise --customers")
    return picked


def parse_sse(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.split("\n\n"):
        kind, data = None, None
        for line in block.splitlines():
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:"):
                data = json.loads(line[5:].strip())
        if kind and data is not None:
            events.append((kind, data))
    return events


class Connection:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams, one per simulated customer: enough for
    this API (JSON with Content-Length, SSE with chunked encoding) and light enough that the client
    process does not become what is measured (httpx spends ~15 ms of CPU per streamed request
    with 200 open connections)."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def request(self, method: str, path: str, body: dict | None = None,
                      headers: dict | None = None) -> tuple[int, bytes]:
        reused = self.writer is not None and not self.reader.at_eof()
        if not reused:
            await self.close()
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        payload = json.dumps(body).encode() if body is not None else b""
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(payload)}"]
        if body is not None:
            head.append("Content-Type: application/json")
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        try:
            self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
            await self.writer.drain()
            status_line = await self.reader.readline()
        except (ConnectionResetError, BrokenPipeError):
            if not reused:
                raise
            status_line = b""  # closed (reset) before any answer: as an orderly close
        if not status_line and reused:  # the server closed the idle keep-alive connection: once more
            await self.close()
            return await self.request(method, path, body, headers)
        status = int(status_line.split()[1])
        length, chunked, close = None, False, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                close = True
        if chunked:
            parts = []
            while (size := int((await self.reader.readline()).split(b";")[0], 16)):
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            await self.reader.readline()
            data = b"".join(parts)
        elif length is not None:
            data = await self.reader.readexactly(length)
        else:
            data, close = await self.reader.read(), True
        if close:
            await self.close()
        return status, data

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


async def conversation(host: str, port: int, who: dict, think: float, turns: list, errors: list) -> None:
    conn = Connection(host, port)

    async def pause():
        if think:
            await asyncio.sleep(random.uniform(0, think))

    async def turn(kind: str, path: str, headers: dict, body: dict, key: str) -> list[tuple[str, dict]]:
        await pause()
        started = time.perf_counter()
        status, raw = await conn.request("POST", path, body, {**headers, "Accept": "text/event-stream"})
        elapsed = time.perf_counter() - started
        text = raw.decode()
        if status != 200:
            raise RuntimeError(f"{kind}: HTTP {status} {text[:200]}")
        events = parse_sse(text)
        turns.append({"kind": kind, "seconds": elapsed, "key": key})
        if any(k == "error" for k, _ in events):
            raise RuntimeError(f"{kind}: error event {events}")
        if not events or events[-1][0] != "turn_done":
            raise RuntimeError(f"{kind}: no turn_done in {events}")
        return events

    try:
        await pause()
        status, raw = await conn.request("POST", "/api/sessions", {})
        if status != 201:
            raise RuntimeError(f"create: HTTP {status}")
        created = json.loads(raw)
        sid, h = created["session_id"], {"Authorization": f"Bearer {created['token']}"}
        path = f"/api/sessions/{sid}/messages"
        hello = f"Hi, I'm {who['email']}, zip {who['zip']}."
        events = await turn("verify", path, h, {"text": hello}, hello)
        if not any(k == "tool_result" and d["status"] == "ok" for k, d in events):
            raise RuntimeError(f"verify failed: {events}")
        ask = f"What's the status of order {who['ask']}?"
        await turn("ask", path, h, {"text": ask}, ask)
        cancel = f"Please cancel {who['cancel']}, I ordered it by mistake."
        events = await turn("cancel", path, h, {"text": cancel}, cancel)
        action = next((d["action_id"] for k, d in events if k == "confirmation_requested"), None)
        if action is None:
            raise RuntimeError(f"no confirmation requested: {events}")
        events = await turn("confirm", f"/api/sessions/{sid}/actions/{action}/confirm", h, {}, "(confirmed)")
        if not any(k == "action_resolved" and d["status"] == "executed" for k, d in events):
            raise RuntimeError(f"not executed: {events}")
    except Exception as exc:  # counted, and the run goes on
        errors.append(f"{who['email']}: {type(exc).__name__}: {exc}"[:400])
    finally:
        await conn.close()


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q / 100 * len(values) + 0.5) - 1))]


async def run_load(port: int, clients: list[dict], think: float) -> tuple[list, list, float]:
    turns: list[dict] = []
    errors: list[str] = []
    started = time.perf_counter()
    await asyncio.gather(*(conversation("127.0.0.1", port, who, think, turns, errors) for who in clients))
    return turns, errors, time.perf_counter() - started


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children (uvicorn's workers; Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except (OSError, IndexError, ValueError):
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(_cpu_seconds(int(child)) for child in children)


def parse_setup(text: str) -> tuple[int, str]:
    """"2/postgresql" -> (2, "postgresql"); the store: sqlite, postgresql or a postgresql:// URL."""
    workers, _, store = text.strip().partition("/")
    if not workers.isdigit() or not (store in ("sqlite", "postgresql") or store.startswith("postgresql://")):
        raise ValueError(f"a setup is WORKERS/STORE (1/sqlite, 2/postgresql, 2/postgresql://...), not {text!r}")
    return int(workers), store


def fresh_store(kind: str, customers: int, pg_server: str | None) -> str:
    """A new demo store: a SQLite file, or a new database on the PostgreSQL server."""
    from fixtures import build_demo_store

    if kind == "sqlite":
        target = str(Path(tempfile.mkdtemp(prefix="bench_server_")) / "store.db")
    else:
        from throwaway_pg import new_database

        target = new_database(pg_server)
    build_demo_store(target, customers=customers).close()
    return target


def start_server(store: str, workers: int) -> tuple[subprocess.Popen, int]:
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, __file__, "--serve", store, str(port), str(workers)],
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    deadline = time.time() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server, port
        except httpx.HTTPError:
            pass
        if time.time() > deadline or server.poll() is not None:
            server.terminate()
            raise SystemExit("the server did not start")
        time.sleep(0.1)


def model_times(port: int, workers: int) -> dict[str, float]:
    """Every worker's model time per turn: new connections until each worker has answered once."""
    import httpx

    seen: dict[str, dict[str, float]] = {}
    for _ in range(50 * workers):
        r = httpx.get(f"http://127.0.0.1:{port}/bench/model-times", timeout=10)
        seen[r.headers["x-worker"]] = r.json()
        if len(seen) == workers:
            break
    return {k: v for times in seen.values() for k, v in times.items()}


def check_store(store: str, clients: list[dict], errors: list[str]) -> int:
    """The end state: every completed conversation's order cancelled, by exactly one execution."""
    from tools.backend import open_backend

    backend = open_backend(store)
    cancelled = sum(backend.one("SELECT status FROM orders WHERE id = ?", (c["cancel"],))["status"] == "cancelled"
                    for c in clients)
    executes = backend.one("SELECT count(*) AS n FROM audit_log WHERE phase = 'execute'")["n"]
    backend.close()
    completed = len(clients) - len(errors)
    if cancelled != completed or executes != cancelled:
        errors.append(f"database: {cancelled} orders cancelled, {executes} executions, {completed} conversations "
                      f"completed")
    return cancelled


def run_phase(name: str, setup: tuple[int, str], sessions: int, customers: int, think: float,
              pg_server: str | None) -> dict:
    """A fresh demo store and a fresh server; `sessions` conversations at once."""
    workers, kind = setup
    store = fresh_store(kind, customers, pg_server)
    clients = pick_customers(store, sessions)
    server, port = start_server(store, workers)
    try:
        server_cpu0, client_cpu0 = _cpu_seconds(server.pid), time.process_time()
        turns, errors, wall = asyncio.run(run_load(port, clients, think))
        server_cpu, client_cpu = _cpu_seconds(server.pid) - server_cpu0, time.process_time() - client_cpu0
        times = model_times(port, workers)
    finally:
        server.terminate()
        server.wait(20)
    cancelled = check_store(store, clients, errors)
    figures = summarise(turns, times, wall, server_cpu, client_cpu)
    return {"phase": name, "workers": workers, "store": kind if "://" not in kind else "postgresql",
            "sessions": sessions, "think_seconds": think, "turns": len(turns), "errors": len(errors),
            "error_samples": errors[:5], **figures, "orders_cancelled": cancelled}


def summarise(turns: list[dict], times: dict[str, float], wall: float, server_cpu: float,
              client_cpu: float) -> dict:
    latency = [t["seconds"] for t in turns]
    model = [times.get(t["key"], 0.0) if t["kind"] != "confirm" else 0.0 for t in turns]
    overhead = [lat - m for lat, m in zip(latency, model)]
    ms = lambda v: round(v * 1000, 1)  # noqa: E731
    return {
        "wall_seconds": round(wall, 2), "turns_per_second": round(len(turns) / wall, 1),
        "overhead_ms": {"p50": ms(pct(overhead, 50)), "p99": ms(pct(overhead, 99)),
                        "max": ms(max(overhead, default=0))},
        "turn_ms": {"p50": ms(pct(latency, 50)), "p99": ms(pct(latency, 99))},
        "model_ms_per_turn": {"p50": ms(pct(model, 50)), "max": ms(max(model, default=0))},
        "p99_ms_by_turn": {k: ms(pct([t["seconds"] for t in turns if t["kind"] == k], 99))
                           for k in ("verify", "ask", "cancel", "confirm") if any(t["kind"] == k for t in turns)},
        "cpu_ms_per_turn": {"server": ms(server_cpu / max(1, len(turns))),
                            "client": ms(client_cpu / max(1, len(turns)))},
    }


def ratios(reports: list[dict]) -> list[dict]:
    """Each setup's overhead as a ratio to the first setup's, phase by phase."""
    first = {r["phase"]: r for r in reports if (r["workers"], r["store"]) == (reports[0]["workers"], reports[0]["store"])}
    out = []
    for r in reports:
        base = first.get(r["phase"])
        if base is None or r is base:
            continue
        out.append({"phase": r["phase"], "setup": f"{r['workers']}/{r['store']}",
                    "vs": f"{base['workers']}/{base['store']}",
                    **{f"overhead_{q}_ratio": round(r["overhead_ms"][q] / max(base["overhead_ms"][q], 0.1), 2)
                       for q in ("p50", "p99")}})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--customers", type=int, default=400, help="demo store size (must hold --sessions)")
    parser.add_argument("--think", type=float, default=8.0,
                        help="paced phase: each turn waits a random 0..THINK s first (a customer typing)")
    parser.add_argument("--phases", default="paced,burst",
                        help="paced (customers pause before each turn) and/or burst (no pauses: every "
                             "session fires its next turn as soon as the last one ends)")
    parser.add_argument("--setups", default="1/sqlite",
                        help="comma-separated WORKERS/STORE, e.g. 1/sqlite,2/postgresql (the first is the "
                             "base of the ratios)")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--serve", nargs=3, metavar=("STORE", "PORT", "WORKERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), int(args.serve[2]))
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the throwaway PostgreSQL on the way out
    try:
        setups = [parse_setup(s) for s in args.setups.split(",") if s.strip()]
    except ValueError as exc:
        parser.error(str(exc))
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    if any(p not in ("paced", "burst") for p in phases):
        parser.error(f"unknown phase in {args.phases!r}")
    with ExitStack() as stack:
        pg_server = _pg_server(stack, setups)
        reports = []
        for setup in setups:
            for phase in phases:
                think = args.think if phase == "paced" else 0.0
                reports.append(run_phase(phase, setup, args.sessions, args.customers, think, pg_server))
                print(json.dumps(reports[-1], indent=2), flush=True)
    result = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "phases": reports, "ratios": ratios(reports)}
    if result["ratios"]:
        print(json.dumps({"ratios": result["ratios"]}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 1 if any(r["errors"] for r in reports) else 0


def _pg_server(stack: ExitStack, setups: list[tuple[int, str]]) -> str | None:
    """The PostgreSQL server the setups name: a URL given (its server part), else a throwaway one."""
    urls = [store for _, store in setups if store.startswith("postgresql://")]
    if urls:
        return urls[0].rsplit("/", 1)[0]
    if any(store == "postgresql" for _, store in setups):
        from throwaway_pg import throwaway_postgres

        return stack.enter_context(throwaway_postgres())
    return None


if __name__ == "__main__":
    sys.exit(main())
