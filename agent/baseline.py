"""A plain baseline agent: what a developer builds without this project's runtime, to measure it against.

The policy document's prose in the system prompt, every tool offered at every step, the model's own
tool loop (up to `max_steps` model steps a turn, the last one without tools so it has to answer),
each tool result fed back, and the model's text is the reply. Nothing checks the model but the tools
themselves (`run_tool`: identity required, the policy's rules, idempotency): no routing, no gates on
arguments, no reply guard.

Writes: a write tool's first call returns its preview (`needs_confirmation`) to the model and is
recorded as a pending action. If the customer's next message is answered by the model calling the
same write again (same tool, same order), the previewed action runs; otherwise it lapses when that
turn ends. The confirm / decline buttons (`confirm(id)` / `decline(id)`) resolve it without a model
step, as the runtime's do.

It offers the session surface the eval runner uses (`send`, `confirm`, `decline`, `pending_action`,
`id`, `turn`, `customer_id`) and keeps conversations, messages, pending actions and audit rows in
the runtime's tables, so the evaluation judges both agents the same way.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import datetime
from typing import Any, Callable

from agent.events import PendingAction, Reply
from agent.models.base import ChatModel, ModelReply, ToolCall, ToolSpec
from agent.persistence import audit_row, dumps, redact
from agent.records.history import model_history
from agent.records import Records, open_records, store_target
from agent.support_agent import ModelStats
from tools.backend import CommerceBackend, as_backend
from tools.context import ToolContext, utc_now
from tools.policy import Policy, load_policy
from tools.registry import all_tools, get_tool, run_tool
from tools.results import ToolResult
from tools.store import Store
from tools.values import iso

MAX_ACTIONS = 3  # tool calls per model step (the schema-mode union allows as many)
HISTORY_MESSAGES = 40  # the newest messages sent to the model, from a customer message on
MODEL_FAILURE = "Sorry, something went wrong on our side. Please try again."
NO_ANSWER = "Sorry, I could not finish that. Could you say it again?"
DECLINED = "OK, I won't make that change."

ROLE = ("You are the customer-support assistant of {store}, an online store. Help the customer with the "
        "tools, following the store policy below.")
CONFIRMING = ("A change (cancel, modify, return, refund, claim, complaint, account) first returns a preview "
              "with status needs_confirmation and changes nothing: show it to the customer and ask them to "
              "confirm. When they agree, call the same tool again with the same arguments to make the change.")
SCHEMA_FORMAT = ('Answer with JSON only: {"actions": [{"tool": NAME, "arguments": {...}}]} to call tools, or '
                 '{"reply": TEXT} to answer the customer.')


def baseline_prompt(policy: Policy, specs: list[ToolSpec], *, schema_mode: bool) -> str:
    """Role, the policy's prose, how changes are confirmed; with a schema-mode model, the tools and
    the output format (a native-tools endpoint gets the tool schemas with each request)."""
    parts = [ROLE.format(store=policy.store.name), "# Policy\n" + policy.prose.strip(), CONFIRMING]
    if schema_mode:
        parts += ["# Tools\n" + "\n".join(tool_line(s) for s in specs), SCHEMA_FORMAT]
    return "\n\n".join(parts)


class BaselineAgent:
    """Built like SupportAgent (a store, a policy, a model, a clock); `session()` opens a conversation."""

    def __init__(self, store: CommerceBackend | Store | str, *, policy: Policy | str | None = None, model: ChatModel | str | None = None,
                 clock: Callable[[], datetime] = utc_now, max_steps: int = 4, records: Records | str | None = None):
        from agent.models import load_model

        self.store = as_backend(store)
        self.records = records if isinstance(records, Records) else open_records(records, store_target(self.store))
        self.policy = policy if isinstance(policy, Policy) else load_policy(policy)
        self.model: ChatModel = model if model is not None and not isinstance(model, str) else load_model(model)
        self.clock = clock
        self.max_steps = max(1, max_steps)
        self.tool_specs = [ToolSpec(**t.spec()) for t in all_tools()]
        schema_mode = getattr(self.model, "mode", "schema") == "schema"
        self.system = baseline_prompt(self.policy, self.tool_specs, schema_mode=schema_mode)
        self.stats = ModelStats()

    def session(self) -> "BaselineSession":
        session_id = "b_" + secrets.token_urlsafe(12)
        self.records.create_conversation(session_id, "", f"baseline:{getattr(self.model, 'name', '')}",
                                         iso(self.clock()))
        return BaselineSession(self, session_id)

    def warm(self) -> None:
        """Prefill the system prompt (the embedded model; a no-op elsewhere)."""
        warm = getattr(self.model, "warm", None)
        if warm is not None:
            warm([{"role": "system", "content": self.system}], self.tool_specs)


class BaselineSession:
    def __init__(self, agent: BaselineAgent, session_id: str):
        self.agent = agent
        self.id = session_id
        self.turn = 0
        self.customer_id: str | None = None
        self.failed_verifications = 0

    # ---- the surface the eval runner uses ------------------------------------------------------

    def send(self, text: str) -> Reply:
        """One customer message: the model's tool loop, then its reply. Actions previewed in the
        previous turn that the model did not call again lapse."""
        self.turn += 1
        self._add_message("user", text, visible=True)
        waiting = self._pending_actions()
        reply = self._say(self._loop(waiting))
        for action in waiting:
            self._close(action, "declined", None)
            self._audit(action.tool, action.arguments, phase="decline", status="declined", action_id=action.id,
                        message="lapsed: the model did not call it again after the customer's message")
        return Reply(session_id=self.id, text=reply, pending_action=self.pending_action)

    def confirm(self, action_id: str) -> Reply:
        """The confirm button: run the pending action; its result is the reply (no model step)."""
        action = self._button(action_id, "(confirmed)")
        call = ToolCall(id=f"confirm_{secrets.token_hex(4)}", name=action.tool, arguments=action.arguments)
        self._add_message("assistant", None, tool_calls=[_openai_call(call)])  # the model sees what ran
        result = self._execute(action, by="api")
        self._add_result(call, result)
        return Reply(session_id=self.id, text=self._say(result.message), pending_action=self.pending_action)

    def decline(self, action_id: str) -> Reply:
        action = self._button(action_id, "(declined)")
        self._close(action, "declined", None)
        self._audit(action.tool, action.arguments, phase="decline", status="declined", action_id=action.id,
                    message="declined by the customer")
        return Reply(session_id=self.id, text=self._say(DECLINED), pending_action=self.pending_action)

    @property
    def pending_action(self) -> PendingAction | None:
        actions = self._pending_actions()
        return actions[-1] if actions else None

    # ---- the tool loop ----------------------------------------------------------------------------

    def _loop(self, waiting: list[PendingAction]) -> str:
        for step in range(self.agent.max_steps):
            reply_only = step == self.agent.max_steps - 1
            reply = self._model_step(reply_only)
            if reply is None:
                return MODEL_FAILURE
            if reply.tool_calls and not reply_only:
                self._run_calls(reply.tool_calls[:MAX_ACTIONS], waiting)
                continue
            if (reply.text or "").strip():
                return reply.text.strip()
        return NO_ANSWER

    def _model_step(self, reply_only: bool) -> ModelReply | None:
        started = time.perf_counter()
        try:
            reply = self.agent.model.complete(self._messages(), self.agent.tool_specs, reply_only=reply_only,
                                              max_actions=MAX_ACTIONS)
        except Exception as exc:  # the backend already retried what was worth retrying
            self._audit("model", {}, phase="model", status="error", message=f"{type(exc).__name__}: {exc}")
            return None
        self.agent.stats.record(time.perf_counter() - started)
        return reply

    def _run_calls(self, calls: list[ToolCall], waiting: list[PendingAction]) -> None:
        self._add_message("assistant", None, tool_calls=[_openai_call(c) for c in calls])
        for call in calls:
            self._add_result(call, self._call(call, waiting))

    def _call(self, call: ToolCall, waiting: list[PendingAction]) -> ToolResult:
        """A read runs; a write previews, or runs the action previewed last turn if it is the same one."""
        tool = get_tool(call.name)
        if tool is None or not tool.is_write:
            return self._run(call, phase="read")
        same = next((a for a in waiting if _same_action(a, call)), None)
        if same is not None:
            waiting.remove(same)
            return self._execute(same, by="message")
        result = self._run(call, phase="preview", audit=False)
        action_id = None
        if result.status == "needs_confirmation":
            action_id = self._create_pending(call, result.summary or result.message)
        self._audit(call.name, call.arguments, phase="preview", result=result, action_id=action_id)
        return result

    def _run(self, call: ToolCall, *, phase: str, audit: bool = True) -> ToolResult:
        ctx = self._context()
        result = run_tool(ctx, call.name, call.arguments)
        self._adopt(ctx)
        if audit:
            self._audit(call.name, call.arguments, phase=phase, result=result)
        return result

    def _execute(self, action: PendingAction, *, by: str) -> ToolResult:
        ctx = self._context()
        result = run_tool(ctx, action.tool, action.arguments, execute=True, key=action.id)
        self._adopt(ctx)
        self._audit(action.tool, action.arguments, phase="execute", result=result, action_id=action.id,
                    confirmed_by=by)
        self._close(action, "executed" if result.status == "ok" else "failed", result)
        return result

    # ---- pending actions ------------------------------------------------------------------------

    def _pending_actions(self) -> list[PendingAction]:
        rows = self.agent.records.actions_in(self.id, "pending")
        return [PendingAction(id=r["id"], tool=r["tool"], arguments=json.loads(r["arguments"] or "{}"),
                              summary=r["summary"]) for r in rows]

    def _create_pending(self, call: ToolCall, summary: str) -> str:
        action_id = "act_" + secrets.token_hex(8)
        args = call.arguments if isinstance(call.arguments, dict) else {}
        self.agent.records.create_pending(action_id, self.id, call.name, dumps(args), redact(summary),
                                          iso(self.agent.clock()))
        return action_id

    def _close(self, action: PendingAction, status: str, result: ToolResult | None) -> None:
        self.agent.records.finish_action(action.id, status, result.model_dump_json() if result else None,
                                         iso(self.agent.clock()), None)

    def _button(self, action_id: str, label: str) -> PendingAction:
        action = next((a for a in self._pending_actions() if a.id == action_id), None)
        if action is None:
            raise KeyError(f"no pending action {action_id} in this conversation")
        self.turn += 1
        self._add_message("user", label, visible=True)
        return action

    # ---- what the model sees, and persistence ------------------------------------------------------

    def _messages(self) -> list[dict[str, Any]]:
        rows = model_history(self.agent.records.messages(self.id, newest=HISTORY_MESSAGES))
        history = []
        for r in rows:
            m: dict[str, Any] = {"role": r["role"], "content": r["content"] or ""}
            if r["tool_calls"]:
                m["tool_calls"] = json.loads(r["tool_calls"])
            if r["tool_call_id"]:
                m["tool_call_id"] = r["tool_call_id"]
            history.append(m)
        return [{"role": "system", "content": self.agent.system}] + history

    def _context(self) -> ToolContext:
        return ToolContext(self.agent.store, self.agent.policy, customer_id=self.customer_id,
                           failed_verifications=self.failed_verifications, clock=self.agent.clock)

    def _adopt(self, ctx: ToolContext) -> None:
        """The customer is whoever verify_customer (a tool) says, as in the runtime."""
        if (ctx.customer_id, ctx.failed_verifications) == (self.customer_id, self.failed_verifications):
            return
        self.customer_id, self.failed_verifications = ctx.customer_id, ctx.failed_verifications
        self.agent.records.save_state(self.id, self.customer_id, self.failed_verifications, "[]", "en",
                                      iso(self.agent.clock()))

    def _add_result(self, call: ToolCall, result: ToolResult) -> None:
        content = json.dumps(result.compact(), ensure_ascii=False, default=str, separators=(",", ":"))
        self._add_message("tool", content, tool_call_id=call.id)

    def _say(self, text: str) -> str:
        self._add_message("assistant", text, visible=True)
        return text

    def _add_message(self, role: str, content: str | None, *, visible: bool = False,
                     tool_calls: list[dict] | None = None, tool_call_id: str | None = None) -> None:
        self.agent.records.add_message(self.id, self.turn, role, redact(content), iso(self.agent.clock()),
                                       visible=visible, tool_calls=dumps(tool_calls) if tool_calls else None,
                                       tool_call_id=tool_call_id)

    def _audit(self, tool: str, args: Any, **fields: Any) -> None:
        self.agent.records.audit(audit_row(self.id, self.turn, iso(self.agent.clock()), self.customer_id, tool, args,
                                           **fields))


def _same_action(action: PendingAction, call: ToolCall) -> bool:
    """The model calls the previewed write again: same tool, same order (or both without one)."""
    args = call.arguments if isinstance(call.arguments, dict) else {}
    return action.tool == call.name and _order(action.arguments) == _order(args)


def _order(args: dict[str, Any]) -> str:
    return str(args.get("order_id") or "").strip().lstrip("#").upper()


def _openai_call(call: ToolCall) -> dict[str, Any]:
    args = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": args}}


def tool_line(spec: ToolSpec) -> str:
    """One line per tool in the prompt: name(arguments; optional ones marked ?): first docstring line."""
    props: dict[str, Any] = spec.parameters.get("properties", {})
    required = set(spec.parameters.get("required", []))
    args = ", ".join(name if name in required else f"{name}?" for name in props)
    return f"- {spec.name}({args}): {spec.description.splitlines()[0]}"
