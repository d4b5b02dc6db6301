from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from beluga.cli.metrics import metrics_app
from beluga.llms.metrics import CALL_FIELDS, CallRecord, MetricsFilter, SqliteStore
from tests.llms.metrics import close_enough, expected, make_calls, nearest_rank

runner = CliRunner()
NOW = time.time()
RECORDS = make_calls(1200, end=NOW - 1, span=3 * 86400, seed=11)


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("cli-metrics") / "metrics.db"
    with SqliteStore(path) as store:
        store.write(RECORDS)
    return f"sqlite://{path}"


def _summary(url: str, *args: str) -> list[dict[str, object]]:
    result = runner.invoke(metrics_app, ["summary", "--store", url, "--format", "json", *args])
    assert result.exit_code == 0, result.output
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def _check(rows: list[dict[str, object]], where: MetricsFilter) -> None:
    want = expected(RECORDS, where)
    assert {(r["provider"], r["role"]) for r in rows} == set(want)
    for row in rows:
        e = want[(row["provider"], row["role"])]  # type: ignore[index]
        assert row["calls"] == e.calls and row["ok"] == e.ok and row["errors"] == e.errors
        assert row["success_rate"] == e.ok / e.calls
        assert [row[k] for k in ("input_tokens", "output_tokens")] == e.tokens[:2]
        assert [row[k] for k in ("cached_tokens", "reasoning_tokens")] == e.tokens[2:]
        if e.costed:
            assert row["cost_usd"] == pytest.approx(e.cost, rel=1e-9)
        else:
            assert row["cost_usd"] is None
        for q in ("50", "95", "99"):
            exact_latency = nearest_rank(e.latency, int(q) / 100)
            exact_ttft = nearest_rank(e.ttft, int(q) / 100)
            assert close_enough(row[f"latency_p{q}_s"], exact_latency), (row, q)  # type: ignore[arg-type]
            assert close_enough(row[f"ttft_p{q}_s"], exact_ttft), (row, q)  # type: ignore[arg-type]


def test_summary_json_has_exact_counts_tokens_cost_and_close_percentiles(store_url: str) -> None:
    rows = _summary(store_url)
    _check(rows, MetricsFilter())
    assert sum(r["calls"] for r in rows) == len(RECORDS)  # type: ignore[misc]
    assert [(r["provider"], r["role"]) for r in rows][:2] == [
        ("anthropic", None),
        ("anthropic", "chat"),
    ]


@pytest.mark.parametrize(
    ("args", "where"),
    [
        (["--provider", "openai"], MetricsFilter(provider="openai")),
        (["-r", "planner"], MetricsFilter(role="planner")),
        (["--provider", "local", "--role", "chat"], MetricsFilter(provider="local", role="chat")),
    ],
)
def test_summary_filters_by_provider_and_role(
    store_url: str, args: list[str], where: MetricsFilter
) -> None:
    _check(_summary(store_url, *args), where)


def test_summary_since_relative_and_iso(store_url: str) -> None:
    before = time.time()
    rows = _summary(store_url, "--since", "2h")
    after = time.time()
    # "now" is taken inside the command: the window lies between these two
    lo, hi = MetricsFilter(since=before - 7200), MetricsFilter(since=after - 7200)
    total = sum(r["calls"] for r in rows)  # type: ignore[misc]
    assert (
        sum(1 for r in RECORDS if hi.matches(r))
        <= total
        <= sum(1 for r in RECORDS if lo.matches(r))
    )
    assert total > 0

    since = datetime.fromtimestamp(NOW - 86400 - 123.4, tz=UTC)
    until = datetime.fromtimestamp(NOW - 3600 - 5.5, tz=UTC)
    iso = [since.isoformat(), until.isoformat().replace("+00:00", "Z")]
    rows = _summary(store_url, "--since", iso[0], "--until", iso[1])
    _check(rows, MetricsFilter(since=since.timestamp(), until=until.timestamp()))


def test_summary_table_is_readable(store_url: str) -> None:
    result = runner.invoke(metrics_app, ["summary", "--store", store_url, "-p", "openai"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Provider calls" in out and "openai" in out and "anthropic" not in out
    openai_calls = sum(1 for r in RECORDS if r.provider == "openai" and r.role == "planner")
    assert f"{openai_calls:,}" in out
    assert "ms" in out and "$" in out and "±1 %" in out


def test_summary_of_an_empty_selection(store_url: str) -> None:
    result = runner.invoke(metrics_app, ["summary", "--store", store_url, "-p", "nobody"])
    assert result.exit_code == 0 and "no calls recorded" in result.stderr
    assert _summary(store_url, "-p", "nobody") == []


def test_export_csv_round_trips_every_record(store_url: str) -> None:
    result = runner.invoke(metrics_app, ["export", "--store", store_url])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == CALL_FIELDS
    by_id = {r.call_id: r for r in RECORDS}
    assert len(rows) - 1 == len(RECORDS)
    timestamps = []
    for row in rows[1:]:
        data = dict(zip(CALL_FIELDS, row, strict=True))
        original = by_id[data["call_id"]]
        assert float(data["latency_s"]) == original.latency_s
        assert int(data["input_tokens"]) == original.input_tokens
        assert data["role"] == (original.role or "") and data["status"] == original.status
        assert data["cost_usd"] == ("" if original.cost_usd is None else repr(original.cost_usd))
        timestamps.append(float(data["ts"]))
    assert timestamps == sorted(timestamps)


def test_export_json_lines_to_a_file_with_filters(store_url: str, tmp_path: Path) -> None:
    out = tmp_path / "calls.jsonl"
    args = ["export", "--store", store_url, "-f", "json", "-o", str(out), "-p", "anthropic"]
    result = runner.invoke(metrics_app, [*args, "--since", "1d"])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert f"wrote {len(lines):,} calls" in result.stderr
    got = [CallRecord.from_dict(json.loads(line)) for line in lines]
    cutoff = time.time() - 86400
    assert all(r.provider == "anthropic" and r.ts >= cutoff - 5 for r in got)
    assert {r.call_id for r in got} <= {r.call_id for r in RECORDS}
    assert len(got) >= sum(1 for r in RECORDS if r.provider == "anthropic" and r.ts >= cutoff)


def test_store_comes_from_the_environment(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BELUGA_METRICS_STORE", store_url)
    result = runner.invoke(metrics_app, ["summary", "-f", "json"])
    assert result.exit_code == 0, result.output
    assert sum(r["calls"] for r in json.loads(result.stdout)) == len(RECORDS)


def _config(tmp_path: Path, store: str) -> Path:
    path = tmp_path / "beluga.yaml"
    path.write_text(f"llm:\n  metrics: {{store: '{store}'}}\n")
    return path


@pytest.mark.parametrize("flag", ["--config", "-c"])
def test_summary_and_export_read_the_configured_store(
    store_url: str, tmp_path: Path, flag: str
) -> None:
    path = _config(tmp_path, store_url)
    summary = runner.invoke(metrics_app, ["summary", flag, str(path), "-f", "json"])
    assert summary.exit_code == 0, summary.output
    assert sum(r["calls"] for r in json.loads(summary.stdout)) == len(RECORDS)
    export = runner.invoke(metrics_app, ["export", flag, str(path), "-f", "json"])
    assert export.exit_code == 0, export.output
    assert len(export.stdout.splitlines()) == len(RECORDS)


def test_the_config_found_by_default_is_read(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BELUGA_CONFIG", str(_config(tmp_path, store_url)))
    monkeypatch.setenv("BELUGA_METRICS_STORE", f"sqlite://{tmp_path}/other.db")  # config wins
    result = runner.invoke(metrics_app, ["summary", "-f", "json"])
    assert result.exit_code == 0, result.output
    assert sum(r["calls"] for r in json.loads(result.stdout)) == len(RECORDS)


def test_an_explicit_store_wins_over_the_config(store_url: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("llm: [not, a, mapping\n")  # not even read when --store is given
    result = runner.invoke(
        metrics_app, ["summary", "--store", store_url, "-c", str(broken), "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    assert sum(r["calls"] for r in json.loads(result.stdout)) == len(RECORDS)


def test_a_broken_config_is_one_line_and_exit_3(tmp_path: Path) -> None:
    path = _config(tmp_path, "postgresql://u:pw-PLANTED-1@h:99999/db")
    result = runner.invoke(metrics_app, ["summary", "-c", str(path)])
    assert result.exit_code == 3
    assert len(result.stderr.strip().splitlines()) == 1
    assert "llm.metrics.store" in result.stderr and "PLANTED" not in result.output


def test_errors_are_one_line_with_meaningful_exit_codes(tmp_path: Path) -> None:
    missing = runner.invoke(metrics_app, ["summary", "--store", f"sqlite://{tmp_path}/none.db"])
    assert missing.exit_code == 1
    assert missing.stderr.startswith("error:") and "none.db" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1 and not (tmp_path / "none.db").exists()

    scheme = runner.invoke(metrics_app, ["export", "--store", "redis://localhost/0"])
    assert scheme.exit_code == 3 and scheme.stderr.startswith("error:")

    bad_since = runner.invoke(
        metrics_app, ["summary", "--store", f"sqlite://{tmp_path}/x.db", "--since", "soon"]
    )
    assert bad_since.exit_code == 2 and bad_since.stderr.startswith("error: --since: ")
    assert "15m, 2h or 7d" in bad_since.stderr and len(bad_since.stderr.splitlines()) == 1

    bad_format = runner.invoke(metrics_app, ["export", "--format", "xml"])
    assert bad_format.exit_code == 2
    assert "Traceback" not in missing.output + scheme.output + bad_since.output


def test_importing_the_sub_app_stays_lazy() -> None:
    code = (
        "import sys, beluga.cli.metrics;"
        "print(','.join(m for m in ('pydantic','beluga.llms','sqlite3') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
