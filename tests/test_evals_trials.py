"""Trials that differ and agents side by side, with scripted models (no LLM): each live trial gets its
own seed (and the run's temperature) and its own phrasing of the customer's messages; `--agent
both` plays every scenario against the runtime and the plain baseline, and the JSON and HTML reports
put them side by side."""

from __future__ import annotations

import json
import textwrap

import pytest

from agent.cli import build_parser
from agent.commands import eval_cmd
from agent.models.scripted import ScriptedModel
from evals.report import render_html, write_json
from evals.runner import Failure, TrialResult, TurnRecord, build_result, run_suite
from evals.scenario import ScenarioError, load_file, load_scenarios

CANCEL = """
- id: cancel-w1001
  description: Jane cancels W1001 and says yes
  tags: [kind:happy, tool:cancel_order]
  customer:
    turns:
      - say:
          - "Hi, I'm jane.doe@example.com, zip 94107. Please cancel order W1001, I ordered it by mistake."
          - "jane.doe@example.com, zip 94107 here. I bought W1001 by mistake, can you cancel it?"
        understand: {lang: en, requests: [{kind: cancel_order, order: W1001, reason: by mistake}]}
      - say: "yes"
        understand: {answer: "yes"}
  expect:
    db:
      changed:
        - {table: orders, where: {id: W1001},
           set: {status: cancelled, cancelled_at: now, cancel_reason: {contains: mistake}}}
        - {table: variants, where: {id: V0002}, set: {stock: {delta: 1}}}
        - {table: variants, where: {id: V0132}, set: {stock: {delta: 2}}}
      added: [{table: refunds, match: {order_id: W1001, amount_cents: 11623}}]
    tool_calls: [{tool: cancel_order, args: {order_id: W1001}, phase: execute, status: ok}]
    verified_as: C0001
"""
VERIFY = {"tool": "verify_customer", "arguments": {"email": "jane.doe@example.com", "zip_code": "94107"}}
CANCEL_CALL = {"tool": "cancel_order", "arguments": {"order_id": "W1001", "reason": "ordered it by mistake"}}


def scenarios(tmp_path, text=CANCEL):
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text))
    return load_scenarios([path])


def cancel_responder(messages, *step):
    """A model for both agents. The runtime's understanding step (`structured(messages, schema)`): a
    cancellation of W1001 for the reason in the customer's words, and yes while it waits for an answer.
    The baseline's tool loop (`complete(messages, allowed, reply_only)`): verify once, call cancel_order
    once per customer message, then answer."""
    if len(step) == 1:
        asked = messages[-1]["content"]
        if "Waiting for yes or no" in asked:
            return {"answer": "yes"}
        return {"lang": "en", "requests": [{"kind": "cancel_order", "order": "W1001", "reason": "by mistake"}]}
    allowed, reply_only = step
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    called = [c["function"]["name"] for m in messages for c in m.get("tool_calls") or []]
    since = [c["function"]["name"] for m in messages[last_user:] for c in m.get("tool_calls") or []]
    if reply_only or "cancel_order" in since:
        return "Cancelling W1001 refunds $116.23 to your Visa in 5-7 business days."
    return ([] if "verify_customer" in called else [VERIFY]) + [CANCEL_CALL]


class SeededModel(ScriptedModel):
    """A scripted model with the sampling knobs of the real backends; it notes what each request had."""

    def __init__(self, steps, temperature=0.0):
        super().__init__(steps)
        self.temperature, self.seed = temperature, None
        self.sampling: list[tuple[float, int | None]] = []

    def complete(self, messages, tools, **kwargs):
        self.sampling.append((self.temperature, self.seed))
        return super().complete(messages, tools, **kwargs)

    def structured(self, messages, schema, **kwargs):
        self.sampling.append((self.temperature, self.seed))
        return super().structured(messages, schema, **kwargs)


# ---- phrasings -------------------------------------------------------------------------------------


def test_an_empty_list_of_phrasings_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("- id: a\n  description: d\n  tags: [kind:happy]\n  customer: {turns: [{say: []}]}\n")
    with pytest.raises(ScenarioError, match=r"scenario 'a' \(#1\): customer.turns.0.say: Value error, `say` is an "
                                            r"empty list"):
        load_file(path)


def test_live_trial_k_sends_phrasing_k_minus_1_mod_n_and_replay_the_first(tmp_path):
    (scenario,) = scenarios(tmp_path)
    first, second = scenario.customer.turns[0].phrasings
    live = run_suite([scenario], model=ScriptedModel([cancel_responder] * 20), trials=3)
    sent = [(t.turns[0].customer, t.turns[0].phrasing, t.turns[0].phrasings) for t in live.results]
    assert sent == [(first, 1, 2), (second, 2, 2), (first, 1, 2)]
    assert all(t.turns[1].phrasings is None for t in live.results)  # "yes" has one phrasing
    assert live.results[1].phrasings_used == "turn 1: 2/2"
    replayed = run_suite([scenario], trials=2)
    assert [t.turns[0].customer for t in replayed.results] == [first, first] and replayed.all_passed


FAULT = """
- id: unknown-kind
  description: The understanding names a kind that does not exist; nothing runs and the customer is asked
  tags: [kind:recovery]
  customer:
    turns:
      - say: "jane.doe@example.com, 94107. Cancel W1001, I ordered it by mistake."
        understand: {lang: en, requests: [{kind: cancel_it_now, order: W1001}]}
        fault: true
  expect:
    no_tool_calls: [{tool: cancel_order}]
    verified_as: C0001
"""


def test_a_fault_turn_serves_its_understanding_live_too_and_a_plain_turn_the_models(tmp_path):
    model = ScriptedModel([cancel_responder] * 4)
    live = run_suite(scenarios(tmp_path, FAULT), model=model, trials=1)
    assert live.all_passed, live.results[0].failures
    assert model.remaining == 4  # the model was never asked: the fault stood in for it
    assert live.results[0].turns[0].steps == [{"understand": {"lang": "en", "requests": [
        {"kind": "cancel_it_now", "order": "W1001"}]}, "fault": True}]
    plain = run_suite(scenarios(tmp_path, FAULT.replace("fault: true", "fault: false")), model=model, trials=1)
    assert not plain.all_passed and model.remaining == 3  # the model's own understanding: a cancellation


# ---- seeds and temperature -----------------------------------------------------------------------------


def test_each_trial_gets_its_seed_and_the_run_its_temperature(tmp_path):
    model = SeededModel([cancel_responder] * 20)
    result = run_suite(scenarios(tmp_path), model=model, trials=2, seed=100, temperature=0.7)
    assert [(t.seed, t.temperature) for t in result.results] == [(101, 0.7), (102, 0.7)]
    assert set(model.sampling) == {(0.7, 101), (0.7, 102)}
    assert (result.seed, result.temperature) == (100, 0.7)
    default = run_suite(scenarios(tmp_path), model=SeededModel([cancel_responder] * 5, temperature=0.0))
    assert [(t.seed, t.temperature) for t in default.results] == [(1, 0.0)]  # the model's own temperature
    page = render_html(result)
    assert "trial k uses seed <b>100 + k</b>" in page and "temperature <b>0.7</b>" in page
    assert "<td class=\"num\">102</td>" in page  # the every-trial table


def test_sampling_options_need_a_live_model(tmp_path):
    with pytest.raises(ValueError, match="temperature needs a live model"):
        run_suite(scenarios(tmp_path), temperature=0.5)
    with pytest.raises(ValueError, match="takes no temperature"):
        run_suite(scenarios(tmp_path), model=ScriptedModel([]), temperature=0.5)
    with pytest.raises(ValueError, match="baseline agent needs a live model"):
        run_suite(scenarios(tmp_path), agent="baseline")


# ---- the baseline, side by side ---------------------------------------------------------------------------


def test_both_agents_play_the_scenario_and_are_judged_the_same_way(tmp_path):
    result = run_suite(scenarios(tmp_path), model=ScriptedModel([cancel_responder] * 40), trials=2, agent="both")
    assert [(t.agent, t.trial) for t in result.results] == [
        ("runtime", 1), ("runtime", 2), ("baseline", 1), ("baseline", 2)]  # one agent's trials together
    for t in result.results:
        assert t.passed, (t.agent, t.failures, t.violations)
    ours, base = result.results[0], result.results[2]
    assert ours.turns[0].steps == [{"understand": {"lang": "en", "requests": [
        {"kind": "cancel_order", "order": "W1001", "reason": "by mistake"}]}}]
    assert ours.turns[1].steps == [{"understand": {"answer": "yes"}}]  # the runtime: one understanding a turn
    assert [len(t.steps) for t in base.turns] == [2, 2]  # the baseline: the model calls the cancel again
    assert result.agent == "runtime" and result.baseline.agent == "baseline"
    assert result.overall.passes == 2 and result.baseline.overall.passes == 2
    assert [r.metric for r in result.comparison] == ["pass^1", "pass^2", "policy violations", "model s/turn"]
    assert result.comparison[0].ratio == 1.0 and result.comparison[2].ratio is None  # 0 / 0 violations


def _trial(scenario, agent, passed, model_seconds=1.0, violations=0):
    t = TrialResult(scenario=scenario, trial=1, agent=agent, tags=["kind:happy"], passed=passed,
                    model_seconds=model_seconds, seed=1, temperature=0.0)
    t.turns = [TurnRecord(turn=1, customer="hi", agent="hello")]
    t.violations = [Failure(check="audit:confirmed_writes", message="x")] * violations
    return t


def test_the_side_by_side_report_renders_both_agents(tmp_path):
    (scenario,) = scenarios(tmp_path)
    results = [_trial(scenario.id, "runtime", True, 2.0), _trial(scenario.id, "baseline", False, 4.0, violations=1)]
    result = build_result([scenario], results, model="local", user_model=None, trials=1, started_at="now",
                          seconds=1.0, agents=("runtime", "baseline"), temperature=None, seed=0)
    rows = {r.metric: r for r in result.comparison}
    assert (rows["pass^1"].ours, rows["pass^1"].baseline, rows["pass^1"].ratio) == (1.0, 0.0, None)
    violations = rows["policy violations"]
    assert (violations.ours, violations.baseline, violations.ratio) == (0, 1, 0.0)
    assert rows["model s/turn"].ratio == 0.5
    data = json.loads(write_json(result, tmp_path / "r.json").read_text())
    assert data["baseline"]["overall"]["passes"] == 0 and data["comparison"][0]["metric"] == "pass^1"
    page = render_html(result)
    assert "Side by side: runtime (ours) and the baseline" in page
    assert ('<td>model s/turn</td><td class="num">2.00</td><td class="num">4.00</td><td class="num">0.50×</td>'
            in page)
    assert "cancel-w1001" in page and "<td class=\"num\">1/1</td>" in page and "<td class=\"num\">0/1</td>" in page
    assert "✗ cancel-w1001 · trial 1 · baseline" in page  # the baseline's failed trial, labelled


def cli(*argv: str) -> int:
    return eval_cmd.run(build_parser().parse_args(["eval", *argv]))


def test_cli_agent_and_sampling_options(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(CANCEL))
    assert cli(str(path), "--agent", "both") == 2  # replay: the baseline has no recorded steps
    assert cli(str(path), "--temperature", "0.5") == 2
    assert cli(str(path), "--seed", "3") == 2
    assert "need a live --model" in capsys.readouterr().err


def test_cli_both_agents_writes_the_side_by_side_reports(tmp_path, capsys):
    """`--model scripted` is a model with no steps: every model step fails, for both agents alike;
    the run completes and both reports carry both agents."""
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(CANCEL))
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    assert cli(str(path), "--model", "scripted", "--agent", "both", "--trials", "2", "--json", str(out_json),
               "--html", str(out_html)) == 0
    data = json.loads(out_json.read_text())
    assert [(r["agent"], r["trial"]) for r in data["results"]] == [
        ("runtime", 1), ("runtime", 2), ("baseline", 1), ("baseline", 2)]
    assert data["agent"] == "runtime" and data["baseline"]["overall"]["trials"] == 2
    assert [row["metric"] for row in data["comparison"]][:2] == ["pass^1", "pass^2"]
    assert "Side by side: runtime (ours) and the baseline" in out_html.read_text()
    assert "Side by side: runtime (ours) vs baseline" in capsys.readouterr().out
