"""Evaluation scenarios and the runner that plays and judges them (`support-agent eval`).

- `evals.scenario`: the YAML scenario format (pydantic), `load_scenarios(paths, tags=, ids=)`.
- `evals.runner`: `run_suite(scenarios, model="replay" | "local" | ..., trials=K, agent="runtime" | "baseline"
  | "both", temperature=, seed=)` -> RunResult.
- `evals.store_state`: whole-store snapshot and diff, checked against `expect.db`.
- `evals.audit`: the policy audit every run gets (confirmation, verification, own data, named rules).
- `evals.metrics`: pass^k (tau2-bench), the summaries and the ours / baseline comparison;
  `evals.report`: console tables, JSON, HTML.
"""

from evals.metrics import pass_hat_k
from evals.runner import REFERENCE_NOW, RunResult, TrialResult, run_suite
from evals.scenario import SCENARIO_DIR, Scenario, ScenarioError, load_file, load_scenarios

__all__ = ["REFERENCE_NOW", "RunResult", "SCENARIO_DIR", "Scenario", "ScenarioError", "TrialResult", "load_file",
           "load_scenarios", "pass_hat_k", "run_suite"]
