"""Benchmarks of the dialogue runtime (issue: step 2). Re-runnable; prints medians and p99.

  .venv/bin/python bench/bench_runtime.py overhead   # (a) runtime overhead per turn, scripted model, 100k store
  .venv/bin/python bench/bench_runtime.py model      # (b) embedded model: per step, per turn, chat start
  .venv/bin/python bench/bench_runtime.py tokens     # (c) tokens in system prompt + tool schemas (no model load)
  .venv/bin/python bench/bench_runtime.py all

The machine is shared and noisy: quote medians and ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

console = Console()
NOW = datetime(2026, 11, 23, 18, 0, tzinfo=timezone.utc)
BENCH_DIR = Path(tempfile.gettempdir()) / "support-agent-bench"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def store_100k() -> Path:
    from fixtures import build_demo_store

    BENCH_DIR.mkdir(exist_ok=True)
    path = BENCH_DIR / "runtime-100k.db"
    if not path.exists():
        console.print("building the 100k-order store…")
        build_demo_store(path, seed=7, now=NOW, customers=16_700).close()
    return path


def overhead(turns: int = 300) -> dict:
    """Time a turn takes outside the model: gates, tools, persistence, guard (scripted model)."""
    from agent.models.scripted import ScriptedModel
    from agent.support_agent import SupportAgent

    work = BENCH_DIR / "runtime-overhead.db"
    shutil.copy(store_100k(), work)
    for suffix in ("-wal", "-shm"):
        Path(str(work) + suffix).unlink(missing_ok=True)

    def script(messages, allowed, reply_only):
        last = next(m["content"] for m in reversed(messages) if m["role"] == "user")
        if reply_only or messages[-1]["role"] == "tool":
            return "Order W1003 is on its way with UPS."
        if "94107" in last:
            return {"tool": "verify_customer", "arguments": {"email": "jane.doe@example.com", "zip_code": "94107"}}
        if "where" in last:
            return {"tool": "track_shipment", "arguments": {"order_id": "W1003"}}
        if "cancel" in last:
            return {"tool": "cancel_order", "arguments": {"order_id": "W1001", "reason": "wrong size"}}
        return "Happy to help."

    model = ScriptedModel([script] * (turns * 4))
    agent = SupportAgent(work, model=model, clock=lambda: NOW)
    timings: dict[str, list[float]] = {"verify": [], "track (read + reply)": [], "cancel preview": [], "decline": []}
    for _ in range(turns // 4):
        session = agent.session()
        for label, text in (("verify", "I'm jane.doe@example.com, 94107"), ("track (read + reply)", "where is W1003?"),
                            ("cancel preview", "cancel W1001, wrong size"), ("decline", "no")):
            t0 = time.perf_counter()
            session.send(text)
            timings[label].append((time.perf_counter() - t0) * 1000)
    all_turns = [v for values in timings.values() for v in values]
    table = Table(title=f"(a) runtime overhead per turn, scripted model, 100k-order store ({len(all_turns)} turns)")
    for col in ("turn", "n", "p50 ms", "p99 ms"):
        table.add_column(col, justify="right" if col != "turn" else "left")
    for label, values in timings.items():
        table.add_row(label, str(len(values)), f"{statistics.median(values):.2f}", f"{pct(values, 0.99):.2f}")
    table.add_row("all", str(len(all_turns)), f"{statistics.median(all_turns):.2f}", f"{pct(all_turns, 0.99):.2f}")
    console.print(table)
    return {"p50_ms": statistics.median(all_turns), "p99_ms": pct(all_turns, 0.99)}


def tokens() -> dict:
    """Tokens of the system prompt in each mode, and of the tool schemas a `tools`-mode endpoint also
    gets with every request. Counted with the embedded model's own tokenizer read from its GGUF
    (tests/qwen_tokens.py, the same counts as llama.cpp's /tokenize); the model is not loaded."""
    from agent.models import load_model
    from agent.models.action_schema import step_schema
    from agent.models.openai_compat import OpenAIModel, function_tools
    from agent.prompt import state_block, system_prompt
    from agent.support_agent import SupportAgent
    from tests.qwen_tokens import count_tokens
    from tools.store import Store

    BENCH_DIR.mkdir(exist_ok=True)
    store = Store(BENCH_DIR / "tokens.db")
    state = state_block(customer_name=None, locked=False, pending_summary=None)
    local = SupportAgent(store, model=load_model("local"), clock=lambda: NOW)  # lazy: nothing loaded
    tools_mode = SupportAgent(store, model=OpenAIModel("bench", mode="tools", api_key="unused"), clock=lambda: NOW)
    counts = {
        "schema mode (local): system prompt": count_tokens(system_prompt(local.prefix, state)),
        "schema mode (local): action schema (grammar, not in prompt)":
            count_tokens(json.dumps(step_schema(local.tool_specs, None, max_actions=3))),
        "tools mode (openai:NAME): system prompt": count_tokens(system_prompt(tools_mode.prefix, state)),
        "tools mode (openai:NAME): tool schemas, all tools": count_tokens(json.dumps(function_tools(tools_mode.tool_specs))),
    }
    counts["tools mode (openai:NAME): prompt + tool schemas"] = (counts["tools mode (openai:NAME): system prompt"]
                                                                + counts["tools mode (openai:NAME): tool schemas, all tools"])
    table = Table(title="(c) prompt size, Qwen2.5 tokenizer")
    table.add_column("what")
    table.add_column("tokens", justify="right")
    for k, v in counts.items():
        table.add_row(k, str(v))
    console.print(table)
    return counts


def model_times(runs: int = 3) -> dict:
    """Per model step and per customer turn with the embedded model, and chat start to first reply."""
    from agent.models import load_model
    from agent.support_agent import SupportAgent
    from fixtures import build_demo_store

    BENCH_DIR.mkdir(exist_ok=True)
    db = BENCH_DIR / "model.db"
    if db.exists():
        db.unlink()
    build_demo_store(db, seed=7, now=NOW).close()
    model = load_model("local")
    agent = SupportAgent(db, model=model, clock=lambda: NOW)
    t0 = time.perf_counter()
    model.load()
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    agent.warm()
    warm_s = time.perf_counter() - t0
    turn_times: list[float] = []
    conversation = ["Hi, I'm jane.doe@example.com, zip 94107.", "where is my order W1003?",
                    "Please cancel W1001, I ordered the wrong size.", "no", "Can I still return W1004?",
                    "What payment methods do you accept?"]
    for _ in range(runs):
        session = agent.session()
        for text in conversation:
            t0 = time.perf_counter()
            session.send(text)
            turn_times.append(time.perf_counter() - t0)
    steps = agent.stats.steps
    # chat start to first reply, in a fresh process: the very first run (no saved prefix) and after
    first = _chat_start(db, clear_slots=True)
    again = _chat_start(db, clear_slots=False)
    table = Table(title=f"(b) embedded 1.5B model, {runs} x {len(conversation)}-turn conversations")
    table.add_column("what")
    table.add_column("median s", justify="right")
    table.add_column("p90 / max s", justify="right")
    table.add_row("model load (in process)", f"{load_s:.1f}", "")
    table.add_row("prefix warm (restore or prefill)", f"{warm_s:.1f}", "")
    table.add_row(f"model step (n={len(steps)})", f"{statistics.median(steps):.2f}",
                  f"{pct(steps, 0.9):.2f} / {max(steps):.2f}")
    table.add_row(f"customer turn (n={len(turn_times)})", f"{statistics.median(turn_times):.2f}",
                  f"{pct(turn_times, 0.9):.2f} / {max(turn_times):.2f}")
    table.add_row("chat start -> first reply, first run", f"{first:.1f}", "")
    table.add_row("chat start -> first reply, prefix saved", f"{again:.1f}", "")
    console.print(table)
    return {"step_p50": statistics.median(steps), "turn_p50": statistics.median(turn_times),
            "first_reply_first_run": first, "first_reply_saved": again}


def _chat_start(db: Path, *, clear_slots: bool) -> float:
    """Seconds from launching `support-agent chat` to its first reply (piped input, fresh process)."""
    from agent.models.embedded import cache_dir

    if clear_slots:
        for f in cache_dir().glob("slots/*"):
            f.unlink()
    work = BENCH_DIR / "chat-start.db"
    shutil.copy(db, work)
    exe = Path(sys.executable).with_name("support-agent")
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(exe), "chat", "--db", str(work)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env={**os.environ, "COLUMNS": "200"})
    assert proc.stdin and proc.stdout
    proc.stdin.write("hello\n")
    proc.stdin.flush()
    elapsed = float("nan")
    for line in proc.stdout:
        if line.startswith("agent"):
            elapsed = time.perf_counter() - t0
            break
    proc.stdin.close()
    proc.wait(timeout=120)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["overhead", "model", "tokens", "all"], nargs="?", default="all")
    args = parser.parse_args()
    results = {}
    if args.what in ("overhead", "all"):
        results["overhead"] = overhead()
    if args.what in ("tokens", "all"):
        results["tokens"] = tokens()
    if args.what in ("model", "all"):
        results["model"] = model_times()
    console.print_json(data=results)


if __name__ == "__main__":
    main()
