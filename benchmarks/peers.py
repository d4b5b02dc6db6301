"""Per-call overhead of Beluga next to the raw SDK and peer frameworks, same local server.

Run inside ``.venv-bench`` (``make bench`` builds it): LiteLLM, pydantic-ai and LangChain are
benchmark-only dependencies, never the product's. Each contender makes the same one-message
chat call (and the same streamed call); rounds are interleaved and rotated, and ratios are the
medians of per-round ratios against the raw ``openai`` SDK.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks._harness import fake_openai_server, interleaved, ratio_median

QUESTION = "What is the capital of France?"
MODEL = "gpt-4o-mini"
KEY = "sk-bench-key-000000"

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LANGSMITH_TRACING", "false")
os.environ.setdefault("LANGCHAIN_TRACING_V2", "false")

Call = Callable[[], Awaitable[object]]


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _contenders(base_url: str, stream: bool) -> tuple[dict[str, Call], list[Any]]:
    from openai import AsyncOpenAI

    from beluga.llms import create

    closers: list[Any] = []
    raw = AsyncOpenAI(api_key=KEY, base_url=base_url, max_retries=0)
    model = create(f"openai:{MODEL}", api_key=KEY, base_url=base_url)
    closers += [raw.close, model.aclose]
    messages: list[Any] = [{"role": "user", "content": QUESTION}]

    if stream:

        async def raw_call() -> object:
            s = await raw.chat.completions.create(
                model=MODEL,
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
            )
            return [c async for c in s]

        async def beluga_call() -> object:
            return [e async for e in model.stream(QUESTION)]
    else:

        async def raw_call() -> object:
            return await raw.chat.completions.create(model=MODEL, messages=messages)

        async def beluga_call() -> object:
            return await model.generate(QUESTION)

    out: dict[str, Call] = {"raw openai": raw_call, "beluga": beluga_call}

    if _available("litellm"):
        import litellm

        litellm.telemetry = False

        async def litellm_call() -> object:
            if stream:
                s = await litellm.acompletion(
                    model=f"openai/{MODEL}",
                    api_base=base_url,
                    api_key=KEY,
                    messages=messages,
                    stream=True,
                    max_retries=0,
                )
                return [c async for c in s]
            return await litellm.acompletion(
                model=f"openai/{MODEL}",
                api_base=base_url,
                api_key=KEY,
                messages=messages,
                max_retries=0,
            )

        out["litellm"] = litellm_call

    if _available("pydantic_ai"):
        from pydantic_ai import Agent
        from pydantic_ai.models.openai import OpenAIChatModel
        from pydantic_ai.providers.openai import OpenAIProvider

        client = AsyncOpenAI(api_key=KEY, base_url=base_url, max_retries=0)
        closers.append(client.close)
        agent = Agent(OpenAIChatModel(MODEL, provider=OpenAIProvider(openai_client=client)))

        async def pydantic_ai_call() -> object:
            if stream:
                async with agent.run_stream(QUESTION) as result:
                    return [t async for t in result.stream_text(delta=True)]
            return await agent.run(QUESTION)

        out["pydantic-ai"] = pydantic_ai_call

    if _available("langchain_openai"):
        from langchain_openai import ChatOpenAI

        chat = ChatOpenAI(model=MODEL, base_url=base_url, api_key=KEY, max_retries=0)  # type: ignore[arg-type]

        async def langchain_call() -> object:
            if stream:
                return [c async for c in chat.astream(QUESTION)]
            return await chat.ainvoke(QUESTION)

        out["langchain"] = langchain_call
    return out, closers


async def _measure(base_url: str, stream: bool, calls: int, rounds: int) -> dict[str, Any]:
    contenders, closers = _contenders(base_url, stream)
    timings = await interleaved(contenders, calls=calls, rounds=rounds, warmup=20)
    for close in closers:
        await close()
    raw = timings["raw openai"]
    return {
        name: {"ms": t.median * 1e3, "ratio_vs_raw": ratio_median(t, raw)}
        for name, t in timings.items()
    }


async def _both(base_url: str, calls: int, rounds: int) -> dict[str, Any]:
    # One event loop for both: LangChain and LiteLLM keep clients bound to the first loop.
    return {
        "generate": await _measure(base_url, False, calls, rounds),
        "stream": await _measure(base_url, True, max(calls // 2, 10), rounds),
    }


def run(calls: int = 100, rounds: int = 9) -> dict[str, Any]:
    with fake_openai_server(chunks=20) as base_url:
        return asyncio.run(_both(base_url, calls, rounds))
