"""A conversation as the store recorded it (conversations, messages, pending_actions, audit_log), read
back as scripted customer turns and, for each turn, the model outputs it contained.

The store keeps what the runtime did, not every model request, so the outputs of a turn are recovered
as a queue, in order: the model's tool-call steps (the runtime's own calls -- help-center routing,
queued writes, verification from the message -- are left out), an empty reply before each help-center
routing (the model's text there is discarded by the runtime), the replies the reply guard rejected,
and the visible reply without the runtime's confirmation question. `evals.export` plays the queue
against a fresh demo store and keeps exactly the steps the runtime asked for: a runtime-written reply
(a confirmation question, "you're verified") is simply never asked for.

The recording ran on the developer's store, built at some other time than the evaluation's store:
`TimeShift` moves the conversation's clock to the same distance from the store's reference time, and
rewrites the dates the customer and the model wrote (ISO and "November 21" forms) to the evaluation
store's dates, learnt from the timestamps in the recorded tool results.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from agent import replies
from tools.store import Store
from tools.values import parse_time

# Call ids the runtime gives its own tool calls (agent/session.py); model call ids look different
# (call_1, call_<hex>, call_t1_2_1, a server's own ids).
RUNTIME_CALL_ID = re.compile(r"^(?:route|agenda|verify)_[0-9a-f]+$")
ROUTE_CALL_ID = re.compile(r"^route_")
SYSTEM_NOTE = "[note from the system"
BUTTONS = {"(confirmed)": "confirm", "(declined)": "decline"}


class ExportError(Exception):
    """The conversation cannot be exported (unknown id, not a store with conversations, ...)."""


# ---- listing ------------------------------------------------------------------------------------


@dataclass
class ConversationSummary:
    id: str
    started_at: str
    customer_id: str | None
    customer: str | None  # the customer's email, once verified
    turns: int
    first_message: str
    model: str


def has_conversations(store: Store) -> bool:
    return store.db["conversations"].exists() and store.db["messages"].exists()


def list_conversations(store: Store, limit: int = 20) -> list[ConversationSummary]:
    """The most recent conversations first."""
    if not has_conversations(store):
        return []
    customers = store.db["customers"].exists()
    rows = store.all(
        "SELECT c.id, c.created_at, c.customer_id, c.model, "
        + ("(SELECT email FROM customers WHERE id = c.customer_id) AS email, " if customers else "NULL AS email, ")
        + "(SELECT count(*) FROM messages m WHERE m.conversation_id = c.id AND m.role = 'user') AS turns, "
        "(SELECT content FROM messages m WHERE m.conversation_id = c.id AND m.role = 'user' ORDER BY m.id LIMIT 1)"
        " AS first FROM conversations c ORDER BY c.created_at DESC, c.rowid DESC LIMIT ?", (limit,))
    return [ConversationSummary(id=r["id"], started_at=r["created_at"] or "", customer_id=r["customer_id"],
                                customer=r["email"], turns=r["turns"] or 0, first_message=r["first"] or "",
                                model=r["model"] or "") for r in rows]


# ---- reading one conversation ----------------------------------------------------------------------


@dataclass
class RecordedConversation:
    conversation: dict[str, Any]
    messages: list[dict[str, Any]]
    audit: list[dict[str, Any]]
    pending: dict[str, dict[str, Any]]  # by action id
    customer: dict[str, Any] | None  # the verified customer's row

    @property
    def id(self) -> str:
        return self.conversation["id"]

    def turn_numbers(self) -> list[int]:
        return sorted({m["turn"] for m in self.messages})


def read_conversation(store: Store, conversation_id: str) -> RecordedConversation:
    """One conversation by id, or by a prefix of exactly one id."""
    if not has_conversations(store):
        raise ExportError(f"{store.path} holds no conversations (chat with the agent on it first)")
    row = store.one("SELECT * FROM conversations WHERE id = ?", (conversation_id,))
    if row is None:
        found = store.all("SELECT * FROM conversations WHERE id LIKE ? ESCAPE '\\' LIMIT 2",
                          (conversation_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",))
        if len(found) != 1:
            what = "matches several conversations" if found else "is not a conversation"
            raise ExportError(f"{conversation_id!r} {what} in {store.path} (see --list)")
        row = found[0]
    cid = row["id"]
    messages = store.all("SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", (cid,))
    audit = store.all("SELECT * FROM audit_log WHERE conversation_id = ? ORDER BY id", (cid,))
    pending = {p["id"]: p for p in store.all("SELECT * FROM pending_actions WHERE conversation_id = ?", (cid,))}
    customer = None
    if row["customer_id"] and store.db["customers"].exists():
        customer = store.one("SELECT * FROM customers WHERE id = ?", (row["customer_id"],))
    if not any(m["role"] == "user" for m in messages):
        raise ExportError(f"conversation {cid} has no customer message")
    return RecordedConversation(row, messages, audit, pending, customer)


def audit_args(row: dict[str, Any]) -> Any:
    try:
        return json.loads(row.get("arguments") or "{}")
    except ValueError:
        return row.get("arguments")


# ---- time --------------------------------------------------------------------------------------------


_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?\b")
_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december"]
_MONTH = r"(?P<{0}>(?:" + "|".join(m[:3] for m in _MONTHS) + r")[a-z]*\.?)"
_DATE_TEXT = re.compile(
    r"\b(?P<iso>\d{4}-\d{2}-\d{2})"
    r"|\b" + _MONTH.format("m1") + r"(?P<s1>\s+)(?P<d1>\d{1,2})(?P<o1>st|nd|rd|th)?\b(?P<y1>,?\s+\d{4}\b)?"
    r"|\b(?P<d2>\d{1,2})(?P<o2>st|nd|rd|th)?(?P<s2>\s+(?:of\s+)?)" + _MONTH.format("m2") + r"\b(?P<y2>,?\s+\d{4}\b)?",
    re.I)


@dataclass
class TimeShift:
    """From the recording's times to the evaluation's. `clock` is the scenario's `clock` (the
    conversation's distance from the store's reference time), `dates` maps recorded dates to the
    evaluation store's dates."""

    clock: str | None = None
    clock_offset: timedelta = timedelta(0)
    dates: dict[date, date] = field(default_factory=dict)

    def text(self, value: str) -> str:
        """`value` with every recorded date it names moved to the evaluation store's date."""
        if not self.dates or not value:
            return value
        by_day: dict[tuple[int, int], date] = {}
        for old, new in self.dates.items():
            by_day.setdefault((old.month, old.day), new)
        return _DATE_TEXT.sub(lambda m: _moved(m, self.dates, by_day), value)


def time_shift(store: Store, rec: RecordedConversation, eval_reference: datetime,
               notes: list[str]) -> TimeShift:
    """How far the recorded store's reference time and the conversation's clock are from the
    evaluation's, and the recorded dates that move with them."""
    from fixtures.demo_store import store_reference_now

    reference = store_reference_now(store)
    if reference is None:
        notes.append("the store was not built by `support-agent init` (no reference time): dates and the clock "
                     "are exported unchanged")
        return TimeShift()
    users = [m for m in rec.messages if m["role"] == "user"]
    started = parse_time(users[0]["created_at"]) or parse_time(rec.conversation["created_at"]) or reference
    ended = parse_time(rec.messages[-1]["created_at"]) or started
    if ended - started > timedelta(hours=1):
        notes.append(f"the conversation lasted {_span(ended - started)}; the scenario plays it at one time "
                     f"(its start)")
    offset = timedelta(minutes=round((started - reference).total_seconds() / 60))
    delta = eval_reference - reference
    shift = TimeShift(clock=_clock(offset), clock_offset=offset)
    if delta == timedelta(0):
        return shift
    # Today first, then the timestamps the tools reported, then their plain dates.
    shift.dates[started.date()] = (started + delta).date()
    tool_text = "\n".join(m["content"] or "" for m in rec.messages if m["role"] == "tool")
    for m in _ISO.finditer(tool_text):
        if m.group(4) is None:
            continue
        try:
            when = parse_time(m.group(0).replace(" ", "T"))
        except ValueError:
            continue
        when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
        shift.dates.setdefault(date(*map(int, m.group(1, 2, 3))), (when + delta).date())
    for m in _ISO.finditer(tool_text):
        if m.group(4) is not None:
            continue
        try:
            day = date(*map(int, m.group(1, 2, 3)))
        except ValueError:
            continue
        shift.dates.setdefault(day, (datetime.combine(day, reference.timetz()) + delta).date())
    return shift


def align_dates(shift: TimeShift, turns: list[tuple[list[str], list[str]]]) -> TimeShift:
    """`shift` with the dates learnt from pairing each turn's recorded tool results with the same
    results on the evaluation store (same position in the same kind of result, e.g. a refund's
    business-day `expected_by`, which does not move with the clock), ahead of the moved dates."""
    learnt: dict[date, date] = {}
    for recorded, replayed in turns:
        for old, new in zip(recorded, replayed):
            try:
                a, b = json.loads(old), json.loads(new)
            except ValueError:
                continue
            if isinstance(a, dict) and isinstance(b, dict) and a.get("status") == b.get("status") \
                    and set(a.get("data") or {}) == set(b.get("data") or {}):
                _pair_dates(a, b, learnt)
    if not learnt:
        return shift
    return TimeShift(clock=shift.clock, clock_offset=shift.clock_offset,
                     dates={**learnt, **{k: v for k, v in shift.dates.items() if k not in learnt}})


def _pair_dates(old: Any, new: Any, learnt: dict[date, date]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in old.keys() & new.keys():
            _pair_dates(old[key], new[key], learnt)
    elif isinstance(old, list) and isinstance(new, list):
        for a, b in zip(old, new):
            _pair_dates(a, b, learnt)
    elif isinstance(old, str) and isinstance(new, str):
        a, b = _ISO.findall(old), _ISO.findall(new)
        if len(a) == len(b):
            for x, y in zip(a, b):
                try:
                    learnt.setdefault(date(*map(int, x[:3])), date(*map(int, y[:3])))
                except ValueError:
                    continue


def _clock(offset: timedelta) -> str | None:
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return None
    sign = "+" if minutes > 0 else "-"
    minutes = abs(minutes)
    if minutes % 1440 == 0:
        return f"{sign}{minutes // 1440}d"
    if minutes % 60 == 0:
        return f"{sign}{minutes // 60}h"
    return f"{sign}{minutes}m"


def _span(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} hours" if hours < 48 else f"{hours / 24:.0f} days"


def _moved(m: re.Match, dates: dict[date, date], by_day: dict[tuple[int, int], date]) -> str:
    if m.group("iso"):
        try:
            new = dates.get(date(*map(int, m.group("iso").split("-"))))
        except ValueError:
            return m.group(0)
        return new.isoformat() if new else m.group(0)
    n = "1" if m.group("m1") else "2"
    word, day = m.group(f"m{n}"), int(m.group(f"d{n}"))
    month = [x[:3] for x in _MONTHS].index(word[:3].lower()) + 1
    new = by_day.get((month, day))
    if new is None:
        return m.group(0)
    name = _MONTHS[new.month - 1]
    letters = word.rstrip(".")
    if letters.lower() not in _MONTHS:  # an abbreviation: Nov, Sept
        name = name[:3]
    name = name.upper() if letters.isupper() and len(letters) > 1 else name.title() if word[0].isupper() else name
    name += "." if word.endswith(".") and len(name) <= 4 else ""
    day_text = str(new.day) + (_ordinal(new.day) if m.group(f"o{n}") else "")
    year = m.group(f"y{n}")
    year = re.sub(r"\d{4}", str(new.year), year) if year else ""
    if n == "1":
        return f"{name}{m.group('s1')}{day_text}{year}"
    return f"{day_text}{m.group('s2')}{name}{year}"


def _ordinal(day: int) -> str:
    return "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


# ---- the customer's turns and the model's outputs -------------------------------------------------------


@dataclass
class RecoveredTurn:
    """One customer turn: a message (`say`) or a press of the confirm / decline button (`tool`), with
    the model outputs recorded in it (`outputs`, in replay-step form; an empty reply marked
    `before_route` is only served while the runtime has not routed the turn to the help center), and
    what the customer saw (`reply`) and the tools' outcomes (`outcomes`), to compare with the replay."""

    number: int  # the recorded session turn
    kind: str  # say | confirm | decline
    text: str = ""
    tool: str | None = None
    outputs: list[dict[str, Any]] = field(default_factory=list)
    reply: str = ""
    outcomes: list[tuple[str, str, str | None]] = field(default_factory=list)  # (tool, phase, status)
    tool_results: list[str] = field(default_factory=list)  # the recorded tool messages, as stored
    model_failed: bool = False


def recover_turns(rec: RecordedConversation, shift: TimeShift) -> list[RecoveredTurn]:
    turns: list[RecoveredTurn] = []
    for number in rec.turn_numbers():
        messages = [m for m in rec.messages if m["turn"] == number]
        audit = [a for a in rec.audit if a["turn"] == number]
        user = next((m for m in messages if m["role"] == "user"), None)
        if user is None:  # an empty message: the runtime answered "Please type a message."
            continue
        content = user["content"] or ""
        visible = [m["content"] or "" for m in messages if m["role"] == "assistant" and m["visible"]]
        turn = RecoveredTurn(number=number, kind=BUTTONS.get(content, "say"), reply=shift.text(visible[-1] if visible else ""),
                             outcomes=[(a["tool"], a["phase"], a["status"]) for a in audit if a["phase"] != "model"],
                             model_failed=any(a["phase"] == "model" for a in audit),
                             tool_results=[m["content"] or "" for m in messages if m["role"] == "tool"])
        if turn.kind == "say":
            turn.text = shift.text(content)
        else:
            resolved = next((a for a in audit if a["phase"] in ("execute", "decline")), None)
            turn.tool = resolved["tool"] if resolved else None
        turn.outputs = _outputs(messages, audit, rec, shift)
        turns.append(turn)
    return turns


def _outputs(messages: list[dict[str, Any]], audit: list[dict[str, Any]], rec: RecordedConversation,
             shift: TimeShift) -> list[dict[str, Any]]:
    outputs: list[dict[str, Any]] = []
    for m in messages:
        if m["role"] != "assistant" or not m["tool_calls"]:
            continue
        calls = json.loads(m["tool_calls"])
        ids = [c.get("id") or "" for c in calls]
        if all(ROUTE_CALL_ID.match(i) for i in ids):
            outputs.append({"reply": "", "before_route": True})
            continue
        if all(RUNTIME_CALL_ID.match(i) for i in ids):
            continue
        outputs.append({"calls": [{"tool": c["function"]["name"], "args": _call_args(c["function"].get("arguments"))}
                                  for c in calls]})
    rejected = [audit_args(a).get("reply", "") for a in audit
                if a["tool"] == "reply_guard" and a["status"] == "rejected" and isinstance(audit_args(a), dict)]
    replaced = any(a["tool"] == "reply_guard" and a["status"] == "replaced" for a in audit)
    for text in rejected:
        outputs.append({"reply": shift.text(text)})
    if rejected and replaced:  # the retry failed the guard too: the same text fails it the same way
        outputs.append({"reply": shift.text(rejected[-1])})
    visible = [m["content"] or "" for m in messages if m["role"] == "assistant" and m["visible"]]
    if visible and visible[-1] != replies.MODEL_FAILURE:  # the runtime's apology, never a model's reply
        outputs.append({"reply": shift.text(_without_question(visible[-1], audit, rec))})
    return outputs


def _call_args(raw: Any) -> dict[str, Any] | str:
    if not isinstance(raw, str):
        return raw if isinstance(raw, dict) else {}
    try:
        value = json.loads(raw)
    except ValueError:
        return raw  # the model's malformed arguments, replayed as they were
    return value if isinstance(value, dict) else raw


def _without_question(text: str, audit: list[dict[str, Any]], rec: RecordedConversation) -> str:
    """The visible reply without the runtime's confirmation question of an action proposed this turn."""
    for a in reversed(audit):
        action = rec.pending.get(a.get("action_id") or "")
        if action is None or a["phase"] != "preview":
            continue
        question = replies.confirmation_question(action["summary"] or "")
        if text.endswith(question):
            return text[: -len(question)].rstrip()
    return text
