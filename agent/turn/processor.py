"""Processing, in code: run an understanding's requests in order.

Reads run at once; a write becomes the pending action (its preview is what the customer confirms),
and further writes wait in the agenda, proposed one at a time. Every argument comes from somewhere:
order ids from the message (found by code) or the conversation's last order, free text from the
customer's own words, and a choice that is the customer's (condition, remedy, quantity) only when the
words the model cites for it are in their messages — otherwise the customer is asked. Follow-ups
come from structured tool-result fields (a tracking result that allows a lost-package claim).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable

from agent.turn import texts
from agent.turn.reading import Reading
from agent.understanding.ids import Identifiers
from agent.understanding.kinds import KINDS
from agent.understanding.narrow import closest, without_login
from agent.understanding.understand import Request, Understanding
from tools.address import COMPLETE_RULE
from tools.i18n import Listing
from tools.registry import get_tool
from tools.results import ToolResult
from tools.variants import variants_named

if TYPE_CHECKING:
    from agent.session import Session

ADDRESS_SLOTS = {"address_line1": "street", "address_line2": "unit", "city": "city", "state": "state"}
ADDRESS = tuple(ADDRESS_SLOTS.values())  # an address's parts as the understanding's slots


@dataclass
class Said:
    """One part of the reply: what a request came to, as a catalog message (id + params) rendered in
    the customer's language by the composer; `text` only for words that are already final."""

    message_id: str
    kind: str = "result"  # login | info | result | denied | error | ask | confirm
    params: dict[str, Any] = field(default_factory=dict)
    data: str = ""  # login: the customer's first name, for the greeting
    text: str = ""


@dataclass
class Processor:
    session: "Session"
    emit: Callable[[Any], None]
    text: str
    ids: Identifiers
    understanding: Understanding
    parts: list[Said] = field(default_factory=list)
    done: set[str] = field(default_factory=set)
    tried_login: bool = False
    asked: Request | None = None  # last turn's request that was waiting for this answer

    def __post_init__(self) -> None:
        self.asked = self.session.take_asked()

    def run(self, requests: list[Request] | None = None) -> list[Said]:
        for request in requests if requests is not None else self.urgent_first(self.understanding.requests):
            request = self.completed(request)
            if self.session.customer_id and any(p.kind == "denied" and p.data == "login" for p in self.parts):
                break  # a verified customer's refused switch to another identity: the rest was meant for it
            key = f"{request.kind}:{request.order}"
            if key in self.done:  # the same request twice (one request fanned out) runs once
                continue
            self.done.add(key)
            handler = getattr(self, f"_{request.kind}", None) or self._tool
            handler(request)
        return self.parts

    def urgent_first(self, requests: list[Request]) -> list[Request]:
        """A safety or legal threat (the policy's urgent words) goes to a human first, whatever else the
        message asks (policy: hand over for safety or legal threats)."""
        if any(r.kind == "handoff" for r in requests) or not self.session.urgent(self.text):
            return requests
        return [Request(kind="handoff"), *requests]

    # ---- conversational kinds ---------------------------------------------------------------

    def _smalltalk(self, request: Request) -> None:
        if len(self.understanding.requests) == 1 and not any(p.kind == "login" for p in self.parts):
            self.say(texts.GREETING if self.session.first_message() else texts.ANYTHING_ELSE, "info")

    def _clarify(self, request: Request) -> None:
        self.say(texts.CLARIFY, "ask")

    def _out_of_scope(self, request: Request) -> None:
        self.say(texts.CANT_HELP, "info")
        self.offer_human("out_of_scope", texts.OFFER_HUMAN_OTHER)

    def _spoof(self, request: Request) -> None:
        """Named and refused; an anonymous sender with nothing else asked hears how to be verified (the
        note's claim that they are is not it)."""
        self.say(texts.SPOOF, "info")
        if self.session.customer_id is None and len(self.understanding.requests) == 1 and not self.tried_login:
            self.say(texts.ASK_LOGIN, "ask")

    def _login(self, request: Request) -> None:
        """The login details were checked by code before (turn.py); none given: ask for them."""
        if not self.tried_login and self.session.customer_id is None:
            self.say(texts.ASK_LOGIN, "ask")

    def login_with_order(self) -> None:
        """An anonymous customer's email with one order id (and no zip code): the other way to log in,
        checked by code whatever the message asks (not when it is text posing as the system's)."""
        creds = self.ids.login_with_order()
        spoofed = any(r.kind == "spoof" for r in self.understanding.requests)
        if creds and self.session.customer_id is None and not self.tried_login and not spoofed:
            self.login(creds)

    def login(self, creds: dict[str, str]) -> bool:
        self.tried_login = True
        result = self.session.run_tool("verify_customer", creds, self.emit)
        if result.status == "ok":
            name = (result.data.get("name") or "").split()
            first = f" {name[0]}" if name else ""
            self.parts.append(Said(texts.VERIFIED, "login", {"name": first}, data=first))
            return True
        self.parts.append(self.said_result(result, data="login"))
        return False

    def _question(self, request: Request) -> None:
        articles: list[dict[str, Any]] = []
        topic = str(request.slots.get("topic") or "").replace("_", " ")
        for query in dict.fromkeys([topic, self.text[:300]]):
            if query.strip() and not articles:  # the topic first; the customer's own words if it finds nothing
                # the help center is written for customers; the policy's sections are written for the
                # agent ("escalate instead of refunding"): the model may read them, the customer never
                result = self.session.run_tool("search_help_center", {"query": query, "lang": self.session.lang,
                                                                      "for_customer": True}, self.emit)
                articles = result.data.get("articles") or [] if result.status == "ok" else []
        if not articles:
            self.say(texts.NO_ARTICLE, "info")
            return
        # the search ranks by shared words; of its best few, the one clearly nearest the question in meaning
        best = closest(self.text[:300], [f"{a['title']}: {a['body']}" for a in articles], floor=0.0, margin=0.03)
        article = articles[best or 0]
        self.say(texts.HELP_ANSWER, "result", title=article["title"], body=article["body"])

    def _handoff(self, request: Request) -> None:
        reason = "safety_or_legal" if self.session.urgent(self.text) else "customer_request"
        if self.session.customer_id is None and self.session.locked():
            reason = "verification_locked"
        order = self.order_for(request, required=False)
        if reason == "customer_request" and request.kind in self.understanding.unsure:
            self.offer_human(reason, texts.OFFER_HUMAN_OTHER, order=order)  # asked for? a yes says so
            return
        args = {"reason": reason, "summary": self.summary()}
        if order:
            args["order_id"] = order
        result = self.session.run_tool("escalate_to_human", args, self.emit)
        self.relay(result)
        if result.data.get("priority") == "urgent":
            self.say(texts.URGENT, "result")

    # ---- tool kinds -------------------------------------------------------------------------

    def _tool(self, request: Request) -> None:
        kind = KINDS[request.kind]
        if self.session.customer_id is None and kind.tool and get_tool(kind.tool).requires_identity:
            self.session.defer(request)
            self.say(texts.ASK_LOGIN, "ask")
            return
        args = self.arguments(request)
        if args is None:
            return
        if get_tool(kind.tool).is_write:
            self.write(kind.tool, args, request)
        else:
            result = self.session.run_tool(kind.tool, args, self.emit)
            self.relay(result)
            self.follow_up(result)

    def arguments(self, request: Request) -> dict[str, Any] | None:
        """The tool's arguments from the request, or None after asking the customer for what is missing."""
        kind = KINDS[request.kind]
        args: dict[str, Any] = {}
        if kind.takes_order:
            order = self.order_for(request, required=True)
            if order is None:
                return None
            args["order_id"] = order
        build = getattr(self, f"_args_{request.kind}", None)
        return build(request, args) if build else args

    def _args_cancel_order(self, request: Request, args: dict[str, Any]) -> dict[str, Any]:
        reason = self.read.own_words(request, "reason")  # none given, or not in their words: the tool's rule asks
        return {**args, "reason": reason} if reason else args

    def _args_check_refund_eligibility(self, request: Request, args: dict[str, Any]) -> dict[str, Any] | None:
        args = self.with_item(request, args)
        condition = self.read.choice(request, "condition")
        return {**args, "condition": condition} if condition and args else args

    def _args_start_return(self, request: Request, args: dict[str, Any]) -> dict[str, Any] | None:
        args = self.with_item(request, args)
        if args is None:
            return None
        condition = self.read.choice(request, "condition")
        if condition is None:  # first see whether a return is possible at all, and what each condition gets
            result = self.session.run_tool("check_refund_eligibility", args, self.emit)
            self.relay(result)
            return self.ask(texts.ASK_CONDITION, request, about=("condition",)) if result.status == "ok" else None
        return {**args, "condition": condition, "reason": self.read.own_words(request, "reason") or self.summary()}

    def with_item(self, request: Request, args: dict[str, Any]) -> dict[str, Any] | None:
        """The order's line the customer named (every line when they named none)."""
        item = self.read.said_slot(request, "item")
        if item is None:
            return args
        line = self.session.order_line(args["order_id"], item)
        if line is None:
            return self.ask(texts.ASK_WHICH_ITEM, request, about=("item",), order_id=args["order_id"])
        return {**args, "line_ids": [line]}

    def _args_report_lost_package(self, request: Request, args: dict[str, Any]) -> dict[str, Any] | None:
        remedy = self.read.choice(request, "remedy")
        if remedy is None:  # first see whether a claim is possible at all: tracking says so
            result = self.session.run_tool("track_shipment", args, self.emit)
            self.relay(result)
            self.follow_up(result)
            return None
        return {**args, "remedy": remedy}

    def _args_issue_refund(self, request: Request, args: dict[str, Any]) -> dict[str, Any]:
        # The preview names where the money goes; the customer's yes (or no) is their choice.
        return {**args, "to_store_credit": self.read.choice(request, "method") == "store_credit"}

    def _args_file_complaint(self, request: Request, args: dict[str, Any]) -> dict[str, Any]:
        """What the complaint is about is read from the customer's own message, by meaning (any
        language); the model's label only when the message says nothing clear."""
        category = self.read.category(self.summary()) or request.slots.get("category") or "other"
        return {**args, "category": category, "summary": self.summary()}

    def _args_modify_order_address(self, request: Request, args: dict[str, Any]) -> dict[str, Any] | None:
        """No street given: the tool's own rules first (an order that has shipped is refused by its
        status rule, not asked for an address it cannot take), then the question."""
        address = self.address(request)
        if address:
            return {**args, **address}
        return None if self.refused("modify_order_address", args) else self.ask(texts.ASK_ADDRESS, request,
                                                                                  about=ADDRESS)

    def _args_modify_order_items(self, request: Request, args: dict[str, Any]) -> dict[str, Any] | None:
        """The line and the variant are the ones the customer's words name among the order's variants
        (found by code); the model's words for them only when code finds none; the quantity only from
        the customer's words."""
        variants = self.session.run_tool("list_variants", {"order_id": args["order_id"]}, self.emit)
        if variants.status != "ok":
            return self.relay(variants)
        items = variants.data.get("items", [])
        line = self.session.order_line(args["order_id"], self.read.said_slot(request, "item") or self.text)
        named = [n for n in variants_named(items, self.text) if line is None or n[0] == line]
        option = self.read.said_slot(request, "option")
        quantity = self.read.choice(request, "quantity")
        if len(named) == 1:
            line, option = named[0]
        if line is None or option is None and quantity is None:
            if self.refused("modify_order_items", args):
                return None
            return self.ask(texts.ASK_ITEM, request, about=("item", "option", "quantity"), order_id=args["order_id"])
        return {**args, "line_id": line, **({"new_variant": option} if option else {}),
                **({"new_quantity": quantity} if quantity is not None else {})}

    def _args_update_account(self, request: Request, args: dict[str, Any]) -> dict[str, Any] | None:
        new_emails = self.ids.new_values("emails")
        given = [name for name, present in (("email", new_emails), ("phone", self.ids.phones),
                                            ("address", request.slots.get("street"))) if present]
        meant = self.read.account_parts()
        updatable = set(self.session.agent.policy.account.updatable_fields)
        if not given and "_not_updatable" in meant and not meant & updatable:
            return self._out_of_scope(request)
        # What the customer gave decides the field (ids are found by code), else the one part their words
        # name (by meaning, any language); the model's label otherwise
        named = meant & updatable
        field_name = given[0] if len(given) == 1 else named.pop() if len(named) == 1 and not given \
            else request.slots.get("field")
        if field_name == "email" and len(new_emails) == 1:
            return {"field": "email", "email": new_emails[0]}
        if field_name == "phone" and len(self.ids.phones) == 1:
            return {"field": "phone", "phone": self.ids.phones[0]}
        if field_name == "address":
            address = self.address(request)
            return {"field": "address", "address": address} if address else self.ask(texts.ASK_ADDRESS, request,
                                                                                               about=ADDRESS)
        if field_name in ("email", "phone"):
            return self.ask(texts.ASK_ACCOUNT_VALUE, request, field=field_name)
        return self.ask(texts.CLARIFY, request)

    def _args_send_password_reset(self, request: Request, args: dict[str, Any]) -> dict[str, Any]:
        """The link goes to the email given (the tool checks it); an anonymous customer who gave none
        first hears how a reset works (the help center, from their words), then is asked for it."""
        emails = self.ids.new_values("emails") or self.ids.emails
        if emails:
            return {"email": emails[-1]}
        if self.session.customer_id is None:  # the help center's topic for this kind, in its own language
            self._question(Request(kind="question", slots={"topic": "reset your password"}))
        return {}

    # ---- helpers ----------------------------------------------------------------------------

    def write(self, tool: str, args: dict[str, Any], request: Request | None = None) -> None:
        if self.session.pending_action is not None:
            self.session.queue(tool, args)
            return
        result = self.session.run_tool(tool, args, self.emit)
        if result.status == "needs_confirmation":
            self.say(texts.CONFIRM, "confirm", summary=self.session.pending_action.summary)
            return
        self.relay(result)
        self.follow_up(result)
        if result.instead and self.session.pending_action is None:  # what serves the same ask: proposed
            self.write(result.instead["tool"], dict(result.instead["arguments"]))
            return
        missing = [ADDRESS_SLOTS.get(f, f) for f in result.facts.get("missing") or []]
        if request is not None and (missing or result.facts.get("invalid")):  # left out: their next words
            self.session.remember_asked(request.model_copy(update={"about": tuple(missing)}))  # complete it

    def relay(self, result: ToolResult) -> None:
        self.add(self.said_result(result))
        if result.status == "denied" and result.alternative_messages:
            self.say(texts.INSTEAD, "denied", options=Listing(items=list(result.alternative_messages),
                                                               style="semicolon"))

    def said_result(self, result: ToolResult, data: str = "") -> Said:
        """A tool result as the customer hears it: its catalog message; text meant for the model
        (no message id: an argument error, an unknown tool) never reaches them."""
        kind = {"ok": "result", "denied": "denied"}.get(result.status, "error")
        if not result.message_id:
            return Said(texts.TOOL_ERROR, "error", data=data)
        return Said(result.message_id, kind, dict(result.params), data=data)

    def follow_up(self, result: ToolResult) -> None:
        """What a result makes possible, from its structured fields: a lost-package claim, or a human's
        approval for what a rule leaves to a human (offered as a change the customer confirms)."""
        if result.data.get("lost_claim_eligible"):
            self.say(texts.OFFER_LOST_CLAIM, "ask", order_id=result.data.get("order_id"))
        handoff = result.facts.get("handoff_reason") if result.status == "denied" else None
        if handoff:
            self.offer_human(handoff, texts.OFFER_HUMAN, f"{result.message} ({result.rule})",
                             result.facts.get("order_id"))

    def offer_human(self, reason: str, question: str, summary: str | None = None, order: str | None = None) -> None:
        """A handover the customer accepts with yes, held like a change (one thing pending at a time)."""
        if self.session.pending_action is not None:
            return
        args = {"reason": reason, "summary": summary or self.summary()}
        if order:
            args["order_id"] = order
        self.session.offer("escalate_to_human", args, question)
        self.say(question, "confirm")

    def order_for(self, request: Request, *, required: bool) -> str | None:
        if request.order:
            return request.order
        if len(self.ids.orders) == 1:
            return self.ids.orders[0]
        claimed = {r.order for r in self.understanding.requests if r.order}
        unclaimed = [o for o in self.ids.orders if o not in claimed]
        if len(unclaimed) == 1:  # several ids, one not taken by another request: it is this one's
            return unclaimed[0]
        order = None if self.ids.orders else self.session.last_order()
        if order is None and required:
            self.ask(texts.ASK_ORDER, request)
        return order

    @cached_property
    def read(self) -> Reading:
        """The customer's words, read once per turn."""
        return Reading(self.text, self.session.customer_words(),
                       frozenset(self.session.agent.policy.returns.prepaid_label_conditions))

    def summary(self) -> str:
        """The customer's message for a ticket, without their login details."""
        return without_login(self.text, "…")[:1000] or "(no message)"

    def address(self, request: Request) -> dict[str, str] | None:
        """The new address as far as the customer gave it (every part in their words): the tool judges
        whether it is complete and names the rule when it is not. None when they gave no street."""
        address = {arg: str(request.slots[slot]) for arg, slot in ADDRESS_SLOTS.items()
                   if request.slots.get(slot) and self.read.said(str(request.slots[slot]))}
        zip_code = self.session.new_zip(self.ids)
        if zip_code:
            address["zip_code"] = zip_code
        street = address.get("address_line1", "")
        return address if any(c.isalpha() for c in street) else None  # a street has a name (not a bare zip)

    def refused(self, tool: str, known: dict[str, Any]) -> bool:
        """Before asking for a change's missing details: the tool's own rules on what is known. An order
        that can no longer change is refused by its status rule (relayed), never asked about; a refusal
        for the missing details themselves (address.complete) leaves the question to be asked."""
        result = self.session.run_tool(tool, known, self.emit)
        if result.status != "denied" or result.rule == COMPLETE_RULE:
            return False
        self.relay(result)
        self.follow_up(result)
        return True

    def ask(self, question: str, request: Request, about: tuple[str, ...] = (), **params: Any) -> None:
        """Ask the customer; their answer completes `request` (`about`: the slots the question is about,
        which the answer may replace; it only adds the others)."""
        self.say(question, "ask", **params)
        self.session.remember_asked(request.model_copy(update={"about": about}))
        return None

    def completed(self, request: Request) -> Request:
        """An answer to last turn's question fills in what that request already had (its order, the
        condition or reason said before), so nothing the customer said is asked twice."""
        asked = self.asked
        # an order id alone reads as a look-up; after "which order?" it is the answer to that question
        gives_order = request.kind == "get_order" and request.order and asked is not None and not asked.order
        if asked is None or asked.kind != request.kind and not gives_order:
            return request
        self.asked = None  # the answer adds what was missing and replaces what was asked about
        answered = {k: v for k, v in request.slots.items() if k in asked.about or k not in asked.slots}
        slots = {**asked.slots, **answered} if asked.kind == request.kind else asked.slots
        return Request(kind=asked.kind, order=request.order or asked.order, slots=slots)

    def say(self, message_id: str, kind: str = "result", **params: Any) -> None:
        if message_id:
            self.add(Said(message_id, kind, params))

    def add(self, part: Said) -> None:
        """A part of the reply, once (the same message with the same facts is said once)."""
        if not any((p.message_id, p.params) == (part.message_id, part.params) for p in self.parts):
            self.parts.append(part)
