"""What a run looks like to a person: the rich summary tables, the JSON file and the HTML report
(one self-contained file: inline CSS and SVG, no scripts or fonts fetched from anywhere)."""

from __future__ import annotations

import html
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from evals.metrics import ComparisonRow, Summary
from evals.runner import RunResult

TEMPLATES = Path(__file__).parent / "templates"


# ---- console -------------------------------------------------------------------------------------


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def _summary_table(title: str, rows: list[Summary], ks: list[int], first: str) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column(first, no_wrap=True)
    table.add_column("passes", justify="right")
    for k in ks:
        table.add_column(f"pass^{k}", justify="right")
    table.add_column("violations", justify="right")
    table.add_column("turns", justify="right")
    table.add_column("model s/turn", justify="right")
    for s in rows:
        style = "green" if s.passes == s.trials else "red" if s.passes == 0 else "yellow"
        table.add_row(
            escape(s.name), f"[{style}]{s.passes}/{s.trials}[/]", *[_pct(s.pass_hat.get(k, 0.0)) for k in ks],
            f"[red]{s.violations}[/]" if s.violations else "0", f"{s.mean_turns:g}", f"{s.model_seconds_per_turn:.2f}")
    return table


def _value(row: ComparisonRow, value: float) -> str:
    if row.metric.startswith("pass^"):
        return _pct(value)
    return f"{value:.2f}" if row.metric == "model s/turn" else f"{value:g}"


def ratio_text(row: ComparisonRow) -> str:
    return "–" if row.ratio is None else f"{row.ratio:.2f}×"


def _comparison_table(result: RunResult) -> Table:
    table = Table(title=f"Side by side: {result.agent} (ours) vs baseline", title_justify="left",
                  header_style="bold")
    for name in ("metric", "ours", "baseline", "ours / baseline"):
        table.add_column(name, justify="left" if name == "metric" else "right")
    for row in result.comparison:
        table.add_row(row.metric, _value(row, row.ours), _value(row, row.baseline), ratio_text(row))
    return table


def _failed_line(t, both: bool) -> str:
    first = (t.failures + t.violations)[0]
    where = f"turn {first.turn}" if first.turn else "conversation"
    more = len(t.failures) + len(t.violations) - 1
    who = f" ({t.agent})" if both else ""
    phrasing = f" [dim]phrasings {t.phrasings_used}[/]" if t.phrasings_used else ""
    return (f"  [red]✗[/] {t.scenario} #{t.trial}{who} — [bold]{escape(first.check)}[/] ({where}): "
            f"{escape(first.message)}" + (f" [dim](+{more} more)[/]" if more else "") + phrasing)


def _totals_line(name: str, o: Summary, seconds: float | None) -> str:
    hats = "  ".join(f"pass^{k} {_pct(v)}" for k, v in sorted(o.pass_hat.items()))
    colour = "green" if o.passes == o.trials else "red"
    took = f"  ({seconds:.0f} s)" if seconds is not None else ""
    return (f"[bold]{name}[/]: [{colour}]{o.passes}/{o.trials} trials passed[/] over {o.scenarios} "
            f"scenarios  {hats}  policy violations [{'red' if o.violations else 'green'}]{o.violations}[/]  "
            f"mean turns {o.mean_turns:g}  model {o.model_seconds_per_turn:.2f} s/turn{took}")


def print_summary(result: RunResult, console: Console, *, per_scenario: bool = True) -> None:
    ks = sorted(result.overall.pass_hat)
    both = result.baseline is not None
    if per_scenario:
        console.print(_summary_table(f"Scenarios ({result.agent})" if both else "Scenarios", result.scenarios, ks,
                                     "scenario"))
    console.print(_summary_table(f"Tags ({result.agent})" if both else "Tags", result.tags, ks, "tag"))
    failed = [t for t in result.results if not t.passed]
    if failed:
        console.print(f"[bold]Failed trials[/] ({len(failed)}):")
        for t in failed:
            console.print(_failed_line(t, both), highlight=False)
    if result.comparison:
        console.print(_comparison_table(result))
    if result.baseline is not None:
        console.print(_totals_line(f"{result.model} (baseline)", result.baseline.overall, None))
    name = result.model if result.agent == "runtime" and not both else f"{result.model} ({result.agent})"
    console.print(_totals_line(name, result.overall, result.seconds))


# ---- JSON ------------------------------------------------------------------------------------------


def write_json(result: RunResult, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(result.model_dump_json(indent=2), encoding="utf-8")
    return path


# ---- HTML ------------------------------------------------------------------------------------------


def bar_chart(rows: list[Summary], *, width: int = 560, strip: str = "") -> str:
    """A horizontal bar per row: pass rate (pass^1) with the passes/trials count; inline SVG."""
    bar_h, gap, label_w, value_w = 18, 6, 250, 84
    height = len(rows) * (bar_h + gap) + gap
    track = width - label_w - value_w
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'class="chart" viewBox="0 0 {width} {height}">']
    for i, s in enumerate(rows):
        y = gap + i * (bar_h + gap)
        rate = s.pass_rate
        colour = "#2f9e44" if rate == 1 else "#e8590c" if rate >= 0.5 else "#e03131"
        name = html.escape(s.name.removeprefix(strip))
        parts.append(f'<text x="{label_w - 8}" y="{y + bar_h - 5}" text-anchor="end" class="lbl">{name}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{track}" height="{bar_h}" rx="3" fill="#eceef1"/>')
        if rate > 0:
            parts.append(f'<rect x="{label_w}" y="{y}" width="{max(track * rate, 2):.1f}" height="{bar_h}" rx="3" '
                         f'fill="{colour}"><title>{name}: {s.passes}/{s.trials}</title></rect>')
        parts.append(f'<text x="{label_w + track + 8}" y="{y + bar_h - 5}" class="val">{rate * 100:.0f}% '
                     f'({s.passes}/{s.trials})</text>')
    parts.append("</svg>")
    return "".join(parts)


def tag_groups(result: RunResult) -> list[tuple[str, str]]:
    """(title, svg) per tag family: kinds, other tags, tools, rules."""
    titles = {"kind": "By kind", "": "Other tags", "tool": "By tool", "rule": "By policy rule"}
    groups: dict[str, list[Summary]] = {prefix: [] for prefix in titles}
    for s in result.tags:
        prefix = s.name.split(":", 1)[0] if ":" in s.name else ""
        groups[prefix if prefix in titles else ""].append(s)
    return [(titles[p], bar_chart(rows, strip=f"{p}:" if p else "")) for p, rows in groups.items() if rows]


def side_by_side(result: RunResult) -> list[tuple[str, str, Summary | None, Summary | None]]:
    """(group, name, ours, baseline) rows: every kind tag, then every scenario (worst of ours first)."""
    if result.baseline is None:
        return []
    base_tags = {s.name: s for s in result.baseline.tags}
    base_scenarios = {s.name: s for s in result.baseline.scenarios}
    rows: list[tuple[str, str, Summary | None, Summary | None]] = [
        ("kind", s.name.removeprefix("kind:"), s, base_tags.get(s.name)) for s in result.tags
        if s.name.startswith("kind:")]
    ours = sorted(result.scenarios, key=lambda s: (s.pass_rate, s.name))
    rows += [("scenario", s.name, s, base_scenarios.get(s.name)) for s in ours]
    rows += [("scenario", s.name, None, s) for s in result.baseline.scenarios
             if s.name not in {o.name for o in ours}]
    return rows


def sampling(result: RunResult) -> list[tuple[str, str]]:
    """(label, value) pairs for the report's header: the temperatures the trials ran at and the seeds."""
    temperatures = sorted({t.temperature for t in result.results if t.temperature is not None})
    out = []
    if temperatures:
        out.append(("temperature", ", ".join(f"{t:g}" for t in temperatures)))
    elif result.seed is not None:
        out.append(("temperature", "the endpoint's default"))
    if result.seed is not None and any(t.seed is not None for t in result.results):
        out.append(("trial k uses seed", f"{result.seed} + k"))
    return out


def render_html(result: RunResult) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from markupsafe import Markup

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    failed = [t for t in result.results if not t.passed]
    charts = [(title, Markup(svg)) for title, svg in tag_groups(result)]
    scenarios = sorted(result.scenarios, key=lambda s: (s.pass_rate, -s.violations, s.name))  # worst first
    env.filters["ratio"] = ratio_text
    env.filters["metric"] = lambda row, value: _value(row, value)
    return env.get_template("report.html.j2").render(
        r=result, o=result.overall, ks=sorted(result.overall.pass_hat), failed=failed, charts=charts,
        scenarios=scenarios, side=side_by_side(result), sampling=sampling(result),
        css=(TEMPLATES / "report.css").read_text(encoding="utf-8"))


def write_html(result: RunResult, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(result), encoding="utf-8")
    return path
