"""One conversation: its public API (send / stream / confirm / decline / resume), its persistence
(messages, pending actions, audit log) and the confirmation gate. A customer message is one understood
turn (agent/turn/turn.py): understand -> process -> compose. Identity changes only through a tool result;
a write runs only on the customer's confirmation, once.
"""

from __future__ import annotations

import asyncio
import json
import queue
import secrets
import threading
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Iterator

from agent.events import Event, PendingAction, Reply
from agent.labels import activity_label
from agent.language import conversation_language, has_catalog, locale_name
from agent.messages import render
from agent.persistence import audit_row, dumps, redact
from agent.records import SharedTransaction
from agent.turn import texts
from agent.turn.turn import understood_turn
from agent.understanding.ids import contains_words, find_identifiers
from agent.understanding.kinds import kind_of_tool
from agent.understanding.narrow import closest
from agent.understanding.understand import Request
from tools.context import ToolContext
from tools.i18n import ENGLISH
from tools.registry import get_tool, run_tool
from tools.results import ToolResult
from tools.values import iso

if TYPE_CHECKING:
    from agent.support_agent import SupportAgent
    from agent.understanding.understand import Understanding

Emit = Callable[[Event], None]
MAX_MESSAGE = 4000
API_ANSWERS = ("(confirmed)", "(declined)")  # what the transcript shows for a confirm / decline button


class Session:
    """Use `agent.session()` / `agent.resume(id)` to get one. Thread-safe: one turn at a time."""

    def __init__(self, agent: "SupportAgent", session_id: str, token: str | None = None):
        self.agent = agent
        self.id = session_id
        self.token = token  # only known right after creation; the store keeps a hash
        self._lock = threading.RLock()
        self.records = agent.records
        row = self.records.conversation(session_id)
        if row is None:
            raise KeyError(f"no conversation {session_id}")
        self.customer_id: str | None = row["customer_id"]
        self.failed_verifications: int = row["failed_verifications"] or 0
        self.agenda: list[dict[str, Any]] = json.loads(row["agenda"] or "[]")
        self.lang: str = row.get("lang") or ENGLISH  # the conversation's language (agent/language.py)
        self.turn = self.records.last_turn(session_id)

    # ---- public API -------------------------------------------------------------------------

    def send(self, text: str, on_event: Emit | None = None) -> Reply:
        """Run one customer turn and return the reply (text, events, pending action)."""
        events, emit = _collector(on_event)
        with self._lock:
            recovered = self._reconcile(emit) + self._answer_cut_turn(emit)
            try:
                text_out = self._turn(text, emit)
            except Exception as exc:  # the caller tells the customer it failed: never answered later
                self._note_failed_turn(exc)
                raise
            text_out = "\n\n".join([*recovered, text_out])
            pending = self.pending_action
            emit(Event(type="turn_done", data={
                "text": text_out, "pending_action": pending.model_dump() if pending else None,
                "lang": self.reply_locale}))
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
        customer = self.agent.store.customer_by_email(email.strip())
        if customer is None:
            raise KeyError(f"no customer with email {email}")
        with self._lock:
            self.customer_id = customer.id
            self._save_state()

    def set_language(self, lang: str) -> None:
        """The conversation's language, e.g. "zh", "es" or "fr" (the customer's messages may change it)."""
        with self._lock:
            self.lang = locale_name(lang)
            self._save_state()

    def note_language(self, text: str, model_lang: str | None) -> str:
        """The conversation's language after this customer message (evidence enough switches it)."""
        lang = conversation_language(self.lang, text, model_lang)
        if lang != self.lang:
            self.set_language(lang)
        return self.lang

    @property
    def reply_locale(self) -> str:
        """The locale replies are composed in: the conversation's, or English where no catalog ships
        (the model translates those, fact-checked)."""
        return self.lang if has_catalog(self.lang) else ENGLISH

    def render(self, message_id: str, params: dict[str, Any] | None = None) -> str:
        return render(message_id, params, self.reply_locale)

    def result_text(self, result: ToolResult) -> str:
        """A tool result's message in the conversation's language (a message with no catalog id as is)."""
        return self.render(result.message_id, result.params) if result.message_id else result.message

    def summary_text(self, result: ToolResult) -> str:
        """A write's confirmation summary in the conversation's language: what the customer confirms."""
        if result.summary_id:
            return self.render(result.summary_id, result.summary_params)
        return result.summary or self.result_text(result)

    @property
    def pending_action(self) -> PendingAction | None:
        row = self.records.pending(self.id)
        return _pending(row) if row else None

    def transcript(self) -> list[dict[str, Any]]:
        """What the customer saw: their messages and the agent's replies, in order."""
        return [{k: m[k] for k in ("turn", "role", "content", "created_at")}
                for m in self.records.messages(self.id, visible_only=True)]

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

    def understand(self, text: str, pending: PendingAction | None, expecting: str | None = None) -> "Understanding":
        """The understanding step, recorded (audit row + event) and timed. `expecting`: the kind of the
        request the agent just asked the customer to complete. The agent's last words frame the message
        only when they asked something (a question to complete a request, a change to confirm): after
        a done or denied request, "yes, please do that" is no request to do it again."""
        asked = pending is not None or expecting is not None
        result = self.agent.understander.understand(
            text, verified=self.customer_id is not None, pending=pending.summary if pending else None,
            pending_kind=kind_of_tool(pending.tool) if pending else None,
            agent_said=self.last_reply() if asked else None, expecting=expecting)
        self.agent.stats.record(result.seconds)
        self._audit("understand", result.dump(), phase="understand", status="error" if result.error else "ok",
                    message=result.error or result.raw)
        return result

    def resolve_pending(self, pending: PendingAction, confirm: bool, emit: Emit) -> str:
        return self._resolve(pending, confirm, "message", emit)

    def say(self, text: str, emit: Emit) -> str:
        return self._say(text, emit)

    def defer(self, request: Any) -> None:
        """A request made before login: held until the customer is verified."""
        self.agenda.append({"deferred": request.model_dump()})
        self._save_state()

    def remember_asked(self, request: Request) -> None:
        """A request the customer was just asked to complete: its slots carry over to their answer."""
        self.agenda = [item for item in self.agenda if "asked" not in item] + [{"asked": request.model_dump()}]
        self._save_state()

    def take_asked(self) -> Request | None:
        asked = [item["asked"] for item in self.agenda if "asked" in item]
        if not asked:
            return None
        self.agenda = [item for item in self.agenda if "asked" not in item]
        self._save_state()
        return Request(**asked[-1])

    def take_deferred(self) -> list[Any]:
        held = [Request(**item["deferred"]) for item in self.agenda if "deferred" in item]
        if held:
            self.agenda = [item for item in self.agenda if "deferred" not in item]
            self._save_state()
        return held

    def queue(self, tool: str, args: dict[str, Any]) -> None:
        self.agenda.append({"tool": tool, "arguments": args})
        self._save_state()

    def audit_rewrite(self, composed: str, rewritten: str | None) -> None:
        self._audit("reply_rewrite", {"composed": composed}, phase="guard",
                    status="ok" if rewritten else "replaced", message=rewritten or "kept the composed reply")

    def urgent(self, text: str) -> bool:
        """The policy's urgent words are in the text (injury, lawyer...; policy data, see escalation)."""
        from tools.tickets import is_urgent

        return is_urgent(self._context(), text)

    def locked(self) -> bool:
        return self.failed_verifications >= self.agent.policy.identity.max_failed_attempts

    def offer(self, tool: str, args: dict[str, Any], question: str) -> None:
        """A follow-up the customer answers yes or no to (e.g. a human's approval), held like a change
        and audited like one (proposed now, run on their yes)."""
        action = self._create_pending(tool, args, self.render(question))
        self._audit(tool, args, phase="preview", status="needs_confirmation", action_id=action.id,
                    message=question)

    def new_zip(self, ids: Any) -> str | None:
        """The zip code of a new address: this message's, else the customer's latest earlier one; never
        the account's own (the one they log in with)."""
        customer = self.agent.store.customer(self.customer_id) if self.customer_id else None
        own = {customer and customer.zip, (ids.login or {}).get("zip_code")}
        for zips in (ids.zips, find_identifiers(self.customer_words()).zips[::-1]):
            fresh = [z for z in zips if z not in own]
            if fresh:
                return fresh[0]
        return None

    def login_details(self, ids: Any) -> dict[str, str] | None:
        """Login details to check now: this message's (once verified too: the check refuses a switch to
        another customer by its rule), or its zip code with the one email given earlier (a retry)."""
        if ids.login:
            return ids.login
        if ids.zips and not ids.emails and self.customer_id is None:
            earlier = find_identifiers(self.customer_words()).emails
            if len(earlier) == 1:
                return {"email": earlier[0], "zip_code": ids.zips[0]}
        return None

    def customer_words(self) -> str:
        """Everything the customer wrote in this conversation (where their words are looked for)."""
        return "\n".join(r["content"] or "" for r in self.records.messages(self.id, role="user"))

    def last_reply(self) -> str | None:
        rows = self.records.messages(self.id, role="assistant", visible_only=True, newest=1)
        return rows[0]["content"] if rows else None

    def last_order(self) -> str | None:
        """The order the conversation was last about: the newest customer message naming exactly one,
        else the last tool call on an order that found it."""
        for row in reversed(self.records.messages(self.id, role="user", newest=6)):
            orders = find_identifiers(row["content"] or "").orders
            if orders:
                return orders[0] if len(orders) == 1 else None
        for arguments in self.records.audited_arguments(self.id):
            order = json.loads(arguments).get("order_id") if arguments else None
            if order:
                return order
        return None

    def order_line(self, order_id: str, item_words: str) -> int | None:
        """The line of the order the customer's words name (the only line when there is one)."""
        order = self.agent.store.customer_order(self.customer_id, order_id) if self.customer_id else None
        lines = order.lines if order else ()
        if len(lines) == 1:
            return lines[0].id
        named = [line.id for line in lines if item_words and _names(line.product_name, item_words)]
        if len(named) == 1:
            return named[0]
        index = closest(item_words, [line.product_name for line in lines]) if item_words else None
        return lines[index].id if index is not None else None

    # ---- the turn -----------------------------------------------------------------------------

    def _turn(self, text: str, emit: Emit) -> str:
        self.turn += 1
        text = (text or "").strip()
        if not text:
            return self._say(self.render(texts.EMPTY), emit)
        if len(text) > MAX_MESSAGE:
            return self._say(self.render(texts.TOO_LONG, {"length": len(text), "limit": MAX_MESSAGE}), emit)
        self._add_message("user", text, visible=True)
        return understood_turn(self, text, emit)

    # ---- tools --------------------------------------------------------------------------------

    def run_tool(self, name: str, args: dict[str, Any], emit: Emit) -> ToolResult:
        """Run a read, or preview a write (which becomes the pending action); audited and announced."""
        emit(Event(type="tool_call", data={"tool": name, "arguments": args if isinstance(args, dict) else {},
                                           "label": activity_label(name, args, self.reply_locale)}))
        ctx = self._context()
        result = run_tool(ctx, name, args)
        self._adopt(ctx)
        tool = get_tool(name)
        phase = "preview" if tool is not None and tool.is_write else "read"
        if result.status == "needs_confirmation":
            action = self._create_pending(name, args, self.summary_text(result))
            result = result.model_copy(update={"data": {**result.data, "action_id": action.id}})
            self._audit(name, args, phase=phase, result=result, action_id=action.id)
            emit(Event(type="tool_result", data=_result_event(name, result)))
            emit(Event(type="confirmation_requested", data={
                "action_id": action.id, "tool": name, "summary": action.summary}))
            return result
        self._audit(name, args, phase=phase, result=result)
        emit(Event(type="tool_result", data=_result_event(name, result)))
        return result

    # ---- confirmation gate -------------------------------------------------------------------

    def _resolve_api(self, action_id: str, confirm: bool, on_event: Emit | None) -> Reply:
        events, emit = _collector(on_event)
        with self._lock:
            self._reconcile(emit)
            row = self.records.action(self.id, action_id)
            if row is None:
                raise KeyError(f"no action {action_id} in this conversation")
            action = _pending(row)
            if action.status != "pending":
                # Idempotent: a second confirm (double click, retry) writes nothing and says so.
                text = (json.loads(row["result"]).get("message") if row["result"] else None) or \
                    self.render(texts.ALREADY_RESOLVED, {"status": action.status})
                emit(Event(type="turn_done", data={"text": text, "pending_action": None}))
                return Reply(session_id=self.id, text=text, events=events, pending_action=self.pending_action)
            self.turn += 1
            self._add_message("user", API_ANSWERS[0] if confirm else API_ANSWERS[1], visible=True)
            text = self._say(self._resolve(action, confirm, "api", emit), emit)
            pending = self.pending_action
            emit(Event(type="turn_done", data={
                "text": text, "pending_action": pending.model_dump() if pending else None}))
        return Reply(session_id=self.id, text=text, events=events, pending_action=pending)

    def _resolve(self, action: PendingAction, confirm: bool, by: str, emit: Emit) -> str:
        if confirm:
            status, text = self._execute(action, by)
        else:
            status, text = "declined", self.render(texts.DECLINED)
            self.records.finish_action(action.id, status, None, iso(self.agent.clock()), self._audit_row(
                action.tool, action.arguments, phase="decline", status="declined", action_id=action.id,
                message="declined by the customer"))
        emit(Event(type="action_resolved", data={"action_id": action.id, "status": status, "message": text}))
        follow_up = self._next_from_agenda(emit)
        return f"{text}\n\n{follow_up}" if follow_up else text

    def _execute(self, action: PendingAction, by: str) -> tuple[str, str]:
        """Run a confirmed action once. It is marked `executing` first; the store records the write by
        the action's id in the write's own transaction. When the records share the store's database,
        the action's outcome and audit row commit in that same transaction; else they are written
        together right after, and a crash between the two is repaired by `_reconcile` at the next
        turn (by the action key)."""
        if not self.records.start_executing(action.id):
            row = self.records.action(self.id, action.id) or {}
            return row.get("status") or "failed", self.render(texts.ALREADY_RESOLVED, {"status": row.get("status")})
        ctx = self._context()
        shared = self.agent.records_share_store
        hook = (lambda tx, result: self._finish(action, result, by, SharedTransaction(tx.sql))) if shared else None
        result = run_tool(ctx, action.tool, action.arguments, execute=True, key=action.id, before_commit=hook)
        self._adopt(ctx)
        if not shared or (self.records.action(self.id, action.id) or {}).get("status") == "executing":
            self._finish(action, result, by)  # no shared transaction, or it ended before the outcome
        return _outcome_status(result), self.result_text(result)

    def _finish(self, action: PendingAction, result: ToolResult, by: str, within: Any = None) -> None:
        self.records.finish_action(action.id, _outcome_status(result), result.model_dump_json(),
                                   iso(self.agent.clock()),
                                   self._audit_row(action.tool, action.arguments, phase="execute", result=result,
                                                   action_id=action.id, confirmed_by=by), within=within)

    def _reconcile(self, emit: Emit) -> list[str]:
        """After a crash: an action the store shows executed (by its key) is marked executed with the
        store's result, and the customer is told it was done; one that never reached the store waits
        for their answer again. Runs at the start of a turn, while this worker holds the session."""
        told = []
        for row in self.records.actions_in(self.id, "executing") + self.records.actions_in(self.id, "pending"):
            done = self.agent.store.executed_result(row["id"])
            if done is None:
                self.records.reopen(row["id"])
                continue
            result = ToolResult.model_validate_json(done)
            self.records.finish_action(row["id"], "executed", done, iso(self.agent.clock()), self._audit_row(
                row["tool"], json.loads(row["arguments"] or "{}"), phase="execute", result=result,
                action_id=row["id"], confirmed_by="recovered"))
            emit(Event(type="action_resolved", data={"action_id": row["id"], "status": "executed",
                                                     "message": self.result_text(result)}))
            told.append(self._say(self.result_text(result) + "\n\n", emit).strip())
        return told

    def _answer_cut_turn(self, emit: Emit) -> list[str]:
        """After a crash mid-turn (a worker killed), the customer's last message has no reply: the
        changes that turn resolved are reported; a message cut off before it was understood is
        answered now; else a change still waiting is asked about again. Never anything twice: a
        resolved action is only told, and a message the model had understood, or whose turn failed
        with an error the customer was shown, is not run again."""
        last = self.records.messages(self.id, visible_only=True, newest=1)
        if not last or last[0]["role"] != "user":
            return []
        done = self.records.turn_audit(self.id, self.turn)
        told = [self._say(self._outcome_text(row["action_id"]), emit)
                for row in done if row["phase"] in ("execute", "decline") and row["action_id"]]
        if told:
            return told
        text = last[0]["content"] or ""
        if text not in API_ANSWERS and not any(row["phase"] in ("understand", "failed") for row in done):
            return [understood_turn(self, text, emit)]
        pending = self.pending_action
        return [self._say(self.render(texts.CONFIRM, {"summary": pending.summary}), emit)] if pending else []

    def _note_failed_turn(self, exc: Exception) -> None:
        """A turn that failed with an error (the process lives on and says so): recorded, so that a
        later turn does not answer the message again (only a turn cut off by a crash is)."""
        try:
            self._audit("turn", {}, phase="failed", status="error", message=f"{type(exc).__name__}: {exc}")
        except Exception:  # the records may be what failed
            pass

    def _outcome_text(self, action_id: str) -> str:
        """What the customer is told about a resolved action: its result, or that it was declined."""
        row = self.records.action(self.id, action_id) or {}
        if row.get("status") == "declined" or not row.get("result"):
            return self.render(texts.DECLINED)
        return self.result_text(ToolResult.model_validate_json(row["result"]))

    def _next_from_agenda(self, emit: Emit) -> str | None:
        """After a pending action is resolved, propose the next queued write, if any."""
        while any("tool" in item for item in self.agenda):
            item = next(item for item in self.agenda if "tool" in item)
            self.agenda.remove(item)
            self._save_state()
            result = self.run_tool(item["tool"], item["arguments"], emit)
            if result.status == "needs_confirmation":
                return self.render(texts.CONFIRM, {"summary": self.pending_action.summary})
            return self.result_text(result)
        return None

    def _create_pending(self, tool: str, args: Any, summary: str) -> PendingAction:
        action = PendingAction(id="act_" + secrets.token_hex(8), tool=tool,
                               arguments=args if isinstance(args, dict) else {}, summary=summary)
        self.records.create_pending(action.id, self.id, tool, dumps(action.arguments), redact(summary),
                                    iso(self.agent.clock()))
        return action

    # ---- model --------------------------------------------------------------------------------

    # ---- evidence for the guards ----------------------------------------------------------------

    def first_message(self) -> bool:
        """No earlier customer message (whose request would still be waiting on verification)."""
        return len(self.records.messages(self.id, role="user", newest=2)) <= 1

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
        self.records.save_state(self.id, self.customer_id, self.failed_verifications, dumps(self.agenda),
                                self.lang, iso(self.agent.clock()))

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
        self.records.add_message(self.id, self.turn, role, redact(content), iso(self.agent.clock()),
                                 visible=visible, tool_calls=dumps(tool_calls) if tool_calls else None,
                                 tool_call_id=tool_call_id)

    def _audit(self, tool: str, args: Any, **fields: Any) -> None:
        self.records.audit(self._audit_row(tool, args, **fields))

    def _audit_row(self, tool: str, args: Any, **fields: Any) -> dict[str, Any]:
        return audit_row(self.id, self.turn, iso(self.agent.clock()), self.customer_id, tool, args, **fields)


def _names(product: str, words: str) -> bool:
    """The customer's words name this product: a word of the product's name appears in them."""
    return any(len(w) > 2 and contains_words(words, w) for w in product.split())


def _collector(on_event: Emit | None) -> tuple[list[Event], Emit]:
    """Events of one call, kept for the Reply and passed on to a streaming consumer as they come."""
    events: list[Event] = []

    def emit(event: Event) -> None:
        events.append(event)
        if on_event is not None:
            on_event(event)

    return events, emit




def _outcome_status(result: ToolResult) -> str:
    return "executed" if result.status == "ok" else "failed"


def _pending(row: dict[str, Any]) -> PendingAction:
    return PendingAction(id=row["id"], tool=row["tool"], arguments=json.loads(row["arguments"] or "{}"),
                         summary=row["summary"], status=row["status"])


def _result_event(name: str, result: ToolResult) -> dict[str, Any]:
    return {"tool": name, "status": result.status, "rule": result.rule, "message": result.message}
