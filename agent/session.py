"""One conversation: the turn loop with its gates (identity, confirmation, provenance, reply guard).

The model proposes, code disposes: the model's step is a reply or an ordered list of up to three
tool calls (the agenda); the runtime runs reads at once, turns each write into a pending action the
customer must confirm, asks the customer when an argument came from nowhere, and checks the reply
against what the tools actually said.
"""

from __future__ import annotations

import asyncio
import json
import queue
import re
import secrets
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Iterator

from agent import replies
from agent.credentials import credentials_in
from agent.events import Event, PendingAction, Reply, activity_label
from agent.guard import check_reply, order_ids, relays
from agent.models.base import ModelReply, ToolCall
from agent.persistence import dumps, redact
from agent.prompt import state_block, system_prompt
from agent.turn import texts
from agent.turn.turn import understood_turn
from agent.provenance import (CONDITION_QUESTION, QUESTIONS, stated_condition, unclaimed_condition,
                              unsourced_argument)
from tools.context import ToolContext
from tools.registry import get_tool, run_tool
from tools.results import ToolResult
from tools.values import as_plain_text, iso

if TYPE_CHECKING:
    from agent.support_agent import SupportAgent
    from agent.understanding.understand import Understanding

Emit = Callable[[Event], None]
MAX_ACTIONS = 3
HISTORY_CHARS = 6000
MAX_LIST_ITEMS = 5
MAX_MESSAGE = 4000
_HELP_TOPIC = re.compile(
    r"\b(pay|payment|payments|paypal|credit card|password|account|sign ?up|log ?in|browser|app|promo|"
    r"coupon|discount|privacy|personal data|contact|phone|hours|open|shipping (cost|costs|time|times|fee)|"
    r"international|gift ?card|polic(y|ies)|warranty|size guide)\b", re.I)  # model-facing history budget (a 4k-token local context holds prompt + this)
_HOURS = re.compile(r"\b(hours|when can i|when are you|when is your|opening|open on|open at)\b", re.I)
_TRACKING = re.compile(r"\b(track|tracking|lost|hasn't moved|has not moved|not moved|stuck|whereabouts)\b", re.I)
_QUESTION = re.compile(
    r"\?\s*$|^(how|what|when|where|why|which|who|can|could|do|does|is|are|will|should|may)\b", re.I)


class Session:
    """Use `agent.session()` / `agent.resume(id)` to get one. Thread-safe: one turn at a time."""

    def __init__(self, agent: "SupportAgent", session_id: str, token: str | None = None):
        self.agent = agent
        self.id = session_id
        self.token = token  # only known right after creation; the store keeps a hash
        self._lock = threading.RLock()
        row = agent.store.one("SELECT * FROM conversations WHERE id = ?", (session_id,))
        if row is None:
            raise KeyError(f"no conversation {session_id}")
        self.customer_id: str | None = row["customer_id"]
        self.failed_verifications: int = row["failed_verifications"] or 0
        self.agenda: list[dict[str, Any]] = json.loads(row["agenda"] or "[]")
        last = agent.store.one("SELECT max(turn) AS t FROM messages WHERE conversation_id = ?", (session_id,))
        self.turn = (last or {}).get("t") or 0
        self._denied: dict[str, str] = {}  # tool -> its denial this turn, until a later call of it succeeds
        self._reads: list[str] = []  # what this turn's reads found (not the login)

    # ---- public API -------------------------------------------------------------------------

    def send(self, text: str, on_event: Emit | None = None) -> Reply:
        """Run one customer turn and return the reply (text, events, pending action)."""
        events, emit = _collector(on_event)
        with self._lock:
            text_out = self._turn(text, emit)
            pending = self.pending_action
            emit(Event(type="turn_done", data={
                "text": text_out, "pending_action": pending.model_dump() if pending else None}))
        return Reply(session_id=self.id, text=text_out, events=events, pending_action=pending)

    async def asend(self, text: str) -> Reply:
        return await asyncio.to_thread(self.send, text)

    def stream(self, text: str) -> Iterator[Event]:
        """Events of one turn as they happen (runs the turn in a worker thread)."""
        return self._stream(lambda emit: self.send(text, on_event=emit))

    async def astream(self, text: str) -> AsyncIterator[Event]:
        async for event in self._astream(lambda emit: self.send(text, on_event=emit)):
            yield event

    def confirm(self, action_id: str, on_event: Emit | None = None) -> Reply:
        return self._resolve_api(action_id, True, on_event)

    def decline(self, action_id: str, on_event: Emit | None = None) -> Reply:
        return self._resolve_api(action_id, False, on_event)

    async def aconfirm(self, action_id: str) -> Reply:
        return await asyncio.to_thread(self.confirm, action_id)

    async def adecline(self, action_id: str) -> Reply:
        return await asyncio.to_thread(self.decline, action_id)

    def astream_resolve(self, action_id: str, confirm: bool) -> AsyncIterator[Event]:
        return self._astream(lambda emit: self._resolve_api(action_id, confirm, emit))

    def bind_customer(self, email: str) -> None:
        """Operator use only (REPL `--customer`, tests): bind the session to a customer without
        verification. Never reachable from a model or a customer message."""
        row = self.agent.store.one("SELECT id FROM customers WHERE lower(email) = ?", (email.strip().lower(),))
        if row is None:
            raise KeyError(f"no customer with email {email}")
        with self._lock:
            self.customer_id = row["id"]
            self._save_state()

    @property
    def pending_action(self) -> PendingAction | None:
        row = self.agent.store.one(
            "SELECT * FROM pending_actions WHERE conversation_id = ? AND status = 'pending' "
            "ORDER BY created_at DESC LIMIT 1", (self.id,))
        return _pending(row) if row else None

    def transcript(self) -> list[dict[str, Any]]:
        """What the customer saw: their messages and the agent's replies, in order."""
        rows = self.agent.store.all(
            "SELECT turn, role, content, created_at FROM messages WHERE conversation_id = ? AND visible = 1 "
            "ORDER BY id", (self.id,))
        return rows

    # ---- streaming plumbing -------------------------------------------------------------------

    def _stream(self, run: Callable[[Emit], Reply]) -> Iterator[Event]:
        events: queue.Queue = queue.Queue()
        done = object()

        def worker() -> None:
            try:
                run(events.put)
            except Exception as exc:  # never leave a consumer hanging
                events.put(Event(type="error", data={"message": str(exc)}))
            finally:
                events.put(done)

        threading.Thread(target=worker, daemon=True).start()
        while (item := events.get()) is not done:
            yield item

    async def _astream(self, run: Callable[[Emit], Reply]) -> AsyncIterator[Event]:
        loop = asyncio.get_running_loop()
        events: asyncio.Queue = asyncio.Queue()
        done = object()

        def emit(event: Event) -> None:
            loop.call_soon_threadsafe(events.put_nowait, event)

        def work() -> None:
            try:
                run(emit)
            except Exception as exc:
                emit(Event(type="error", data={"message": str(exc)}))
            finally:
                loop.call_soon_threadsafe(events.put_nowait, done)

        task = loop.run_in_executor(None, work)
        while (item := await events.get()) is not done:
            yield item
        await task

    # ---- services of an understood turn (agent/turn/) ------------------------------------------

    def understand(self, text: str, pending_summary: str | None) -> "Understanding":
        """The understanding step, recorded (audit row + event) and timed."""
        result = self.agent.understander.understand(
            text, verified=self.customer_id is not None, pending=pending_summary, agent_said=self.last_reply())
        self.agent.stats.record(result.seconds)
        self._audit("understand", result.dump(), phase="understand", status="error" if result.error else "ok",
                    message=result.error or result.raw)
        return result

    def run_tool(self, name: str, args: dict[str, Any], emit: Emit) -> ToolResult:
        return self._execute_or_preview(name, args, emit, call_id=None)

    def resolve_pending(self, pending: PendingAction, confirm: bool, emit: Emit) -> str:
        return self._resolve(pending, confirm, "message", emit)

    def say(self, text: str, emit: Emit) -> str:
        return self._say(text, emit)

    def defer(self, request: Any) -> None:
        """A request made before login: held until the customer is verified."""
        self.agenda.append({"deferred": request.model_dump()})
        self._save_state()

    def take_deferred(self) -> list[Any]:
        from agent.understanding.understand import Request

        held = [Request(**item["deferred"]) for item in self.agenda if "deferred" in item]
        if held:
            self.agenda = [item for item in self.agenda if "deferred" not in item]
            self._save_state()
        return held

    def queue(self, tool: str, args: dict[str, Any]) -> None:
        self.agenda.append({"tool": tool, "arguments": args})
        self._save_state()

    def first_message(self) -> bool:
        return self._first_message()

    def audit_rewrite(self, composed: str, rewritten: str | None) -> None:
        self._audit("reply_rewrite", {"composed": composed}, phase="guard",
                    status="ok" if rewritten else "replaced", message=rewritten or "kept the composed reply")

    def locked(self) -> bool:
        return self.failed_verifications >= self.agent.policy.identity.max_failed_attempts

    def offer(self, tool: str, args: dict[str, Any], question: str) -> None:
        """A follow-up the customer answers yes or no to (e.g. a human's approval), held like a change
        and audited like one (proposed now, run on their yes)."""
        action = self._create_pending(tool, args, question)
        self._audit(tool, args, phase="preview", status="needs_confirmation", action_id=action.id,
                    message=question)

    def new_zip(self, ids: Any) -> str | None:
        """The zip code of a new address: this message's, else the customer's latest earlier one; never
        the account's own (the one they log in with)."""
        from agent.understanding.ids import find_identifiers

        row = self.agent.store.one("SELECT zip FROM customers WHERE id = ?", (self.customer_id,))
        own = {(row or {}).get("zip"), (ids.login or {}).get("zip_code")}
        for zips in (ids.zips, find_identifiers(self.customer_words()).zips[::-1]):
            fresh = [z for z in zips if z not in own]
            if fresh:
                return fresh[0]
        return None

    def login_details(self, ids: Any) -> dict[str, str] | None:
        """Login details: this message's, or its zip code with the one email given earlier (a retry)."""
        if ids.login:
            return ids.login
        if ids.zips and not ids.emails and self.customer_id is None:
            from agent.understanding.ids import find_identifiers

            earlier = find_identifiers(self.customer_words()).emails
            if len(earlier) == 1:
                return {"email": earlier[0], "zip_code": ids.zips[0]}
        return None

    def customer_words(self) -> str:
        return self._evidence(include_policy=False, roles=("user",))

    def last_reply(self) -> str | None:
        row = self.agent.store.one("SELECT content FROM messages WHERE conversation_id = ? AND role = 'assistant' "
                                   "AND visible = 1 ORDER BY id DESC LIMIT 1", (self.id,))
        return row["content"] if row else None

    def last_order(self) -> str | None:
        """The order the conversation was last about: the newest customer message naming exactly one,
        else the last tool call on an order that found it."""
        from agent.understanding.ids import find_identifiers

        said = self.agent.store.all("SELECT content FROM messages WHERE conversation_id = ? AND role = 'user' "
                                    "ORDER BY id DESC LIMIT 6", (self.id,))
        for row in said:
            orders = find_identifiers(row["content"] or "").orders
            if orders:
                return orders[0] if len(orders) == 1 else None
        rows = self.agent.store.all("SELECT arguments FROM audit_log WHERE conversation_id = ? AND (status IN "
                                    "('ok', 'needs_confirmation') OR (status = 'denied' AND rule != "
                                    "'identity.own_orders_only')) ORDER BY id DESC LIMIT 20", (self.id,))
        for row in rows:
            order = json.loads(row["arguments"] or "{}").get("order_id") if row["arguments"] else None
            if order:
                return order
        return None

    def order_line(self, order_id: str, item_words: str) -> int | None:
        """The line of the order the customer's words name (the only line when there is one)."""
        lines = self.agent.store.all(
            "SELECT l.id, l.product_name AS name FROM order_lines l JOIN orders o ON o.id = l.order_id "
            "WHERE l.order_id = ? AND o.customer_id = ?", (order_id, self.customer_id))
        if len(lines) == 1:
            return lines[0]["id"]
        named = [line["id"] for line in lines if item_words and _names(line["name"], item_words)]
        return named[0] if len(named) == 1 else None

    # ---- the turn -----------------------------------------------------------------------------

    def _turn(self, text: str, emit: Emit) -> str:
        self.turn += 1
        self._denied = {}
        self._reads = []
        text = (text or "").strip()
        if not text:
            return self._say(replies.EMPTY_MESSAGE, emit)
        if len(text) > MAX_MESSAGE:
            return self._say(texts.TOO_LONG.format(length=len(text), limit=MAX_MESSAGE), emit)
        self._add_message("user", text, visible=True)
        if self.agent.turn == "understand":
            return understood_turn(self, text, emit)
        pending = self.pending_action
        if pending is not None:
            if replies.is_yes(text):
                return self._say(self._resolve(pending, True, "message", emit), emit)
            if replies.is_no(text):
                return self._say(self._resolve(pending, False, "message", emit), emit)
            # Anything else declines it (and drops queued changes): only an unambiguous yes
            # executes a change, and the customer has moved on.
            self.agenda = []
            self._resolve(pending, False, "message", emit)
        return self._model_loop(text, emit)

    def _model_loop(self, user_text: str, emit: Emit) -> str:
        agent = self.agent
        tool_messages: list[str] = []
        failures: Counter[str] = Counter()
        asked_for_pending = False
        max_steps = agent.max_steps
        step = 0
        searched = False
        covered: set[str] = set()  # order ids the tool calls of this turn were about
        note: str | None = None
        if replies.is_greeting(user_text):
            return self._say(replies.GREETING, emit)
        creds = credentials_in(user_text) if self.customer_id is None else None
        if creds is not None:
            # Identity is bound by code: login details in the message are checked before the model's
            # first step, which then sees the verified customer's tools.
            result = self._runtime_call("verify", "verify_customer", creds, tool_messages, emit)
            if result.status != "ok":  # the denial (wrong details, locked) names the rule: say it
                return self._say(result.message, emit)
            name = result.data.get("name", "")
            if _only_credentials(user_text, name) and self._first_message():
                return self._say(replies.verified(name), emit)
        looked_up = len(tool_messages)  # results before this count are the verification's
        while step < max_steps:
            reply_only = step == max_steps - 1
            model_reply = self._call_model(reply_only=reply_only, stream_to=None, extra_note=note)
            note = None
            step += 1
            if model_reply is None:
                return self._say(replies.MODEL_FAILURE, emit, error=True)
            calls = _distinct([_upgraded(c, user_text) for c in model_reply.tool_calls])[:MAX_ACTIONS] \
                if not reply_only else []
            if calls and not searched and len(tool_messages) == looked_up and _misrouted_question(user_text, calls):
                # A help question the model answered with lookups of orders the customer did not
                # mention: route it to the help center instead.
                searched = True
                self._route_to_help(user_text, tool_messages, emit)
                return self._final_reply(tool_messages, emit)
            if calls:
                covered |= {str(c.arguments.get("order_id", "")).upper().lstrip("#") for c in calls
                            if isinstance(c.arguments, dict)}
                outcome = self._run_calls(calls, tool_messages, failures, emit)
                login_only = self.customer_id is None and all(c.name == "verify_customer" for c in calls)
                if outcome.get("only_questions") and not searched and (
                        _is_help_question(user_text)
                        or (login_only and _QUESTION.search(user_text) and not order_ids(user_text))):
                    # Invented details for a general question: answer it from the help center.
                    searched = True
                    self._route_to_help(user_text, tool_messages, emit)
                    return self._final_reply(tool_messages, emit)
                if outcome.get("question"):
                    # Only the verification result is worth repeating; other tool messages are internal.
                    done = _logins(tool_messages)
                    if self._denied:  # a denial comes first, and the model's improvised next step waits
                        return self._say(" ".join(done + list(self._denied.values())), emit)
                    return self._say(" ".join(done + [outcome["question"]]), emit)
                if outcome.get("stop"):
                    return self._say(replies.REPEATED_FAILURE, emit)
                if outcome.get("pending"):
                    asked_for_pending = True
                    break
                if outcome.get("reads_only_done"):
                    missed = sorted(order_ids(user_text) - covered)
                    if missed and step < max_steps - 1:
                        # A small model drops the second request of a message: the runtime keeps
                        # the agenda and asks for the missing item before replying.
                        note = (f"The customer's message also asks about {', '.join(missed)}: call the "
                                f"tool that answers that part of their message.")
                        continue
                    # Everything on the agenda has an answer: write the reply from all results.
                    return self._final_reply(tool_messages, emit)
                if (outcome.get("verified") and all(c.name == "verify_customer" for c in calls)
                        and _only_credentials(user_text, outcome["verified"]) and self._first_message()):
                    # "Hi, I'm jane@..., 94107" holds no request yet: no need for another step.
                    return self._say(replies.verified(outcome["verified"]), emit)
                continue
            text = (model_reply.text or "").strip()
            if (not searched and len(tool_messages) == looked_up and _QUESTION.search(user_text)
                    and not order_ids(user_text)):
                # A question answered without looking anything up: route it to the help center.
                searched = True
                self._route_to_help(user_text, tool_messages, emit)
                return self._final_reply(tool_messages, emit)
            if not text:
                continue
            return self._guarded(text, tool_messages, emit)
        pending = self.pending_action
        if asked_for_pending and pending is not None:
            question = replies.confirmation_question(pending.summary)
            if len(tool_messages) - looked_up > 1:  # reads ran too: let the model relay them first
                intro = self._final_reply(tool_messages, emit, persist=False)
                return self._say(f"{intro}\n\n{question}", emit, delta=f"\n\n{question}")
            done = _logins(tool_messages[:looked_up])
            return self._say(" ".join(done + [question]), emit)
        return self._final_reply(tool_messages, emit)

    def _final_reply(self, tool_messages: list[str], emit: Emit, *, persist: bool = True) -> str:
        """A reply-only step, streamed, then guarded."""
        model_reply = self._call_model(reply_only=True, stream_to=emit)
        if model_reply is None:
            text = replies.safe_answer(tool_messages)
        else:
            text = (model_reply.text or "").strip() or replies.safe_answer(tool_messages)
        streamed = model_reply is not None and model_reply.text is not None and bool(model_reply.text.strip())
        if streamed and not _was_streamed(model_reply):
            emit(Event(type="text_delta", data={"text": text}))
        return self._guarded(text, tool_messages, emit, persist=persist, streamed=streamed)

    def _guarded(self, text: str, tool_messages: list[str], emit: Emit, *, persist: bool = True,
                 streamed: bool = False) -> str:
        evidence = self._evidence()
        tool_evidence = self._evidence(roles=("tool",))
        performed = self._performed_writes()
        today = self.agent.clock().date()
        problems = check_reply(text, evidence, performed, today=today, amount_evidence=tool_evidence)
        if problems:
            self._audit("reply_guard", {"reply": text}, phase="guard", status="rejected",
                        message="; ".join(problems))
            if streamed:
                emit(Event(type="text_reset"))
            note = ("Correction: your last reply " + "; ".join(problems) +
                    ". Write the reply again using only facts from the tool results above.")
            retry = self._call_model(reply_only=True, stream_to=emit, extra_note=note)
            text = (retry.text or "").strip() if retry else ""
            if text and retry is not None and not _was_streamed(retry):
                emit(Event(type="text_delta", data={"text": text}))
            streamed = bool(text)
            if not text or check_reply(text, evidence, performed, today=today, amount_evidence=tool_evidence):
                emit(Event(type="text_reset"))
                text = replies.safe_answer(tool_messages)
                self._audit("reply_guard", {"reply": text}, phase="guard", status="replaced")
                streamed = False
        missed = [m for m in self._denied.values() if not relays(text, m)]
        if missed:
            # Every denial names its rule to the customer: a reply that left one out (or talked
            # around it) is replaced by the tools' own words.
            self._audit("reply_guard", {"reply": text}, phase="guard", status="replaced",
                        message="did not pass on: " + " / ".join(missed))
            if streamed:
                emit(Event(type="text_reset"))
            text = replies.relay(list(self._denied.values()), self._reads)
            streamed = False
        if not persist:  # the caller persists; the text is on screen either way
            if not streamed:
                emit(Event(type="text_delta", data={"text": text}))
            return text
        return self._say(text, emit, streamed=streamed)

    # ---- tools --------------------------------------------------------------------------------

    def _run_calls(self, calls: list[ToolCall], tool_messages: list[str], failures: Counter,
                   emit: Emit) -> dict[str, Any]:
        """Run one step's agenda. Reads run now; the first write becomes the pending action and
        later writes wait in the session agenda."""
        self._add_message("assistant", None, tool_calls=[_openai_call(c) for c in calls])
        outcome: dict[str, Any] = {}
        questions: list[tuple[str, str]] = []
        succeeded = 0
        pending_made = self.pending_action is not None
        for call in calls:
            args = call.arguments
            tool = get_tool(call.name)
            if call.name == "verify_customer" and self.customer_id is not None:
                # Already verified: a repeated verify (small models send two or three) is a no-op.
                result = ToolResult(status="ok", tool=call.name, message="Already verified.")
                self._tool_result(call, result, emit, phase="blocked")
                continue
            if tool is not None and isinstance(args, dict) and call.name not in self._allowed():
                result = ToolResult(status="denied", tool=call.name, rule="identity.verification_required",
                                    message="Verify the customer first (email and zip code, or order id "
                                            "and email).")
                self._tool_result(call, result, emit, phase="blocked")
                tool_messages.append(result.message)
                continue
            if tool is not None and isinstance(args, dict):
                missing = unsourced_argument(args, self._evidence(include_policy=False))
                customer_words = self._evidence(include_policy=False, roles=("user",)) \
                    if not missing and args.get("condition") else ""
                if customer_words and unclaimed_condition(args, customer_words):
                    stated = stated_condition(customer_words)
                    if stated:  # the customer said it: their word, not the model's guess
                        args = {**args, "condition": stated}
                    elif call.name == "check_refund_eligibility":  # optional: show every condition instead
                        args = {k: v for k, v in args.items() if k != "condition"}
                    else:
                        missing = "condition"
                if missing:
                    result = ToolResult(status="error", tool=call.name,
                                        message=f"Not called: the customer never gave this {missing}; "
                                                f"asked them for it.")
                    self._tool_result(call, result, emit, phase="blocked")
                    questions.append((call.name, replies.ASK_LOGIN if call.name == "verify_customer"
                                      else QUESTIONS.get(missing, CONDITION_QUESTION)))
                    continue
            if tool is not None and tool.is_write and pending_made:
                self.agenda.append({"tool": call.name, "arguments": args})
                self._save_state()
                result = ToolResult(status="needs_confirmation", tool=call.name,
                                    message="Queued: proposed after the current pending change is "
                                            "confirmed or declined.")
                self._tool_result(call, result, emit, phase="queued")
                continue
            result = self._execute_or_preview(call.name, args, emit, call_id=call.id)
            succeeded += result.status in ("ok", "needs_confirmation")
            if call.name == "verify_customer" and result.status == "ok":
                outcome["verified"] = result.data.get("name", "")
            if result.status == "needs_confirmation":
                pending_made = True
                outcome["pending"] = True
            elif result.status == "error":
                key = _call_key(call.name, args)
                failures[key] += 1
                outcome["error"] = True  # let the model correct the call
                if failures[key] >= 2:
                    outcome["stop"] = True
            tool_messages.append(result.message)
        if succeeded:  # an invented login next to real work: do the work, don't ask for credentials
            questions = [q for q in questions if q[0] != "verify_customer"]
        if questions:
            outcome["question"] = questions[0][1]
            outcome["only_questions"] = not succeeded
        if set(outcome) - {"verified"} == set() and all((get_tool(c.name) and not get_tool(c.name).is_write
                                and c.name not in ("verify_customer",)) for c in calls):
            outcome["reads_only_done"] = True
        return outcome

    def _execute_or_preview(self, name: str, args: Any, emit: Emit, *, call_id: str | None) -> ToolResult:
        emit(Event(type="tool_call", data={"tool": name, "arguments": args if isinstance(args, dict) else {},
                                           "label": activity_label(name, args)}))
        ctx = self._context()
        result = run_tool(ctx, name, args)
        self._adopt(ctx)
        tool = get_tool(name)
        phase = "preview" if tool is not None and tool.is_write else "read"
        if result.status == "needs_confirmation":
            action = self._create_pending(name, args, result.summary or result.message)
            result = result.model_copy(update={
                "message": f"Waiting for the customer's confirmation: {result.summary}",
                "data": {**result.data, "action_id": action.id}})
            self._tool_result_message(call_id, result)
            self._audit(name, args, phase=phase, result=result, action_id=action.id)
            emit(Event(type="tool_result", data=_result_event(name, result)))
            emit(Event(type="confirmation_requested", data={
                "action_id": action.id, "tool": name, "summary": action.summary}))
            return result
        self._tool_result_message(call_id, result)
        self._audit(name, args, phase=phase, result=result)
        emit(Event(type="tool_result", data=_result_event(name, result)))
        if result.status == "denied" and name != "verify_customer":
            self._denied[name] = result.message
        elif result.status == "ok":
            self._denied.pop(name, None)
            if phase == "read" and name != "verify_customer":
                self._reads.append(result.message)
        return result

    def _tool_result(self, call: ToolCall, result: ToolResult, emit: Emit, *, phase: str) -> None:
        self._tool_result_message(call.id, result)
        self._audit(call.name, call.arguments, phase=phase, result=result)
        emit(Event(type="tool_result", data=_result_event(call.name, result)))

    def _route_to_help(self, question: str, tool_messages: list[str], emit: Emit) -> None:
        self._runtime_call("route", "search_help_center", {"query": as_plain_text(question)[:300]},
                           tool_messages, emit)

    def _runtime_call(self, prefix: str, name: str, args: dict[str, Any], tool_messages: list[str],
                      emit: Emit) -> ToolResult:
        """A call the runtime makes itself, recorded like a model's so the model sees it in its history."""
        call = ToolCall(id=f"{prefix}_{secrets.token_hex(4)}", name=name, arguments=args)
        self._add_message("assistant", None, tool_calls=[_openai_call(call)])
        result = self._execute_or_preview(call.name, call.arguments, emit, call_id=call.id)
        tool_messages.append(result.message)
        return result

    # ---- confirmation gate -------------------------------------------------------------------

    def _resolve_api(self, action_id: str, confirm: bool, on_event: Emit | None) -> Reply:
        events, emit = _collector(on_event)
        with self._lock:
            self._denied, self._reads = {}, []
            row = self.agent.store.one("SELECT * FROM pending_actions WHERE id = ? AND conversation_id = ?",
                                       (action_id, self.id))
            if row is None:
                raise KeyError(f"no action {action_id} in this conversation")
            action = _pending(row)
            if action.status != "pending":
                # Idempotent: a second confirm (double click, retry) writes nothing and says so.
                text = (json.loads(row["result"]).get("message") if row["result"] else None) or \
                    f"That action was already {action.status}."
                emit(Event(type="turn_done", data={"text": text, "pending_action": None}))
                return Reply(session_id=self.id, text=text, events=events, pending_action=self.pending_action)
            self.turn += 1
            self._add_message("user", "(confirmed)" if confirm else "(declined)", visible=True)
            text = self._say(self._resolve(action, confirm, "api", emit), emit)
            pending = self.pending_action
            emit(Event(type="turn_done", data={
                "text": text, "pending_action": pending.model_dump() if pending else None}))
        return Reply(session_id=self.id, text=text, events=events, pending_action=pending)

    def _resolve(self, action: PendingAction, confirm: bool, by: str, emit: Emit) -> str:
        store = self.agent.store
        now = iso(self.agent.clock())
        if confirm:
            ctx = self._context()
            result = run_tool(ctx, action.tool, action.arguments, execute=True, key=action.id)
            self._adopt(ctx)
            status = "executed" if result.status == "ok" else "failed"
            self._audit(action.tool, action.arguments, phase="execute", result=result, action_id=action.id,
                        confirmed_by=by)
            text = result.message
        else:
            result = None
            status = "declined"
            self._audit(action.tool, action.arguments, phase="decline", status="declined",
                        action_id=action.id, message="declined by the customer")
            text = replies.declined(action.summary)
        with store.write() as db:
            db.execute("UPDATE pending_actions SET status = ?, result = ?, resolved_at = ? WHERE id = ?",
                       (status, result.model_dump_json() if result else None, now, action.id))
        emit(Event(type="action_resolved", data={"action_id": action.id, "status": status, "message": text}))
        follow_up = self._next_from_agenda(emit)
        return f"{text}\n\n{follow_up}" if follow_up else text

    def _next_from_agenda(self, emit: Emit) -> str | None:
        """After a pending action is resolved, propose the next queued write, if any."""
        while any("tool" in item for item in self.agenda):
            item = next(item for item in self.agenda if "tool" in item)
            self.agenda.remove(item)
            self._save_state()
            result = self._execute_or_preview(item["tool"], item["arguments"], emit, call_id=None)
            if result.status == "needs_confirmation":
                return replies.confirmation_question(self.pending_action.summary)
            return result.message
        return None

    def _create_pending(self, tool: str, args: Any, summary: str) -> PendingAction:
        action = PendingAction(id="act_" + secrets.token_hex(8), tool=tool,
                               arguments=args if isinstance(args, dict) else {}, summary=summary)
        with self.agent.store.write() as db:
            db.execute(
                "INSERT INTO pending_actions (id, conversation_id, tool, arguments, summary, status, created_at)"
                " VALUES (?,?,?,?,?,?,?)",
                (action.id, self.id, tool, dumps(action.arguments), redact(summary), "pending",
                 iso(self.agent.clock())))
        return action

    # ---- model --------------------------------------------------------------------------------

    def _call_model(self, *, reply_only: bool, stream_to: Emit | None,
                    extra_note: str | None = None) -> ModelReply | None:
        messages = self._model_messages()
        if extra_note:
            messages.append({"role": "user", "content": f"[note from the system, not the customer] {extra_note}"})
        chunks: list[str] = []

        def on_text(chunk: str) -> None:
            chunks.append(chunk)
            stream_to(Event(type="text_delta", data={"text": chunk}))

        started = time.perf_counter()
        try:
            reply = self.agent.model.complete(
                messages, self.agent.tool_specs, allowed=None if reply_only else self._allowed(),
                reply_only=reply_only, max_actions=MAX_ACTIONS, on_text=on_text if stream_to else None)
        except Exception as exc:  # the backend already retried what was worth retrying
            self._audit("model", {}, phase="model", status="error", message=f"{type(exc).__name__}: {exc}")
            return None
        self.agent.stats.record(time.perf_counter() - started)
        if chunks:
            reply = reply.model_copy(update={"streamed": True})
        return reply

    def _allowed(self) -> list[str]:
        if self.customer_id is None:
            names = [t.name for t in self.agent.tools if not t.requires_identity]
            locked = self.failed_verifications >= self.agent.policy.identity.max_failed_attempts
            return [n for n in names if not (locked and n == "verify_customer")]
        return [t.name for t in self.agent.tools if t.name != "verify_customer"]

    def _model_messages(self) -> list[dict[str, Any]]:
        rows = self.agent.store.all(
            "SELECT role, content, tool_calls, tool_call_id FROM messages WHERE conversation_id = ? "
            "AND role IN ('user', 'assistant', 'tool') ORDER BY id DESC LIMIT 60", (self.id,))
        rows.reverse()
        history: list[dict[str, Any]] = []
        for r in rows:
            m: dict[str, Any] = {"role": r["role"], "content": r["content"] or ""}
            if r["tool_calls"]:
                m["tool_calls"] = json.loads(r["tool_calls"])
            if r["tool_call_id"]:
                m["tool_call_id"] = r["tool_call_id"]
            if r["role"] == "user" and r["content"] in ("(confirmed)", "(declined)"):
                continue
            history.append(m)
        # Keep the newest messages within budget, starting at a customer message, and never less
        # than the current turn (from the newest customer message on).
        users = [i for i, m in enumerate(history) if m["role"] == "user"]
        start, total = len(history), 0
        for i in range(len(history) - 1, -1, -1):
            total += len(history[i]["content"]) + len(json.dumps(history[i].get("tool_calls", "")))
            if total > HISTORY_CHARS:
                break
            start = i
        if users:
            start = min(start, users[-1])
            while history[start]["role"] != "user":
                start += 1
        history = history[start:]
        return [{"role": "system", "content": system_prompt(self.agent.prefix, self._state())}] + history

    def _state(self) -> str:
        name = None
        if self.customer_id:
            row = self.agent.store.one("SELECT name FROM customers WHERE id = ?", (self.customer_id,))
            name = row["name"] if row else None
        pending = self.pending_action
        return state_block(customer_name=name,
                           locked=self.failed_verifications >= self.agent.policy.identity.max_failed_attempts,
                           pending_summary=pending.summary if pending else None)

    # ---- evidence for the guards ----------------------------------------------------------------

    def _evidence(self, include_policy: bool = True, roles: tuple[str, ...] = ("user", "tool")) -> str:
        marks = ", ".join("?" for _ in roles)
        rows = self.agent.store.all(
            f"SELECT content FROM messages WHERE conversation_id = ? AND role IN ({marks})",
            (self.id, *roles))
        parts = [r["content"] or "" for r in rows]
        if include_policy:
            parts.append(self.agent.policy.prose)
        return "\n".join(parts)

    def _first_message(self) -> bool:
        """No earlier customer message (whose request would still be waiting on verification)."""
        row = self.agent.store.one("SELECT count(*) AS n FROM messages WHERE conversation_id = ? AND role = 'user'",
                                   (self.id,))
        return row["n"] <= 1

    def _performed_writes(self) -> set[str]:
        rows = self.agent.store.all(
            "SELECT DISTINCT tool FROM audit_log WHERE conversation_id = ? AND status = 'ok' "
            "AND phase IN ('execute', 'read')", (self.id,))
        return {r["tool"] for r in rows}

    # ---- persistence --------------------------------------------------------------------------

    def _context(self) -> ToolContext:
        return ToolContext(self.agent.store, self.agent.policy, customer_id=self.customer_id,
                           failed_verifications=self.failed_verifications, clock=self.agent.clock)

    def _adopt(self, ctx: ToolContext) -> None:
        """Identity changes only through a tool result (verify_customer), never from model text."""
        if (ctx.customer_id, ctx.failed_verifications) != (self.customer_id, self.failed_verifications):
            self.customer_id, self.failed_verifications = ctx.customer_id, ctx.failed_verifications
            self._save_state()

    def _save_state(self) -> None:
        with self.agent.store.write() as db:
            db.execute("UPDATE conversations SET customer_id = ?, failed_verifications = ?, agenda = ?, "
                       "updated_at = ? WHERE id = ?",
                       (self.customer_id, self.failed_verifications, dumps(self.agenda),
                        iso(self.agent.clock()), self.id))

    def _say(self, text: str, emit: Emit, *, error: bool = False, streamed: bool = False,
             delta: str | None = None) -> str:
        """Persist a reply and emit whatever part of it was not streamed yet."""
        if error:
            emit(Event(type="error", data={"message": text}))
        if delta is not None:
            emit(Event(type="text_delta", data={"text": delta}))
        elif not streamed:
            emit(Event(type="text_delta", data={"text": text}))
        self._add_message("assistant", text, visible=True)
        return text

    def _add_message(self, role: str, content: str | None, *, visible: bool = False,
                     tool_calls: list[dict] | None = None, tool_call_id: str | None = None) -> None:
        with self.agent.store.write() as db:
            db.execute(
                "INSERT INTO messages (conversation_id, turn, role, content, tool_calls, tool_call_id, "
                "visible, created_at) VALUES (?,?,?,?,?,?,?,?)",
                (self.id, self.turn, role, redact(content), dumps(tool_calls) if tool_calls else None,
                 tool_call_id, int(visible), iso(self.agent.clock())))

    def _tool_result_message(self, call_id: str | None, result: ToolResult) -> None:
        if call_id is None:
            call_id = f"agenda_{secrets.token_hex(4)}"
            call = {"id": call_id, "type": "function",
                    "function": {"name": result.tool, "arguments": "{}"}}
            self._add_message("assistant", None, tool_calls=[call])
        self._add_message("tool", json.dumps(_for_model(result.compact()), ensure_ascii=False, default=str,
                                             separators=(",", ":")), tool_call_id=call_id)

    def _audit(self, tool: str, args: Any, *, phase: str, result: ToolResult | None = None,
               status: str | None = None, message: str | None = None, action_id: str | None = None,
               confirmed_by: str | None = None) -> None:
        with self.agent.store.write() as db:
            db.execute(
                "INSERT INTO audit_log (conversation_id, turn, at, tool, arguments, phase, status, rule, "
                "message, customer_id, action_id, confirmed_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (self.id, self.turn, iso(self.agent.clock()), tool, dumps(args), phase,
                 status or (result.status if result else None), result.rule if result else None,
                 redact(message or (result.message if result else None)), self.customer_id, action_id,
                 confirmed_by))


def _names(product: str, words: str) -> bool:
    """The customer's words name this product: a word of the product's name appears in them."""
    from agent.understanding.ids import contains_words

    return any(len(w) > 2 and contains_words(words, w) for w in product.split())


def _collector(on_event: Emit | None) -> tuple[list[Event], Emit]:
    """Events of one call, kept for the Reply and passed on to a streaming consumer as they come."""
    events: list[Event] = []

    def emit(event: Event) -> None:
        events.append(event)
        if on_event is not None:
            on_event(event)

    return events, emit


_FILLER = re.compile(
    r"\b(hi|hello|hey|good (morning|afternoon|evening)|i'm|i am|im|my|me|name|email|e-mail|address|is|"
    r"zip|zipcode|zip code|postal|code|and|it's|its|this|here|thanks|thank|you|please|ok|okay|again|"
    r"verify|verification|log ?in)\b|\S+@\S+|\d+|[^\w\s]", re.I)


def _only_credentials(user_text: str, name: str) -> bool:
    """True when the message is a greeting plus login details (and maybe the name), nothing else."""
    names = {w.lower() for w in name.split()}
    rest = [w for w in _FILLER.sub(" ", user_text).split() if w.lower() not in names]
    return len(rest) <= 1 and not _QUESTION.search(user_text)


def _logins(tool_messages: list[str]) -> list[str]:
    """The verification result among a turn's tool messages: the one worth repeating to the customer."""
    return [m for m in tool_messages if m and m.startswith("Verified:")]


def _call_key(name: str, args: Any) -> str:
    return f"{name}:{json.dumps(args, sort_keys=True, default=str)}"


def _distinct(calls: list[ToolCall]) -> list[ToolCall]:
    """A step's calls without repeats (a small model sends the same call two or three times)."""
    seen: set[str] = set()
    out = []
    for call in calls:
        key = _call_key(call.name, call.arguments)
        if key not in seen:
            seen.add(key)
            out.append(call)
    return out


def _is_help_question(user_text: str) -> bool:
    """A question about a help-center topic (payment methods, passwords, the app, policies...)."""
    return bool(_QUESTION.search(user_text) and _HELP_TOPIC.search(user_text)) and not order_ids(user_text)


def _misrouted_question(user_text: str, calls: list[ToolCall]) -> bool:
    """A help question the model answered by reading some order, or by escalating when the customer
    only asked when people are available, instead of searching."""
    if not _is_help_question(user_text):
        return False
    reads = ("get_order", "track_shipment", "check_refund_eligibility", "list_orders")
    if _HOURS.search(user_text):
        reads += ("escalate_to_human",)
    return all(c.name in reads for c in calls)


def _upgraded(call: ToolCall, user_text: str) -> ToolCall:
    """get_order for a message about tracking is track_shipment (same argument, also a read; it
    answers "not shipped yet" too): a small model confuses the two."""
    if (call.name == "get_order" and _TRACKING.search(user_text) and isinstance(call.arguments, dict)
            and call.arguments.get("order_id")):
        return ToolCall(id=call.id, name="track_shipment",
                        arguments={"order_id": call.arguments.get("order_id")})
    return call


def _for_model(value: Any, depth: int = 0) -> Any:
    """A tool result as the model sees it: no empty fields, long lists cut (fewer prompt tokens to
    prefill on a CPU, and less for a small model to get lost in)."""
    if isinstance(value, dict):
        out = {k: _for_model(v, depth + 1) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [_for_model(v, depth + 1) for v in value[:MAX_LIST_ITEMS]]
    return value


def _was_streamed(reply: ModelReply) -> bool:
    """Backends that streamed the text through on_text mark the reply; others did not."""
    return bool(getattr(reply, "streamed", False))


def _pending(row: dict[str, Any]) -> PendingAction:
    return PendingAction(id=row["id"], tool=row["tool"], arguments=json.loads(row["arguments"] or "{}"),
                         summary=row["summary"], status=row["status"])


def _openai_call(call: ToolCall) -> dict[str, Any]:
    args = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": args}}


def _result_event(name: str, result: ToolResult) -> dict[str, Any]:
    return {"tool": name, "status": result.status, "rule": result.rule, "message": result.message}
