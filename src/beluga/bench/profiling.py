"""The benchmark's own cost while it runs: CPU, memory, event-loop lag; cProfile and py-spy.

A client that is the bottleneck makes every provider look slow. :class:`ClientProbe` watches for
that: it measures how long a ready callback waits for the event loop (sampled every 5 ms: a
busy loop delays every chunk's timestamp by that much), the process CPU time over the wall time
(``resource.getrusage``; 1.0 is one core saturated) and, when asked, the peak of memory the
Python heap allocated during the run (``tracemalloc``, which itself slows allocation, so it is
off unless ``memory=True``).
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
import tracemalloc
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from beluga.core.errors import BelugaError, ErrorCode

__all__ = ["ClientProbe", "ProbeReport", "profiled", "py_spy"]


@dataclass(slots=True, frozen=True)
class ProbeReport:
    """What the benchmark cost its own process during the measured phase."""

    wall_s: float
    cpu_s: float
    cpu_fraction: float
    """CPU seconds per wall second (1.0 is one core fully busy)."""
    loop_lag_p50_ms: float
    loop_lag_p99_ms: float
    loop_lag_max_ms: float
    max_rss_mb: float
    heap_peak_mb: float | None
    """Peak Python heap allocated during the run (tracemalloc), when measured."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class ClientProbe:
    """``async with ClientProbe() as probe: ...`` then ``probe.report``."""

    def __init__(self, *, memory: bool = False, interval: float = 0.005) -> None:
        self.memory = memory
        self.interval = interval
        self.lags: list[float] = []
        self.report: ProbeReport | None = None
        self._task: asyncio.Task[None] | None = None
        self._started_tracing = False

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        clock = time.perf_counter
        while True:
            await asyncio.sleep(self.interval)
            ready = loop.create_future()
            t = clock()
            loop.call_soon(ready.set_result, None)
            await ready
            self.lags.append(clock() - t)

    async def __aenter__(self) -> ClientProbe:
        if self.memory:
            if not tracemalloc.is_tracing():
                tracemalloc.start()
                self._started_tracing = True
            tracemalloc.reset_peak()
            self._heap0 = tracemalloc.get_traced_memory()[0]
        self._wall0, self._cpu0 = time.perf_counter(), _cpu()
        self._task = asyncio.get_running_loop().create_task(self._watch())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        wall, cpu = time.perf_counter() - self._wall0, _cpu() - self._cpu0
        heap = None
        if self.memory:
            heap = (tracemalloc.get_traced_memory()[1] - self._heap0) / 2**20
            if self._started_tracing:
                tracemalloc.stop()
        lags = sorted(self.lags) or [0.0]

        def q(p: float) -> float:
            return lags[min(int(p * len(lags)), len(lags) - 1)] * 1e3

        self.report = ProbeReport(
            wall_s=wall,
            cpu_s=cpu,
            cpu_fraction=cpu / wall if wall > 0 else 0.0,
            loop_lag_p50_ms=q(0.5),
            loop_lag_p99_ms=q(0.99),
            loop_lag_max_ms=lags[-1] * 1e3,
            max_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            heap_peak_mb=heap,
        )


class profiled:
    """cProfile the block and write the stats to ``path`` (``python -m pstats path`` reads it);
    ``None`` profiles nothing."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._profile: cProfile.Profile | None = None

    def __enter__(self) -> profiled:
        if self.path is not None:
            self._profile = cProfile.Profile()
            self._profile.enable()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._profile is not None and self.path is not None:
            self._profile.disable()
            self._profile.dump_stats(str(self.path))


class py_spy:
    """Record this process with py-spy (a flame graph SVG at ``path``) while the block runs."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> py_spy:
        if self.path is None:
            return self
        # on PATH, or beside this interpreter (a virtual environment that is not activated)
        exe = shutil.which("py-spy", path=f"{os.environ.get('PATH', '')}{os.pathsep}"
                           f"{Path(sys.executable).parent}")  # fmt: skip
        if exe is None:
            raise BelugaError(
                "bench.py_spy",
                ErrorCode.INVALID_CONFIG,
                "py-spy is not installed: pip install py-spy (or use --profile for cProfile)",
            )
        self._proc = subprocess.Popen(
            [exe, "record", "--pid", str(os.getpid()), "--output", str(self.path), "--nonblocking"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(0.3)
        if self._proc.poll() is not None:
            message = (self._proc.stderr.read() if self._proc.stderr else b"").decode()[-300:]
            raise BelugaError(
                "bench.py_spy",
                ErrorCode.INVALID_CONFIG,
                f"py-spy could not attach ({message.strip() or 'no reason given'}); it needs "
                "ptrace permission (run as root or set kernel.yama.ptrace_scope=0)",
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.send_signal(signal.SIGINT)
            try:
                self._proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
