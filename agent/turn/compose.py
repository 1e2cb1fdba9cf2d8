"""The reply, composed by code from what the processor did: every part in request order, denials as
the tools stated them (each names its rule), questions to the customer after the answers, and the
confirmation question last. Facts are right by construction: they are the tools' own words."""

from __future__ import annotations

from agent.messages import render
from agent.turn.processor import Said

ORDER = {"login": 0, "info": 0, "result": 1, "denied": 1, "error": 1, "ask": 2, "confirm": 3}


def compose(parts: list[Said], lang: str = "en") -> str:
    ranked = sorted(enumerate(parts), key=lambda p: (ORDER.get(p[1].kind, 1), p[0]))
    asks = [p for _, p in ranked if p.kind == "ask"]
    if len(asks) > 1:  # one question at a time: the customer answers the first, the rest follows
        ranked = [(i, p) for i, p in ranked if p.kind != "ask" or p is asks[0]]
    return "\n\n".join(p.text or render(p.message_id, p.params, lang) for _, p in ranked)
