"""The shipped evaluation suite: every scenario passes in replay mode (the whole pipeline, no LLM),
the suite covers every tool and every rule of the policy, and (integration) the live-smoke subset
runs end to end with the embedded model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agent.understanding.ids import find_identifiers
from evals.runner import TrialResult, TrialRunner, build_template, run_suite
from evals.scenario import KINDS, Scenario, load_scenarios
from tools.policy import Policy, load_policy
from tools.registry import all_tools

SCENARIOS = load_scenarios()
# Tools with no denial path by design: handing over to a human and searching the help center must
# always work (they are the fallbacks of every refusal); their failure case in the suite is an error.
NO_DENIAL_PATH = {"escalate_to_human", "search_help_center"}
# Tools the understood turn never has refused, by construction (so no scenario can show it):
# - escalate_to_human has no denial path, and its arguments are built by code (a reason from a fixed
#   set, the customer's message as the summary), so it cannot fail on them either: the error case of
#   the suite used to be a model's malformed call.
# - list_orders can only be refused before login (identity.verification_required; it takes no order id,
#   so no other customer's order): a request made before login now waits for it and runs after
#   (agent/turn/processor.py; tests/test_turn_gates.py), where the model's loop used to call it and be
#   denied.
NEVER_REFUSED = {"escalate_to_human", "list_orders"}


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    """Runs each scenario once (lazily) on a shared template store; scenario id -> TrialResult."""
    workdir = tmp_path_factory.mktemp("suite")
    runner = TrialRunner(build_template(workdir), workdir, model=None)
    cache: dict[str, TrialResult] = {}

    def get(scenario: Scenario) -> TrialResult:
        if scenario.id not in cache:
            cache[scenario.id] = runner.run(scenario, 1)
        return cache[scenario.id]

    return get


def _explain(result: TrialResult) -> str:
    lines = [f"{f.check} (turn {f.turn}): {f.message}" for f in result.failures + result.violations]
    if result.traceback:
        lines.append(result.traceback)
    return "\n".join(lines)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_scenario_passes_in_replay(replayed, scenario):
    result = replayed(scenario)
    assert result.passed, f"{scenario.source}: {scenario.id}\n{_explain(result)}"


def test_suite_size_and_subsets():
    assert len(SCENARIOS) >= 60
    assert sum("live-smoke" in s.tags for s in SCENARIOS) >= 8
    assert sum(s.customer.simulated is not None for s in SCENARIOS) >= 5
    kinds = {t.split(":", 1)[1] for s in SCENARIOS for t in s.tags if t.startswith("kind:")}
    assert kinds >= set(KINDS)
    for s in SCENARIOS:  # every message is one understanding step, replayed from the turn's `understand`;
        assert s.has_replay, s.id  # a button press takes none
        for n, t in enumerate(s.customer.turns, 1):
            assert (t.understand is not None) == (t.kind == "say"), (s.id, n)


_IDS = re.compile(r"\bW\d{3,}\b|[\w.+-]+@[\w-]+\.[\w.]+|\$\d[\d,.]*")


def test_phrasings_say_the_same_thing_with_the_same_ids():
    """Trial k of a live run sends phrasing (k-1) mod n: every phrasing names the same orders, emails
    and amounts as the first, and logs in the same way (the runtime reads email + zip code itself)."""
    phrased = [s for s in SCENARIOS if any(len(t.phrasings) > 1 for t in s.customer.turns)]
    assert len(phrased) >= 12
    assert {s.kind for s in phrased} >= {"happy", "denied", "help", "escalation", "multi-intent", "adversarial"}
    for s in phrased:
        for turn in s.customer.turns:
            first, *others = turn.phrasings or [""]
            for other in others:
                assert sorted(_IDS.findall(other)) == sorted(_IDS.findall(first)), (s.id, other)
                assert find_identifiers(other).login == find_identifiers(first).login, (s.id, other)
                assert other != first, s.id


def test_every_tool_has_an_allowed_and_a_denied_case(replayed):
    allowed: set[str] = set()
    refused: set[str] = set()
    for scenario in SCENARIOS:
        for turn in replayed(scenario).turns:
            for call in turn.tools:
                if call.phase in ("read", "preview", "execute") and call.status in ("ok", "needs_confirmation"):
                    allowed.add(call.tool)
                if call.status == "denied" or (call.tool in NO_DENIAL_PATH and call.status == "error"):
                    refused.add(call.tool)
    tools = {t.name for t in all_tools()}
    assert tools - allowed == set(), "tools never allowed in the suite"
    assert tools - refused == NEVER_REFUSED, "tools never denied in the suite"


def _rule_parameters(policy: Policy) -> set[str]:
    """section.parameter for every rule parameter of the policy header (store info excluded)."""
    return {f"{section}.{name}" for section, rules in policy.model_dump(exclude={"store", "prose", "source"}).items()
            for name in rules}


def test_every_rule_of_the_policy_is_exercised():
    tagged = {t.split(":", 1)[1] for s in SCENARIOS for t in s.tags if t.startswith("rule:")}
    missing = {p for p in _rule_parameters(load_policy())
               if not any(tag == p or tag.startswith(p + ".") for tag in tagged)}
    assert missing == set()


def test_rule_tags_are_denials_the_tools_really_name(replayed):
    """A denial-kind scenario tagged with a rule sees that rule named in its audit log (the tag is not decoration)."""
    for scenario in SCENARIOS:
        if scenario.kind != "denied":
            continue
        named = {c.rule for t in replayed(scenario).turns for c in t.tools if c.rule}
        tagged = {t.split(":", 1)[1] for t in scenario.tags if t.startswith("rule:")}
        assert tagged & named, f"{scenario.id}: tagged {tagged}, denials named {named}"


@pytest.mark.integration
def test_live_smoke_subset_with_the_embedded_model(tmp_path, request):
    """The CI live subset: runs end to end and the report is well-formed. Results are reported, not
    required to pass (a 1.5B model's score is a measurement)."""
    from evals.report import write_html, write_json

    scenarios = [s for s in SCENARIOS if "live-smoke" in s.tags]
    result = run_suite(scenarios, model="local", trials=1)
    assert result.model == "local" and len(result.results) == len(scenarios)
    assert not [r for r in result.results if r.traceback], "a trial crashed"
    assert all(r.turns and r.turns[0].agent for r in result.results)
    data = json.loads(write_json(result, tmp_path / "live.json").read_text())
    assert data["overall"]["trials"] == len(scenarios) and "pass_hat" in data["overall"]
    page = write_html(result, tmp_path / "live.html").read_text()
    assert page.startswith("<!doctype html>") and "<svg" in page and "policy violations" in page
    summary = (f"live-smoke (embedded 1.5B): {result.overall.passes}/{result.overall.trials} passed, pass^1 "
               f"{result.overall.pass_hat[1]:.0%}, violations {result.overall.violations}, "
               f"{result.overall.model_seconds_per_turn:.1f} s model time per turn")
    # Reported in the test run's output even though pytest captures the test's own prints.
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("\n" + summary)
