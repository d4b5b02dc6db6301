"""The mock server over real HTTP: the OpenAI SDK and raw SSE read it; faults as the API."""

from __future__ import annotations

import json

import httpx
import pytest

from beluga.bench.server import MockServer, loop_factory
from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms import ModelSettings, create
from beluga.llms.providers.mock import MockChatModel
from beluga.schema import TextDelta, ToolDefinition

pytest.importorskip("aiohttp")


async def test_openai_adapter_streams_and_generates_from_it() -> None:
    mock = MockChatModel("served", ttft=0, itl=0, output_tokens=5, cached_fraction=0.5)
    async with MockServer(mock) as server:
        model = create("vllm", model="served", base_url=server.base_url, api_key="k")
        try:
            events = [e async for e in model.stream("one two three four")]
            text = "".join(e.text for e in events if isinstance(e, TextDelta))
            assert text == "the quick brown fox jumps "
            reply = await model.generate("hi", settings=ModelSettings(max_tokens=3))
            assert reply.text == "the quick brown "
            assert (reply.usage.output_tokens, reply.usage.input_tokens) == (3, 1)
            tool = ToolDefinition(
                "f", "", {"type": "object", "properties": {"x": {"type": "integer"}}}
            )
            called = await model.generate("call", tools=[tool])
            assert called.tool_calls[0].name == "f"
            assert json.loads(called.tool_calls[0].arguments) == {"x": 0}
        finally:
            await model.aclose()
        assert server.requests == 3


async def test_raw_sse_wire_format() -> None:
    async with (
        MockServer(MockChatModel(ttft=0, itl=0, output_tokens=2)) as server,
        httpx.AsyncClient() as client,
    ):
        body = {
            "model": "m",
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "hello"}],
        }
        async with client.stream("POST", f"{server.base_url}/chat/completions", json=body) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            lines = [line async for line in r.aiter_lines() if line]
        assert lines[-1] == "data: [DONE]"
        chunks = [json.loads(line[6:]) for line in lines[:-1]]
        assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "the "}
        assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
        assert chunks[-1]["usage"]["completion_tokens"] == 2 and chunks[-1]["choices"] == []
        stats = (await client.get(server.base_url.replace("/v1", "/mock/stats"))).json()
        assert stats["requests"] == 1 and stats["tokens"] == 2
        models = (await client.get(f"{server.base_url}/models")).json()
        assert models["data"][0]["id"] == "mock"
        bad = await client.post(f"{server.base_url}/chat/completions", json={"messages": 3})
        assert bad.status_code == 400 and "messages" in bad.json()["error"]["message"]


@pytest.mark.parametrize(
    ("options", "status", "code"),
    [
        ({"rate_limit_rate": 1.0}, 429, ErrorCode.RATE_LIMITED),
        ({"server_error_rate": 1.0}, 500, ErrorCode.PROVIDER_UNAVAILABLE),
    ],
)
async def test_error_responses_map_to_the_adapter_codes(
    options: dict[str, float], status: int, code: ErrorCode
) -> None:
    async with MockServer(MockChatModel(ttft=0, itl=0, **options)) as server:
        async with httpx.AsyncClient() as client:
            r = await client.post(
                f"{server.base_url}/chat/completions",
                json={"model": "m", "messages": [{"role": "user", "content": "x"}]},
            )
            assert r.status_code == status and "error" in r.json()
            if status == 429:
                assert r.headers["retry-after"] == "1"
        model = create("vllm", model="m", base_url=server.base_url, api_key="k")
        try:
            with pytest.raises(BelugaError) as info:
                await model.generate("x")
            assert info.value.code is code
        finally:
            await model.aclose()


async def test_cut_stream_is_a_dropped_connection() -> None:
    async with MockServer(MockChatModel(ttft=0, itl=0, output_tokens=20, cut_rate=1.0)) as server:
        model = create("vllm", model="m", base_url=server.base_url, api_key="k")
        try:
            with pytest.raises(BelugaError) as info:
                async for _ in model.stream("x"):
                    pass
            assert info.value.retryable
        finally:
            await model.aclose()


def test_precise_loop_uses_select() -> None:
    import selectors

    loop = loop_factory()
    try:
        assert isinstance(loop._selector, selectors.SelectSelector)  # type: ignore[attr-defined]
    finally:
        loop.close()


async def test_the_benchmark_times_an_http_adapter_from_the_send() -> None:
    from beluga.bench.runner import Request, measure
    from beluga.schema import Message

    mock = MockChatModel("served", ttft="fixed:20ms", itl=0, output_tokens=2)
    async with MockServer(mock) as server:
        model = create("vllm", model="served", base_url=server.base_url, api_key="k")
        try:
            sample = await measure(model, Request([Message.user("hi")]))
        finally:
            await model.aclose()
    assert sample.ok and sample.ttft is not None
    ((_, start, first),) = server.starts
    # The send mark lies between the call's start and the server's handler start...
    assert sample.prep > 0 and sample.t0_ns <= int(start * 1e9)
    # ...so TTFT is the server's 20 ms plus the wire, not the client's preparation.
    assert 0.02 <= sample.ttft < 0.02 + (first - start - 0.02) + 0.05
