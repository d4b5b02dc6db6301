"""``beluga bench``: run benchmarks, serve the mock model, list and compare stored runs.

Exit codes are those of ``beluga`` (0 ok, 1 failed or regressed, 2 bad usage, 3 configuration
or missing extra). ``run`` exits 1 when a given SLO is missed; ``compare`` exits 1 when the
candidate regressed (significant and beyond the threshold) — the CI gate.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from beluga.cli._errors import EXIT_FAILED, err, friendly

if TYPE_CHECKING:
    from beluga.bench.config import Scenario
    from beluga.config import BelugaConfig

__all__ = ["bench_app"]


def _out() -> Console:
    """stdout; wide when it is not a terminal (a CI log), so tables keep their columns."""
    console = Console()
    return console if console.is_terminal else Console(width=200)


bench_app = typer.Typer(
    no_args_is_help=True,
    help="Benchmark providers, models and roles: latency, throughput, cost, regressions.",
)

_ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="beluga.yaml to use.", show_default=False),
]
_StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="History store (default: bench.store, else $BELUGA_BENCH_DB, else bench.db next "
        "to the metrics store).",
        show_default=False,
    ),
]


def _numbers(text: str | None, kind: type[int] | type[float], option: str) -> list[Any]:
    if text is None:
        return []
    try:
        values = [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a comma-separated list of numbers") from None
    if not values or any(v <= 0 for v in values):
        raise typer.BadParameter("give positive numbers, e.g. 1,10,100", param_hint=option)
    return values


def _scenario(cfg: BelugaConfig, scenario: str | None) -> Scenario:
    from beluga.bench.config import BenchConfig, Scenario, load_scenario
    from beluga.config import ConfigError

    if scenario is None:
        return Scenario()
    named = BenchConfig.of(cfg).scenarios
    if scenario in named:
        return named[scenario].model_copy(update={"name": scenario})
    path = Path(scenario)
    if not path.exists():
        raise ConfigError(
            cfg.source,
            "bench.scenarios",
            f"{scenario!r} is neither a scenario file nor a scenario of bench.scenarios",
            f"give a YAML file, or one of {', '.join(sorted(named)) or '(none configured)'}",
        )
    loaded = load_scenario(path)
    return loaded if loaded.name != "default" else loaded.model_copy(update={"name": path.stem})


@bench_app.command("run")
@friendly
def _run(
    targets: Annotated[
        list[str] | None,
        typer.Argument(
            help="Provider entries, roles or ids (mock:fast, local, openai:gpt-4o-mini); "
            "default: the scenario's, else llm.default.",
            show_default=False,
        ),
    ] = None,
    scenario: Annotated[
        str | None,
        typer.Option("--scenario", "-s", help="A scenario YAML file or a bench.scenarios name."),
    ] = None,
    role: Annotated[
        list[str] | None, typer.Option("--role", "-r", help="A role of llm.roles (repeatable).")
    ] = None,
    requests: Annotated[int | None, typer.Option("--requests", "-n", min=1)] = None,
    warmup: Annotated[
        int | None, typer.Option(min=0, help="Requests sent first, not counted.")
    ] = None,
    concurrency: Annotated[
        str | None, typer.Option(help="Concurrent requests, or a sweep: 1,10,100.")
    ] = None,
    rate: Annotated[
        str | None, typer.Option(help="Requests per second (or a sweep: 5,10,20).")
    ] = None,
    poisson: Annotated[
        bool, typer.Option(help="Poisson arrivals at --rate (else constant).")
    ] = False,
    duration: Annotated[
        float | None, typer.Option(help="Seconds of a sustained run (checks degradation).")
    ] = None,
    window: Annotated[float | None, typer.Option(help="Window seconds for degradation.")] = None,
    slo: Annotated[
        str | None, typer.Option(help="e.g. 'p95 ttft < 500ms and error_rate < 1%'.")
    ] = None,
    search: Annotated[
        bool, typer.Option(help="Find the highest rate meeting --slo (Poisson arrivals).")
    ] = False,
    max_rate: Annotated[float, typer.Option(help="Highest rate --search tries.")] = 1000.0,
    step_seconds: Annotated[float, typer.Option(help="Seconds per --search step.")] = 5.0,
    prompt_tokens: Annotated[
        str | None, typer.Option(help="Synthetic prompts: tokens, e.g. 200 or normal:200,40.")
    ] = None,
    output_tokens: Annotated[
        str | None, typer.Option(help="Synthetic answers: tokens (sets max_tokens).")
    ] = None,
    stream: Annotated[bool, typer.Option(help="Stream (TTFT, ITL) or not.")] = True,
    timeout: Annotated[float | None, typer.Option(help="Seconds per request.")] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed of synthetic prompts and arrivals.")
    ] = None,
    label: Annotated[str | None, typer.Option(help="A name for this run in the history.")] = None,
    save: Annotated[bool, typer.Option(help="Store the run in the history.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
    html: Annotated[Path | None, typer.Option(help="Write a self-contained HTML report.")] = None,
    png: Annotated[Path | None, typer.Option(help="Write the plots as PNG files.")] = None,
    memory: Annotated[bool, typer.Option(help="Trace the client's heap (tracemalloc).")] = False,
    profile: Annotated[
        Path | None, typer.Option(help="cProfile the client into this file.")
    ] = None,
    py_spy: Annotated[Path | None, typer.Option("--py-spy", help="py-spy flame graph SVG.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No live progress.")] = False,
    store: _StoreOption = None,
    config: _ConfigOption = None,
) -> None:
    """Measure TTFT, inter-token latency, tokens/s, end-to-end latency, errors and cost."""
    from beluga.bench.config import BenchConfig, LoadConfig, SyntheticConfig
    from beluga.bench.history import HistoryStore
    from beluga.bench.profiling import profiled
    from beluga.bench.profiling import py_spy as spy
    from beluga.bench.report import live_progress, print_result
    from beluga.bench.server import loop_factory
    from beluga.bench.slo import parse_slo
    from beluga.bench.suite import findings, load_points, run_scenario, run_search
    from beluga.cli.main import load_cli_config

    cfg = load_cli_config(config)
    bench = BenchConfig.of(cfg)
    sc = _scenario(cfg, scenario)
    update: dict[str, Any] = {"stream": stream}
    for key, value in (("requests", requests), ("warmup", warmup), ("timeout", timeout),
                       ("seed", seed), ("slo", slo)):  # fmt: skip
        if value is not None:
            update[key] = value
    if prompt_tokens or output_tokens:
        base = sc.synthetic or SyntheticConfig(seed=seed or 0)
        update["synthetic"] = base.model_copy(
            update={
                k: v
                for k, v in (("prompt_tokens", prompt_tokens), ("output_tokens", output_tokens))
                if v
            }
        )
    load = sc.load
    rates, widths = _numbers(rate, float, "--rate"), _numbers(concurrency, int, "--concurrency")
    if rates:
        load = LoadConfig(mode="poisson" if poisson else "rate", rate=rates)
    elif widths:
        load = LoadConfig(mode="concurrency", concurrency=widths)
    if duration is not None or window is not None:
        load = load.model_copy(
            update={k: v for k, v in (("duration", duration), ("window", window)) if v}
        )
    update["load"] = load
    sc = sc.model_copy(update=update)
    names = [*(targets or []), *(role or [])] or None
    if search and not sc.slo:
        raise typer.BadParameter(
            "--search needs --slo (or slo: in the scenario)", param_hint="--slo"
        )
    slo_parsed = parse_slo(sc.slo) if sc.slo else None
    points = load_points(sc.load, sc.requests or bench.requests, sc.seed)
    count = len(names or sc.targets or [None]) * sum(p.requests for p in points)
    console = Console(stderr=True)

    async def go(tick: Any) -> Any:
        if search and slo_parsed is not None:
            return await run_search(
                cfg, sc, slo_parsed, targets=names, limit=max_rate, step_seconds=step_seconds,
                progress=tick, label=label,
            )  # fmt: skip
        return await run_scenario(cfg, sc, targets=names, progress=tick, memory=memory, label=label)

    show = not quiet and not as_json and not search and sc.load.duration is None
    with (
        live_progress(console, count, enabled=show) as tick,
        profiled(profile),
        spy(py_spy),
        asyncio.Runner(loop_factory=loop_factory) as runner,
    ):
        result = runner.run(go(tick))
    findings(cfg, sc, result)
    if save and bench.save:
        with HistoryStore(store or bench.store) as history:
            history.save(result)
    if html is not None:
        from beluga.bench.plots import write_html

        write_html(result, html)
    if png is not None:
        from beluga.bench.plots import write_png

        write_png(result, png)
    if as_json:
        typer.echo(result.to_json())
    else:
        out = _out()
        print_result(out, result)
        _print_findings(out, result.extra, result.probe)
        if save and bench.save:
            out.print(
                f"stored as [bold]{result.run_id}[/] (beluga bench compare ... {result.run_id})"
            )
    if (
        slo_parsed is not None
        and not search
        and not all(r.meets(slo_parsed) for r in result.results)
    ):
        err.print(f"[bold red]SLO missed:[/] {escape(str(slo_parsed))}")
        raise typer.Exit(EXIT_FAILED)


def _print_findings(out: Console, extra: dict[str, Any], probe: dict[str, Any] | None) -> None:
    search = extra.get("search")
    if search:
        for target, best in search["max_rate"].items():
            shown = (
                f"{best:.2f} req/s"
                if best is not None
                else "none (the SLO fails at the lowest rate)"
            )
            out.print(
                f"highest {search['mode']} rate meeting {escape(search['slo'])} "
                f"for {escape(target)}: {shown}"
            )
    for key, value in (extra.get("slo") or {}).items():
        mark = "[green]met[/]" if value["met"] else "[red]missed[/]"
        out.print(f"SLO {escape(key)}: {mark}")
    for key, value in (extra.get("degradation") or {}).items():
        mark = "[red]degraded[/]" if value["degraded"] else "[green]stable[/]"
        out.print(f"sustained {escape(key)}: {mark} over {len(value['windows'])} windows")
    for advice in extra.get("recommendations") or ():
        if advice["recommendation"] is None:
            out.print(
                f"role {escape(advice['role'])}: {escape(advice['current'])} "
                "is the cheapest that holds"
            )
        else:
            out.print(
                f"role {escape(advice['role'])}: use {escape(advice['recommendation'])} instead of "
                f"{escape(advice['current'])} — {advice['saving_fraction']:.0%} cheaper, p95 "
                f"{advice['p95_e2e_s'] * 1e3:.0f} ms vs {advice['current_p95_e2e_s'] * 1e3:.0f} ms"
            )
    if probe:
        out.print(
            f"client: CPU {probe['cpu_fraction']:.0%} of a core, event-loop lag p99 "
            f"{probe['loop_lag_p99_ms']:.2f} ms, peak RSS {probe['max_rss_mb']:.0f} MB"
            + (
                f", heap {probe['heap_peak_mb']:.2f} MB"
                if probe.get("heap_peak_mb") is not None
                else ""
            )
        )


@bench_app.command("serve-mock")
@friendly
def _serve_mock(
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 8765,
    model: Annotated[str, typer.Option(help="Model id it reports.")] = "mock",
    ttft: Annotated[
        str, typer.Option(help="Time to first token: fixed:200ms, lognormal:200ms,0.25 ...")
    ] = "fixed:50ms",
    itl: Annotated[
        str, typer.Option(help="Gap between tokens: fixed:10ms, normal:10ms,1ms ...")
    ] = "fixed:10ms",
    tokens_per_s: Annotated[float | None, typer.Option(help="Sets a fixed gap of 1/rate.")] = None,
    output_tokens: Annotated[
        int, typer.Option(help="Answer tokens when max_tokens is unset.")
    ] = 32,
    seed: Annotated[int, typer.Option()] = 0,
    rate_limit_rate: Annotated[float, typer.Option(help="Share of requests answered 429.")] = 0.0,
    server_error_rate: Annotated[float, typer.Option(help="Share answered 500.")] = 0.0,
    cut_rate: Annotated[float, typer.Option(help="Share of streams cut mid-way.")] = 0.0,
    cached_fraction: Annotated[
        float, typer.Option(help="Share of input tokens reported cached.")
    ] = 0.0,
) -> None:
    """Serve the mock model over the OpenAI-compatible chat-completions API (until Ctrl-C)."""
    from beluga.bench.server import MockServer, serve_forever
    from beluga.llms.providers.mock import MockChatModel

    mock = MockChatModel(
        model, ttft=ttft, itl=itl, tokens_per_s=tokens_per_s, output_tokens=output_tokens,
        seed=seed, rate_limit_rate=rate_limit_rate, server_error_rate=server_error_rate,
        cut_rate=cut_rate, cached_fraction=cached_fraction,
    )  # fmt: skip

    def ready(server: MockServer) -> None:
        typer.echo(f"serving {server.base_url} (ttft {mock.ttft}, itl {mock.itl})", err=True)
        typer.echo(server.base_url)

    serve_forever(mock, host=host, port=port, ready=ready)


@bench_app.command("history")
@friendly
def _history(
    limit: Annotated[int, typer.Option(min=1)] = 20,
    scenario: Annotated[str | None, typer.Option(help="Only runs of this scenario.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    store: _StoreOption = None,
    config: _ConfigOption = None,
) -> None:
    """List stored runs, newest first, with each target's median end-to-end latency."""
    from datetime import UTC, datetime

    from rich.table import Table

    from beluga.bench.config import BenchConfig
    from beluga.bench.history import HistoryStore
    from beluga.cli.main import load_cli_config

    cfg = load_cli_config(config)
    with HistoryStore(store or BenchConfig.of(cfg).store) as history:
        runs = history.runs(limit=limit, scenario=scenario)
        if as_json:
            typer.echo(json.dumps([_info(r) for r in runs], indent=2))
            return
        table = Table(
            "run",
            "when (UTC)",
            "scenario",
            "label",
            "targets",
            title=f"bench runs ({history.path})",
        )
        for r in runs:
            when = datetime.fromtimestamp(r.created, UTC).strftime("%Y-%m-%d %H:%M:%S")
            table.add_row(
                r.run_id,
                when,
                escape(r.scenario),
                escape(r.label or ""),
                escape(", ".join(r.targets)),
            )
        _out().print(table)


def _info(run: Any) -> dict[str, Any]:
    return {"run_id": run.run_id, "created": run.created, "scenario": run.scenario,
            "label": run.label, "targets": run.targets}  # fmt: skip


@bench_app.command("compare")
@friendly
def _compare(
    baseline: Annotated[str, typer.Argument(help="Run id, id prefix, label or 'latest'.")],
    candidate: Annotated[str, typer.Argument(help="Run id, id prefix, label or 'latest'.")],
    threshold: Annotated[
        float | None, typer.Option(help="Relative change that counts (0.10 = 10 %).")
    ] = None,
    alpha: Annotated[float | None, typer.Option(help="Significance level.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    store: _StoreOption = None,
    config: _ConfigOption = None,
) -> None:
    """Test CANDIDATE against BASELINE; exit 1 on a significant regression beyond the threshold."""
    from beluga.bench.analysis import compare_runs
    from beluga.bench.config import BenchConfig
    from beluga.bench.history import HistoryStore
    from beluga.bench.report import verdict_table
    from beluga.cli.main import load_cli_config

    cfg = load_cli_config(config)
    bench = BenchConfig.of(cfg)
    with HistoryStore(store or bench.store) as history:
        base, cand = history.load(baseline), history.load(candidate)
    verdict = compare_runs(
        base, cand,
        threshold=bench.regression_threshold if threshold is None else threshold,
        alpha=bench.alpha if alpha is None else alpha,
    )  # fmt: skip
    if as_json:
        typer.echo(
            json.dumps(
                {"baseline": base.run_id, "candidate": cand.run_id, **verdict.to_dict()}, indent=2
            )
        )
    else:
        out = _out()
        out.print(verdict_table(verdict))
        for gone in verdict.missing:
            out.print(f"[yellow]not in the candidate:[/] {escape(gone)}")
        if verdict.regressed:
            worst = ", ".join(f"{c.target} {c.measure} x{c.ratio:.2f}" for c in verdict.regressions)
            out.print(f"[bold red]REGRESSION[/]: {escape(worst)}")
        else:
            out.print("[bold green]OK[/]: no significant regression beyond the threshold")
    if verdict.regressed:
        raise typer.Exit(EXIT_FAILED)


@bench_app.command("report")
@friendly
def _report(
    run: Annotated[str, typer.Argument(help="Run id, id prefix, label or 'latest'.")] = "latest",
    html: Annotated[Path | None, typer.Option(help="Write a self-contained HTML report.")] = None,
    png: Annotated[Path | None, typer.Option(help="Write the plots as PNG files.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    store: _StoreOption = None,
    config: _ConfigOption = None,
) -> None:
    """Show a stored run again, or render it as HTML, PNG or JSON."""
    from beluga.bench.config import BenchConfig
    from beluga.bench.history import HistoryStore
    from beluga.bench.report import print_result
    from beluga.cli.main import load_cli_config

    cfg = load_cli_config(config)
    with HistoryStore(store or BenchConfig.of(cfg).store) as history:
        result = history.load(run)
    if html is not None:
        from beluga.bench.plots import write_html

        write_html(result, html)
    if png is not None:
        from beluga.bench.plots import write_png

        write_png(result, png)
    if as_json:
        typer.echo(result.to_json())
    elif html is None and png is None:
        print_result(_out(), result)
