"""Framework overhead against the raw ``openai`` SDK, on one local OpenAI-compatible server.

Reports: per-call ``generate`` vs ``AsyncOpenAI.chat.completions.create`` (target ratio <= 1.05),
per-chunk streaming overhead, and what the tracing layer costs with no OpenTelemetry SDK
configured (the API alone, as on a default install).
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from benchmarks._harness import fake_openai_server, interleaved, micro, ratio_median

QUESTION = "What is the capital of France?"
MODEL = "gpt-4o-mini"
CHUNKS = 100


async def _generate_overhead(base_url: str, calls: int, rounds: int) -> dict[str, Any]:
    from openai import AsyncOpenAI

    from beluga.llms import create

    raw = AsyncOpenAI(api_key="sk-bench-key-000000", base_url=base_url, max_retries=0)
    model = create(f"openai:{MODEL}", api_key="sk-bench-key-000000", base_url=base_url)
    messages: list[Any] = [{"role": "user", "content": QUESTION}]

    async def raw_call() -> object:
        return await raw.chat.completions.create(model=MODEL, messages=messages)

    async def beluga_call() -> object:
        return await model.generate(QUESTION)

    timings = await interleaved(
        {"raw openai": raw_call, "beluga": beluga_call}, calls=calls, rounds=rounds
    )
    await raw.close()
    await model.aclose()
    return {
        "raw_ms": timings["raw openai"].median * 1e3,
        "beluga_ms": timings["beluga"].median * 1e3,
        "ratio": ratio_median(timings["beluga"], timings["raw openai"]),
    }


async def _stream_overhead(base_url: str, calls: int, rounds: int) -> dict[str, Any]:
    from openai import AsyncOpenAI

    from beluga.llms import create

    raw = AsyncOpenAI(api_key="sk-bench-key-000000", base_url=base_url, max_retries=0)
    model = create(f"openai:{MODEL}", api_key="sk-bench-key-000000", base_url=base_url)
    messages: list[Any] = [{"role": "user", "content": QUESTION}]

    async def raw_stream() -> object:
        stream = await raw.chat.completions.create(
            model=MODEL, messages=messages, stream=True, stream_options={"include_usage": True}
        )
        n = 0
        async for chunk in stream:
            n += len(chunk.choices)
        return n

    async def beluga_stream() -> object:
        n = 0
        async for _ in model.stream(QUESTION):
            n += 1
        return n

    timings = await interleaved(
        {"raw openai": raw_stream, "beluga": beluga_stream},
        calls=calls,
        rounds=rounds,
        warmup=10,
    )
    await raw.close()
    await model.aclose()
    per_chunk = [
        (b - r) / CHUNKS
        for b, r in zip(timings["beluga"].per_call_s, timings["raw openai"].per_call_s, strict=True)
    ]
    per_chunk.sort()
    return {
        "raw_ms": timings["raw openai"].median * 1e3,
        "beluga_ms": timings["beluga"].median * 1e3,
        "ratio": ratio_median(timings["beluga"], timings["raw openai"]),
        "per_chunk_us": per_chunk[len(per_chunk) // 2] * 1e6,
    }


def _tracing_cost() -> dict[str, Any]:
    from beluga.llms.testing import TestModel
    from beluga.observability import start_operation

    assert "opentelemetry.sdk" not in sys.modules, "measure with no OTel SDK configured"

    def span() -> None:
        start_operation("chat", MODEL, provider="openai").end()

    model = TestModel(text="ok")
    loop = asyncio.new_event_loop()
    messages = [__import__("beluga.schema", fromlist=["Message"]).Message.user("hi")]
    settings = model.settings

    def traced() -> None:
        loop.run_until_complete(model.generate(messages))

    def untraced() -> None:
        loop.run_until_complete(model._generate(messages, (), settings))

    per_op = micro(span, number=50_000)
    with_base = micro(traced, number=5_000)
    without = micro(untraced, number=5_000)
    loop.close()
    return {"operation_us": per_op * 1e6, "base_class_us": (with_base - without) * 1e6}


def run(calls: int = 200, rounds: int = 15) -> dict[str, Any]:
    results: dict[str, Any] = {"tracing_no_sdk": _tracing_cost()}
    with fake_openai_server(CHUNKS) as base_url:
        results["generate"] = asyncio.run(_generate_overhead(base_url, calls, rounds))
        results["stream"] = asyncio.run(_stream_overhead(base_url, max(calls // 4, 20), rounds))
    return results
