"""Framework overhead against the raw ``openai`` SDK, on one local OpenAI-compatible server.

Reports: per-call ``generate`` vs ``AsyncOpenAI.chat.completions.create`` (target ratio <= 1.05),
per-chunk streaming overhead, and what the tracing layer costs with no OpenTelemetry SDK
configured (the API alone, as on a default install). Beluga's adapter calls the SDK's untyped
``post`` (plain dicts, no per-chunk model building), so "sdk post" making the same bare call is
timed too: Beluga minus it is the framework's own cost.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from typing import Any

from benchmarks._harness import Timing, fake_openai_server, interleaved, micro, ratio_median

QUESTION = "What is the capital of France?"
MODEL = "gpt-4o-mini"
CHUNKS = 100
KEY = "sk-bench-key-000000"


def _median_diff(a: Timing, b: Timing, per: int = 1) -> float:
    diffs = sorted((x - y) / per for x, y in zip(a.per_call_s, b.per_call_s, strict=True))
    return diffs[len(diffs) // 2]


async def _generate_overhead(base_url: str, calls: int, rounds: int) -> dict[str, Any]:
    from openai import AsyncOpenAI

    from beluga.llms import create

    raw = AsyncOpenAI(api_key=KEY, base_url=base_url, max_retries=0)
    model = create(f"openai:{MODEL}", api_key=KEY, base_url=base_url)
    messages: list[Any] = [{"role": "user", "content": QUESTION}]

    async def raw_call() -> object:
        return await raw.chat.completions.create(model=MODEL, messages=messages)

    async def sdk_post() -> object:
        body = {"model": MODEL, "messages": messages, "stream": False}
        return await raw.post("/chat/completions", cast_to=object, body=body)

    async def beluga_call() -> object:
        return await model.generate(QUESTION)

    t = await interleaved(
        {"raw openai": raw_call, "sdk post": sdk_post, "beluga": beluga_call},
        calls=calls,
        rounds=rounds,
    )
    await raw.close()
    await model.aclose()
    return {
        "raw_ms": t["raw openai"].median * 1e3,
        "beluga_ms": t["beluga"].median * 1e3,
        "ratio": ratio_median(t["beluga"], t["raw openai"]),
        "own_us": _median_diff(t["beluga"], t["sdk post"]) * 1e6,
    }


async def _stream_overhead(base_url: str, calls: int, rounds: int) -> dict[str, Any]:
    from openai import AsyncOpenAI, AsyncStream

    from beluga.llms import create

    raw = AsyncOpenAI(api_key=KEY, base_url=base_url, max_retries=0)
    model = create(f"openai:{MODEL}", api_key=KEY, base_url=base_url)
    messages: list[Any] = [{"role": "user", "content": QUESTION}]
    options = {"include_usage": True}

    async def raw_stream() -> object:
        stream = await raw.chat.completions.create(
            model=MODEL, messages=messages, stream=True, stream_options=options
        )
        return [c async for c in stream]

    async def sdk_post() -> object:
        body = {"model": MODEL, "messages": messages, "stream": True, "stream_options": options}
        stream = await raw.post(
            "/chat/completions",
            cast_to=object,
            body=body,
            stream=True,
            stream_cls=AsyncStream[object],
        )
        return [c async for c in stream]

    async def beluga_stream() -> object:
        return [e async for e in model.stream(QUESTION)]

    t = await interleaved(
        {"raw openai": raw_stream, "sdk post": sdk_post, "beluga": beluga_stream},
        calls=calls,
        rounds=rounds,
        warmup=10,
    )
    await raw.close()
    await model.aclose()
    return {
        "raw_ms": t["raw openai"].median * 1e3,
        "beluga_ms": t["beluga"].median * 1e3,
        "ratio": ratio_median(t["beluga"], t["raw openai"]),
        "per_chunk_vs_raw_us": _median_diff(t["beluga"], t["raw openai"], CHUNKS) * 1e6,
        "per_chunk_own_us": _median_diff(t["beluga"], t["sdk post"], CHUNKS) * 1e6,
    }


def _tracing_cost() -> dict[str, Any]:
    from beluga.llms.testing import TestModel
    from beluga.observability import start_operation
    from beluga.schema import Message

    assert "opentelemetry.sdk" not in sys.modules, "measure with no OTel SDK configured"

    def span() -> None:
        start_operation("chat", MODEL, provider="openai").end()

    model = TestModel(text="ok")
    messages = [Message.user("hi")]
    settings = model.settings
    number = 20_000

    async def timed(traced: bool) -> float:
        start = time.perf_counter()
        for _ in range(number):
            if traced:
                await model.generate(messages)
            else:
                await model._generate(messages, (), settings)
        return (time.perf_counter() - start) / number

    async def rounds() -> list[float]:
        return [await timed(True) - await timed(False) for _ in range(9)]

    per_op = micro(span, number=50_000)
    base = statistics.median(asyncio.run(rounds()))
    return {"operation_us": per_op * 1e6, "base_class_us": base * 1e6}


def run(calls: int = 200, rounds: int = 15) -> dict[str, Any]:
    results: dict[str, Any] = {"tracing_no_sdk": _tracing_cost()}
    with fake_openai_server(CHUNKS) as base_url:
        results["generate"] = asyncio.run(_generate_overhead(base_url, calls, rounds))
        results["stream"] = asyncio.run(_stream_overhead(base_url, max(calls // 4, 20), rounds))
    return results
