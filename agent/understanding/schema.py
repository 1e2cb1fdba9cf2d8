"""The understanding step's output schema, built from the state of the conversation.

- one branch per allowed kind, carrying only that kind's slots (`additionalProperties: false`);
- `order` is an enum of the order ids code found in the message: the model refers, never writes one;
- while a change is pending, the answer to it comes first: yes / no, or other plus new requests; a
  message that also asks for something answers yes / other and carries its requests ("yes, and also
  track W1003"); one that asks for the pending change itself, differently, is a new version of it;
- a verified customer has no `login` kind; the classifier (narrow.py) may cut the kinds further.
"""

from __future__ import annotations

from typing import Any

from agent.understanding.kinds import KINDS, Kind

MAX_REQUESTS = 3
LANG = {"type": "string", "pattern": "^[a-z]{2}$"}


def request_branch(kind: Kind, orders: tuple[str, ...]) -> dict[str, Any]:
    props: dict[str, Any] = {"kind": {"const": kind.name}}
    if kind.takes_order and orders:
        props["order"] = {"enum": list(orders)}
    props.update(kind.slots)
    return {"type": "object", "properties": props, "required": ["kind"], "additionalProperties": False}


def allowed_kinds(verified: bool, narrowed: list[str] | None = None) -> list[Kind]:
    """The kinds the state allows; narrowed (most likely first) to the classifier's candidates."""
    kinds = [k for k in KINDS.values() if not (verified and k.name == "login")]
    if narrowed:
        allowed = {k.name: k for k in kinds}
        kinds = [allowed[name] for name in narrowed if name in allowed] or kinds
    return kinds


def _requests(kinds: list[Kind], orders: tuple[str, ...], fixed: bool,
              assigned: list[str | None] | None = None) -> dict[str, Any]:
    """Requests of the given kinds: any of them (the model chooses), or exactly these, in this order
    (`fixed`: the kinds are decided, the model only fills their slots; `assigned`: the order id code
    gave each of them, where it could)."""
    if fixed:
        assigned = assigned or [None] * len(kinds)
        # maxItems bounds the tuple (no `"items": false`: llama.cpp's server rejects a boolean schema)
        return {"type": "array", "minItems": len(kinds), "maxItems": len(kinds),
                "prefixItems": [request_branch(k, (a,) if a else orders) for k, a in zip(kinds, assigned)]}
    return {"type": "array", "maxItems": MAX_REQUESTS,
            "items": {"anyOf": [request_branch(k, orders) for k in kinds]}}


def understanding_schema(kinds: list[Kind], orders: tuple[str, ...], *, pending: bool,
                         fixed: bool = False, asks: bool = False, counter: bool = False,
                         assigned: list[str | None] | None = None) -> dict[str, Any]:
    """`asks`: a change is pending and the message asks for something too: its answer (yes or other)
    and its requests, in one object. `counter`: it asks for the pending change itself, differently
    ("make it an XL instead"): a new version (other), never a yes to the old one."""
    body = {"lang": LANG, "requests": _requests(kinds, orders, fixed, assigned)}
    if not pending:
        return {"type": "object", "properties": body, "required": ["lang", "requests"],
                "additionalProperties": False}
    short = {"type": "object", "properties": {"answer": {"enum": ["yes", "no"]}}, "required": ["answer"],
             "additionalProperties": False}
    # a message that asks for something may confirm too, never decline: "wait, where is W1003 first?"
    # withdraws nothing (measured: given "no" here, the 1.5B model declined such interjections)
    answer = {"enum": ["yes", "other"]} if asks and not counter else {"const": "other"}
    with_requests = {"type": "object", "properties": {"answer": answer, **body},
                     "required": ["answer", "lang", "requests"], "additionalProperties": False}
    return with_requests if asks or counter else {"anyOf": [short, with_requests]}
