"""Timing one request, and driving many by a load pattern.

Every figure comes from the stream itself: ``time.perf_counter_ns()`` is read when the request
is sent and when each content chunk (text, tool-call or reasoning delta) reaches the benchmark,
so TTFT is "first chunk - sent", each inter-token latency (ITL) is the gap between two chunks,
end-to-end is "stream closed - sent", and tokens/s per request is the output tokens over the
end-to-end time. Output tokens are the provider's reported usage, else the chunks counted.
"Sent" is when the HTTP adapters' transport starts writing the request (the first attempt's,
:mod:`beluga.core.timing`); the framework's and the HTTP client's own time before that is kept
apart as ``prep``, so a provider is not charged for the client. A provider without the mark
(in-process models, SDKs not on httpx) is timed from the call's start.

Load modes: ``sync`` (one at a time), ``concurrency`` (N requests always in flight), ``rate``
(requests started at a constant rate) and ``poisson`` (exponential gaps, seeded). Arrivals are
scheduled against the monotonic clock and each start's lateness is kept: when the client
cannot keep up, it shows there (and in the probe's loop lag), not as a slower provider.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.timing import watch_sends
from beluga.llms import ChatModel, ModelSettings
from beluga.schema import (
    FinishEvent,
    Message,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    ToolDefinition,
    Usage,
    UsageEvent,
)

__all__ = ["LoadSpec", "Mode", "Request", "Sample", "measure", "run_load"]

_CONTENT = (TextDelta, ToolCallDelta, ReasoningDelta)
_KEEP_TEXT = 4000  # characters of each answer kept for the quality check


@dataclass(slots=True, frozen=True)
class Request:
    """One prompt to send, with its tools and settings (``max_tokens`` sets answer length)."""

    messages: Sequence[Message]
    tools: Sequence[ToolDefinition] = ()
    settings: ModelSettings | None = None


@dataclass(slots=True)
class Sample:
    """What one request did; times in seconds from the load's start (``start``) or durations."""

    start: float
    e2e: float
    ttft: float | None = None
    itls: list[float] = field(default_factory=list)
    output_tokens: int = 0
    usage: Usage | None = None
    error: str | None = None
    """The ``ErrorCode`` value (or exception type) of a failed request; None when it worked."""
    timed_out: bool = False
    text: str = ""
    lateness: float = 0.0
    """How late the request started against its scheduled arrival (rate and Poisson modes)."""
    response_id: str | None = None
    prep: float = 0.0
    """Seconds from the call's start to the request being sent: the client's own part."""
    t0_ns: int = 0
    """``perf_counter_ns()`` (CLOCK_MONOTONIC, shared by the machine's processes) when the
    request was sent; ``first_ns`` at its first chunk. They line a sample up with a server's
    own clock."""
    first_ns: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def tokens_per_s(self) -> float | None:
        return self.output_tokens / self.e2e if self.ok and self.e2e > 0 else None


async def measure(
    model: ChatModel,
    request: Request,
    *,
    stream: bool = True,
    timeout: float | None = None,
    origin: int = 0,
) -> Sample:
    """Send ``request`` once and time it; a failure is a :class:`Sample` with ``error`` set."""
    clock = time.perf_counter_ns
    called = t0 = clock()
    sample = Sample(start=(t0 - origin) / 1e9, e2e=0.0)
    chunks = 0
    usage: Usage | None = None
    text: list[str] = []
    try:
        with watch_sends() as sends:
            async with asyncio.timeout(timeout):
                if stream:
                    last = 0
                    async for event in model.stream(
                        request.messages, tools=request.tools, settings=request.settings
                    ):
                        now = clock()
                        if isinstance(event, _CONTENT):
                            if chunks == 0:
                                t0 = sends[0] if sends else called
                                sample.ttft = (now - t0) / 1e9
                                sample.first_ns = now
                            else:
                                sample.itls.append((now - last) / 1e9)
                            last = now
                            chunks += 1
                            if type(event) is TextDelta and len(text) < _KEEP_TEXT:
                                text.append(event.text)
                        elif type(event) is UsageEvent:
                            usage = event.usage if usage is None else usage + event.usage
                        elif type(event) is FinishEvent:
                            sample.response_id = event.response_id
                else:
                    response = await model.generate(
                        request.messages, tools=request.tools, settings=request.settings
                    )
                    usage = response.usage
                    sample.response_id = response.response_id
                    text.append(response.text)
                    chunks = 1
                    t0 = sends[0] if sends else called
                    sample.ttft = (clock() - t0) / 1e9
    except TimeoutError:
        sample.error, sample.timed_out = ErrorCode.TIMEOUT.value, True
    except BelugaError as exc:
        sample.error = exc.code.value
        sample.timed_out = exc.code is ErrorCode.TIMEOUT
    except Exception as exc:
        sample.error = type(exc).__name__
    if chunks == 0 and sends:  # failed before a token: still timed from the send
        t0 = sends[0]
    sample.e2e = (clock() - t0) / 1e9
    sample.prep, sample.t0_ns = (t0 - called) / 1e9, t0
    sample.usage = usage
    sample.output_tokens = usage.output_tokens if usage and usage.output_tokens else chunks
    sample.text = "".join(text)[:_KEEP_TEXT]
    return sample


Mode = Literal["sync", "concurrency", "rate", "poisson"]


@dataclass(slots=True, frozen=True)
class LoadSpec:
    """How requests are sent: ``requests`` of them (or for ``duration`` seconds) by ``mode``."""

    mode: Mode = "sync"
    concurrency: int = 1
    rate: float | None = None
    """Requests per second (``rate`` and ``poisson``)."""
    requests: int = 20
    duration: float | None = None
    """Seconds to keep sending (sustained runs); ``requests`` then bounds nothing."""
    max_in_flight: int = 1000
    """The most requests a rate mode keeps open at once (a guard for a stalled provider)."""
    seed: int = 0

    def __post_init__(self) -> None:
        problem = None
        if self.mode not in ("sync", "concurrency", "rate", "poisson"):
            problem = f"unknown load mode {self.mode!r}; use sync, concurrency, rate or poisson"
        elif self.mode in ("rate", "poisson") and not (self.rate and self.rate > 0):
            problem = f"load mode {self.mode} needs a positive rate (requests per second)"
        elif self.concurrency < 1:
            problem = "concurrency must be at least 1"
        elif self.requests < 1 and self.duration is None:
            problem = "requests must be at least 1 (or give a duration)"
        elif self.duration is not None and self.duration <= 0:
            problem = "duration must be a positive number of seconds"
        if problem:
            raise BelugaError("bench.load", ErrorCode.INVALID_CONFIG, problem)

    def label(self) -> str:
        if self.mode == "concurrency":
            return f"concurrency {self.concurrency}"
        if self.mode in ("rate", "poisson"):
            return f"{self.mode} {self.rate:g}/s"
        return "sync"


async def run_load(
    spec: LoadSpec,
    requests: Sequence[Request],
    send: Callable[[Request, int], Awaitable[Sample]],
    *,
    progress: Callable[[Sample], None] | None = None,
    origin: int | None = None,
) -> tuple[list[Sample], float]:
    """Send ``requests`` (cycled) by ``spec``; returns the samples and the wall time (s).
    ``origin`` (``perf_counter_ns``) is time zero of the samples' ``start`` (default: now)."""
    samples: list[Sample] = []
    loop = asyncio.get_running_loop()
    start = loop.time()
    origin = time.perf_counter_ns() if origin is None else origin
    stop_at = start + spec.duration if spec.duration is not None else None
    total = spec.requests if stop_at is None else None

    def more(i: int) -> bool:
        if total is not None:
            return i < total
        return loop.time() < stop_at  # type: ignore[operator]

    def done(sample: Sample) -> None:
        samples.append(sample)
        if progress is not None:
            progress(sample)

    if spec.mode in ("sync", "concurrency"):
        width = 1 if spec.mode == "sync" else spec.concurrency
        counter = iter(range(1 << 62))

        async def worker() -> None:
            while more(i := next(counter)):
                done(await send(requests[i % len(requests)], origin))

        async with asyncio.TaskGroup() as group:
            for _ in range(width):
                group.create_task(worker())
    else:
        rng = random.Random(spec.seed)
        gate = asyncio.Semaphore(spec.max_in_flight)
        rate = float(spec.rate or 1.0)

        async def one(i: int, due: float) -> None:
            async with gate:
                late = loop.time() - due
                sample = await send(requests[i % len(requests)], origin)
                sample.lateness = late
                done(sample)

        async with asyncio.TaskGroup() as group:
            due, i = start, 0
            while more(i) and (stop_at is None or due < stop_at):
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                group.create_task(one(i, due))
                i += 1
                due += rng.expovariate(rate) if spec.mode == "poisson" else 1.0 / rate
    return sorted(samples, key=lambda s: s.start), loop.time() - start
