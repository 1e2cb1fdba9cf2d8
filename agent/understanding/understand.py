"""The understanding step: one constrained model call that says what the customer wants.

`Understander.understand()` never raises: a model that fails, times out or answers garbage gives an
Understanding with `error` set and a single `clarify` request, so the customer gets a question, never
a crash and never a write. Every request is validated against its kind's branch of the schema; an
unknown kind or a slot of the wrong type is dropped (and noted in `error`).
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

import jsonschema
from pydantic import BaseModel, Field

from agent.understanding.ids import Identifiers, beside_login, find_identifiers
from agent.understanding.kinds import KINDS
from agent.understanding.prompt import system_prompt, user_message
from agent.understanding.schema import allowed_kinds, request_branch, understanding_schema

MAX_TOKENS = 160
CONVERSATIONAL = {"clarify", "smalltalk"}  # kinds that ask nothing of the store
SURE = 0.8  # the classifier's probability above which a reading is not second-guessed
UNSURE = 0.5  # ... below which it is no request of its own after the agent asked a question
ANSWER_SURE = 0.7  # ... of the answer to a pending change, to overrule the model's yes / no (bank CV)


class Request(BaseModel):
    kind: str
    order: str | None = None
    slots: dict[str, Any] = Field(default_factory=dict)
    about: tuple[str, ...] = ()  # asked back to the customer: the slots the question was about

    def dump(self) -> dict[str, Any]:
        """The compact form replays and logs record."""
        return {"kind": self.kind, **({"order": self.order} if self.order else {}), **self.slots}


class Understanding(BaseModel):
    lang: str = "en"
    answer: Literal["yes", "no", "other"] | None = None
    requests: list[Request] = Field(default_factory=list)
    error: str | None = None
    raw: str | None = None  # the model's exact output (kept as the model wrote it)
    # kinds decided beside the first without the classifier being sure of them: one that would write
    # without a confirmation (a handoff opens a ticket) is offered instead ("…my manager approved it")
    unsure: tuple[str, ...] = ()
    seconds: float = 0.0
    completion_tokens: int = 0

    def dump(self) -> dict[str, Any]:
        out: dict[str, Any] = {"lang": self.lang}
        if self.answer:
            out["answer"] = self.answer
        out["requests"] = [r.dump() for r in self.requests]
        return out


def parse_understanding(data: Any, ids: Identifiers) -> Understanding:
    """Validate a decoded output; drop what does not fit (never raises)."""
    if not isinstance(data, dict):
        return _unclear("output is not a JSON object")
    problems: list[str] = []
    requests = []
    for item in data.get("requests") or []:
        request = _request(item, ids, problems)
        if request is not None:
            requests.append(request)
    answer = data.get("answer") if data.get("answer") in ("yes", "no", "other") else None
    lang = data.get("lang") if isinstance(data.get("lang"), str) and len(data["lang"]) == 2 else "en"
    if answer in (None, "other") and not requests:
        requests = [Request(kind="clarify")]
    return Understanding(lang=lang.lower(), answer=answer, requests=requests,
                         error="; ".join(problems) or None)


def _request(item: Any, ids: Identifiers, problems: list[str]) -> Request | None:
    kind = KINDS.get(item.get("kind")) if isinstance(item, dict) else None
    if kind is None:
        problems.append(f"unknown request kind: {item!r:.80}")
        return None
    try:
        jsonschema.validate(item, request_branch(kind, ids.orders))
    except jsonschema.ValidationError as exc:
        problems.append(f"{kind.name}: {exc.message:.120}")
        item = {k: v for k, v in item.items() if k in ("kind", "order") and (k == "kind" or v in ids.orders)}
    slots = {k: v for k, v in item.items() if k not in ("kind", "order") and v not in ("", None)}
    return Request(kind=kind.name, order=item.get("order"), slots=slots)


def _unclear(error: str, raw: str | None = None) -> Understanding:
    return Understanding(requests=[Request(kind="clarify")], error=error, raw=raw)


class Understander:
    """Builds the state's schema and prompt, asks the model, validates the answer."""

    def __init__(self, model: Any, narrower: Any = "default", retriever: Any = None, *, mode: str = "decide"):
        self.model = model
        self._narrower = narrower  # the kind classifier (narrow.py); None: the model chooses among all kinds
        self.retriever = retriever  # optional: nearest labelled examples shown to the model (narrow.py)
        # decide: the classifier decides the kinds and the model fills their slots (measured best);
        # hint: the model chooses among the likely kinds, named most likely first; narrow: same, unnamed
        self.mode = mode
        self.system = system_prompt()

    @property
    def narrower(self) -> Any:
        if self._narrower == "default":  # built on first use, once per process
            from agent.understanding.narrow import default_classifier

            self._narrower = default_classifier()
        return self._narrower

    def messages(self, text: str, *, agent_said: str | None, pending: str | None,
                 likely: list[str] | None = None) -> list[dict[str, str]]:
        examples = self.retriever.examples(text) if self.retriever is not None else ""
        return [{"role": "system", "content": self.system},
                {"role": "user", "content": user_message(text, agent_said=agent_said, pending=pending,
                                                         examples=examples, likely=likely if self.mode != "narrow" else None,
                                                         decided=self.mode == "decide")}]

    def warm_schema(self) -> dict[str, Any]:
        return understanding_schema(allowed_kinds(False), (), pending=False)

    def asks_something(self, likely: list[str] | None, text: str) -> bool:
        """While a change is pending: the message clearly asks for something (the classifier is sure
        of a request kind), so it is not a bare yes or no (it may still answer the change as well)."""
        if self.narrower is None or not likely or likely[0] in ("smalltalk", "clarify"):
            return False
        return self.narrower.probability(text, likely[0]) >= 0.6

    def likely(self, text: str, verified: bool, agent_said: str | None = None,
               expecting: str | None = None, ids: Identifiers | None = None) -> list[str] | None:
        """The kinds the classifier decides (mode decide) or finds likely, most likely first; None
        without a classifier. A reply the classifier reads as no request ("CA", "XL吧") after the agent
        asked to complete a request (`expecting`, its kind) is the answer to that question (see answers)."""
        if self.narrower is None:
            return None
        if self.mode != "decide":
            return [k.name for k in allowed_kinds(verified, self.narrower.kinds(text))]
        allowed = {k.name for k in allowed_kinds(verified)}
        ids = ids or find_identifiers(text)
        wanted = len(ids.orders)
        decided = [k for k in self.narrower.decide(text, agent_said, wanted=wanted) if k in allowed]
        if not decided and verified and ids.emails:
            # read as a login, which code has done: what else the message says is its request
            rest = beside_login(text, ids)
            decided = [k for k in self.narrower.decide(rest, wanted=wanted) if k in allowed] if rest else []
        if expecting in allowed and self.answers(text, decided):
            return [expecting]
        if not verified and (ids.login or ids.login_with_order()) and self.no_request(text, decided):
            return ["login"]  # login details and no request of the store's: a login ("typed it three times!!")
        return decided or ["smalltalk" if verified else "clarify"]  # a login once verified: nothing to do

    def no_request(self, text: str, decided: list[str]) -> bool:
        """The message asks nothing of the store: only conversation, or no kind the classifier is
        even half sure of (a real request beside login details is often only 0.6-0.8 sure: kept)."""
        return set(decided) <= {*CONVERSATIONAL, "out_of_scope"} or self.narrower.ranked(text)[0][1] < UNSURE

    def answers(self, text: str, decided: list[str]) -> bool:
        """After the agent asked to complete a request: the message answers that question when it makes
        no request the classifier is sure of (a bare "CA", a reason: "the delivery is too late")."""
        top = self.narrower.ranked(text)[0][1]
        return top < UNSURE or set(decided) <= CONVERSATIONAL and (not decided or top < SURE)

    def unsure(self, text: str, decided: list[str] | None) -> tuple[str, ...]:
        """The decided kinds after the first that the classifier is not sure of."""
        return tuple(k for k in (decided or [])[1:] if self.narrower.probability(text, k) < SURE)

    def counters(self, text: str, likely: list[str] | None, pending_kind: str | None) -> bool:
        """While a change is pending: the message asks for that change itself and is no sure yes or no
        ("那换成XL吧", "mejor en talla XL" while M -> L waits): a counter-proposal, in any language.
        "ok cancel it" asks for the pending cancellation too, but the classifier is sure it is a yes;
        "no wait, don't" read with the agent's question is the change's kind, but surely a no."""
        if self.narrower is None or not likely or pending_kind is None or likely[0] != pending_kind:
            return False
        said, p = self.narrower.answer(text)
        return said == "other" or p < ANSWER_SURE

    def checked_answer(self, text: str, answer: str | None) -> str | None:
        """The model's yes / no to a pending change, unless the classifier is sure the message says
        something else ("no, make it an XL" is no yes; "what's the fee?" or "ok, and also ..." declines
        nothing). It may take a yes or a no away, never give one: a change is made only on the model's
        yes, and withdrawn only on its no."""
        if answer not in ("yes", "no") or self.narrower is None:
            return answer
        said, p = self.narrower.answer(text)
        if said == answer or p < ANSWER_SURE:
            return answer
        return "no" if said == "no" else "other"

    def understand(self, text: str, *, verified: bool, pending: str | None = None, pending_kind: str | None = None,
                   agent_said: str | None = None, expecting: str | None = None) -> Understanding:
        """`pending`: the summary of the change waiting for a yes or no; `pending_kind`: its kind."""
        ids = find_identifiers(text)
        started = time.perf_counter()
        likely = self.likely(text, verified, agent_said, expecting, ids)
        counter = pending is not None and self.counters(text, likely, pending_kind)
        asks = pending is not None and self.asks_something(likely, text)
        kinds = allowed_kinds(verified, likely)
        fixed = self.mode == "decide" and likely is not None
        assigned = self.narrower.assign_orders(text, [k.name for k in kinds]) if fixed else None
        schema = understanding_schema(kinds, ids.orders, pending=pending is not None, fixed=fixed, asks=asks,
                                      counter=counter, assigned=assigned)
        try:
            reply = self.model.structured(self.messages(text, agent_said=agent_said, pending=pending, likely=likely),
                                          schema, max_tokens=MAX_TOKENS)
        except Exception as exc:  # the backend already retried what was worth retrying
            return _unclear(f"model failed: {type(exc).__name__}: {exc}")
        raw = reply.text or reply.raw or ""
        try:
            data = json.loads(raw)
        except ValueError:
            result = _unclear("output was not JSON", raw)
        else:
            result = parse_understanding(data, ids)
        if pending is not None:
            result.answer = self.checked_answer(text, result.answer)
        result.unsure = self.unsure(text, likely) if fixed else ()
        result.raw = raw
        result.seconds = time.perf_counter() - started
        result.completion_tokens = reply.completion_tokens
        return result
