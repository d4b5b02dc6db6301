"""Reports of a run: Rich tables (and a live progress display), and the cross-target comparison.

Latencies print in milliseconds with the 95 % CI of the median in brackets. The comparison
table tests each target against the fastest (lowest median end-to-end) at the same load point
with Mann-Whitney U; ``*`` marks a significant difference (p < alpha).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from beluga.bench.analysis import Verdict
from beluga.bench.results import BenchResult, TargetResult
from beluga.bench.runner import Sample
from beluga.bench.stats import Summary, compare_samples

__all__ = ["comparison_table", "live_progress", "print_result", "results_table", "verdict_table"]


def _ms(summary: Summary | None, key: str = "p50", ci: bool = False) -> str:
    if summary is None:
        return "-"
    value = getattr(summary, key) * 1e3
    text = f"{value:.1f}"
    if ci and (bounds := summary.ci.get(key)) is not None:
        text += f" [{bounds[0] * 1e3:.1f}-{bounds[1] * 1e3:.1f}]"
    return text


def _money(value: float | None) -> str:
    if value is None:
        return "-"
    return f"${value:.4f}" if value >= 0.01 else f"${value:.2e}"


def results_table(result: BenchResult) -> Table:
    """One row per target and load point: latencies, tokens/s, errors and cost."""
    table = Table(title=f"beluga bench: {escape(result.scenario)} ({result.run_id})")
    for name in ("target", "load", "ok/sent", "TTFT p50 ms [95% CI]", "TTFT p95", "ITL p50",
                 "ITL p95", "E2E p50", "E2E p99", "tok/s/req", "tok/s total", "errors",
                 "$/1k ok"):  # fmt: skip
        table.add_column(name, justify="left" if name in ("target", "load") else "right")
    for r in result.results:
        s = r.summaries()
        tps = s["tps"]
        table.add_row(
            escape(r.target),
            escape(str(r.load.get("label", ""))),
            f"{len(r.ok)}/{len(r.samples)}",
            _ms(s["ttft"], ci=True),
            _ms(s["ttft"], "p95"),
            _ms(s["itl"]),
            _ms(s["itl"], "p95"),
            _ms(s["e2e"]),
            _ms(s["e2e"], "p99"),
            f"{tps.p50:.1f}" if tps else "-",
            f"{r.throughput:.1f}",
            _errors(r),
            _money(r.cost.get("per_1k_successful")),
        )
    return table


def _errors(r: TargetResult) -> str:
    if not r.samples or r.error_rate == 0:
        return "0%"
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(r.errors().items()))
    return f"[red]{r.error_rate:.1%}[/] ({escape(kinds)})"


def comparison_table(result: BenchResult, *, alpha: float = 0.05) -> Table | None:
    """Each target against the fastest one at the same load point, or None for one target."""
    by_load: dict[str, list[TargetResult]] = {}
    for r in result.results:
        by_load.setdefault(str(r.load.get("label", "")), []).append(r)
    if all(len(rs) < 2 for rs in by_load.values()):
        return None
    table = Table(title="Comparison with the fastest target (Mann-Whitney U, * = significant)")
    for name in ("load", "target", "E2E p50 ratio [95% CI]", "p", "TTFT p50 ratio", "p "):
        table.add_column(name, justify="left" if name in ("load", "target") else "right")
    for load, rs in by_load.items():
        ranked = [r for r in rs if len(r.values("e2e")) >= 2]
        if len(ranked) < 2:
            continue
        best = min(ranked, key=lambda r: r.summaries()["e2e"].p50)  # type: ignore[union-attr]
        for r in ranked:
            if r is best:
                table.add_row(escape(load), escape(r.target) + " (fastest)", "1.00", "", "1.00", "")
                continue
            e2e = compare_samples(best.values("e2e"), r.values("e2e"), alpha=alpha)
            ci = f" [{e2e.ratio_ci[0]:.2f}-{e2e.ratio_ci[1]:.2f}]" if e2e.ratio_ci else ""
            cells = [f"{e2e.ratio:.2f}{ci}", _p(e2e.p_value, alpha)]
            if len(best.values("ttft")) >= 2 and len(r.values("ttft")) >= 2:
                ttft = compare_samples(best.values("ttft"), r.values("ttft"), alpha=alpha)
                cells += [f"{ttft.ratio:.2f}", _p(ttft.p_value, alpha)]
            else:
                cells += ["-", ""]
            table.add_row(escape(load), escape(r.target), *cells)
    return table


def _p(p: float, alpha: float) -> str:
    return f"{p:.2g}{' *' if p < alpha else ''}"


def verdict_table(verdict: Verdict) -> Table:
    table = Table(title="Candidate against baseline")
    for name in ("target", "load", "measure", "baseline", "candidate", "ratio", "p", "verdict"):
        table.add_column(name, justify="left" if name in ("target", "load", "measure") else "right")
    for c in verdict.changes:
        unit = 1e3 if c.measure in ("ttft", "itl", "e2e") else 1.0
        colour = {"regression": "red", "improvement": "green"}.get(c.verdict, "")
        shown = f"[{colour}]{c.verdict}[/]" if colour else c.verdict
        table.add_row(
            escape(c.target),
            escape(c.load),
            c.measure + (" ms" if unit == 1e3 else ""),
            f"{c.baseline * unit:.2f}" if c.measure != "error_rate" else f"{c.baseline:.1%}",
            f"{c.candidate * unit:.2f}" if c.measure != "error_rate" else f"{c.candidate:.1%}",
            f"{c.ratio:.3f}",
            f"{c.p_value:.2g}",
            shown,
        )
    return table


@contextmanager
def live_progress(console: Console, total: int, *, enabled: bool = True) -> Iterator[Any]:
    """A live bar of finished requests with the running error count; yields the callback the
    suite calls per request (``(label, sample) -> None``)."""
    if not enabled:
        yield None
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("errors {task.fields[errors]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("bench", total=total, errors=0)
        errors = 0

        def tick(label: str, sample: Sample) -> None:
            nonlocal errors
            errors += not sample.ok
            bar.update(task, advance=1, description=escape(label), errors=errors)

        yield tick


def print_result(console: Console, result: BenchResult, extra: Sequence[Table] = ()) -> None:
    console.print(results_table(result))
    comparison = comparison_table(result)
    if comparison is not None:
        console.print(comparison)
    for table in extra:
        console.print(table)
