"""Shared benchmark plumbing: a fake server in its own process, interleaved timing rounds."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@contextmanager
def fake_openai_server(chunks: int = 100) -> Iterator[str]:
    """Start ``benchmarks.fake_openai`` in a subprocess; yield its ``/v1`` base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.fake_openai", "--chunks", str(chunks)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        port = int(line.split()[1])
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@dataclass(slots=True)
class Timing:
    name: str
    per_call_s: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.per_call_s)


async def interleaved(
    contenders: dict[str, Callable[[], Awaitable[object]]],
    *,
    calls: int,
    rounds: int,
    warmup: int = 50,
) -> dict[str, Timing]:
    """Time each contender ``calls`` times per round, rotating who goes first, for ``rounds``.

    Rotation and interleaving spread the machine's noise over every contender alike.
    """
    for fn in contenders.values():
        for _ in range(warmup):
            await fn()
    names = list(contenders)
    out = {n: Timing(n, []) for n in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            fn = contenders[name]
            start = time.perf_counter()
            for _ in range(calls):
                await fn()
            out[name].per_call_s.append((time.perf_counter() - start) / calls)
    return out


def ratio_median(a: Timing, b: Timing) -> float:
    """Median over rounds of a/b (robust to drifts that hit both in one round)."""
    return statistics.median(x / y for x, y in zip(a.per_call_s, b.per_call_s, strict=True))


def micro(fn: Callable[[], object], *, number: int = 100_000, repeat: int = 7) -> float:
    """Median seconds per call of a synchronous ``fn``."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)
