"""Plots (matplotlib, the ``bench`` extra) and a self-contained HTML report.

Three figures: the latency distributions (empirical CDFs of TTFT and end-to-end latency per
target), TTFT p50/p95 over the load points, and output throughput over the load points. The
HTML report inlines them as SVG and carries its tables and the run's JSON summary: one file,
no script, no CDN, readable offline and attachable to a CI run.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from beluga.bench.results import BenchResult, TargetResult
from beluga.core.errors import BelugaError, ErrorCode

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["figures", "html_report", "write_html", "write_png"]


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise BelugaError(
            "bench.report",
            ErrorCode.INVALID_CONFIG,
            "plots need matplotlib: pip install 'beluga-ai[bench]'",
        ) from None
    return plt


def _x(r: TargetResult) -> float:
    load = r.load
    if load.get("mode") in ("rate", "poisson"):
        return float(load.get("rate") or 0)
    return float(load.get("concurrency") or 1)


def _by_target(result: BenchResult) -> dict[str, list[TargetResult]]:
    out: dict[str, list[TargetResult]] = {}
    for r in result.results:
        out.setdefault(r.target, []).append(r)
    return out


def figures(result: BenchResult) -> dict[str, Figure]:
    """The report's figures by name (the load figures only when there are several points)."""
    plt = _pyplot()
    groups = _by_target(result)
    out: dict[str, Figure] = {}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for target, rs in groups.items():
        for ax, measure in zip(axes, ("ttft", "e2e"), strict=True):
            values = sorted(v * 1e3 for v in rs[0].values(measure))
            if values:
                ys = [(i + 1) / len(values) for i in range(len(values))]
                ax.step(values, ys, where="post", label=f"{target} ({rs[0].load.get('label')})")
    for ax, title in zip(axes, ("Time to first token", "End-to-end latency"), strict=True):
        ax.set_title(title)
        ax.set_xlabel("ms")
        ax.set_ylabel("fraction of requests")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    out["latency_distributions"] = fig
    if any(len(rs) > 1 for rs in groups.values()):
        rate = any(r.load.get("mode") in ("rate", "poisson") for r in result.results)
        xlabel = "requests/s offered" if rate else "concurrent requests"
        fig, ax = plt.subplots(figsize=(6, 4))
        for target, rs in groups.items():
            points = sorted(rs, key=_x)
            xs = [_x(r) for r in points]
            for key, style in (("p50", "-o"), ("p95", "--x")):
                line = [
                    getattr(s, key) * 1e3 if (s := r.summaries()["ttft"]) else None for r in points
                ]
                ax.plot(xs, line, style, label=f"{target} {key}")
        ax.set(title="TTFT over load", xlabel=xlabel, ylabel="TTFT (ms)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        out["ttft_over_load"] = fig
        fig, ax = plt.subplots(figsize=(6, 4))
        for target, rs in groups.items():
            points = sorted(rs, key=_x)
            ax.plot([_x(r) for r in points], [r.throughput for r in points], "-o", label=target)
        ax.set(title="Throughput vs load", xlabel=xlabel, ylabel="output tokens/s")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        out["throughput_vs_load"] = fig
    return out


def write_png(result: BenchResult, path: Path) -> list[Path]:
    """Each figure as a PNG: ``path`` for the first, ``path-NAME.png`` for the others."""
    plt = _pyplot()
    written = []
    for i, (name, fig) in enumerate(figures(result).items()):
        target = path if i == 0 else path.with_name(f"{path.stem}-{name}{path.suffix or '.png'}")
        fig.savefig(target, dpi=110)
        plt.close(fig)
        written.append(target)
    return written


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _png_data_uri(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#1b2733;background:#fff}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:right}
th{background:#f3f6f9}td.l,th.l{text-align:left}
.meta{color:#57606a;font-size:13px}.bad{color:#b42318}.fig{margin:12px 0}
pre{background:#f6f8fa;padding:8px;font-size:12px;overflow:auto;max-height:300px}
"""


def _cell(value: Any, left: bool = False) -> str:
    return f"<td{' class=l' if left else ''}>{html.escape(str(value))}</td>"


def _rows(result: BenchResult) -> str:
    head = ("target", "load", "ok/sent", "TTFT p50 ms", "TTFT p50 95% CI", "TTFT p95", "ITL p50",
            "ITL p95", "E2E p50", "E2E p99", "tok/s/req p50", "tok/s total", "error rate",
            "$ per 1k ok")  # fmt: skip
    out = ["<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for r in result.results:
        s = r.summaries()

        def ms(measure: str, key: str, s: Any = s) -> str:
            summary = s[measure]
            return f"{getattr(summary, key) * 1e3:.2f}" if summary else "-"

        ttft = s["ttft"]
        ci = ttft.ci.get("p50") if ttft else None
        cost = r.cost.get("per_1k_successful")
        cells = [
            _cell(r.target, True), _cell(r.load.get("label", ""), True),
            _cell(f"{len(r.ok)}/{len(r.samples)}"), _cell(ms("ttft", "p50")),
            _cell(f"{ci[0] * 1e3:.2f}-{ci[1] * 1e3:.2f}" if ci else "-"), _cell(ms("ttft", "p95")),
            _cell(ms("itl", "p50")), _cell(ms("itl", "p95")), _cell(ms("e2e", "p50")),
            _cell(ms("e2e", "p99")), _cell(f"{s['tps'].p50:.1f}" if s["tps"] else "-"),
            _cell(f"{r.throughput:.1f}"), _cell(f"{r.error_rate:.1%}"),
            _cell(f"{cost:.5f}" if cost is not None else "-"),
        ]  # fmt: skip
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "".join(out)


def html_report(result: BenchResult, *, inline: str = "svg") -> str:
    """The whole report as one HTML document (figures inline as ``svg`` or ``png``)."""
    plt = _pyplot()
    parts = [
        "<!doctype html><html><head><meta charset=utf-8>",
        f"<title>beluga bench {html.escape(result.run_id)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>beluga bench: {html.escape(result.scenario)}</h1>",
        f"<p class=meta>run {html.escape(result.run_id)}"
        + (f" · label {html.escape(result.label)}" if result.label else "")
        + f" · {len(result.results)} target/load points</p>",
        "<h2>Results</h2>",
        _rows(result),
    ]
    for name, fig in figures(result).items():
        title = name.replace("_", " ").capitalize()
        body = _svg(fig) if inline == "svg" else f'<img alt="{title}" src="{_png_data_uri(fig)}">'
        parts.append(f"<h2>{title}</h2><div class=fig>{body}</div>")
        plt.close(fig)
    if result.probe:
        parts.append("<h2>Client overhead</h2><table>")
        for key, value in result.probe.items():
            shown = f"{value:.3f}" if isinstance(value, float) else value
            parts.append(f"<tr>{_cell(key, True)}{_cell(shown)}</tr>")
        parts.append("</table>")
    if result.extra:
        parts.append("<h2>Findings</h2><pre>")
        parts.append(html.escape(json.dumps(result.extra, indent=2, default=str)))
        parts.append("</pre>")
    parts.append(
        "<p class=meta>Percentiles interpolate linearly; CIs of percentiles are exact "
        "order-statistic intervals; outliers are counted, never dropped.</p></body></html>"
    )
    return "".join(parts)


def write_html(result: BenchResult, path: Path) -> Path:
    path.write_text(html_report(result), encoding="utf-8")
    return path
