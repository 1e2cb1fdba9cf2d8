"""Play scenarios against the agent and judge them.

`run_suite(scenarios, model="replay", trials=1)` builds the demo store once at the fixed reference
time, then runs every trial of every scenario on a fresh copy of it: patches, the conversation
(scripted turns with their recorded understandings or a live model, or a simulated customer), then
the checks: the replay stayed in step, the store diff (expected changes only), tool calls, replies,
identity, and the policy audit. A failing or crashing trial is recorded and the run goes on.

Live trials differ: trial k sends each scripted message's phrasing (k-1) mod n and gives the model
the seed `seed + k` (at `temperature`, if given). `agent="baseline"` plays the same scenarios
against agent/baseline.py (a plain tool loop), `agent="both"` against both, judged the same way.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import traceback
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, Field

from agent.models.base import ChatModel
from evals import audit as policy_audit
from evals.checks import check_replies, check_tool_calls
from evals.metrics import ComparisonRow, Summary, compare, summarize
from evals.replay import RecordingModel, ReplayModel
from evals.scenario import NOT_CHECKED, Scenario, relative_time
from evals.simulated import SimulatedUser
from evals.store_state import RowDiff, apply_patches, check_db, diff, snapshot
from tools.store import Store
from tools.values import iso, parse_time

REFERENCE_NOW = datetime(2026, 11, 23, 18, 0, tzinfo=timezone.utc)  # Monday 10:00 in the store's time zone
SEED = 7
AGENTS = ("runtime", "baseline")  # this project's runtime (agent/session.py), the plain tool loop


class Failure(BaseModel):
    check: str  # replay | crash | db | tool_call | no_tool_call | reply | verified_as | turns | audit:<rule>
    message: str
    turn: int | None = None  # the customer turn it is about; None: the whole conversation


class ToolRecord(BaseModel):
    tool: str
    arguments: Any = None
    phase: str
    status: str | None = None
    rule: str | None = None
    message: str | None = None


class TurnRecord(BaseModel):
    turn: int
    customer: str
    agent: str = ""
    tools: list[ToolRecord] = Field(default_factory=list)
    pending: str | None = None  # the pending action's summary after this turn
    seconds: float = 0.0
    model_seconds: float = 0.0
    model_steps: int = 0
    steps: list[dict[str, Any]] = Field(default_factory=list)  # live runs: the model's steps (replay format)
    phrasing: int | None = None  # which phrasing of the message was sent (1-based), when it has several
    phrasings: int | None = None  # how many it has


class TrialResult(BaseModel):
    scenario: str
    trial: int
    agent: str = "runtime"  # runtime | baseline
    seed: int | None = None  # the model's sampling seed in this trial (live runs)
    temperature: float | None = None  # the model's temperature (None: the endpoint's default)
    tags: list[str] = Field(default_factory=list)
    customer_mode: str = "scripted"  # scripted | simulated
    passed: bool = False
    failures: list[Failure] = Field(default_factory=list)
    violations: list[Failure] = Field(default_factory=list)  # the policy audit's findings
    turns: list[TurnRecord] = Field(default_factory=list)
    writes: list[dict[str, Any]] = Field(default_factory=list)  # the store diff
    seconds: float = 0.0
    model_seconds: float = 0.0
    model_steps: int = 0
    traceback: str | None = None
    notes: list[str] = Field(default_factory=list)  # e.g. the simulated customer got stuck

    @property
    def phrasings_used(self) -> str:
        """Which phrasing each multi-phrased message used, e.g. "turn 1: 2/3" ("" when none had several)."""
        return ", ".join(f"turn {t.turn}: {t.phrasing}/{t.phrasings}" for t in self.turns if t.phrasings)


class AgentReport(BaseModel):
    """One agent's summaries in a run that played several."""

    agent: str
    overall: Summary
    scenarios: list[Summary]
    tags: list[Summary]


class RunResult(BaseModel):
    model: str
    user_model: str | None = None
    agent: str = "runtime"  # whose summaries `overall`, `scenarios` and `tags` are
    temperature: float | None = None  # --temperature (None: the model's default)
    seed: int | None = None  # the seed base: trial k used seed + k (None: replay)
    trials: int
    reference_now: str
    started_at: str
    seconds: float = 0.0
    overall: Summary
    scenarios: list[Summary]
    tags: list[Summary]
    results: list[TrialResult]
    descriptions: dict[str, str] = Field(default_factory=dict)
    baseline: AgentReport | None = None  # `--agent both`: the baseline's summaries
    comparison: list[ComparisonRow] = Field(default_factory=list)  # `--agent both`: ours vs the baseline

    @property
    def violations(self) -> int:
        return self.overall.violations

    @property
    def all_passed(self) -> bool:
        return self.overall.trials > 0 and self.overall.passes == self.overall.trials


# ---- the store template ------------------------------------------------------------------------------


def build_template(directory: Path, *, now: datetime = REFERENCE_NOW, seed: int = SEED, policy=None) -> Path:
    """The demo store built once per run (copied for every trial)."""
    from fixtures import build_demo_store

    path = Path(directory) / "template.db"
    store = build_demo_store(path, seed=seed, now=now, policy=policy)
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return path


# ---- one trial --------------------------------------------------------------------------------------


class TrialRunner:
    """Everything one run shares: the template store, the policy, the agent model, the customer model,
    and the sampling (`temperature`, None: the model's own; trial k gets seed `seed + k`)."""

    def __init__(self, template: Path, workdir: Path, *, model: ChatModel | None, user_model: ChatModel | None = None,
                 policy=None, now: datetime = REFERENCE_NOW, keep_stores: bool = False,
                 temperature: float | None = None, seed: int = 0):
        self.template = template
        self.workdir = workdir
        self.model = model  # None: replay
        self.user_model = user_model
        self.policy = policy
        self.now = now
        self.keep_stores = keep_stores
        self.temperature = temperature
        self.seed = seed
        self._warmed: set[str] = set()  # the agents whose prompt prefix is in the model's cache

    def run(self, scenario: Scenario, trial: int, agent: str = "runtime") -> TrialResult:
        if agent not in AGENTS:
            raise ValueError(f"unknown agent {agent!r}: use one of {', '.join(AGENTS)}")
        if agent == "baseline" and self.model is None:
            raise ValueError("the baseline agent needs a live model: the replays are recorded for the runtime")
        started = time.perf_counter()
        simulated = self.user_model is not None and scenario.customer.simulated is not None and self.model is not None
        result = TrialResult(scenario=scenario.id, trial=trial, agent=agent, tags=scenario.tags,
                             customer_mode="simulated" if simulated else "scripted", **self._sample(trial))
        suffix = "" if agent == "runtime" else f".{agent}"
        db_path = self.workdir / f"{scenario.id}.{trial}{suffix}.db"
        shutil.copy(self.template, db_path)
        store = Store(db_path)
        try:
            self._run(scenario, store, result, simulated)
        except Exception as exc:  # a crash is this trial's failure, never the run's
            result.traceback = traceback.format_exc()
            result.failures.append(Failure(check="crash", message=f"{type(exc).__name__}: {exc}",
                                           turn=len(result.turns) or None))
        finally:
            store.close()
            if not self.keep_stores:
                for suffix in ("", "-wal", "-shm"):
                    Path(str(db_path) + suffix).unlink(missing_ok=True)
        result.passed = not result.failures and not result.violations
        result.seconds = round(time.perf_counter() - started, 3)
        return result

    def _sample(self, trial: int) -> dict[str, Any]:
        """Give the live models this trial's seed (and the run's temperature); what they got, for the result."""
        if self.model is None:
            return {"seed": None, "temperature": None}
        seed = self.seed + trial
        customer = [self.user_model] if self.user_model not in (None, self.model) else []
        for model in [self.model, *customer]:
            if hasattr(model, "seed"):
                model.seed = seed
        if self.temperature is not None:
            self.model.temperature = self.temperature
        return {"seed": seed if hasattr(self.model, "seed") else None,
                "temperature": getattr(self.model, "temperature", None)}

    def _agent(self, kind: str, store: Store, model: Any, clock_now: datetime) -> Any:
        """The agent under test on this trial's store: the runtime, or the plain baseline."""
        if kind == "baseline":
            from agent.baseline import BaselineAgent

            agent: Any = BaselineAgent(store, policy=self.policy, model=model, clock=lambda: clock_now)
        else:
            from agent.support_agent import SupportAgent

            agent = SupportAgent(store, policy=self.policy, model=model, clock=lambda: clock_now)
        if self.model is not None and kind not in self._warmed and hasattr(self.model, "warm"):
            agent.warm()
            self._warmed.add(kind)
        return agent

    def _run(self, scenario: Scenario, store: Store, result: TrialResult, simulated: bool) -> None:
        clock_now = parse_time(relative_time(scenario.clock, self.now)) if scenario.clock else self.now
        apply_patches(store, scenario.store.patches, self.now)
        before = snapshot(store)
        replay = ReplayModel() if self.model is None else None
        recorder = RecordingModel(self.model) if self.model is not None else None
        agent = self._agent(result.agent, store, replay or recorder, clock_now)
        session = agent.session()
        turn_index: dict[int, int] = {}  # session turn -> customer turn (1-based)

        def play(n: int, text: str | None, action: Callable[[], Any] | None, label: str) -> str:
            steps_before, t0 = len(agent.stats.steps), time.perf_counter()
            recorded_before = len(recorder.steps) if recorder else 0
            reply = action() if action else session.send(text or "")
            steps = agent.stats.steps[steps_before:]
            recorded = recorder.steps[recorded_before:] if recorder else []
            turn_index[session.turn] = n
            pending = session.pending_action
            result.turns.append(TurnRecord(turn=n, customer=label, agent=reply.text,
                                           pending=pending.summary if pending else None,
                                           seconds=round(time.perf_counter() - t0, 3),
                                           model_seconds=round(sum(steps), 3), model_steps=len(steps),
                                           steps=recorded))
            return reply.text

        if simulated:
            self._play_simulated(scenario, result, play)
        else:
            self._play_scripted(scenario, result, session, play, replay, recorder)
        self._judge(scenario, store, session.id, session.customer_id, before, result, turn_index, clock_now)

    def _play_simulated(self, scenario: Scenario, result: TrialResult, play: Callable[..., str]) -> None:
        spec = scenario.customer.simulated
        limit = min(spec.max_turns, scenario.max_turns)
        user = SimulatedUser(self.user_model, spec)
        message = user.next_message()
        n = 0
        while message is not None and n < limit:
            n += 1
            reply = play(n, message, None, message)
            message = user.next_message(reply) if n < limit else message
        if message is not None:
            result.failures.append(Failure(check="turns", message=f"the simulated customer was not done after "
                                           f"{limit} turns"))
        if user.stuck:  # the simulator's failure, not the agent's: noted, judged on the outcome so far
            result.notes.append(f"{user.stuck} after turn {n}; the conversation ended there")

    def _play_scripted(self, scenario: Scenario, result: TrialResult, session: Any, play: Callable[..., str],
                       replay: ReplayModel | None, recorder: RecordingModel | None = None) -> None:
        for n, turn in enumerate(scenario.customer.turns, 1):
            if replay is not None:
                replay.begin_turn(n, turn.understand, turn.translation)
            elif recorder is not None and turn.fault and turn.understand is not None:
                recorder.inject(turn.understand)
            if turn.kind == "say":
                text, index = turn.phrasing(result.trial, replay=replay is not None)
                play(n, text, None, text)
                if len(turn.phrasings) > 1:
                    result.turns[-1].phrasing, result.turns[-1].phrasings = index + 1, len(turn.phrasings)
            else:
                self._press(n, turn, result, session, play)
            if replay is not None:
                replay.end_turn()
        if replay is not None:
            result.failures.extend(Failure(check="replay", message=m, turn=t) for t, m in replay.problems)

    def _press(self, n: int, turn: Any, result: TrialResult, session: Any, play: Callable[..., str]) -> None:
        """The customer presses the confirm or decline button on the pending action."""
        pending = session.pending_action
        confirm = turn.kind == "confirm"
        label = f"({'confirm' if confirm else 'decline'} button)"
        if pending is None:
            result.failures.append(Failure(check="turns", turn=n, message=f"turn {n}: the customer "
                                           f"pressed {turn.kind} but no action was pending"))
            result.turns.append(TurnRecord(turn=n, customer=label, agent="(nothing pending)"))
        elif turn.expected_tool and pending.tool != turn.expected_tool:
            result.failures.append(Failure(check="turns", turn=n, message=f"turn {n}: the customer "
                                           f"expected to {turn.kind} {turn.expected_tool}, but the pending "
                                           f"action is {pending.tool}: {pending.summary}"))
            result.turns.append(TurnRecord(turn=n, customer=label, agent="(not pressed)"))
        else:
            action = (lambda p=pending: session.confirm(p.id)) if confirm else (lambda p=pending: session.decline(p.id))
            play(n, None, action, label)

    def _judge(self, scenario: Scenario, store: Store, conversation_id: str, customer_id: str | None,
               before, result: TrialResult, turn_index: dict[int, int], now: datetime) -> None:
        audit_rows = store.all("SELECT * FROM audit_log WHERE conversation_id = ? ORDER BY id", (conversation_id,))

        def turn_of(session_turn: int | None) -> int | None:
            return turn_index.get(session_turn) if session_turn is not None else None

        by_turn: dict[int, list[ToolRecord]] = defaultdict(list)
        for r in audit_rows:
            n = turn_of(r["turn"])
            if n is not None:
                by_turn[n].append(ToolRecord(tool=r["tool"], arguments=policy_audit._args(r), phase=r["phase"],
                                             status=r["status"], rule=r["rule"], message=r["message"]))
        for t in result.turns:
            t.tools = by_turn.get(t.turn, [])
        result.model_seconds = round(sum(t.model_seconds for t in result.turns), 3)
        result.model_steps = sum(t.model_steps for t in result.turns)

        after = snapshot(store)
        changes = diff(before, after)
        result.writes = [d.as_dict() for d in changes]
        if any(f.check == "replay" for f in result.failures):
            _explain_replay(result, audit_rows, turn_of)
        for problem in check_db(scenario.expect.db, before, changes, now):
            turn = _write_turn(problem.diff, audit_rows, turn_of) if problem.diff else None
            result.failures.append(Failure(check="db", message=problem.message, turn=turn))
        expect = scenario.expect
        if self.model is not None:  # live: leave out what only describes the replayed model's missteps
            expect = expect.model_copy(update={
                "tool_calls": [t for t in expect.tool_calls if not t.replay_only],
                "no_tool_calls": [t for t in expect.no_tool_calls if not t.replay_only],
                "replies": [r for r in expect.replies if not r.replay_only]})
        for check, message, turn in check_tool_calls(expect, audit_rows, now, turn_of):
            result.failures.append(Failure(check=check, message=message, turn=turn))
        replies = [t.agent for t in result.turns]
        for check, message, turn in check_replies(expect.replies, replies):
            result.failures.append(Failure(check=check, message=message, turn=turn))
        if scenario.expect.verified_as != NOT_CHECKED and customer_id != scenario.expect.verified_as:
            result.failures.append(Failure(check="verified_as", message=f"expected the session to be verified as "
                                           f"{scenario.expect.verified_as}, it is {customer_id}"))
        conv = policy_audit.load_conversation(store, conversation_id)
        for v in policy_audit.audit(conv, changes):
            result.violations.append(Failure(check=f"audit:{v.rule}", message=v.message, turn=turn_of(v.turn)))


def _explain_replay(result: TrialResult, audit_rows: list[dict[str, Any]], turn_of) -> None:
    """A replay divergence is usually the runtime reacting to something: say what (a tool error, a
    rewritten reply). The understanding step's own error only restates the divergence: left out."""
    for f in result.failures:
        if f.check != "replay" or f.turn is None:
            continue
        why = [f"{r['tool']} {r['phase']}/{r['status']}: {r['message']}" for r in audit_rows
               if turn_of(r["turn"]) == f.turn and (r["phase"] == "guard" or r["status"] == "error")
               and r["phase"] != "understand"]
        if why:
            f.message += " — the runtime reacted to: " + "; ".join(why)


def _write_turn(d: RowDiff, audit_rows: list[dict[str, Any]], turn_of) -> int | None:
    """The customer turn whose write most likely made this change (for the report)."""
    writers = [r for r in audit_rows if r["status"] == "ok" and (
        r["phase"] == "execute" or r["tool"] in ("escalate_to_human", "send_password_reset"))]
    if not writers:
        return None
    row = d.after or d.before or {}
    order = row.get("order_id") or (row.get("id") if d.table == "orders" else None)
    for r in writers:
        if order and order in (r.get("arguments") or ""):
            return turn_of(r["turn"])
    return turn_of(writers[-1]["turn"])


# ---- the run -------------------------------------------------------------------------------------


def agent_names(agent: str) -> tuple[str, ...]:
    """`--agent` -> the agents to run: runtime, baseline, or both (the runtime first)."""
    if agent == "both":
        return AGENTS
    if agent not in AGENTS:
        raise ValueError(f"unknown agent {agent!r}: use runtime, baseline or both")
    return (agent,)


def run_suite(scenarios: list[Scenario], *, model: str | ChatModel = "replay", user_model: str | ChatModel | None = None,
              trials: int = 1, policy=None, workdir: str | Path | None = None, keep_stores: bool = False,
              on_start: Callable[[Scenario, int], None] | None = None,
              on_done: Callable[[TrialResult], None] | None = None,
              previous: list[TrialResult] = (), agent: str = "runtime", temperature: float | None = None,
              seed: int = 0) -> RunResult:
    """Run `trials` trials of each scenario. `model`: "replay" (the scenarios' recorded understandings, no
    LLM), a model spec for `agent.models.load_model` ("local", "openai:NAME", ...) or a ChatModel.
    `user_model`: a model playing the customer of scenarios that have `customer.simulated`
    (needs a live agent model). `previous`: trials already run (an interrupted run being resumed);
    they are kept and not run again. `agent`: runtime, baseline or both (a live model; each agent's
    trials run together, so a local model's prompt cache stays warm). Live trial k uses seed
    `seed + k` and `temperature` (None: the model's default)."""
    from tools.policy import Policy, load_policy

    started_at = iso(datetime.now(timezone.utc))
    t0 = time.perf_counter()
    agents = agent_names(agent)
    replay = isinstance(model, str) and model == "replay"
    _check_live_options(replay, user_model, agents, temperature)
    agent_model, customer_model = _load_models(None if replay else model, user_model, temperature)
    policy_obj = policy if isinstance(policy, Policy) or policy is None else load_policy(policy)
    own_dir = workdir is None
    directory = Path(tempfile.mkdtemp(prefix="support-agent-eval-")) if own_dir else Path(workdir)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        template = build_template(directory, policy=policy_obj)
        runner = TrialRunner(template, directory, model=agent_model, user_model=customer_model, policy=policy_obj,
                             keep_stores=keep_stores, temperature=temperature, seed=seed)
        results: list[TrialResult] = list(previous)
        skip = {(r.scenario, r.trial, r.agent) for r in previous}
        for name in agents:
            for scenario in scenarios:
                for trial in range(1, trials + 1):
                    if (scenario.id, trial, name) in skip:
                        continue
                    if on_start:
                        on_start(scenario, trial)
                    r = runner.run(scenario, trial, name)
                    results.append(r)
                    if on_done:
                        on_done(r)
    finally:
        if own_dir and not keep_stores:
            shutil.rmtree(directory, ignore_errors=True)
    model_name = "replay" if replay else getattr(agent_model, "name", str(model))
    user_name = None if customer_model is None else getattr(customer_model, "name", str(user_model))
    return build_result(scenarios, results, model=model_name, user_model=user_name, trials=trials,
                        started_at=started_at, seconds=time.perf_counter() - t0, agents=agents,
                        temperature=temperature, seed=None if replay else seed)


def _check_live_options(replay: bool, user_model: Any, agents: tuple[str, ...], temperature: float | None) -> None:
    if not replay:
        return
    if user_model is not None:
        raise ValueError("a simulated customer needs a live agent model: recorded understandings only fit the "
                         "recorded customer turns")
    if "baseline" in agents:
        raise ValueError("the baseline agent needs a live model: the replays are recorded for the runtime")
    if temperature is not None:
        raise ValueError("a temperature needs a live model: a replay samples nothing")


def _load_models(model: str | ChatModel | None, user_model: str | ChatModel | None,
                 temperature: float | None) -> tuple[ChatModel | None, ChatModel | None]:
    """The agent's model (None: replay), loaded now so a missing model fails before the first trial,
    and the simulated customer's (the same object when the spec is the same)."""
    from agent.models import load_model

    agent_model = None if model is None else load_model(model)
    if agent_model is not None and hasattr(agent_model, "load"):
        agent_model.load()  # fail before the first trial (ModelError) if the weights or runtime are missing
    if temperature is not None and not hasattr(agent_model, "temperature"):
        raise ValueError(f"the model {getattr(agent_model, 'name', model)} takes no temperature")
    if user_model is None:
        return agent_model, None
    same = isinstance(user_model, str) and isinstance(model, str) and user_model == model
    return agent_model, agent_model if same else load_model(user_model)


def build_result(scenarios: list[Scenario], results: list[TrialResult], *, model: str, user_model: str | None,
                 trials: int, started_at: str, seconds: float, agents: tuple[str, ...] | list[str] = ("runtime",),
                 temperature: float | None = None, seed: int | None = None) -> RunResult:
    """The run's summaries: the first agent's as `overall` / `scenarios` / `tags`; with the baseline
    beside the runtime, the baseline's as `baseline` and the ours/baseline `comparison`."""
    reports = [agent_report(name, scenarios, [r for r in results if r.agent == name]) for name in agents]
    main = reports[0]
    baseline = next((r for r in reports[1:] if r.agent == "baseline"), None)
    return RunResult(model=model, user_model=user_model, agent=main.agent, temperature=temperature, seed=seed,
                     trials=trials, reference_now=iso(REFERENCE_NOW), started_at=started_at,
                     seconds=round(seconds, 2), overall=main.overall, scenarios=main.scenarios, tags=main.tags,
                     results=results, descriptions={s.id: s.description for s in scenarios}, baseline=baseline,
                     comparison=compare(main.overall, baseline.overall) if baseline else [])


def agent_report(agent: str, scenarios: list[Scenario], results: list[TrialResult]) -> AgentReport:
    """One agent's summaries: the whole run, each scenario, each tag."""
    by_scenario: dict[str, list[TrialResult]] = defaultdict(list)
    for r in results:
        by_scenario[r.scenario].append(r)
    max_k = max((len(v) for v in by_scenario.values()), default=1)
    per_scenario = [summarize(s.id, {s.id: by_scenario[s.id]}, len(by_scenario[s.id]) or 1)
                    for s in scenarios if by_scenario.get(s.id)]
    tags: dict[str, dict[str, list[TrialResult]]] = defaultdict(dict)
    for s in scenarios:
        if by_scenario.get(s.id):
            for tag in s.tags:
                tags[tag][s.id] = by_scenario[s.id]
    per_tag = [summarize(tag, tags[tag], max_k) for tag in sorted(tags, key=_tag_order)]
    return AgentReport(agent=agent, overall=summarize("all", dict(by_scenario), max_k), scenarios=per_scenario,
                       tags=per_tag)


def _tag_order(tag: str) -> tuple[int, str]:
    prefix = tag.split(":", 1)[0] if ":" in tag else ""
    return ({"kind": 0, "tool": 2, "rule": 3}.get(prefix, 1), tag)
