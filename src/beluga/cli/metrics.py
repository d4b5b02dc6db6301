"""``beluga metrics``: what the provider calls did — summaries and exports of the metrics store.

Mounted by ``beluga.cli.main`` as ``app.add_typer(metrics_app, name="metrics")``. Exit codes are
those of ``beluga`` (0 ok, 1 failed, 2 bad usage, 3 configuration or missing extra, 130
interrupted); errors print one line. The framework is imported inside the commands, so mounting
this sub-app costs ``beluga --help`` nothing.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from beluga.cli._errors import err, friendly
from beluga.core.errors import BelugaError, ErrorCode

if TYPE_CHECKING:
    from beluga.llms.metrics import MetricsFilter, MetricsStore, SummaryRow

__all__ = ["ExportFormat", "SummaryFormat", "metrics_app"]

metrics_app = typer.Typer(
    no_args_is_help=True,
    help="Provider call metrics: latency, time to first token, tokens, cost, errors.",
)


class SummaryFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


def _time_option(name: str, value: str | None) -> float | None:
    """Parse ``--since``/``--until``; a bad value is a usage error (exit 2), in one line."""
    if value is None:
        return None
    from beluga.llms.metrics import parse_time

    try:
        return parse_time(value)
    except BelugaError as exc:
        err.print(f"[bold red]error:[/] {name}: {escape(exc.message)}", soft_wrap=True)
        raise typer.Exit(2) from None


_StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help=(
            "Metrics store: sqlite:///path/metrics.db, postgresql://user@host/db or "
            "jsonl:///path/metrics.jsonl (default: llm.metrics.store of the config, else "
            "$BELUGA_METRICS_STORE, else $BELUGA_METRICS_DB or ~/.beluga/metrics.db)."
        ),
        show_default=False,
    ),
]
_ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="beluga.yaml whose llm.metrics.store to read (default: $BELUGA_CONFIG or "
        "./beluga.yaml); --store wins over it.",
        show_default=False,
    ),
]
_ProviderOption = Annotated[
    str | None, typer.Option("--provider", "-p", help="Only this provider.", show_default=False)
]
_RoleOption = Annotated[
    str | None, typer.Option("--role", "-r", help="Only this role.", show_default=False)
]
_SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since",
        help="Calls from this time on: 15m, 2h, 7d, or ISO such as 2026-01-31T09:00 (local) "
        "or 2026-01-31T09:00Z.",
        show_default=False,
    ),
]
_UntilOption = Annotated[
    str | None,
    typer.Option("--until", help="Calls before this time (same forms).", show_default=False),
]


def _open(store: str | None, config: Path | None) -> MetricsStore:
    """The store to read: ``--store``, else the configuration's ``llm.metrics.store``, else the
    default. An explicit ``--store`` does not even read the configuration."""
    from beluga.llms.metrics import open_store

    if store is None:
        from beluga.config import load_config
        from beluga.llms.config import LLMConfig

        store = LLMConfig.of(load_config(config)).metrics.store
    return open_store(store, create=False)


def _filter(
    provider: str | None, role: str | None, since: str | None, until: str | None
) -> MetricsFilter:
    from beluga.llms.metrics import MetricsFilter

    return MetricsFilter(
        provider=provider,
        role=role,
        since=_time_option("--since", since),
        until=_time_option("--until", until),
    )


@metrics_app.command("summary")
@friendly
def _summary(
    provider: _ProviderOption = None,
    role: _RoleOption = None,
    since: _SinceOption = None,
    until: _UntilOption = None,
    fmt: Annotated[
        SummaryFormat, typer.Option("--format", "-f", help="table for people, json for scripts.")
    ] = SummaryFormat.TABLE,
    store: _StoreOption = None,
    config: _ConfigOption = None,
) -> None:
    """Calls, success rate, latency and TTFT percentiles, tokens and cost per provider and role.

    Percentiles are over successful calls, within 1 % of the exact values.
    """
    where = _filter(provider, role, since, until)
    metrics = _open(store, config)
    try:
        rows = metrics.summary(where)
    finally:
        metrics.close()
    if fmt is SummaryFormat.JSON:
        typer.echo(json.dumps([r.as_dict() for r in rows], indent=2))
    elif not rows:
        err.print("no calls recorded for this selection")
    else:
        Console(highlight=False).print(_table(rows))


def _table(rows: list[SummaryRow]) -> Table:
    table = Table(
        "provider",
        "role",
        "calls",
        "ok",
        "latency ms\np50/p95/p99",
        "TTFT ms\np50/p95/p99",
        "tokens\nin / out",
        "cost",
        title="Provider calls",
        caption="percentiles of successful calls, ±1 %; --format json for every figure",
    )
    for col in table.columns[2:]:
        col.justify = "right"
    for r in rows:
        table.add_row(
            escape(r.provider),
            escape(r.role) if r.role is not None else "[dim]-[/]",
            f"{r.calls:,}",
            f"{r.success_rate:.1%}" if r.ok == r.calls else f"[yellow]{r.success_rate:.1%}[/]",
            _millis(r.latency_p50_s, r.latency_p95_s, r.latency_p99_s),
            _millis(r.ttft_p50_s, r.ttft_p95_s, r.ttft_p99_s),
            f"{_count(r.input_tokens)} / {_count(r.output_tokens)}",
            _dollars(r.cost_usd),
        )
    return table


def _millis(*seconds: float | None) -> str:
    if seconds[0] is None:
        return "[dim]-[/]"
    return " / ".join(f"{(s or 0) * 1e3:.0f}" for s in seconds)


def _count(n: int) -> str:
    """Token counts at a glance: 9,876 / 12.3k / 4.5M / 1.2G."""
    for threshold, unit, suffix in ((1e9, 1e9, "G"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if n >= threshold:
            return f"{n / unit:.1f}{suffix}"
    return f"{n:,}"


def _dollars(cost: float | None) -> str:
    if cost is None:
        return "[dim]-[/]"
    return f"${cost:,.2f}" if cost >= 1 else f"${cost:.4f}"


@metrics_app.command("export")
@friendly
def _export(
    fmt: Annotated[
        ExportFormat,
        typer.Option("--format", "-f", help="csv (with a header row) or json (JSON lines)."),
    ] = ExportFormat.CSV,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write here instead of stdout.", show_default=False),
    ] = None,
    provider: _ProviderOption = None,
    role: _RoleOption = None,
    since: _SinceOption = None,
    until: _UntilOption = None,
    store: _StoreOption = None,
    config: _ConfigOption = None,
) -> None:
    """Every recorded call (oldest first), as CSV or JSON lines."""
    where = _filter(provider, role, since, until)
    metrics = _open(store, config)
    try:
        if output is None:
            _write(metrics.export(where), sys.stdout, fmt)
            return
        try:
            with output.open("w", encoding="utf-8", newline="") as out:
                count = _write(metrics.export(where), out, fmt)
        except OSError as exc:
            raise BelugaError(
                "cli.metrics.export",
                ErrorCode.INTERNAL,
                f"cannot write {output}: {exc.strerror or exc}",
            ) from exc
        err.print(f"wrote {count:,} calls to {escape(str(output))}")
    except BrokenPipeError:  # `beluga metrics export | head`: the reader has enough
        _quiet_stdout()
    finally:
        metrics.close()


def _write(records: Any, out: TextIO, fmt: ExportFormat) -> int:
    from beluga.llms.metrics import CALL_FIELDS

    count = 0
    if fmt is ExportFormat.CSV:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CALL_FIELDS)
        for record in records:
            writer.writerow(["" if v is None else v for v in record.as_row()])
            count += 1
    else:
        for record in records:
            row = dict(zip(CALL_FIELDS, record.as_row(), strict=True))
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    out.flush()
    return count


def _quiet_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (tests): nothing to do
        pass
