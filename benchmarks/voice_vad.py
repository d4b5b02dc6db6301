"""Many Silero VAD sessions in one process: inline vs thread pool vs cross-session batching.

Each of N sessions feeds 20 ms frames of 16 kHz audio (speech and silence alternating, espeak-ng
speech if installed, else noise bursts) paced in real time from its own clock, through
:class:`~beluga.voice.vad.VADAnalyzer` with Silero. Reported per mode and N: frame lag (time a
frame's analysis finished minus when the frame was due) p50/p99, the largest number of windows
waiting in the batcher, CPU % per session (process CPU time / wall time / N), memory per session
(RSS growth / N) and whether it keeps real time (p99 lag < 100 ms and no growing lag).

    .venv/bin/python benchmarks/voice_vad.py                 # 50 100 200 300, all modes, 10 s
    .venv/bin/python benchmarks/voice_vad.py --sessions 100 --modes batch --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import subprocess
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from beluga.voice.vad import VADAnalyzer, VADParams
from beluga.voice.vad.silero import SileroModel, SileroVAD, _loop_batcher

FRAME = 320  # 20 ms at 16 kHz


def _audio(seconds: float) -> npt.NDArray[np.int16]:
    """Speech then silence, repeated to ``seconds``."""
    rate = 16000
    speech: npt.NDArray[np.int16]
    if shutil.which("espeak-ng"):
        import soxr

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "s.wav"
            text = "what is the weather in paris tomorrow morning?"
            subprocess.run(["espeak-ng", "-w", str(path), text], check=True)
            with wave.open(str(path)) as w:
                pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
                speech = soxr.resample(pcm, w.getframerate(), rate)
    else:
        speech = (np.random.default_rng(0).normal(0, 3000, rate * 2)).astype(np.int16)
    block = np.concatenate([speech, np.zeros(rate, dtype=np.int16)])
    reps = int(seconds * rate / block.size) + 1
    return np.tile(block, reps)[: int(seconds * rate)]


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _session(
    idx: int, audio: npt.NDArray[np.int16], mode: str, start: float, lags: list[float]
) -> None:
    analyzer = VADAnalyzer(SileroVAD(mode=mode), VADParams())  # type: ignore[arg-type]
    offset = (idx * 37) % (audio.size // FRAME) * FRAME  # sessions talk at different moments
    audio = np.roll(audio, -offset)
    start += (idx % 20) * 0.001  # frames of different sessions do not all arrive together
    loop = asyncio.get_running_loop()
    for i in range(audio.size // FRAME):
        due = start + i * 0.02
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        await analyzer.feed(audio[i * FRAME : (i + 1) * FRAME].tobytes(), i * 0.02)
        lags.append(loop.time() - due)


async def _run(n: int, mode: str, seconds: float, audio: npt.NDArray[np.int16]) -> dict[str, Any]:
    model = SileroModel.shared()
    rss0 = _rss_mb()
    lags: list[float] = []
    loop = asyncio.get_running_loop()
    backlog_max = 0
    batcher = _loop_batcher(model, 16000)
    stop = False

    async def watch() -> None:
        nonlocal backlog_max
        while not stop:
            backlog_max = max(backlog_max, batcher.backlog)
            await asyncio.sleep(0.005)

    watcher = asyncio.create_task(watch())
    cpu0, wall0 = time.process_time(), time.perf_counter()
    start = loop.time() + 0.1
    async with asyncio.TaskGroup() as tg:
        for i in range(n):
            tg.create_task(_session(i, audio[: int(seconds * 16000)], mode, start, lags))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    stop = True
    await watcher
    rss = _rss_mb() - rss0
    arr = np.array(lags) * 1000
    tail = np.array(lags[-len(lags) // 5 :]) * 1000
    p99 = float(np.percentile(arr, 99))
    return {
        "mode": mode,
        "sessions": n,
        "lag_p50_ms": float(np.percentile(arr, 50)),
        "lag_p99_ms": p99,
        "backlog_max": backlog_max,
        "cpu_pct_per_session": 100 * cpu / wall / n,
        "mem_mb_per_session": max(rss, 0.0) / n,
        "batches": batcher.batches,
        "realtime": p99 < 100 and float(np.percentile(tail, 50)) < 50,
    }


def _calibrate() -> None:
    """CPU time of one Silero window alone and in batches (the floor under every mode)."""
    model = SileroModel.shared()
    for b in (1, 8, 64):
        x = np.zeros((b, 576), dtype=np.float32)
        state = np.zeros((2, b, 128), dtype=np.float32)
        model.run(x, state, 16000)
        n = max(20, 800 // b)
        cpu = time.process_time()
        for _ in range(n):
            model.run(x, state, 16000)
        per = (time.process_time() - cpu) / n / b * 1000
        print(
            f"model alone, batch {b:>2}: {per:.3f} ms CPU per window "
            f"= {100 * per * 31.25 / 1000:.2f} % of a core per session"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[50, 100, 200, 300])
    parser.add_argument("--modes", nargs="+", default=["batch", "thread", "inline"])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    audio = _audio(args.seconds)
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    _calibrate()
    print(
        f"{'mode':7} {'N':>4} {'lag p50':>8} {'lag p99':>8} {'backlog':>8} "
        f"{'CPU%/s':>7} {'MB/s':>6} {'batches':>8} {'load':>5} realtime"
    )
    for n in args.sessions:
        for mode in args.modes:
            r = asyncio.run(_run(n, mode, args.seconds, audio))
            print(
                f"{r['mode']:7} {n:>4} {r['lag_p50_ms']:>7.1f}m {r['lag_p99_ms']:>7.1f}m "
                f"{r['backlog_max'] if mode == 'batch' else '-':>8} "
                f"{r['cpu_pct_per_session']:>7.2f} "
                f"{r['mem_mb_per_session']:>6.3f} {r['batches']:>8} "
                f"{os.getloadavg()[0]:>5.1f} {r['realtime']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
