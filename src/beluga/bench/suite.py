"""Running a scenario: each target, at each load point, warmed up, timed and priced.

Targets run one after the other (never at once, so one provider's load cannot slow another's
figures), each through the same path an application uses (:func:`beluga.llms.from_config`:
its settings, middleware and, for a role, its router). A ``bench {target}`` span wraps each load
point and the model's own ``chat`` spans nest under it.
"""

from __future__ import annotations

import importlib
import random
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from beluga.bench.config import BenchConfig, LoadConfig, Scenario, TokenDistribution
from beluga.bench.profiling import ClientProbe
from beluga.bench.results import BenchResult, TargetResult
from beluga.bench.runner import LoadSpec, Mode, Request, Sample, measure, run_load
from beluga.bench.slo import SLO
from beluga.bench.workers import auto_workers
from beluga.config import BelugaConfig
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.ids import new_id
from beluga.llms import ChatModel, ModelSettings, from_config
from beluga.llms.config import LLMConfig
from beluga.llms.metered import prices_from
from beluga.observability import start_operation
from beluga.schema import Message, OutputSchema, ToolDefinition

__all__ = [
    "Progress",
    "build_requests",
    "findings",
    "load_points",
    "quality_check",
    "run_scenario",
    "run_search",
    "run_target",
]

Progress = Callable[[str, Sample], None]
"""Told each finished request with the label of its target and load point."""

_VOCAB = [
    "whale",
    "ocean",
    "current",
    "signal",
    "answer",
    "model",
    "token",
    "stream",
    "latency",
    "request",
    "provider",
    "budget",
    "route",
    "agent",
    "memory",
    "voice",
    "harbor",
    "river",
    "summit",
    "garden",
    "orbit",
    "lantern",
    "meadow",
    "ember",
]
_DEFAULT_PROMPT = "Write one short paragraph about how whales communicate."


def build_requests(scenario: Scenario) -> list[Request]:
    """The requests a scenario sends (cycled): its prompts, or its seeded synthetic ones."""
    tools = tuple(
        ToolDefinition(
            str(t["name"]),
            str(t.get("description", "")),
            t.get("parameters") or {"type": "object", "properties": {}},
        )
        for t in scenario.tools
    )
    output = OutputSchema.of(scenario.output) if scenario.output is not None else None

    def request(prompt: str, max_tokens: int | None) -> Request:
        messages = [Message.user(prompt)]
        if scenario.system:
            messages.insert(0, Message.system(scenario.system))
        settings = ModelSettings(max_tokens=max_tokens, output=output, seed=scenario.seed)
        return Request(messages, tools, settings)

    if scenario.synthetic is not None:
        syn = scenario.synthetic
        rng = random.Random(syn.seed)
        prompt_len, answer_len = (
            TokenDistribution(syn.prompt_tokens),
            TokenDistribution(syn.output_tokens),
        )
        out = []
        for _ in range(syn.count):
            words = [_VOCAB[rng.randrange(len(_VOCAB))] for _ in range(prompt_len.draw(rng))]
            out.append(request(" ".join(words), answer_len.draw(rng)))
        return out
    return [request(p, scenario.max_tokens) for p in (scenario.prompts or [_DEFAULT_PROMPT])]


def load_points(load: LoadConfig, requests: int, seed: int = 0) -> list[LoadSpec]:
    """The load points of a scenario: one per concurrency or rate of a sweep. A concurrency
    point sends at least two requests per slot, so every slot is busy for most of it."""
    if load.mode in ("rate", "poisson"):
        if not load.rate:
            raise BelugaError(
                "bench.load",
                ErrorCode.INVALID_CONFIG,
                f"load mode {load.mode} needs load.rate (requests per second, or a list to sweep)",
            )
        return [
            LoadSpec(load.mode, rate=r, requests=requests, duration=load.duration, seed=seed)
            for r in load.rate
        ]
    if load.mode == "concurrency":
        return [
            LoadSpec("concurrency", c, requests=max(requests, 2 * c), duration=load.duration)
            for c in load.concurrency
        ]
    return [LoadSpec("sync", requests=requests, duration=load.duration)]


def quality_check(scenario: Scenario) -> Callable[[str], bool] | None:
    """The user's check of an answer, from ``quality.contains`` or ``quality.check``."""
    quality = scenario.quality
    if quality is None:
        return None
    if quality.check:
        module, _, name = quality.check.partition(":")
        try:
            fn = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            raise BelugaError(
                "bench.quality",
                ErrorCode.INVALID_CONFIG,
                f"quality.check {quality.check!r} cannot be imported ({exc}); give "
                "'module:function' importable from the working directory",
            ) from None
        return lambda text: bool(fn(text))
    if quality.contains:
        pattern = re.compile(quality.contains)
        return lambda text: pattern.search(text) is not None
    return None


def _identity(model: ChatModel, ref: str) -> tuple[str, str]:
    try:
        return model.provider, model.model_name
    except Exception:  # a wrapper that cannot say: the reference names it
        return ref, ref


async def run_target(
    model: ChatModel,
    ref: str,
    spec: LoadSpec,
    requests: Sequence[Request],
    *,
    stream: bool = True,
    timeout: float | None = None,
    warmup: int = 0,
    progress: Progress | None = None,
    origin: int | None = None,
) -> TargetResult:
    """One target at one load point: ``warmup`` requests first (not counted; at least one per
    concurrent slot, sent as many at a time, so connection set-up is not timed), then the
    load."""
    provider, model_name = _identity(model, ref)
    label = f"{ref} @ {spec.label()}"
    if warmup:
        # at the load's own concurrency, so the connections it needs are open before timing
        width = spec.concurrency if spec.mode == "concurrency" else 1
        await run_load(
            LoadSpec("concurrency", width, requests=max(warmup, width)),
            requests,
            lambda request, origin: measure(model, request, stream=stream, timeout=timeout),
        )

    async def send(request: Request, origin: int) -> Sample:
        return await measure(model, request, stream=stream, timeout=timeout, origin=origin)

    attrs = {"beluga.bench.load": spec.label(), "beluga.bench.requests": spec.requests}
    with start_operation("bench", ref, provider=provider, attributes=attrs) as op, op.activated():
        samples, wall = await run_load(
            spec,
            requests,
            send,
            progress=(lambda s: progress(label, s)) if progress is not None else None,
            origin=origin,
        )
        op.set("beluga.bench.errors", sum(1 for s in samples if not s.ok))
    load: dict[str, Any] = {
        "mode": spec.mode,
        "label": spec.label(),
        "concurrency": spec.concurrency,
    }
    if spec.rate is not None:
        load["rate"] = spec.rate
    if spec.duration is not None:
        load["duration"] = spec.duration
    return TargetResult(ref, provider, model_name, load, samples, wall)


async def run_scenario(
    config: BelugaConfig,
    scenario: Scenario,
    *,
    targets: Sequence[str] | None = None,
    progress: Progress | None = None,
    memory: bool = False,
    label: str | None = None,
    points: Sequence[LoadSpec] | None = None,
) -> BenchResult:
    """Run ``scenario`` over ``targets`` (default: the scenario's, else ``llm.default``)."""
    bench = BenchConfig.of(config)
    refs = list(targets or scenario.targets or [LLMConfig.of(config).default])
    requests = build_requests(scenario)
    n = scenario.requests or bench.requests
    specs = list(points or load_points(scenario.load, n, scenario.seed))
    warmup = bench.warmup if scenario.warmup is None else scenario.warmup
    timeout = scenario.timeout or bench.timeout
    check = quality_check(scenario)
    prices = prices_from(config)
    results: list[TargetResult] = []
    clients: dict[str, dict[str, Any]] = {}
    async with ClientProbe(memory=memory) as probe:
        for ref in refs:
            model = from_config(config, ref)
            try:
                for spec in specs:
                    workers = auto_workers(spec, scenario.load.workers)
                    if workers > 1 and spec.mode != "sync":
                        from beluga.bench.workers import run_in_workers

                        result, client = await run_in_workers(
                            config, ref, spec, requests, workers=workers,
                            stream=scenario.stream, timeout=timeout, warmup=warmup,
                            progress=progress,
                        )  # fmt: skip
                        clients[f"{ref} @ {spec.label()}"] = client
                    else:
                        result = await run_target(
                            model, ref, spec, requests, stream=scenario.stream,
                            timeout=timeout, warmup=warmup, progress=progress,
                        )  # fmt: skip
                    result.price(prices)
                    if check is not None and result.ok:
                        result.quality_pass_rate = sum(check(s.text) for s in result.ok) / len(
                            result.ok
                        )
                    results.append(result)
            finally:
                await model.aclose()
    report = probe.report.to_dict() if probe.report is not None else None
    run = BenchResult(new_id("bench"), time.time(), scenario.name, label, results, probe=report)
    if clients:
        run.extra["workers"] = clients
    return run


async def run_search(
    config: BelugaConfig,
    scenario: Scenario,
    slo: SLO,
    *,
    targets: Sequence[str] | None = None,
    start: float = 1.0,
    limit: float = 1000.0,
    step_seconds: float = 5.0,
    progress: Progress | None = None,
    label: str | None = None,
) -> BenchResult:
    """For each target, the highest arrival rate (Poisson unless the scenario says ``rate``)
    that meets ``slo``; every rate tried is a result of the run."""
    from beluga.bench.analysis import search_rate

    bench = BenchConfig.of(config)
    refs = list(targets or scenario.targets or [LLMConfig.of(config).default])
    requests = build_requests(scenario)
    mode: Mode = "rate" if scenario.load.mode == "rate" else "poisson"
    timeout = scenario.timeout or bench.timeout
    prices = prices_from(config)
    results: list[TargetResult] = []
    found: dict[str, float | None] = {}
    async with ClientProbe() as probe:
        for ref in refs:
            model = from_config(config, ref)
            try:
                warmup = bench.warmup if scenario.warmup is None else scenario.warmup
                for i in range(warmup):
                    await measure(model, requests[i % len(requests)], timeout=timeout)

                async def at(rate: float, model: ChatModel = model, ref: str = ref) -> TargetResult:
                    spec = LoadSpec(mode, rate=rate, duration=step_seconds, seed=scenario.seed)
                    result = await run_target(
                        model, ref, spec, requests, stream=scenario.stream, timeout=timeout,
                        progress=progress,
                    )  # fmt: skip
                    result.price(prices)
                    return result

                best, runs = await search_rate(at, slo, start=start, limit=limit)
                found[ref] = best
                results.extend(runs)
            finally:
                await model.aclose()
    report = probe.report.to_dict() if probe.report is not None else None
    result = BenchResult(new_id("bench"), time.time(), scenario.name, label, results, probe=report)
    result.extra["search"] = {"slo": str(slo), "mode": mode, "max_rate": found}
    return result


def findings(config: BelugaConfig, scenario: Scenario, result: BenchResult) -> None:
    """Add the SLO verdicts, degradation checks and role recommendations to ``result.extra``."""
    from beluga.bench.analysis import degradation, recommend
    from beluga.bench.slo import parse_slo

    bench = BenchConfig.of(config)
    if scenario.slo:
        slo = parse_slo(scenario.slo)
        result.extra["slo"] = {
            f"{r.target} @ {r.load.get('label')}": {
                "met": r.meets(slo),
                "clauses": [
                    {"clause": str(c), "observed": v, "holds": ok}
                    for c, v, ok in slo.check(r.observe)
                ],
            }
            for r in result.results
        }
    if scenario.load.duration is not None:
        result.extra["degradation"] = {
            f"{r.target} @ {r.load.get('label')}": degradation(
                r,
                window=scenario.load.window,
                threshold=bench.regression_threshold,
                alpha=bench.alpha,
            )
            for r in result.results
        }
    min_pass = scenario.quality.min_pass_rate if scenario.quality else 0.95
    advice = recommend(config, result.results, min_pass_rate=min_pass)
    if advice:
        result.extra["recommendations"] = advice
