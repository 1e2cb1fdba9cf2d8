"""The labelled bank of customer messages (examples.yaml): what the classifier is trained on and the
nearest examples are retrieved from. Messages marked `split: heldout` are never used at run time —
they are the benchmark's (bench/bench_understanding.py)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

PATH = Path(__file__).with_name("examples.yaml")


@lru_cache(maxsize=4)
def load_messages(path: str | None = None) -> tuple[dict[str, Any], ...]:
    file = Path(path) if path else PATH
    if not file.is_file():
        return ()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ten times faster on 1,200 messages
    return tuple(yaml.load(file.read_text(encoding="utf-8"), Loader=loader) or ())


def bank(path: str | None = None) -> list[dict[str, Any]]:
    return [m for m in load_messages(path) if m.get("split", "bank") == "bank"]


def heldout(path: str | None = None) -> list[dict[str, Any]]:
    return [m for m in load_messages(path) if m.get("split") == "heldout"]


def label(message: dict[str, Any]) -> dict[str, Any]:
    """A bank message's expected output, in the understanding step's own compact form."""
    out: dict[str, Any] = {}
    if message.get("state") == "pending":
        out["answer"] = message.get("answer", "other")
        if out["answer"] in ("yes", "no"):
            return out
    out["lang"] = message.get("lang", "en")
    out["requests"] = message.get("requests") or []
    return out


def render(message: dict[str, Any]) -> str:
    return json.dumps(label(message), ensure_ascii=False, separators=(",", ":"))
