"""The scenario format: one YAML file holds a list of scenarios, validated here.

A scenario is a conversation with the agent and what must be true afterwards:

```yaml
- id: cancel-pending-order
  description: Jane cancels W1001, pending; the total goes back to her Visa.
  tags: [tool:cancel_order, rule:cancellation.allowed_statuses, kind:happy, live-smoke]
  store:                      # optional: the demo store, patched before the run
    patches:
      - {update: orders, where: {id: W1003}, set: {status: delivered, delivered_at: -1d}}
  customer:
    turns:                    # scripted customer turns; `understand` = the model's understanding of it
      - say: "I'm jane.doe@example.com, zip 94107. Cancel W1001 please, I ordered it by mistake."
        understand: {"lang": "en", "requests": [{"kind": "cancel_order", "order": "W1001", "reason": "I ordered it by mistake"}]}
      - say: "yes"            # or `confirm: cancel_order` / `decline: cancel_order` (the API buttons)
        understand: {"answer": "yes"}
      - say:                  # or phrasings of one message: live trial k sends phrasing (k-1) mod 3,
          - "Where is W1003?" # a replay always the first
          - "Any news on my order W1003?"
          - "Has W1003 shipped yet?"
        understand: {"lang": "en", "requests": [{"kind": "track_shipment", "order": "W1003"}]}
    simulated:                # optional: an LLM plays this customer when --user-model is given
      persona: ...
      goal: ...
  expect:
    db:
      changed: [{table: orders, where: {id: W1001}, set: {status: cancelled, cancelled_at: now}}]
      added: [{table: refunds, match: {order_id: W1001, amount_cents: 11623, method: original}}]
    tool_calls: [{tool: cancel_order, args: {order_id: W1001}, phase: execute, status: ok}]
    no_tool_calls: [{tool: issue_refund}]
    replies: [{contains: "5-7 business days", scope: last}]
    verified_as: C0001
  max_turns: 4
```

Values in `store.patches` and `expect.db`: `now`, `-3d`, `+2h`, `now-90m` are times relative to the run's
reference time (written as the store writes times). In `expect`, a mapping is a matcher:
`{any: true}`, `{not_null: true}`, `{regex: "^RMA"}`, `{contains: "text"}`, `{delta: 2}` (the number
changed by exactly that much; `changed` rows only), `{gte: 1}` / `{lte: 5}`.

Errors name the file, the scenario and the field: `returns.yaml: scenario 'return-late' (#4):
expect.db.changed.0.set: Field required`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tools.values import iso

SCENARIO_DIR = Path(__file__).parent / "scenarios"

KINDS = ("happy", "denied", "adversarial", "multi-intent", "ambiguous", "out-of-scope", "chit-chat",
         "help", "escalation", "recovery")
PHASES = ("understand", "read", "preview", "execute", "decline", "blocked", "queued", "guard", "model")
AUDITED_STEPS = ("understand", "reply_rewrite")  # audit rows of the runtime's own steps (not tools)
MATCHER_KEYS = frozenset({"any", "not_null", "regex", "contains", "delta", "gte", "lte"})
_RELATIVE = re.compile(r"^(?:now)?\s*(?:([+-])\s*(\d+(?:\.\d+)?)\s*([dhm]))?$")


class ScenarioError(Exception):
    """A scenario file that cannot be used; the message names the file, the scenario and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- time values ------------------------------------------------------------------------------


def relative_time(value: Any, now: datetime) -> Any:
    """`now`, `-3d`, `+2h`, `now-90m` -> the ISO time relative to `now`; anything else unchanged."""
    if not isinstance(value, str) or not value.strip():
        return value
    text = value.strip().lower()
    if not (text.startswith(("now", "+", "-"))):
        return value
    m = _RELATIVE.match(text)
    if m is None or (text != "now" and m.group(1) is None):
        return value
    if m.group(1) is None:
        return iso(now)
    amount = float(m.group(2)) * (1 if m.group(1) == "+" else -1)
    unit = {"d": "days", "h": "hours", "m": "minutes"}[m.group(3)]
    return iso(now + timedelta(**{unit: amount}))


def is_matcher(value: Any) -> bool:
    return isinstance(value, dict) and len(value) >= 1 and set(value) <= MATCHER_KEYS


# ---- the customer ------------------------------------------------------------------------------


class CustomerTurn(_Strict):
    """One customer turn: a message (`say`), or a press of the confirm / decline button on the pending
    action (`confirm: cancel_order`, `confirm: true` for whatever is pending).

    `say` may be a list of phrasings of the same message (same ids, same meaning): live trial k uses
    phrasing (k-1) mod len; a replay always uses the first (the replay was recorded for it)."""

    say: str | list[str] | None = None
    confirm: str | bool | None = None
    decline: str | bool | None = None
    # The agent's understanding of this message, as the model gave it (a dict, or a raw string to test
    # malformed output): replayed to the runtime's understanding step, the one model step of a message.
    understand: dict[str, Any] | str | None = None
    # `understand` is a fault under test (a model naming an unknown kind, cut-off JSON, an invented
    # value): live runs serve it too, in place of the model's own understanding of this message, so
    # the runtime's recovery is what is judged in every run.
    fault: bool = False
    # The model's translation of this turn's composed reply, in a conversation whose language has no
    # catalog: replayed to the reply-only step, where the fact check judges it as it would a live one.
    translation: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and "replay" in data:
            raise ValueError("`replay` (the steps of the model's own tool loop) is gone: a message is one "
                             "understood turn, so give the model's understanding of it as `understand:`")
        return {"say": data} if isinstance(data, str) else data

    @field_validator("say")
    @classmethod
    def _phrasings(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list):
            if not value:
                raise ValueError("`say` is an empty list: give the message, or a list of one or more phrasings")
            if any(not v.strip() for v in value):
                raise ValueError("`say` lists an empty phrasing")
        return value

    @model_validator(mode="after")
    def _one_of(self) -> "CustomerTurn":
        given = [k for k in ("say", "confirm", "decline") if getattr(self, k) not in (None, False)]
        if len(given) != 1:
            raise ValueError("a customer turn is exactly one of `say: text`, `confirm: tool` or `decline: tool`")
        return self

    @property
    def phrasings(self) -> list[str]:
        """Every phrasing of the message (one for a plain `say: text`; none for a button press)."""
        if self.say is None:
            return []
        return list(self.say) if isinstance(self.say, list) else [self.say]

    @property
    def text(self) -> str | None:
        """The message as recorded (its first phrasing): what the replay and the exporter use."""
        return self.phrasings[0] if self.say is not None else None

    def phrasing(self, trial: int, *, replay: bool = False) -> tuple[str, int]:
        """The message trial `trial` (1-based) sends and its phrasing's index (0-based): (trial-1) mod
        the number of phrasings, or the first in replay mode."""
        options = self.phrasings
        index = 0 if replay else (trial - 1) % len(options)
        return options[index], index

    @property
    def kind(self) -> str:
        return "say" if self.say is not None else "confirm" if self.confirm not in (None, False) else "decline"

    @property
    def expected_tool(self) -> str | None:
        value = self.confirm if self.kind == "confirm" else self.decline if self.kind == "decline" else None
        return value if isinstance(value, str) else None


class SimulatedCustomer(_Strict):
    """What an LLM playing the customer is told. It ends the chat by writing `stop`."""

    persona: str
    goal: str
    knows: dict[str, str] | list[str] = Field(default_factory=dict)
    does_not_know: list[str] = Field(default_factory=list)
    stop: str = "###DONE###"
    max_turns: int = Field(default=8, ge=1, le=50)  # the conversation ends here if the customer is not done


class Customer(_Strict):
    turns: list[CustomerTurn] = Field(min_length=1)
    simulated: SimulatedCustomer | None = None


# ---- the starting store ------------------------------------------------------------------------------


class Patch(_Strict):
    """`{update: table, where: {...}, set: {...}}`, `{insert: table, values: {...}}` or
    `{delete: table, where: {...}}`."""

    update: str | None = None
    insert: str | None = None
    delete: str | None = None
    where: dict[str, Any] = Field(default_factory=dict)
    set: dict[str, Any] = Field(default_factory=dict)
    values: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _shape(self) -> "Patch":
        ops = [k for k in ("update", "insert", "delete") if getattr(self, k)]
        if len(ops) != 1:
            raise ValueError("a patch is exactly one of `update: table`, `insert: table` or `delete: table`")
        if self.update and (not self.where or not self.set):
            raise ValueError("`update` needs `where` and `set`")
        if self.delete and not self.where:
            raise ValueError("`delete` needs `where`")
        if self.insert and not self.values:
            raise ValueError("`insert` needs `values`")
        return self

    @property
    def table(self) -> str:
        return self.update or self.insert or self.delete or ""


class StoreSpec(_Strict):
    base: Literal["demo"] = "demo"
    patches: list[Patch] = Field(default_factory=list)


# ---- expectations ------------------------------------------------------------------------------------


class RowChanged(_Strict):
    """An existing row (found by `where` in the starting store) whose `set` columns must now match."""

    table: str
    where: dict[str, Any] = Field(min_length=1)
    set: dict[str, Any] = Field(min_length=1)


class RowAdded(_Strict):
    """`count` new rows of `table` matching every column in `match` (other columns are not checked)."""

    table: str
    match: dict[str, Any] = Field(default_factory=dict)
    count: int = Field(default=1, ge=1)


class RowRemoved(_Strict):
    table: str
    where: dict[str, Any] = Field(min_length=1)


class DbExpect(_Strict):
    """The changes that must have happened. Every other row of every store table must be unchanged."""

    changed: list[RowChanged] = Field(default_factory=list)
    added: list[RowAdded] = Field(default_factory=list)
    removed: list[RowRemoved] = Field(default_factory=list)


class ToolExpect(_Strict):
    """Audit-log rows of a tool: `args` is a subset match (strings compared case-insensitively).
    In `tool_calls` at least one row must match (exactly `count` if given); in `no_tool_calls` none may.
    `phase` defaults to any phase in `tool_calls` and to the phases where the tool ran
    (read, preview, execute) in `no_tool_calls`. `replay_only`: an expectation about how the runtime
    handled the replayed model's misstep (a choice asked for again because the words the understanding
    cited for it are not the customer's, a dropped request), checked in replay only."""

    tool: str | list[str]  # a list: any of these (a rule enforced by a read check and by a write's preview)
    args: dict[str, Any] = Field(default_factory=dict)
    phase: Literal[PHASES] | list[Literal[PHASES]] | None = None  # type: ignore[valid-type]
    status: Literal["ok", "denied", "needs_confirmation", "error", "declined", "rejected", "replaced"] | None = None
    rule: str | None = None
    count: int | None = Field(default=None, ge=0)
    replay_only: bool = False  # about the replayed model's own misstep: not checked live

    @property
    def tools(self) -> tuple[str, ...]:
        return (self.tool,) if isinstance(self.tool, str) else tuple(self.tool)

    def phases(self, default: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if self.phase is None:
            return default
        return (self.phase,) if isinstance(self.phase, str) else tuple(self.phase)


class ReplyCheck(_Strict):
    """One check on what the customer saw. `scope`: the whole conversation (every agent reply), the
    last reply, or one turn's reply (`turn: 2`)."""

    contains: str | list[str] | None = None
    not_contains: str | list[str] | None = None
    regex: str | None = None
    not_regex: str | None = None
    scope: Literal["conversation", "last"] = "conversation"
    turn: int | None = Field(default=None, ge=1)
    case_sensitive: bool = False
    replay_only: bool = False  # the wording of a replayed reply: not checked live

    @model_validator(mode="after")
    def _one_of(self) -> "ReplyCheck":
        given = [k for k in ("contains", "not_contains", "regex", "not_regex") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a reply check is exactly one of contains, not_contains, regex, not_regex")
        for pattern in (self.regex, self.not_regex):
            if pattern is not None:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"invalid regex {pattern!r}: {exc}") from None
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("contains", "not_contains", "regex", "not_regex") if getattr(self, k) is not None)

    @property
    def needles(self) -> list[str]:
        value = getattr(self, self.kind)
        return value if isinstance(value, list) else [value]

    def describe(self) -> str:
        where = f"turn {self.turn}" if self.turn else f"the {self.scope}" if self.scope == "last" else "the conversation"
        what = " / ".join(repr(n) for n in self.needles)
        verb = {"contains": "contains", "not_contains": "does not contain", "regex": "matches",
                "not_regex": "does not match"}[self.kind]
        return f"{where} {verb} {what}"


NOT_CHECKED = "__unset__"


class Expect(_Strict):
    db: DbExpect = Field(default_factory=DbExpect)
    tool_calls: list[ToolExpect] = Field(default_factory=list)
    no_tool_calls: list[ToolExpect] = Field(default_factory=list)
    replies: list[ReplyCheck] = Field(default_factory=list)
    verified_as: str | None = NOT_CHECKED  # a customer id, or null for "never verified"; absent: not checked


class Scenario(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=80)
    description: str = Field(min_length=1)
    tags: list[str] = Field(min_length=1)
    store: StoreSpec = Field(default_factory=StoreSpec)
    clock: str | None = None  # the conversation's time, relative to the reference time (e.g. "+9h")
    customer: Customer
    expect: Expect = Field(default_factory=Expect)
    max_turns: int = Field(default=12, ge=1, le=50)
    source: str = ""  # the file it came from (set by the loader)

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: list[str]) -> list[str]:
        from tools.registry import all_tools

        tools = {t.name for t in all_tools()}
        for tag in tags:
            prefix, _, value = tag.partition(":")
            if not value:
                continue
            if prefix == "tool" and value not in tools:
                raise ValueError(f"tag {tag!r}: no tool named {value!r}")
            if prefix == "kind" and value not in KINDS:
                raise ValueError(f"tag {tag!r}: kind is one of {', '.join(KINDS)}")
            if prefix == "rule" and not is_known_rule(value):
                raise ValueError(f"tag {tag!r}: a rule is a dotted name under a policy section "
                                 f"({', '.join(policy_sections())})")
        if not any(t.startswith("kind:") for t in tags):
            raise ValueError("tags need a kind (kind:happy, kind:denied, kind:adversarial, ...)")
        return tags

    @field_validator("clock")
    @classmethod
    def _clock(cls, value: str | None) -> str | None:
        if value is not None and relative_time(value, datetime(2000, 1, 1)) == value:
            raise ValueError("clock is relative to the reference time, e.g. '+9h' or '-2d'")
        return value

    @model_validator(mode="after")
    def _consistency(self) -> "Scenario":
        from tools.registry import all_tools

        tools = {t.name for t in all_tools()}
        if len(self.customer.turns) > self.max_turns:
            raise ValueError(f"customer.turns has {len(self.customer.turns)} turns, more than max_turns "
                             f"({self.max_turns})")
        for i, turn in enumerate(self.customer.turns):
            if turn.expected_tool and turn.expected_tool not in tools:
                raise ValueError(f"customer.turns.{i}: no tool named {turn.expected_tool!r}")
        for where in ("tool_calls", "no_tool_calls"):
            for i, t in enumerate(getattr(self.expect, where)):
                for name in t.tools:
                    if name not in tools and name not in AUDITED_STEPS:
                        raise ValueError(f"expect.{where}.{i}.tool: no tool named {name!r}")
        return self

    @property
    def kind(self) -> str:
        return next(t.split(":", 1)[1] for t in self.tags if t.startswith("kind:"))

    @property
    def has_replay(self) -> bool:
        return any(turn.understand is not None for turn in self.customer.turns)


def policy_sections() -> list[str]:
    from tools.policy import Policy

    return [name for name in Policy.model_fields if name not in ("store", "prose", "source")]


def is_known_rule(rule: str | None) -> bool:
    """A rule is `section.name[.more]` with a policy section: a rule parameter of the policy header
    (returns.window_days) or a rule the tools enforce from the policy's prose (identity.own_orders_only)."""
    if not rule:
        return False
    section, _, rest = rule.partition(".")
    return section in policy_sections() and bool(re.fullmatch(r"[a-z_][a-z0-9_]*(\.[a-z0-9_]+)*", rest))


# ---- loading ---------------------------------------------------------------------------------------


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(scenario)"


def _scenario_errors(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(("function-", "tagged-union"))))
        problems.append(f"{_where(loc)}: {err['msg']}")
    return "; ".join(problems)


def load_file(path: str | Path) -> list[Scenario]:
    """Every scenario of one YAML (or JSON) file: a list of scenarios, or `{scenarios: [...]}`."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from exc
    if isinstance(data, dict) and "scenarios" in data:
        data = data["scenarios"]
    if data is None:
        return []
    if not isinstance(data, list):
        raise ScenarioError(f"{path}: expected a list of scenarios (or `scenarios: [...]`), got {type(data).__name__}")
    scenarios = []
    for i, raw in enumerate(data, 1):
        sid = raw.get("id") if isinstance(raw, dict) else None
        label = f"scenario {sid!r} (#{i})" if sid else f"scenario #{i}"
        if not isinstance(raw, dict):
            raise ScenarioError(f"{path}: {label}: a scenario is a mapping, got {type(raw).__name__}")
        try:
            scenario = Scenario.model_validate({**raw, "source": str(path)})
        except ValidationError as exc:
            raise ScenarioError(f"{path}: {label}: {_scenario_errors(exc)}") from None
        scenarios.append(scenario)
    return scenarios


def scenario_files(paths: list[str | Path] | None = None) -> list[Path]:
    """YAML/JSON files under `paths` (files or folders); default: the packaged suite."""
    paths = [Path(p) for p in (paths or [SCENARIO_DIR])]
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*") if f.suffix in (".yaml", ".yml", ".json")))
        elif p.is_file():
            files.append(p)
        else:
            raise ScenarioError(f"{p}: no such file or folder")
    return files


def load_scenarios(paths: list[str | Path] | None = None, *, tags: list[str] | None = None,
                   ids: list[str] | None = None) -> list[Scenario]:
    """Load, validate and filter scenarios. `tags`: keep scenarios with any of them; `ids`: keep
    scenarios whose id matches any of these glob patterns. Ids must be unique across files."""
    from fnmatch import fnmatch

    scenarios: list[Scenario] = []
    seen: dict[str, str] = {}
    for f in scenario_files(paths):
        for s in load_file(f):
            if s.id in seen:
                raise ScenarioError(f"{f}: scenario {s.id!r}: the id is already used in {seen[s.id]}")
            seen[s.id] = str(f)
            scenarios.append(s)
    if tags:
        scenarios = [s for s in scenarios if set(tags) & set(s.tags)]
    if ids:
        scenarios = [s for s in scenarios if any(fnmatch(s.id, pattern) for pattern in ids)]
    return scenarios
