"""The understood turn with the embedded model, warm, on a quiet machine (one model process):

    python bench/bench_turn.py turns       # a 10-turn conversation x 3: time to first visible text, turn p50/p90
    python bench/bench_turn.py cold        # fresh process to first reply (model load + warm-up + one turn)
    SUPPORT_AGENT_SPECULATIVE=1 python bench/bench_turn.py turns    # prompt-lookup decoding on (compare with off)

Targets (issue 9): first visible text <= 2.5 s median, fresh process to first reply <= 6 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402

CONVERSATION = [
    "Hi, I'm jane.doe@example.com, zip 94107.",
    "Where is my order W1003?",
    "Can you cancel W1001? I ordered the wrong size. Also, is W1004 still returnable?",
    "yes",
    "I'd like to return W1002, it's unopened.",
    "no",
    "Is there a fee if I cancel an order?",
    "How do I change my password?",
    "thanks!",
    "I'd like to talk to a human.",
]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def store(directory: Path) -> Path:
    db = directory / "bench.db"
    subprocess.run([sys.executable, "-m", "agent.cli", "init", "--db", str(db), "--force"], check=True,
                   capture_output=True, cwd=ROOT)
    return db


def turns(rounds: int = 3) -> dict:
    from agent.models.embedded import EmbeddedModel
    from agent.support_agent import SupportAgent

    agent = SupportAgent(store(Path(tempfile.mkdtemp())), model=EmbeddedModel())
    agent.warm()
    first_text, totals = [], []
    for _ in range(rounds):
        session = agent.session()
        for message in CONVERSATION:
            start = time.perf_counter()
            seen: list[float] = []
            session.send(message, on_event=lambda e: seen.append(time.perf_counter())
                         if e.type == "text_delta" and not seen else None)
            totals.append(time.perf_counter() - start)
            first_text.append((seen[0] if seen else time.perf_counter()) - start)
    return {"speculative": os.environ.get("SUPPORT_AGENT_SPECULATIVE", "0"), "turns": len(totals),
            "first_text_median": round(statistics.median(first_text), 2),
            "turn_p50": round(pct(totals, 0.5), 2), "turn_p90": round(pct(totals, 0.9), 2),
            "model_step_median": round(agent.stats.median(), 2)}


COLD = """
import time, sys
t0 = float(sys.argv[1])
from agent.models.embedded import EmbeddedModel
from agent.support_agent import SupportAgent
agent = SupportAgent(sys.argv[2], model=EmbeddedModel())
agent.warm()
agent.session().send("Hi, I'm jane.doe@example.com, zip 94107. Where is W1003?")
print(time.time() - t0)
"""


def cold(runs: int = 5) -> dict:
    db = store(Path(tempfile.mkdtemp()))
    seconds = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", COLD, str(time.time()), str(db)], capture_output=True,
                             text=True, cwd=ROOT, check=True)
        seconds.append(float(out.stdout.strip().splitlines()[-1]))
    return {"fresh_process_to_first_reply_median": round(statistics.median(seconds), 2), "runs": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description="understood-turn benchmarks")
    parser.add_argument("what", choices=["turns", "cold"])
    args = parser.parse_args()
    result = turns() if args.what == "turns" else cold()
    Console().print_json(json.dumps(result))


if __name__ == "__main__":
    main()
