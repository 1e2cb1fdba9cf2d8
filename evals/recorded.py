"""A conversation as the store recorded it (conversations, messages, pending_actions, audit_log), read
back as scripted customer turns and, for each message, the model's understanding of it.

A customer message is one understood turn: the model's one step is the understanding, recorded in the
audit log (phase "understand": `arguments` is the understanding as the runtime read it, `message` the
model's raw output, or what went wrong). Everything else -- logins, tool calls, the reply -- is done
by code from it, so the understanding is all a replay needs. The model's own output is exported when
it was read without a problem; otherwise (a failed model, output that was not JSON, a request that
did not fit the schema) what the runtime made of it, which replays the same way.

The recording ran on the developer's store, built at some other time than the evaluation's store:
`TimeShift` moves the conversation's clock to the same distance from the store's reference time, and
rewrites the dates the customer wrote (ISO and "November 21" forms, in their messages and in the
words the understanding cites from them) to the evaluation store's dates, learnt from the dates in
the recorded tool results.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from tools.store import Store
from tools.values import parse_time

BUTTONS = {"(confirmed)": "confirm", "(declined)": "decline"}
UNDERSTAND = "understand"  # the audit phase of the understanding step
TOOL_PHASES = ("read", "preview", "execute", "decline")  # audit rows of tools (not the runtime's own steps)


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


def has_table(store: Store, name: str) -> bool:
    """Whether the store's database holds the table (a SQLite file or a PostgreSQL database)."""
    if hasattr(store, "db"):  # tools.store.Store: sqlite-utils
        return store.db[name].exists()
    return store.one("SELECT to_regclass(?) AS t", (name,))["t"] is not None


def location(store: Store) -> str:
    """Where the store is, for messages (a PostgreSQL URL without its password)."""
    url = getattr(store, "url", None)
    return url.display() if url is not None else str(store.path)


def has_conversations(store: Store) -> bool:
    return has_table(store, "conversations") and has_table(store, "messages")


def list_conversations(store: Store, limit: int = 20) -> list[ConversationSummary]:
    """The most recent conversations first."""
    if not has_conversations(store):
        return []
    customers = has_table(store, "customers")
    rows = store.all(
        "SELECT c.id, c.created_at, c.customer_id, c.model, "
        + ("(SELECT email FROM customers WHERE id = c.customer_id) AS email, " if customers else "NULL AS email, ")
        + "(SELECT count(*) FROM messages m WHERE m.conversation_id = c.id AND m.role = 'user') AS turns, "
        "(SELECT content FROM messages m WHERE m.conversation_id = c.id AND m.role = 'user' ORDER BY m.id LIMIT 1)"
        " AS first FROM conversations c ORDER BY c.created_at DESC, c.id DESC LIMIT ?", (limit,))
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
        raise ExportError(f"{location(store)} holds no conversations (chat with the agent on it first)")
    row = store.one("SELECT * FROM conversations WHERE id = ?", (conversation_id,))
    if row is None:
        found = store.all("SELECT * FROM conversations WHERE id LIKE ? ESCAPE '\\' LIMIT 2",
                          (conversation_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",))
        if len(found) != 1:
            what = "matches several conversations" if found else "is not a conversation"
            raise ExportError(f"{conversation_id!r} {what} in {location(store)} (see --list)")
        row = found[0]
    cid = row["id"]
    messages = store.all("SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", (cid,))
    audit = store.all("SELECT * FROM audit_log WHERE conversation_id = ? ORDER BY id", (cid,))
    pending = {p["id"]: p for p in store.all("SELECT * FROM pending_actions WHERE conversation_id = ?", (cid,))}
    customer = None
    if row["customer_id"] and has_table(store, "customers"):
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
    tool_text = "\n".join(a["message"] or "" for a in rec.audit if a["phase"] in TOOL_PHASES)
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


ToolOutcome = tuple[str, str, "str | None", "str | None"]  # (tool, phase, status, message) of an audit row


def align_dates(shift: TimeShift, turns: list[tuple[list[ToolOutcome], list[ToolOutcome]]]) -> TimeShift:
    """`shift` with the dates learnt from pairing each turn's recorded tool results with the same
    results on the evaluation store (the same tool, phase and status at the same position; the dates
    of its message in order, e.g. a refund's business-day date, which does not move with the clock),
    ahead of the moved dates."""
    learnt: dict[date, date] = {}
    for recorded, replayed in turns:
        for old, new in zip(recorded, replayed):
            if old[:3] == new[:3]:
                _pair_dates(old[3] or "", new[3] or "", learnt)
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


# ---- the customer's turns and the model's understandings -------------------------------------------------


@dataclass
class RecoveredTurn:
    """One customer turn: a message (`say`) with the model's understanding of it (`understand`, None when
    none was recorded), or a press of the confirm / decline button (`tool`); what the customer saw
    (`reply`) and the tools' outcomes (`outcomes`, `tool_results`), to compare with the replay."""

    number: int  # the recorded session turn
    kind: str  # say | confirm | decline
    text: str = ""
    tool: str | None = None
    understand: dict[str, Any] | str | None = None
    understand_problem: str | None = None  # what went wrong in the recorded understanding step
    reply: str = ""
    outcomes: list[tuple[str, str, str | None]] = field(default_factory=list)  # (tool, phase, status)
    tool_results: list[ToolOutcome] = field(default_factory=list)  # with the tools' messages
    rewritten: bool = False  # the reply was the model's rewrite of the composed one (--reply model)


def recover_turns(rec: RecordedConversation, shift: TimeShift) -> list[RecoveredTurn]:
    turns: list[RecoveredTurn] = []
    for number in rec.turn_numbers():
        messages = [m for m in rec.messages if m["turn"] == number]
        audit = [a for a in rec.audit if a["turn"] == number]
        user = next((m for m in messages if m["role"] == "user"), None)
        if user is None:  # an empty or overlong message: the runtime answered without keeping it
            continue
        content = user["content"] or ""
        visible = [m["content"] or "" for m in messages if m["role"] == "assistant" and m["visible"]]
        tools = [a for a in audit if a["phase"] in TOOL_PHASES]
        turn = RecoveredTurn(number=number, kind=BUTTONS.get(content, "say"),
                             reply=shift.text(visible[-1] if visible else ""),
                             outcomes=[(a["tool"], a["phase"], a["status"]) for a in tools],
                             tool_results=[(a["tool"], a["phase"], a["status"], a["message"]) for a in tools],
                             rewritten=any(a["tool"] == "reply_rewrite" and a["status"] == "ok" for a in audit))
        if turn.kind == "say":
            turn.text = shift.text(content)
            understood = next((a for a in audit if a["phase"] == UNDERSTAND), None)
            if understood is not None:
                turn.understand, turn.understand_problem = _understanding(understood)
                turn.understand = _shifted(turn.understand, shift)
        else:
            resolved = next((a for a in audit if a["phase"] in ("execute", "decline")), None)
            turn.tool = resolved["tool"] if resolved else None
        turns.append(turn)
    return turns


def _understanding(row: dict[str, Any]) -> tuple[dict[str, Any] | str, str | None]:
    """The model's own output when the runtime read it without a problem, else what the runtime made of
    it (the understanding's dump, which replays the same way) and the problem."""
    if row["status"] == "ok":
        try:
            raw = json.loads(row["message"] or "")
        except ValueError:
            raw = None
        if isinstance(raw, dict):
            return raw, None
    dump = audit_args(row)
    problem = row["message"] if row["status"] != "ok" and row["message"] else "the model's output was not kept"
    return (dump if isinstance(dump, dict) else {"requests": [{"kind": "clarify"}]}), problem


def _shifted(value: Any, shift: TimeShift) -> Any:
    """The understanding with the dates of the words it cites moved like the customer's message."""
    if isinstance(value, str):
        return shift.text(value)
    if isinstance(value, list):
        return [_shifted(v, shift) for v in value]
    if isinstance(value, dict):
        return {k: _shifted(v, shift) for k, v in value.items()}
    return value
