"""Voice sessions per process and the framework's own reply latency: Beluga next to Pipecat.

Both run the same pipeline with zero-latency doubles — Silero VAD (stop_secs 0.2) on every
session -> STT double (final transcript at the VAD's stop) -> LLM double (two deltas at once) ->
TTS double (one audio frame per text) -> sink — with N sessions in one process, each fed 20 ms
frames of espeak-ng speech in real time (``_voice_feed``). Each (contender, N) runs in its own
process (``voice_beluga.py`` / ``voice_pipecat.py``), interleaved, so neither inherits the other's
memory or threads. Reported: end of speech (VAD stop) -> first reply audio frame p50/p99, the
VAD's backlog (how late its stop came against when it was due), frame lag, CPU % of one core
and RSS per session, and whether the run kept real time (every turn answered, VAD at most 100 ms
late, 99 % of frames less than 40 ms late). The machine's load average is printed with the
figures: other jobs share these 2 cores, so the counts are lower bounds.

    python -m benchmarks.voice                       # Beluga 1 50 100 200 300, Pipecat 1 25 50
    python -m benchmarks.voice --sessions 1 100 --peer-sessions 1 35
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"


def _pipecat_python() -> str | None:
    """The interpreter that has Pipecat: this one, or the bench venv's."""
    if importlib.util.find_spec("pipecat") is not None:
        probe = subprocess.run(
            [sys.executable, "-c", "import pipecat.pipeline.pipeline, loguru"],
            capture_output=True,
        )
        if probe.returncode == 0:
            return sys.executable
    return str(BENCH_PYTHON) if BENCH_PYTHON.exists() else None


def _run(python: str, module: str, sessions: int, timeout: float) -> dict[str, Any] | None:
    try:
        done = subprocess.run(
            [python, "-m", module, str(sessions)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        print(f"  {module} {sessions}: failed ({tail[0]})", file=sys.stderr)
        return None
    result: dict[str, Any] = json.loads(lines[-1])
    result["load_avg_1m"] = round(os.getloadavg()[0], 2)
    return result


def run(sessions: list[int], peer_sessions: list[int], *, timeout: float = 60.0) -> dict[str, Any]:
    """Every count for both contenders, interleaved; the largest real-time count of each."""
    pipecat = _pipecat_python()
    rows: list[dict[str, Any]] = []
    counts = sorted(set(sessions) | set(peer_sessions))
    for n in counts:
        if n in sessions:
            row = _run(sys.executable, "benchmarks.voice_beluga", n, timeout)
            if row is not None:
                rows.append(row)
        if n in peer_sessions and pipecat is not None:
            row = _run(pipecat, "benchmarks.voice_pipecat", n, timeout)
            if row is not None:
                rows.append(row)
    best: dict[str, int] = {}
    for row in rows:
        if row["real_time"]:
            name = str(row["contender"])
            best[name] = max(best.get(name, 0), int(row["sessions"]))
    ratios: dict[str, float] = {}
    for n in counts:
        mine = next((r for r in rows if r["contender"] == "beluga" and r["sessions"] == n), None)
        peer = next((r for r in rows if r["contender"] == "pipecat" and r["sessions"] == n), None)
        if mine and peer and mine["reply_ms_p50"] > 0:
            ratios[str(n)] = round(peer["reply_ms_p50"] / mine["reply_ms_p50"], 2)
    return {
        "rows": rows,
        "real_time_sessions": best,
        "pipecat_over_beluga_reply_p50": ratios,
        "pipecat": pipecat is not None,
        "cpus": os.cpu_count(),
    }


def report(results: dict[str, Any]) -> None:
    print(
        "Voice sessions in one process, real-time 20 ms frames, Silero VAD on each, "
        f"zero-latency doubles ({results['cpus']} CPUs; load average shown per run)"
    )
    print(
        "  contender   N  reply p50/p99 ms  VAD backlog p50/max ms  frame lag p50/p99 ms  "
        "CPU%/sess  MB/sess  real time  load"
    )
    for r in results["rows"]:
        print(
            f"  {r['contender']:8} {r['sessions']:4}"
            f"  {r['reply_ms_p50']:7.2f} /{r['reply_ms_p99']:7.2f}"
            f"  {r['vad_backlog_ms_p50']:9.1f} /{r['vad_backlog_ms_max']:8.1f}"
            f"  {r['frame_lag_ms_p50']:8.1f} /{r['frame_lag_ms_p99']:8.1f}"
            f"  {r['cpu_pct_per_session']:8.2f}  {r['rss_mb_per_session']:7.2f}"
            f"  {'yes' if r['real_time'] else 'no':>9}  {r['load_avg_1m']:4.1f}"
        )
    best = results["real_time_sessions"]
    print(
        f"  largest real-time count: Beluga {best.get('beluga', 0)}, "
        f"Pipecat {best.get('pipecat', 0) if results['pipecat'] else 'not installed'}"
    )
    for n, ratio in results["pipecat_over_beluga_reply_p50"].items():
        print(f"  N={n}: Pipecat's reply latency p50 is {ratio}x Beluga's")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 50, 100, 200, 300])
    parser.add_argument("--peer-sessions", type=int, nargs="+", default=[1, 25, 50])
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    results = run(args.sessions, args.peer_sessions)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        report(results)


if __name__ == "__main__":
    main()
