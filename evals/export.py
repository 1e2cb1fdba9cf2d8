"""Export a recorded conversation as an evaluation scenario (`support-agent export-scenario`).

1. `evals.recorded` reads the conversation back: the customer's turns (messages and confirm / decline
   buttons) and, per message, the model's understanding of it (the audit log's "understand" rows).
2. The turns are played on a fresh evaluation store (the demo store at the runner's reference time)
   by a model that serves each message's understanding when the runtime asks for it; the ones it
   was asked for become the turns' `understand:`, so the replay is in step by construction.
3. The starter expectations say what happened: the tool calls of the recording (`tool_calls`), who
   the session was verified as, and the store diff of that replay (`expect.db`; a value that differs
   between two replays, such as a generated refund id, is left out or only required to be set).
4. The scenario is rendered as YAML, loaded with the scenario loader and run by the eval runner in
   replay mode; the result (and any difference between the replay and the recording) is reported
   and written in the file's header.

The expectations describe the recorded behaviour, bugs included: turning a misbehaving conversation
into a regression test means editing them (and the understandings) to what should have happened.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from agent.models.base import ModelError, ModelReply, ToolSpec
from evals.recorded import (TOOL_PHASES, ExportError, RecordedConversation, RecoveredTurn, TimeShift,
                            ToolOutcome, align_dates, audit_args, location, read_conversation, recover_turns,
                            time_shift)
from evals.runner import REFERENCE_NOW, SEED, TrialResult, TrialRunner, build_template
from evals.scenario import ScenarioError, is_known_rule, load_file, relative_time
from evals.store_state import INCIDENTAL_COLUMNS, RowDiff, diff, snapshot
from tools.store import Store
from tools.values import parse_time

FREE_TEXT_ARGS = frozenset({"reason", "summary", "query", "message", "description", "details", "note", "comment"})
LONG_TEXT = 60  # a longer store value is the model's wording: required to be set, not matched
COUNTERS = re.compile(r"stock|balance|count|quantity_available")  # numbers compared as a change (delta)
DEMO_CUSTOMERS = "50"


@dataclass
class Export:
    scenario_id: str
    yaml: str
    notes: list[str] = field(default_factory=list)  # differences and limits the developer should know about
    check: TrialResult | None = None  # the exported scenario, run by the eval runner in replay mode

    @property
    def passed(self) -> bool:
        return self.check is not None and self.check.passed


def export_conversation(store: Store, conversation_id: str, *, scenario_id: str | None = None) -> Export:
    """The scenario YAML of one recorded conversation, checked by replaying it. Raises ExportError."""
    sid = scenario_id or default_scenario_id(conversation_id)
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", sid) or len(sid) > 80:
        raise ExportError(f"scenario id {sid!r}: lowercase letters, digits and dashes, at most 80 characters")
    rec = read_conversation(store, conversation_id)
    if scenario_id is None:
        sid = default_scenario_id(rec.id)  # the full id, when a prefix was given
    notes: list[str] = []
    shift = time_shift(store, rec, REFERENCE_NOW, notes)
    notes.extend(_store_notes(store, rec))
    turns = _customer_turns(rec, shift, notes)
    for n, t in enumerate(turns, 1):
        if t.understand_problem:
            notes.append(f"turn {n}: the understanding step went wrong in the recording "
                         f"({_clip(t.understand_problem)}); the scenario replays what the runtime made of it")
        if t.kind == "say" and t.understand is None:
            notes.append(f"turn {n}: no understanding was recorded for this message (not a conversation of the "
                         f"runtime?): give the turn its `understand:` by hand")
    if any(t.rewritten for t in turns):
        notes.append("the replies were the model's rewrites (--reply model); the evaluation replays the composed "
                     "replies")
    now = REFERENCE_NOW + shift.clock_offset
    directory = Path(tempfile.mkdtemp(prefix="support-agent-export-"))
    try:
        template = build_template(directory)
        first = _play(template, directory / "first.db", turns, now)
        if shift.dates:  # dates the clock does not move (business days) are learnt from the replay
            aligned = align_dates(shift, [(t.tool_results, r) for t, r in zip(turns, first.tool_results)])
            if aligned.dates != shift.dates:
                shift = aligned
                turns = _customer_turns(rec, shift, [])
                first = _play(template, directory / "first-aligned.db", turns, now)
        notes.extend(_differences(turns, first))
        exact = [dataclasses.replace(t, understand=served) for t, served in zip(turns, first.served)]
        second = _play(template, directory / "second.db", exact, now)
        scenario = _scenario(rec, sid, shift.clock, turns, first.served,
                             _expect_db(first, second, now), _tool_expectations(rec))
        header = _header(store, rec, len(turns))
        text = render(scenario, header)
        check = _check(text, template, directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    if check.passed:
        header.append("Replay check: passed (the eval runner replayed it on the demo store).")
    else:
        problems = [f"{f.check}: {f.message}" for f in check.failures + check.violations]
        header.append("Replay check: FAILED -- " + "; ".join(problems[:3]) + (" ..." if len(problems) > 3 else ""))
    header.extend(f"Note: {n}" for n in notes)
    return Export(scenario_id=sid, yaml=render(scenario, header), notes=notes, check=check)


def default_scenario_id(conversation_id: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", conversation_id.lower()).strip("-")
    return f"conv-{slug}"[:80].rstrip("-")


def _customer_turns(rec: RecordedConversation, shift: TimeShift, notes: list[str]) -> list[RecoveredTurn]:
    turns = recover_turns(rec, shift)
    _add_operator_verification(rec, turns, notes)
    if not turns:
        raise ExportError(f"conversation {rec.id} has no customer turn to export")
    if len(turns) > 50:
        raise ExportError(f"conversation {rec.id} has {len(turns)} turns; a scenario holds at most 50")
    return turns


# ---- what the recording cannot carry ---------------------------------------------------------------


def _store_notes(store: Store, rec: RecordedConversation) -> list[str]:
    from fixtures.demo_store import read_meta

    notes = []
    meta = read_meta(store)
    if meta.get("now") and (meta.get("seed") != str(SEED) or meta.get("customers") != DEMO_CUSTOMERS):
        notes.append(f"the store was built with seed {meta.get('seed')} and {meta.get('customers')} customers; the "
                     f"scenario runs on the demo store (seed {SEED}, {DEMO_CUSTOMERS} customers): only the story "
                     f"customers' data is the same")
    started = rec.messages[0]["created_at"]
    earlier = store.all("SELECT conversation_id, tool, arguments FROM audit_log WHERE conversation_id != ? AND "
                        "phase = 'execute' AND status = 'ok' AND at <= ? ORDER BY id", (rec.id, started))
    if earlier:
        shown = ", ".join(f"{r['tool']} {r['arguments']} ({r['conversation_id']})" for r in earlier[:3])
        notes.append(f"{len(earlier)} change(s) confirmed in earlier conversations were in the store ({shown}"
                     f"{', ...' if len(earlier) > 3 else ''}); the scenario starts from the fresh demo store: add "
                     f"`store.patches` if this conversation depended on them")
    return notes


def _add_operator_verification(rec: RecordedConversation, turns: list[RecoveredTurn], notes: list[str]) -> None:
    """A session bound by the operator (`chat --customer`) never verified: a scenario has no such
    switch, so a first turn where the customer logs in stands for it."""
    verified = any(a["tool"] == "verify_customer" and a["status"] == "ok" and a["phase"] == "read" for a in rec.audit)
    if verified or rec.customer is None:
        return
    c = rec.customer
    turns.insert(0, RecoveredTurn(number=0, kind="say", text=f"Hi, I'm {c['email']}, zip {c['zip']}.",
                                  understand={"lang": "en", "requests": [{"kind": "login"}]}))
    notes.append(f"the session was bound to {c['email']} by the operator (chat --customer); the scenario starts "
                 f"with a turn where the customer verifies instead")


# ---- playing the recorded understandings ---------------------------------------------------------------


class _RecordedUnderstandings:
    """A ChatModel serving each message's recorded understanding when the runtime asks for it, and
    noting what it served (None: not asked) and whether it was asked for one it does not have (then it
    fails like a model, and the runtime asks the customer again). A free reply (a rewrite) is never
    recorded: it fails the same way, and the composed reply stands."""

    name = "recorded"

    def __init__(self) -> None:
        self.turn = 0
        self.understand: dict[str, Any] | str | None = None
        self.served: dict[str, Any] | str | None = None
        self.missing = False

    def begin(self, turn: int, understand: dict[str, Any] | str | None) -> None:
        self.turn, self.understand, self.served, self.missing = turn, understand, None, False

    def structured(self, messages: list[dict[str, Any]], schema: dict[str, Any], *,
                   max_tokens: int | None = None) -> ModelReply:
        if self.understand is None or self.served is not None:
            self.missing = True
            raise ModelError(f"no recorded understanding for turn {self.turn}")
        self.served = self.understand
        text = self.served if isinstance(self.served, str) else json.dumps(self.served, ensure_ascii=False)
        return ModelReply(text=text, raw=text)

    def complete(self, messages: list[dict[str, Any]], tools: list[ToolSpec], **kwargs: Any) -> ModelReply:
        raise ModelError("a recording keeps no free model replies")


@dataclass
class _Played:
    served: list[dict[str, Any] | str | None] = field(default_factory=list)  # the understanding each turn was asked for
    missing: list[bool] = field(default_factory=list)  # the runtime asked for an understanding none was recorded for
    replies: list[str] = field(default_factory=list)
    outcomes: list[list[tuple[str, str, str | None]]] = field(default_factory=list)
    tool_results: list[list[ToolOutcome]] = field(default_factory=list)
    changes: list[RowDiff] = field(default_factory=list)
    keys: dict[str, list[str]] = field(default_factory=dict)  # primary-key columns of the changed tables


def _play(template: Path, path: Path, turns: list[RecoveredTurn], now: datetime) -> _Played:
    from agent.support_agent import SupportAgent
    from evals.store_state import _key_columns

    shutil.copy(template, path)
    store = Store(path)
    played = _Played()
    phases = ", ".join(f"'{p}'" for p in TOOL_PHASES)
    try:
        before = snapshot(store)
        model = _RecordedUnderstandings()
        session = SupportAgent(store, model=model, clock=lambda: now).session()
        for n, turn in enumerate(turns, 1):
            model.begin(n, turn.understand)
            if turn.kind == "say":
                reply = session.send(turn.text).text
            elif session.pending_action is None:
                reply = "(nothing pending)"
            else:
                resolve = session.confirm if turn.kind == "confirm" else session.decline
                reply = resolve(session.pending_action.id).text
            played.served.append(model.served)
            played.missing.append(model.missing)
            played.replies.append(reply)
            rows = store.all(f"SELECT tool, phase, status, message FROM audit_log WHERE conversation_id = ? AND "
                             f"turn = ? AND phase IN ({phases}) ORDER BY id", (session.id, session.turn))
            played.outcomes.append([(a["tool"], a["phase"], a["status"]) for a in rows])
            played.tool_results.append([(a["tool"], a["phase"], a["status"], a["message"]) for a in rows])
        played.changes = diff(before, snapshot(store))
        played.keys = {d.table: _key_columns(store, d.table) for d in played.changes}
    finally:
        store.close()
    return played


def _differences(turns: list[RecoveredTurn], played: _Played) -> list[str]:
    """Where playing the recorded understandings on the evaluation store did not give what was recorded."""
    notes = []
    for n, (turn, reply, outcomes, served, missing) in enumerate(
            zip(turns, played.replies, played.outcomes, played.served, played.missing), 1):
        if turn.number == 0:  # the stand-in verification turn
            continue
        if turn.understand is not None and served is None:
            notes.append(f"turn {n}: the runtime did not ask for the recorded understanding; it is not in the replay")
        if missing and turn.understand is not None:
            notes.append(f"turn {n}: the runtime asked for a second understanding; the recording has one")
        if outcomes != turn.outcomes:
            notes.append(f"turn {n}: the tools answered differently than in the recording (recorded "
                         f"{_outcomes(turn.outcomes)}; replayed {_outcomes(outcomes)})")
        elif " ".join(reply.split()) != " ".join(turn.reply.split()) and not turn.rewritten:
            notes.append(f"turn {n}: the reply differs from the recording (recorded {_clip(turn.reply)!r}; "
                         f"replayed {_clip(reply)!r})")
    return notes


def _outcomes(outcomes: list[tuple[str, str, str | None]]) -> str:
    return ", ".join(f"{tool} {phase}/{status}" for tool, phase, status in outcomes) or "no tool"


def _clip(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- the scenario --------------------------------------------------------------------------------------


def _scenario(rec: RecordedConversation, sid: str, clock: str | None, turns: list[RecoveredTurn],
              served: list[dict[str, Any] | str | None], db: dict[str, Any],
              tool_calls: list[dict[str, Any]]) -> dict[str, Any]:
    customer_turns = []
    for turn, understanding in zip(turns, served):
        entry: dict[str, Any]
        if turn.kind == "say":
            entry = {"say": turn.text}
        else:
            entry = {turn.kind: turn.tool or True}
        if understanding is not None:
            entry["understand"] = _Flow(understanding) if isinstance(understanding, dict) else understanding
        customer_turns.append(entry)
    expect: dict[str, Any] = {}
    if any(db.values()):
        expect["db"] = {k: v for k, v in db.items() if v}
    if tool_calls:
        expect["tool_calls"] = tool_calls
    expect["verified_as"] = rec.conversation["customer_id"]
    scenario: dict[str, Any] = {"id": sid, "description": _description(rec), "tags": _tags(rec)}
    if clock:
        scenario["clock"] = clock
    scenario["customer"] = {"turns": customer_turns}
    scenario["expect"] = expect
    if len(customer_turns) > 12:
        scenario["max_turns"] = len(customer_turns)
    return scenario


def _description(rec: RecordedConversation) -> str:
    who = rec.customer["name"] if rec.customer else "an unverified customer"
    first = next(m["content"] for m in rec.messages if m["role"] == "user")
    return f"Recorded conversation {rec.id} with {who}, starting: {_clip(first, 80)}"


def _tags(rec: RecordedConversation) -> list[str]:
    ran = {a["tool"] for a in rec.audit if a["phase"] in ("read", "preview", "execute", "decline")}
    denied = [a for a in rec.audit if a["status"] == "denied" and a["phase"] in ("read", "preview")]
    if any(a["tool"] == "escalate_to_human" and a["status"] == "ok" for a in rec.audit):
        kind = "escalation"
    elif denied:
        kind = "denied"
    elif "search_help_center" in ran and ran <= {"search_help_center", "verify_customer"}:
        kind = "help"
    elif not ran:
        kind = "chit-chat"
    else:
        kind = "happy"
    tools = sorted(ran - {"verify_customer"}) or sorted(ran)
    rules = sorted({a["rule"] for a in denied if is_known_rule(a["rule"])})
    return _FlowList([f"kind:{kind}", *(f"tool:{t}" for t in tools), *(f"rule:{r}" for r in rules), "exported"])


def _tool_expectations(rec: RecordedConversation) -> list[dict[str, Any]]:
    """The recording's tool calls: reads with their outcome, denials with their rule, writes executed
    or declined, a proposal left pending. The runtime's own steps (the understanding, a reply rewrite)
    are not tools: what they led to is in the tool calls."""
    resolved = {a["action_id"] for a in rec.audit if a["phase"] in ("execute", "decline")}
    specs: list[dict[str, Any]] = []
    for a in rec.audit:
        tool, phase, status = a["tool"], a["phase"], a["status"]
        raw = audit_args(a)
        args = {k: v for k, v in raw.items() if k not in FREE_TEXT_ARGS and v not in (None, "", [], {})} \
            if isinstance(raw, dict) else {}
        spec: dict[str, Any] = {"tool": tool}
        if phase not in TOOL_PHASES:
            continue
        elif tool == "verify_customer" and status == "ok":
            continue  # `verified_as` says it
        elif phase == "preview" and status == "needs_confirmation":
            if a["action_id"] in resolved:
                continue  # the execute or decline row says it
            spec.update(args=args, phase="preview", status=status)
        elif phase in ("execute", "decline"):
            spec.update(args=args, phase=phase, status=status)
        else:
            spec.update(args=args, status=status)
            if a["rule"]:
                spec["rule"] = a["rule"]
        spec = {k: v for k, v in spec.items() if v not in (None, {})}
        if spec not in specs:
            specs.append(spec)
    return [_Flow(s) for s in specs]


def _expect_db(first: _Played, second: _Played, now: datetime) -> dict[str, list[dict[str, Any]]]:
    """The first replay's store diff as `expect.db`; what the second replay wrote differently
    (generated ids, references to them) is only required to be set, or left out of a match."""
    again = {(d.table, d.key): d for d in second.changes}
    changed, added, removed = [], [], []
    volatile = _volatile_columns(first.changes, second.changes)
    for d in first.changes:
        keys = first.keys.get(d.table, ["rowid"])
        if d.kind == "removed":
            removed.append(_Flow({"table": d.table, "where": {k: d.before[k] for k in keys}}))
        elif d.kind == "changed":
            other = again.get((d.table, d.key))
            columns = [c for c in d.columns if c not in INCIDENTAL_COLUMNS] or d.columns
            values = {}
            for c in columns:
                new, old = d.after[c], d.before.get(c)
                if other is None or other.after.get(c) != new:
                    values[c] = {"not_null": True} if new is not None else {"any": True}
                elif (isinstance(new, int) and isinstance(old, int) and not isinstance(new, bool)
                      and COUNTERS.search(c)):
                    values[c] = {"delta": new - old}
                elif isinstance(new, str) and len(new) > LONG_TEXT:
                    values[c] = {"not_null": True}
                else:
                    values[c] = _value(new, now)
            changed.append(_Flow({"table": d.table, "where": {k: d.before[k] for k in keys}, "set": values}))
        else:
            match = {c: _value(v, now) for c, v in d.after.items()
                     if c not in keys and c != "rowid" and c not in volatile.get(d.table, set()) and v is not None
                     and not (isinstance(v, str) and len(v) > LONG_TEXT)}
            same = next((a for a in added if a["table"] == d.table and a["match"] == match), None)
            if same is not None:
                same["count"] = same.get("count", 1) + 1
            else:
                added.append(_Flow({"table": d.table, "match": match}))
    return {"changed": changed, "added": added, "removed": removed}


def _volatile_columns(first: list[RowDiff], second: list[RowDiff]) -> dict[str, set[str]]:
    """Columns of new rows whose values differ between two replays of the same conversation."""
    def values(changes: list[RowDiff]) -> dict[tuple[str, str], list[str]]:
        out: dict[tuple[str, str], list[str]] = {}
        for d in changes:
            if d.kind == "added":
                for c, v in d.after.items():
                    out.setdefault((d.table, c), []).append(json.dumps(v, default=str))
        return {k: sorted(v) for k, v in out.items()}

    a, b = values(first), values(second)
    volatile: dict[str, set[str]] = {}
    for key in set(a) | set(b):
        if a.get(key) != b.get(key):
            volatile.setdefault(key[0], set()).add(key[1])
    return volatile


def _value(value: Any, now: datetime) -> Any:
    """A store time as `now` / `-3d` / `+2h` / `now-90m` when it is exactly that; anything else as is."""
    if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}T", value):
        return value
    try:
        when = parse_time(value)
    except ValueError:
        return value
    minutes = (when - now).total_seconds() / 60
    if minutes != int(minutes):
        return value
    minutes = int(minutes)
    if minutes == 0:
        text = "now"
    elif minutes % 1440 == 0:
        text = f"{minutes // 1440:+d}d"
    elif minutes % 60 == 0:
        text = f"{minutes // 60:+d}h"
    else:
        text = f"now{minutes:+d}m"
    return text if relative_time(text, now) == value else value


# ---- YAML ----------------------------------------------------------------------------------------------


class _Flow(dict):
    """A mapping written on one line: `{tool: cancel_order, args: {order_id: W1001}}`."""


class _FlowList(list):
    """A list written on one line: `[kind:happy, tool:cancel_order]`."""


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False):  # lists indented under their key
        return super().increase_indent(flow, False)

    def ignore_aliases(self, data: Any) -> bool:
        return True


_Dumper.add_representer(_Flow, lambda d, data: d.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True))
_Dumper.add_representer(_FlowList, lambda d, data: d.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True))
_Dumper.add_representer(str, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style="|" if "\n" in s else None))

EXPECT_COMMENT = """\
# Starter expectations: what HAPPENED (tool_calls from the recording, db from replaying it). If the
# agent misbehaved, change them to what should happen -- and a turn's `understand` to a good model's
# understanding -- so the scenario fails until the bug is fixed. TODO: add `replies:` checks and
# `no_tool_calls:`."""


def render(scenario: dict[str, Any], header: list[str]) -> str:
    """The scenario as a YAML file holding a list of one scenario, with `header` as comments."""
    text = yaml.dump([scenario], Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000,
                     default_flow_style=False)
    comment = "\n".join("  " + line for line in EXPECT_COMMENT.splitlines())
    text = text.replace("\n  expect:\n", f"\n{comment}\n  expect:\n", 1)
    lines = [f"# {line}" if line else "#" for item in header for line in item.splitlines()]
    return "\n".join(lines) + "\n\n" + text


def _header(store: Store, rec: RecordedConversation, turns: int) -> list[str]:
    who = f"{rec.customer['name']} ({rec.customer['id']})" if rec.customer else "never verified"
    return [
        f"Exported by `support-agent export-scenario` from conversation {rec.id} in {location(store)}",
        f"({who}, started {rec.conversation['created_at']}, model {rec.conversation['model'] or '?'}, {turns} turn(s)).",
        "TODO: check the description and the kind: tag; edit the expectations below (they describe what happened).",
    ]


def _check(text: str, template: Path, directory: Path) -> TrialResult:
    """Load the YAML with the scenario loader and run it as `support-agent eval` does in replay mode."""
    path = directory / "exported.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        (scenario,) = load_file(path)
    except ScenarioError as exc:  # a bug of this module: the scenario is built from the model's own fields
        raise ExportError(f"the exported scenario does not validate: {exc}") from exc
    return TrialRunner(template, directory, model=None).run(scenario, 1)

