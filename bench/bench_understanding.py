"""Understanding benchmark: the held-out part of the labelled bank (agent/understanding/examples.yaml)
through the understanding step, with the embedded model (one model process; run it alone).

    python bench/bench_understanding.py [--mode plain|classifier|examples|both] [--limit N] [--json OUT]

Reports kind accuracy (a message is right when its set of request kinds — or its yes/no answer to a
pending change — is exactly the labelled one), slot accuracy (labelled order ids and choices
reproduced), per kind and per language, with model seconds and generated tokens per step.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from agent.events import PendingAction  # noqa: E402
from agent.turn.turn import replaces_pending  # noqa: E402
from agent.understanding.bank import bank, heldout  # noqa: E402
from agent.understanding.ids import find_identifiers  # noqa: E402
from agent.understanding.kinds import KINDS  # noqa: E402
from agent.understanding.narrow import ExampleRetriever, KindClassifier  # noqa: E402
from agent.understanding.understand import CONVERSATIONAL, Understander  # noqa: E402

SLOTS = ("order", "condition", "remedy", "method", "quantity", "field", "category")


def understander(model: Any, mode: str) -> Understander:
    """plain: the model chooses among every kind; narrow: among the classifier's likely kinds only; hint:
    the same, named in the prompt most likely first; decide (the runtime's default): the classifier
    decides the kinds, the model fills their slots; examples: nearest bank messages in the prompt."""
    narrower = KindClassifier(bank()) if mode in ("narrow", "hint", "decide", "both") else None
    retriever = ExampleRetriever(bank()) if mode in ("examples", "both") else None
    return Understander(model, narrower=narrower, retriever=retriever,
                        mode={"narrow": "narrow", "hint": "hint"}.get(mode, "decide"))


def classifier_alone(messages: list[dict[str, Any]]) -> float:
    """Kind accuracy of the classifier by itself (its most likely kinds, no model): a reference."""
    c = KindClassifier(bank())
    right = 0
    for m in messages:
        if m.get("state") == "pending" and m.get("answer") in ("yes", "no"):
            continue
        ranked = c.ranked(m["text"])
        got = {k for k, p in ranked if p >= 0.5} or {ranked[0][0]}
        right += tuple(sorted(got)) == expected_kinds(m)
    answerable = [m for m in messages if not (m.get("state") == "pending" and m.get("answer") in ("yes", "no"))]
    return round(right / len(answerable), 3)


def scored(answer: str | None, kinds: set[str]) -> tuple[str, ...]:
    """What a message is scored on: its request kinds; a yes / no to a pending change first, with
    what else it asks."""
    if answer in ("yes", "no"):
        return (f"answer:{answer}", *sorted(kinds - CONVERSATIONAL))
    return tuple(sorted(kinds)) or ("clarify",)


def expected_kinds(m: dict[str, Any]) -> tuple[str, ...]:
    answer = m.get("answer") if m.get("state") == "pending" else None
    return scored(answer, {r["kind"] for r in m.get("requests") or []})


def predicted_kinds(u: Any) -> tuple[str, ...]:
    return scored(u.answer, {r.kind for r in u.requests})


def waiting(m: dict[str, Any]) -> PendingAction:
    """The change a pending message answers, as the runtime holds it: its tool, its order (the first
    id of the agent's question) and the question as its summary."""
    orders = find_identifiers(m.get("agent") or "").orders
    return PendingAction(id="bench", tool=KINDS[m["pending"]].tool or m["pending"],
                         arguments={"order_id": orders[0]} if orders else {}, summary=m.get("agent") or "")


def slot_score(m: dict[str, Any], u: Any) -> tuple[int, int]:
    right = total = 0
    got = {r.kind: {"order": r.order, **r.slots} for r in u.requests}
    for request in m.get("requests") or []:
        for slot in SLOTS:
            if slot in request:
                total += 1
                right += got.get(request["kind"], {}).get(slot) == request[slot]
    return right, total


def run(model: Any, mode: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    u = understander(model, mode)
    rows = []
    for m in messages:
        pending = f"{m['pending']} (a change waiting for the customer's yes or no)" if m.get("pending") else None
        got = u.understand(m["text"], verified=m.get("state") != "anonymous", pending=pending,
                           pending_kind=m.get("pending"), agent_said=m.get("agent"), expecting=m.get("expecting"))
        if m.get("pending") and replaces_pending(waiting(m), got.requests, got.answer):
            got.answer = None  # a counter-proposal: the runtime withdraws the change and proposes this one
        right, total = slot_score(m, got)
        rows.append({"id": m["id"], "lang": m["lang"], "expected": expected_kinds(m), "got": predicted_kinds(got),
                     "ok": expected_kinds(m) == predicted_kinds(got), "slots_right": right, "slots": total,
                     "seconds": got.seconds, "tokens": got.completion_tokens, "raw": got.raw})
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def acc(items: list[dict[str, Any]]) -> float:
        return round(sum(r["ok"] for r in items) / len(items), 3) if items else 0.0

    by_kind: dict[str, list] = defaultdict(list)
    by_lang: dict[str, list] = defaultdict(list)
    for r in rows:
        for k in r["expected"]:
            by_kind[k].append(r)
        by_lang[r["lang"]].append(r)
    slots = sum(r["slots"] for r in rows)
    return {"messages": len(rows), "kind_accuracy": acc(rows),
            "slot_accuracy": round(sum(r["slots_right"] for r in rows) / slots, 3) if slots else None,
            "seconds_median": round(statistics.median(r["seconds"] for r in rows), 2),
            "seconds_p90": round(sorted(r["seconds"] for r in rows)[int(0.9 * (len(rows) - 1))], 2),
            "tokens_median": statistics.median(r["tokens"] for r in rows),
            "by_kind": {k: [acc(v), len(v)] for k, v in sorted(by_kind.items())},
            "by_lang": {k: [acc(v), len(v)] for k, v in sorted(by_lang.items())}}


def show(mode: str, s: dict[str, Any]) -> None:
    console = Console()
    console.print(f"[bold]{mode}[/]: kind accuracy {s['kind_accuracy']:.1%}, slot accuracy {s['slot_accuracy']:.1%}, "
                  f"{s['seconds_median']} s median / {s['seconds_p90']} s p90 per step, "
                  f"{s['tokens_median']} tokens median, {s['messages']} held-out messages")
    table = Table("kind / language", "accuracy", "n")
    for name, (a, n) in {**s["by_kind"], **s["by_lang"]}.items():
        table.add_row(name, f"{a:.0%}", str(n))
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", default="decide", choices=["plain", "narrow", "hint", "decide", "examples", "both"])
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()
    from agent.models.embedded import EmbeddedModel

    messages = heldout()[: args.limit or None]
    rows = run(EmbeddedModel(), args.mode, messages)
    s = summary(rows)
    s["classifier_alone"] = classifier_alone(messages)
    show(args.mode, s)
    Console().print(f"classifier alone (no model, kinds with p >= 0.5): {s['classifier_alone']:.1%}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"mode": args.mode, "summary": s, "rows": rows}, indent=1,
                                                  ensure_ascii=False))


if __name__ == "__main__":
    main()
