"""One understood turn: understand (one constrained model step) -> process (code) -> reply (composed).

The customer's login details are checked by code before the model sees the message; a pending change
is answered first (yes / no / something else, in any language), then whatever else the message asks;
requests made before login wait for it and run right after, with no second model step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.messages import render
from agent.turn import texts
from agent.turn.compose import compose
from agent.turn.processor import Processor, Said
from agent.turn.rewrite import rewrite
from agent.understanding.ids import contains_words, find_identifiers
from agent.understanding.kinds import KINDS
from agent.understanding.understand import CONVERSATIONAL, Request, Understanding

if TYPE_CHECKING:
    from agent.events import PendingAction
    from agent.session import Emit, Session


def understood_turn(session: "Session", text: str, emit: "Emit") -> str:
    ids = find_identifiers(text)
    pending = session.pending_action
    understanding = Understanding()
    proc = Processor(session, emit, text, ids, understanding)
    was_anonymous = session.customer_id is None
    login = session.login_details(ids)
    if login:
        proc.login(login)
    understanding = session.understand(text, pending,
                                       expecting=proc.asked.kind if proc.asked else None)
    proc.understanding = understanding
    proc.login_with_order()
    session.note_language(text, None if understanding.error else understanding.lang)
    if pending is not None and replaces_pending(pending, understanding.requests, understanding.answer):
        session.resolve_pending(pending, False, emit)  # "make it an XL instead": proposed in its place
        pending = None
    answered = pending is not None and understanding.answer in ("yes", "no")
    if answered:  # the change first; then what else the message asks ("yes, and also track W1003")
        proc.parts.append(Said("", "result", text=session.resolve_pending(pending, understanding.answer == "yes", emit)))
        understanding.requests = [r for r in understanding.requests if r.kind not in CONVERSATIONAL]
    if pending is None and understanding.answer in ("yes", "no") and not understanding.requests:
        proc.say(texts.NOTHING_PENDING, "ask")
    proc.run()
    if was_anonymous and session.customer_id is not None:
        proc.run(session.take_deferred())
    if not answered and pending is not None and session.pending_action is not None:
        proc.say(texts.CONFIRM, "confirm", summary=session.pending_action.summary)
    composed = compose(_with_greeting(proc.parts), session.reply_locale)
    return session.say(_final(session, composed, text), emit)


def replaces_pending(pending: "PendingAction", requests: list[Request], answer: str | None = None) -> bool:
    """A request for the pending change's own tool and order that is no yes to it (the understanding
    read a counter-proposal), or that carries a value the change does not have ("那换成XL吧" while
    M -> L waits): a new version of the change, never a yes to the old one."""
    for r in requests:
        kind = KINDS.get(r.kind)
        if kind and kind.tool == pending.tool and r.order in (None, pending.arguments.get("order_id")):
            values = [str(v) for k, v in r.slots.items() if not k.endswith("_words")]
            if answer == "other" or any(not contains_words(pending.summary, v) for v in values):
                return True
    return False


def _final(session: "Session", composed: str, text: str) -> str:
    """The composed reply; the model's rewrite of it when it keeps every fact: `reply="model"`, or a
    conversation in a language with no catalog (translated; if the check fails, English with a note)."""
    translate = session.reply_locale != session.lang
    if session.agent.reply != "model" and not translate:
        return composed
    rewritten = rewrite(session.agent.model, composed, session.lang, text)
    session.audit_rewrite(composed, rewritten)
    if rewritten:
        return rewritten
    return f"{composed}\n\n{render(texts.IN_ENGLISH)}" if translate else composed


def _with_greeting(parts: list[Said]) -> list[Said]:
    """A login with nothing else to do ends with "How can I help?"."""
    if len(parts) == 1 and parts[0].kind == "login":
        return [Said(texts.VERIFIED_HOW_CAN_I_HELP, "login", {"name": parts[0].data})]
    return parts
