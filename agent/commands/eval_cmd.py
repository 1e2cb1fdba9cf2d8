"""`support-agent eval [PATHS...]`: run evaluation scenarios and report.

Exit codes:
  0  replay mode: every trial passed with no policy violation.
     live mode (a real model): the run completed, whatever the results (a model's score is a
     measurement, not a build break) -- unless --strict, which applies the replay rule.
  1  replay mode (or --strict): a trial failed or the policy audit found a violation.
  2  nothing ran: bad arguments, a scenario file that does not validate, a model that cannot load.
With --agent both, the exit code judges the runtime's trials; the baseline is a reference.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = __doc__.split("\n", 2)[2]
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="scenario files or folders (default: the packaged suite, evals/scenarios/)")
    parser.add_argument("--model", default="replay",
                        help="replay (default: the scenarios' recorded understandings, no LLM), local (embedded 1.5B), "
                             "local-small, openai:NAME, openai-schema:NAME")
    parser.add_argument("--user-model", default=None, metavar="SPEC",
                        help="a model that plays the customer of scenarios with `customer.simulated` "
                             "(needs a live --model); other scenarios keep their scripted turns")
    parser.add_argument("--trials", type=int, default=1, metavar="K", help="trials per scenario (pass^1..pass^K)")
    parser.add_argument("--agent", choices=("runtime", "baseline", "both"), default="runtime",
                        help="runtime (default: this project's agent), baseline (a plain tool loop on the same "
                             "model, agent/baseline.py), or both, reported side by side; the baseline needs a live "
                             "--model")
    parser.add_argument("--temperature", type=float, default=None, metavar="T",
                        help="the agent model's sampling temperature (default: the model's own, 0 for local)")
    parser.add_argument("--seed", type=int, default=None, metavar="S",
                        help="live trials get seeds S+1, S+2, ... (default S: 0); recorded in the reports")
    parser.add_argument("--tag", action="append", default=[], metavar="T",
                        help="only scenarios with this tag (repeatable: any of them)")
    parser.add_argument("--scenario", "-k", action="append", default=[], metavar="ID",
                        help="only scenarios whose id matches this glob (repeatable)")
    parser.add_argument("--simulated-only", action="store_true",
                        help="only scenarios that have a simulated customer")
    parser.add_argument("--shuffle", type=int, default=None, metavar="SEED",
                        help="run the scenarios in a seeded random order (a partial live run is then a fair sample)")
    parser.add_argument("--policy", type=Path, default=None, help="a policy document (default: the shipped one)")
    parser.add_argument("--json", type=Path, default=None, metavar="OUT", help="write every trial's results as JSON")
    parser.add_argument("--html", type=Path, default=None, metavar="OUT", help="write the HTML report")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted live run: keep the trials already in the --json file, run the rest")
    parser.add_argument("--strict", action="store_true", help="exit 1 on any failure in live mode too")
    parser.add_argument("--keep-stores", type=Path, default=None, metavar="DIR",
                        help="keep every trial's store database in DIR (to inspect a failure)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no per-scenario table, only tags and totals")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from agent.models import ModelError
    from evals.report import print_summary, write_html, write_json
    from evals.runner import agent_names, build_result, run_suite
    from evals.scenario import ScenarioError, load_scenarios
    from tools.errors import SupportAgentError

    err = Console(stderr=True)
    out = Console()
    if not out.is_terminal:  # CI logs: wide enough for the tables
        out = Console(width=150)
    if args.trials < 1:
        err.print("[red]error:[/] --trials must be at least 1")
        return EXIT_USAGE
    replay = args.model == "replay"
    if replay and args.user_model:
        err.print("[red]error:[/] --user-model needs a live --model (recorded understandings only fit the recorded "
                  "customer turns)")
        return EXIT_USAGE
    if replay and (args.agent != "runtime" or args.temperature is not None or args.seed is not None):
        err.print("[red]error:[/] --agent baseline/both, --temperature and --seed need a live --model (the replays "
                  "are the runtime's recorded understandings; nothing is sampled)")
        return EXIT_USAGE
    agents = agent_names(args.agent)
    try:
        scenarios = load_scenarios(args.paths or None, tags=args.tag or None, ids=args.scenario or None)
    except ScenarioError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False)
        return EXIT_USAGE
    if args.simulated_only:
        scenarios = [s for s in scenarios if s.customer.simulated is not None]
    if args.shuffle is not None:
        import random

        random.Random(args.shuffle).shuffle(scenarios)
    if not scenarios:
        err.print("[red]error:[/] no scenario matches")
        return EXIT_USAGE

    previous: list = []
    resumed = None
    if args.resume:
        from evals.runner import RunResult

        if not args.json:
            err.print("[red]error:[/] --resume needs --json (the file of the interrupted run)")
            return EXIT_USAGE
        if args.json.exists():
            wanted = {s.id for s in scenarios}
            resumed = RunResult.model_validate_json(args.json.read_text(encoding="utf-8"))
            previous = [r for r in resumed.results
                        if r.scenario in wanted and r.trial <= args.trials and r.agent in agents]
            err.print(f"resuming: {len(previous)} trial(s) already done")
    total = len(scenarios) * args.trials * len(agents) - len(previous)
    model_name = args.model
    done: list = list(previous)
    started = time.perf_counter()

    def write_partial() -> None:
        # A long live run keeps its reports current, so a crash or an interrupt loses nothing.
        partial = build_result(scenarios, done, model=model_name, user_model=args.user_model, trials=args.trials,
                               started_at="(in progress)", seconds=time.perf_counter() - started, agents=agents,
                               temperature=args.temperature, seed=None if replay else args.seed or 0)
        if args.json:
            write_json(partial, args.json)
        if args.html:
            write_html(partial, args.html)

    progress = Progress(TextColumn("[bold]eval[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("{task.description}"), console=err, transient=True)
    failed = 0

    with progress:
        task = progress.add_task("starting", total=total)

        def on_start(scenario, trial):
            progress.update(task, description=f"{scenario.id} #{trial}" + (f"  [red]{failed} failed[/]" if failed else ""))

        def on_done(result):
            nonlocal failed
            failed += not result.passed
            done.append(result)
            if not replay and (args.json or args.html):
                write_partial()
            who = f" ({result.agent})" if len(agents) > 1 else ""
            if not result.passed:
                first = (result.failures + result.violations)[0]
                progress.console.print(f"[red]✗[/] {result.scenario} #{result.trial}{who}: {first.check} "
                                       f"({result.seconds:.0f} s)", highlight=False)
            elif not err.is_terminal:  # a log has no live bar: one line per trial
                progress.console.print(f"[green]✓[/] {result.scenario} #{result.trial}{who} ({result.seconds:.0f} s)",
                                       highlight=False)
            progress.advance(task)

        try:
            result = run_suite(scenarios, model=args.model, user_model=args.user_model, trials=args.trials,
                               policy=args.policy, workdir=args.keep_stores, keep_stores=args.keep_stores is not None,
                               on_start=on_start, on_done=on_done, previous=previous, agent=args.agent,
                               temperature=args.temperature, seed=args.seed or 0)
        except (ModelError, SupportAgentError, ValueError) as exc:
            err.print(f"[red]error:[/] {exc}", highlight=False)
            return EXIT_USAGE

    if resumed is not None:  # one run, however many sittings
        result.seconds = round(result.seconds + resumed.seconds, 2)
        if resumed.started_at != "(in progress)":
            result.started_at = resumed.started_at
    print_summary(result, out, per_scenario=not args.quiet)
    if args.json:
        err.print(f"JSON results: {write_json(result, args.json)}")
    if args.html:
        err.print(f"HTML report: {write_html(result, args.html)}")
    clean = result.all_passed and result.violations == 0
    if replay or args.strict:
        return EXIT_OK if clean else EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    from agent.cli import main

    sys.exit(main(["eval", *sys.argv[1:]]))
