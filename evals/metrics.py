"""pass^k as in tau2-bench, and the per-scenario / per-tag summaries of a run.

pass^k for one scenario with c successes in n trials is C(c, k) / C(n, k): the chance that k trials
drawn from the n all succeed (the agent is reliable, not just sometimes right). A run's pass^k is the
mean over its scenarios. `compare` puts two agents' summaries side by side (ours / the baseline).
"""

from __future__ import annotations

from math import comb
from statistics import mean
from typing import Iterable

from pydantic import BaseModel, Field


def pass_hat_k(n: int, c: int, k: int) -> float:
    """C(c, k) / C(n, k); 0 <= c <= n, 1 <= k <= n."""
    if not (0 <= c <= n) or not (1 <= k <= n):
        raise ValueError(f"pass^k needs 0 <= c <= n and 1 <= k <= n (n={n}, c={c}, k={k})")
    return comb(c, k) / comb(n, k)


def mean_pass_hat_k(counts: Iterable[tuple[int, int]], k: int) -> float:
    """pass^k averaged over scenarios, from (n, c) per scenario (scenarios with n < k are skipped)."""
    values = [pass_hat_k(n, c, k) for n, c in counts if n >= k]
    return mean(values) if values else 0.0


class Summary(BaseModel):
    """One row of the summary table: a scenario, a tag, or the whole run."""

    name: str
    scenarios: int
    trials: int
    passes: int
    pass_hat: dict[int, float] = Field(default_factory=dict)  # k -> pass^k
    violations: int = 0  # policy-audit violations, summed over trials
    trials_with_violations: int = 0
    mean_turns: float = 0.0
    model_seconds_per_turn: float = 0.0  # mean model time per customer turn

    @property
    def pass_rate(self) -> float:
        return self.passes / self.trials if self.trials else 0.0


def summarize(name: str, trials_by_scenario: dict[str, list], max_k: int) -> Summary:
    """`trials_by_scenario`: scenario id -> its TrialResults (any objects with passed, violations, turns,
    model_seconds)."""
    trials = [t for ts in trials_by_scenario.values() for t in ts]
    counts = [(len(ts), sum(t.passed for t in ts)) for ts in trials_by_scenario.values()]
    turns = sum(len(t.turns) for t in trials)
    return Summary(
        name=name,
        scenarios=len(trials_by_scenario),
        trials=len(trials),
        passes=sum(t.passed for t in trials),
        pass_hat={k: round(mean_pass_hat_k(counts, k), 4) for k in range(1, max_k + 1)},
        violations=sum(len(t.violations) for t in trials),
        trials_with_violations=sum(bool(t.violations) for t in trials),
        mean_turns=round(turns / len(trials), 2) if trials else 0.0,
        model_seconds_per_turn=round(sum(t.model_seconds for t in trials) / turns, 3) if turns else 0.0,
    )


class ComparisonRow(BaseModel):
    """One line of the side-by-side table: a metric for our runtime and for the baseline."""

    metric: str
    ours: float
    baseline: float
    ratio: float | None = None  # ours / baseline (None when the baseline's value is 0)
    higher_is_better: bool = True


def compare(ours: Summary, baseline: Summary) -> list[ComparisonRow]:
    """pass^1, pass^k (the largest k both have), policy violations and model seconds per turn, with
    the ratio ours / baseline."""
    k = max(set(ours.pass_hat) & set(baseline.pass_hat), default=1)
    rows = [("pass^1", ours.pass_hat.get(1, 0.0), baseline.pass_hat.get(1, 0.0), True)]
    if k > 1:
        rows.append((f"pass^{k}", ours.pass_hat[k], baseline.pass_hat[k], True))
    rows += [("policy violations", ours.violations, baseline.violations, False),
             ("model s/turn", ours.model_seconds_per_turn, baseline.model_seconds_per_turn, False)]
    return [ComparisonRow(metric=name, ours=a, baseline=b, ratio=round(a / b, 3) if b else None,
                          higher_is_better=up) for name, a, b, up in rows]
