"""The tool registry and the one way to run a tool: validate, check identity, preview or execute."""

from __future__ import annotations

import hashlib
import inspect
import json
import sqlite3
from dataclasses import dataclass, replace
from typing import Any, Callable

from pydantic import BaseModel, ValidationError
from tenacity import retry, retry_if_exception_type, stop_after_attempt

from tools.backend.interface import CommerceTransaction, ConcurrentChange, ConnectionLost
from tools.context import ToolContext
from tools.errors import StoreError
from tools.results import N_, Plan, ToolResult, denied, error, msg
from tools.values import iso

NOT_VERIFIED_RULE = "identity.verification_required"


@dataclass(frozen=True)
class Tool:
    name: str
    description: str  # the function's docstring: the model's documentation
    args_model: type[BaseModel]
    fn: Callable[..., Any]  # read: -> ToolResult; write: -> Plan | ToolResult (a denial)
    is_write: bool
    requires_identity: bool

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description,
                "parameters": self.args_model.model_json_schema()}


TOOLS: dict[str, Tool] = {}


def _register(fn: Callable, *, is_write: bool, requires_identity: bool) -> Callable:
    params = list(inspect.signature(fn).parameters.values())
    args_model = fn.__annotations__[params[1].name]
    if isinstance(args_model, str):  # postponed annotations
        args_model = fn.__globals__[args_model]
    description = inspect.cleandoc(fn.__doc__ or "").strip()
    if not description:
        raise TypeError(f"tool {fn.__name__} needs a docstring: it is the model's documentation")
    TOOLS[fn.__name__] = Tool(fn.__name__, description, args_model, fn, is_write, requires_identity)
    return fn


def read_tool(*, requires_identity: bool = True) -> Callable[[Callable], Callable]:
    return lambda fn: _register(fn, is_write=False, requires_identity=requires_identity)


def write_tool(*, requires_identity: bool = True) -> Callable[[Callable], Callable]:
    return lambda fn: _register(fn, is_write=True, requires_identity=requires_identity)


def get_tool(name: str) -> Tool | None:
    import tools.catalog  # noqa: F401  (registers every tool)

    return TOOLS.get(name)


def all_tools() -> list[Tool]:
    import tools.catalog  # noqa: F401

    return list(TOOLS.values())


def validate_args(tool: Tool, raw: dict[str, Any] | str | None) -> BaseModel | ToolResult:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError as exc:
            return error(f"The arguments for {tool.name} are not valid JSON ({exc.msg}). "
                         f"Send a JSON object matching its schema.")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        return error(f"The arguments for {tool.name} must be a JSON object.")
    # Models often fill an optional field with "" or null instead of leaving it out.
    fields = tool.args_model.model_fields
    raw = {k: v for k, v in raw.items()
           if not (v in ("", None) and k in fields and not fields[k].is_required())}
    try:
        return tool.args_model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors()
        )
        return error(f"Invalid arguments for {tool.name}: {problems}.")


def action_key(tool: str, args: BaseModel, customer_id: str | None) -> str:
    payload = json.dumps([tool, customer_id, args.model_dump(mode="json")], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


BeforeCommit = Callable[[CommerceTransaction, ToolResult], None]


def run_tool(ctx: ToolContext, name: str, raw_args: dict[str, Any] | str | None, *,
             execute: bool = False, key: str | None = None, before_commit: BeforeCommit | None = None) -> ToolResult:
    """Run one tool. Reads run at once. A write without `execute` returns its preview
    (`needs_confirmation`, changes nothing); with `execute` it runs in one transaction, and an
    action key that already ran returns the first result again (one confirmed action, one write).
    `before_commit(tx, result)` runs inside that transaction once the outcome is known (applied,
    denied on the state inside it, or run before), so what the caller records with it (the agent's
    records in the same database) commits together with the write or not at all."""
    tool = get_tool(name)
    if tool is None:
        known = ", ".join(sorted(TOOLS))
        return error(f"There is no tool named {name!r}. Known tools: {known}.").model_copy(
            update={"tool": name})
    args = validate_args(tool, raw_args)
    if isinstance(args, ToolResult):
        return args.model_copy(update={"tool": name})
    if tool.requires_identity and ctx.customer_id is None:
        return denied(NOT_VERIFIED_RULE,
                      msg(N_("I need to verify who you are first (email and zip code, or order id and email).")),
                      alternatives=[msg(N_("verify with email and zip code")),
                                    msg(N_("verify with order id and email"))],
                      ).model_copy(update={"tool": name})
    try:
        result = _run(ctx, tool, args, execute=execute, key=key, before_commit=before_commit)
    except StoreError as exc:
        result = error(msg(N_("The store could not be reached just now; nothing was changed.")), note=str(exc))
    except sqlite3.DatabaseError as exc:
        result = error(msg(N_("The store database failed; nothing was changed.")), note=str(exc))
    return result.model_copy(update={"tool": name})


# Once more when another writer changed the state a plan was made on (planned again, it is denied)
# or the database connection broke (an action key makes a write's retry safe even after a COMMIT).
_once_more = retry(retry=retry_if_exception_type((ConcurrentChange, ConnectionLost)), stop=stop_after_attempt(2),
                   reraise=True)


@_once_more
def _run(ctx: ToolContext, tool: Tool, args: BaseModel, *, execute: bool, key: str | None,
         before_commit: BeforeCommit | None = None) -> ToolResult:
    if not tool.is_write:
        return tool.fn(ctx, args)
    if not execute:
        plan = tool.fn(ctx, args)
        if isinstance(plan, ToolResult):
            return plan
        return plan.preview()
    return _execute(ctx, tool, args, key or action_key(tool.name, args, ctx.customer_id), before_commit)


def _execute(ctx: ToolContext, tool: Tool, args: BaseModel, key: str,
             before_commit: BeforeCommit | None = None) -> ToolResult:
    """Plan and apply a write in one transaction, recording its action key there too."""
    with ctx.store.transaction(ctx.customer_id) as tx:
        result = _outcome(ctx, tool, args, key, tx)
        if before_commit is not None:
            before_commit(tx, result.model_copy(update={"tool": tool.name}))
        return result


def _outcome(ctx: ToolContext, tool: Tool, args: BaseModel, key: str, tx: CommerceTransaction) -> ToolResult:
    done = tx.executed_result(key)
    if done is not None:
        return ToolResult.model_validate_json(done)
    plan = tool.fn(replace(ctx, store=tx), args)  # re-validated inside the transaction: state may have changed
    if isinstance(plan, ToolResult):
        return plan
    result = plan.result({**plan.data, **plan.apply(tx)})
    tx.record_executed(key, tool.name, ctx.customer_id, result.model_dump_json(), iso(ctx.now()))
    return result
