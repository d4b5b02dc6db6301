"""One load point spread over worker processes, so the client is not one event loop.

A Python process streams a few thousand chunks a second through an SDK; at 100+ concurrent
streams (or on a machine it shares) one event loop falls behind, and its lag would be read as
the provider's latency. With ``workers=N`` each of N processes (``spawn``ed, each on its own
precise event loop) builds the target from the same configuration and keeps its share of the
concurrency in flight. Their samples are merged on one time axis: ``perf_counter_ns`` is
CLOCK_MONOTONIC, which every process of a machine shares. Each worker reports its own CPU and
event-loop lag; the run shows the worst. Each finished request is also told to the parent
(its label and error, down a queue) for the live progress display.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from beluga.bench.profiling import ClientProbe
from beluga.bench.results import TargetResult
from beluga.bench.runner import LoadSpec, Request, Sample
from beluga.config import BelugaConfig

if TYPE_CHECKING:
    from beluga.bench.suite import Progress

__all__ = ["STREAMS_PER_WORKER", "auto_workers", "run_in_workers", "shares"]

_DONE: Any = None
"""In a worker: the queue that tells the parent of each finished request, if it watches."""


def _watch(queue: Any) -> None:
    global _DONE
    _DONE = queue


def _tell(label: str, sample: Sample) -> None:
    _DONE.put(sample.error)


STREAMS_PER_WORKER = 64
"""Concurrent streams one client process is given under ``workers: auto``: measured on a
loaded 2-core machine, one loop falls behind between 20 and 100 streams of 50 tokens/s."""


def auto_workers(spec: LoadSpec, workers: int | str) -> int:
    """The workers a load point gets: the number given, or for ``auto`` one per
    :data:`STREAMS_PER_WORKER` concurrent streams, at most the machine's cores."""
    if isinstance(workers, int):
        return workers
    if spec.mode != "concurrency":
        return 1
    wanted = -(-spec.concurrency // STREAMS_PER_WORKER)
    return max(1, min(wanted, os.cpu_count() or 1))


def shares(spec: LoadSpec, workers: int) -> list[LoadSpec]:
    """``spec`` split into ``workers`` parts: concurrency and requests (or rate) divided as
    evenly as they go; never more workers than concurrent slots."""
    width = spec.concurrency if spec.mode == "concurrency" else workers
    n = max(1, min(workers, width))
    out = []
    for i in range(n):
        part_width = width // n + (i < width % n)
        part_requests = spec.requests // n + (i < spec.requests % n)
        if spec.mode == "concurrency":
            part = replace(spec, concurrency=part_width, requests=max(part_requests, 1))
        elif spec.mode in ("rate", "poisson"):
            rate = (spec.rate or 1.0) / n
            part = replace(spec, rate=rate, requests=max(part_requests, 1), seed=spec.seed + i)
        else:
            part = replace(spec, requests=max(part_requests, 1))
        out.append(part)
    return out


def _work(
    config: dict[str, Any] | None,
    source: str,
    ref: str,
    spec: LoadSpec,
    requests: Sequence[Request],
    stream: bool,
    timeout: float | None,
    warmup: int,
    origin: int,
    index: int,
) -> tuple[list[Sample], float, dict[str, Any], str, str]:
    from beluga.bench.server import loop_factory
    from beluga.bench.suite import run_target
    from beluga.llms import from_config

    if config is None:  # a file: read again here (its ${VARS} come from the inherited env)
        from beluga.config import load_config

        cfg = load_config(source)
    else:
        cfg = BelugaConfig.model_validate(config, context={"source": source})

    async def go() -> tuple[list[Sample], float, dict[str, Any], str, str]:
        model = from_config(cfg, ref)
        reseed = getattr(model, "reseed", None)  # the mock: its own draws per worker
        if index and callable(reseed):
            reseed(getattr(model, "seed", 0) + index)
        try:
            async with ClientProbe() as probe:
                result = await run_target(
                    model, ref, spec, requests, stream=stream, timeout=timeout, warmup=warmup,
                    origin=origin, progress=_tell if _DONE is not None else None,
                )  # fmt: skip
        finally:
            await model.aclose()
        report = probe.report.to_dict() if probe.report is not None else {}
        return result.samples, result.wall_s, report, result.provider, result.model

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(go())


async def run_in_workers(
    config: BelugaConfig,
    ref: str,
    spec: LoadSpec,
    requests: Sequence[Request],
    *,
    workers: int,
    stream: bool = True,
    timeout: float | None = None,
    warmup: int = 0,
    progress: Progress | None = None,
) -> tuple[TargetResult, dict[str, Any]]:
    """``spec`` run by ``workers`` processes; the merged result and the worst worker probe.
    ``progress`` is called in this process as each request finishes in any worker."""
    parts = shares(spec, workers)
    data = None if _is_file(config.source) else _llm_section(config)
    origin = time.perf_counter_ns()
    loop = asyncio.get_running_loop()
    context = multiprocessing.get_context("spawn")
    queue = context.SimpleQueue() if progress is not None else None
    with ProcessPoolExecutor(
        len(parts), mp_context=context, initializer=_watch, initargs=(queue,)
    ) as pool:
        relay = None
        if progress is not None and queue is not None:
            label = f"{ref} @ {spec.label()}"  # the whole load point, not one worker's share
            relay = asyncio.ensure_future(
                loop.run_in_executor(None, _relay, queue, label, progress)
            )
        futures = [
            loop.run_in_executor(
                pool,
                _work,
                data,
                config.source,
                ref,
                part,
                list(requests),
                stream,
                timeout,
                warmup,
                origin,
                i,
            )
            for i, part in enumerate(parts)
        ]
        try:
            done = await asyncio.gather(*futures)
        finally:
            if relay is not None and queue is not None:
                queue.put(_END)
                await relay
    samples = sorted((s for d in done for s in d[0]), key=lambda s: s.start)
    wall = max(d[1] for d in done)
    probes = [d[2] for d in done if d[2]]
    provider, model_name = done[0][3], done[0][4]
    worst = {
        "workers": len(parts),
        "cpu_fraction": sum(p["cpu_fraction"] for p in probes),
        "loop_lag_p50_ms": max(p["loop_lag_p50_ms"] for p in probes),
        "loop_lag_p99_ms": max(p["loop_lag_p99_ms"] for p in probes),
        "loop_lag_max_ms": max(p["loop_lag_max_ms"] for p in probes),
        "max_rss_mb": max(p["max_rss_mb"] for p in probes),
    }
    load: dict[str, Any] = {
        "mode": spec.mode, "label": spec.label(), "concurrency": spec.concurrency,
        "workers": len(parts),
    }  # fmt: skip
    if spec.rate is not None:
        load["rate"] = spec.rate
    return TargetResult(ref, provider, model_name, load, samples, wall), worst


_END = -1  # what the parent puts on the queue when every worker is done (no error is an int)


def _relay(queue: Any, label: str, progress: Progress) -> None:
    """In a thread of the parent: each finished request the workers tell (its error, or
    None), to ``progress``, until :data:`_END`."""
    while (error := queue.get()) != _END:
        progress(label, Sample(start=0.0, e2e=0.0, error=error))


def _is_file(source: str) -> bool:
    return os.path.isfile(source)


def _llm_section(config: BelugaConfig) -> dict[str, Any]:
    """The ``llm`` section as a worker needs it, secrets included (a dump masks them): built
    from the live entries and sent only down the pipe to the child process."""
    from beluga.llms.config import LLMConfig

    llm = LLMConfig.of(config)
    providers = {}
    for name, entry in llm.providers.items():
        options = entry.factory_options()
        if entry.type is not None:
            options["type"] = entry.type
        providers[name] = {**options, "settings": entry.settings, "middleware": entry.middleware}
    return {
        "llm": {
            "default": llm.default,
            "settings": llm.settings,
            "providers": providers,
            "roles": {k: v.model_dump() for k, v in llm.roles.items()},
            "routing": llm.routing.model_dump(),
            "prices": {k: v.model_dump() for k, v in llm.prices.items()},
            "metrics": {"enabled": False},
        }
    }
