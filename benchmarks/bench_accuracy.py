"""Accuracy of ``beluga bench`` against injected, known delays — and guidellm on the same server.

A ``beluga bench serve-mock`` process answers every request with its first token ``TTFT`` after
the request arrives and every next one ``ITL`` later (fixed delays: the truth is known). We
measure it with ``beluga.bench`` (the vLLM preset of our OpenAI adapter, streaming) at
concurrency 1 and 100, and so does guidellm (installed in the benchmark venv only), each against
a fresh server. Reported: p50 TTFT and ITL against the truth, the server's own lateness (how late
it sent tokens against their deadlines: the part of any error that is not the client's), and the
client's event-loop lag and CPU at concurrency 100 (the proof that it is not the bottleneck).

Run: ``python -m benchmarks.bench_accuracy`` (``--json`` for JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TTFT_MS = 100.0
ITL_MS = 20.0
PROMPT = "tell me about whales and the sea today"
# Answer lengths vary (seeded) so that 100 streams do not end, and send again, in lock-step:
# fixed delays with equal lengths turn every round into one burst of 100 requests.
LENGTHS = [16 + (i * 7919) % 33 for i in range(64)]


@contextmanager
def mock_server() -> Iterator[str]:
    """A ``beluga bench serve-mock`` subprocess on a free port; yields its ``/v1`` base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "beluga", "bench", "serve-mock", "--port", "0",
         "--ttft", f"fixed:{TTFT_MS}ms", "--itl", f"fixed:{ITL_MS}ms",
         "--output-tokens", "32"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def server_stats(base_url: str, *, starts: bool = False) -> dict[str, Any]:
    url = base_url.replace("/v1", "/mock/stats") + ("?starts" if starts else "")
    with urllib.request.urlopen(url, timeout=5) as r:
        data: dict[str, Any] = json.loads(r.read())
    return data


async def _ours(base_url: str, concurrency: int, requests: int) -> dict[str, Any]:
    from beluga.bench.profiling import ClientProbe
    from beluga.bench.runner import LoadSpec, Request
    from beluga.bench.stats import percentile
    from beluga.bench.suite import run_target
    from beluga.llms import ModelSettings, create
    from beluga.schema import Message

    model = create("vllm", model="mock", base_url=base_url, api_key="none")
    mode = "sync" if concurrency == 1 else "concurrency"
    spec = LoadSpec(mode, concurrency, requests=requests)
    try:
        async with ClientProbe() as probe:
            result = await run_target(
                model,
                "mock",
                spec,
                [Request([Message.user(PROMPT)], (), ModelSettings(max_tokens=n)) for n in LENGTHS],
                warmup=5,
            )
    finally:
        await model.aclose()
    assert probe.report is not None
    stats = server_stats(base_url, starts=True)
    server = {ident: (start, first) for ident, start, first in stats["starts"]}
    parts: dict[str, list[float]] = {"prep": [], "request_path": [], "server": [], "delivery": []}
    for s in result.ok:
        if s.response_id in server:
            start, first = server[s.response_id]
            parts["prep"].append(s.prep * 1e3)
            parts["request_path"].append(start * 1e3 - s.t0_ns / 1e6)
            parts["server"].append((first - start) * 1e3 - TTFT_MS)
            parts["delivery"].append(s.first_ns / 1e6 - first * 1e3)
    return {
        "ttft_error_parts_p50_ms": {k: percentile(v, 50) for k, v in parts.items() if v},
        "requests": len(result.samples),
        "errors": len(result.samples) - len(result.ok),
        "ttft_p50_ms": percentile(result.values("ttft"), 50) * 1e3,
        "itl_p50_ms": percentile(result.values("itl"), 50) * 1e3,
        "client": probe.report.to_dict(),
    }


async def _ours_in_workers(base_url: str, concurrency: int, requests: int, workers: int) -> Any:
    from beluga.bench.runner import LoadSpec, Request
    from beluga.bench.stats import percentile
    from beluga.bench.workers import run_in_workers
    from beluga.config import BelugaConfig
    from beluga.llms import ModelSettings
    from beluga.schema import Message

    provider = {"type": "vllm", "model": "mock", "base_url": base_url, "api_key": "none"}
    cfg = BelugaConfig.model_validate({"llm": {"providers": {"mock": provider}}})
    result, client = await run_in_workers(
        cfg, "mock", LoadSpec("concurrency", concurrency, requests=requests),
        [Request([Message.user(PROMPT)], (), ModelSettings(max_tokens=n)) for n in LENGTHS],
        workers=workers, warmup=5,
    )  # fmt: skip
    return {
        "requests": len(result.samples),
        "errors": len(result.samples) - len(result.ok),
        "ttft_p50_ms": percentile(result.values("ttft"), 50) * 1e3,
        "itl_p50_ms": percentile(result.values("itl"), 50) * 1e3,
        "client": client,
    }


def ours_in_workers(concurrency: int, requests: int, workers: int = 2) -> dict[str, Any]:
    with mock_server() as url:
        out: dict[str, Any] = asyncio.run(_ours_in_workers(url, concurrency, requests, workers))
        out["server_lateness_ms"] = server_stats(url)["lateness_ms"]
    return out


def ours(concurrency: int, requests: int) -> dict[str, Any]:
    from beluga.bench.server import loop_factory

    with mock_server() as url:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            out = runner.run(_ours(url, concurrency, requests))
        out["server_lateness_ms"] = server_stats(url)["lateness_ms"]
    return out


def guidellm(concurrency: int, requests: int) -> dict[str, Any] | None:
    exe = shutil.which("guidellm") or str(Path(sys.executable).with_name("guidellm"))
    if not Path(exe).exists():
        return None
    profile = "kind=synchronous" if concurrency == 1 else f"kind=concurrent,streams={concurrency}"
    with tempfile.TemporaryDirectory() as tmp, mock_server() as url:
        data, out = Path(tmp) / "prompts.jsonl", Path(tmp) / "out.json"
        data.write_text(
            "".join(
                json.dumps({"prompt": PROMPT, "output_tokens_count": LENGTHS[i % len(LENGTHS)]})
                + "\n"
                for i in range(requests + 200)  # guidellm stops when its data runs out
            )
        )
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        subprocess.run(
            [exe, "run", "--backend", f"kind=openai_http,target={url.removesuffix('/v1')}",
             "--profile", profile, "--constraint", f"kind=max_requests,count={requests}",
             "--data", f"kind=json_file,path={data}", "--output", f"kind=json,path={out}",
             "--disable-console"],
            check=True, env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            timeout=300,
        )  # fmt: skip
        metrics = json.loads(out.read_text())["benchmarks"][0]["metrics"]
        lateness = server_stats(url)["lateness_ms"]
    ttft = metrics["time_to_first_token_ms"]["successful"]
    itl = metrics["inter_token_latency_ms"]["successful"]
    return {
        "requests": ttft["count"],
        "ttft_p50_ms": ttft["percentiles"]["p50"],
        "itl_p50_ms": itl["percentiles"]["p50"],
        "server_lateness_ms": lateness,
    }


def run(requests_c1: int = 50, requests_c100: int = 300) -> dict[str, Any]:
    results: dict[str, Any] = {
        "truth": {"ttft_ms": TTFT_MS, "itl_ms": ITL_MS, "tokens": f"{min(LENGTHS)}-{max(LENGTHS)}"}
    }
    for concurrency, n in ((1, requests_c1), (100, requests_c100)):
        row: dict[str, Any] = {"beluga": ours(concurrency, n)}
        if concurrency > 1:
            row["beluga_2_workers"] = ours_in_workers(concurrency, n)
        try:
            row["guidellm"] = guidellm(concurrency, n)
        except (subprocess.SubprocessError, OSError, KeyError) as exc:
            row["guidellm"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        results[f"concurrency_{concurrency}"] = row
    return results


def report(results: dict[str, Any]) -> None:
    t = results["truth"]
    print(f"Accuracy against injected delays: TTFT {t['ttft_ms']:g} ms, ITL {t['itl_ms']:g} ms "
          f"({t['tokens']} tokens), p50, error = measured - truth")  # fmt: skip
    for key in ("concurrency_1", "concurrency_100"):
        row = results[key]
        for tool in ("beluga", "beluga_2_workers", "guidellm"):
            if tool not in row:
                continue
            r = row.get(tool)
            if not r:
                print(f"  {key:16} {tool:9} not installed")
                continue
            if "error" in r:
                print(f"  {key:16} {tool:9} failed: {r['error']}")
                continue
            late = r["server_lateness_ms"]
            ttft_error = r["ttft_p50_ms"] - t["ttft_ms"]
            print(
                f"  {key:16} {tool:16} TTFT {r['ttft_p50_ms']:8.3f} ms ({ttft_error:+.3f})"
                f"  ITL {r['itl_p50_ms']:7.3f} ms ({r['itl_p50_ms'] - t['itl_ms']:+.3f})"
                f"  n={r['requests']}  server lateness p50 {late['p50']:.3f} ms"
            )
        parts = row["beluga"].get("ttft_error_parts_p50_ms")
        if parts:
            print(
                f"  {key:16} beluga TTFT error by part (p50): request path (sent -> server "
                f"handler) {parts['request_path']:.3f} ms, server {parts['server']:+.3f} ms, "
                f"delivery (token written -> event in the benchmark) {parts['delivery']:.3f} ms;"
                f" not in TTFT: the client's own time before sending {parts['prep']:.3f} ms"
            )
        c = row["beluga"]["client"]
        print(
            f"  {key:16} beluga client: CPU {c['cpu_fraction']:.0%} of a core, loop lag "
            f"p50 {c['loop_lag_p50_ms']:.3f} / p99 {c['loop_lag_p99_ms']:.3f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = run()
    print(json.dumps(results, indent=2)) if args.json else report(results)


if __name__ == "__main__":
    main()
