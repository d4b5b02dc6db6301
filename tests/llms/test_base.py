"""BaseChatModel and ModelSettings: settings checked on the client, a closed model, the
overall deadline of a call, and the provider every ChatModel carries."""

from __future__ import annotations

import asyncio
import copy
import json
import math
import pickle
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from beluga.core import BelugaError, ErrorCode
from beluga.llms import ChatModel, ModelSettings, create
from beluga.llms import base as base_module
from beluga.llms.middleware import retrying
from beluga.llms.testing import AgentInfo, FunctionModel, TestModel
from beluga.schema import Message, OutputSchema, TextDelta
from tests.llms._servers import anthropic_message, chunk, completion
from tests.support.replay_server import ReplayServer

KEY = "sk-test-0123456789abcdef"

# --------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("temperature", -5),
        ("temperature", 2.5),
        ("temperature", math.nan),
        ("temperature", math.inf),
        ("temperature", "hot"),
        ("temperature", True),
        ("top_p", 7),
        ("top_p", 0),
        ("top_p", math.nan),
        ("max_tokens", 0),
        ("max_tokens", -1),
        ("max_tokens", 1.5),
        ("max_tokens", True),
        ("seed", 1.5),
        ("seed", "7"),
        ("stop", 5),
        ("stop", [""]),
        ("stop", ["END", 5]),
        ("tool_choice", 3),
        ("tool_choice", ""),
        ("parallel_tool_calls", "yes"),
        ("output", 5),
        ("output", {"type": "object"}),
        ("extra", {1: "x"}),
        ("extra", "x"),
    ],
)
def test_a_bad_setting_is_one_clear_error_naming_it(name: str, value: object) -> None:
    with pytest.raises(BelugaError) as info:
        ModelSettings(**{name: value})  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.INVALID_REQUEST and not info.value.retryable
    assert f"{name}=" in info.value.message and "use " in info.value.message


def test_good_settings_are_kept() -> None:
    settings = ModelSettings(
        temperature=0,
        top_p=1,
        max_tokens=1,
        seed=-3,
        tool_choice="my_tool",
        parallel_tool_calls=False,
        output=OutputSchema({"type": "object"}),
    )
    assert (settings.temperature, settings.top_p, settings.max_tokens) == (0, 1, 1)
    assert ModelSettings(temperature=2.0, top_p=0.01).temperature == 2.0


def test_a_stop_string_is_one_stop_sequence() -> None:
    assert ModelSettings(stop="END").stop == ("END",)
    assert ModelSettings(stop=["a", "b"]).stop == ("a", "b")  # type: ignore[arg-type]
    assert ModelSettings(stop=[]).stop is None  # type: ignore[arg-type]


async def test_a_stop_string_goes_out_as_one_sequence() -> None:
    async with ReplayServer() as server:
        server.enqueue(completion("hi"))
        async with create("openai", base_url=f"{server.url}/v1", api_key=KEY) as model:
            await model.generate("hello", settings=ModelSettings(stop="END"))  # type: ignore[arg-type]
    assert server.requests[0].json()["stop"] == ["END"]


def test_extra_is_read_only_and_not_shared() -> None:
    default = ModelSettings()
    with pytest.raises(TypeError, match="read-only"):
        default.extra["leak"] = 1  # type: ignore[index]
    with pytest.raises(TypeError, match="read-only"):
        default.extra.update(leak=1)  # type: ignore[attr-defined]
    assert ModelSettings().extra == {}
    source = {"a": 1}
    settings = ModelSettings(extra=source)
    source["a"] = 2
    assert settings.extra == {"a": 1}
    merged = settings.merged(ModelSettings(extra={"b": 2}))
    assert merged.extra == {"a": 1, "b": 2} and settings.extra == {"a": 1}
    with pytest.raises(TypeError):
        merged.extra.pop("a")  # type: ignore[attr-defined]


def test_settings_survive_json_pickle_and_copies() -> None:
    settings = ModelSettings(temperature=0.5, stop="X", extra={"think": {"budget": 10}})
    assert json.loads(json.dumps(settings.extra)) == {"think": {"budget": 10}}
    assert pickle.loads(pickle.dumps(settings)) == settings
    clone = copy.deepcopy(settings)
    assert clone == settings
    with pytest.raises(TypeError):
        clone.extra["x"] = 1  # type: ignore[index]


# --------------------------------------------------------------------------- prompts


@pytest.mark.parametrize("prompt", [123, b"hi", [1, 2], None, ["a", "b"], 1.5])
async def test_a_prompt_that_is_not_one_is_a_clear_invalid_request(prompt: object) -> None:
    with pytest.raises(BelugaError) as info:
        await TestModel().generate(prompt)  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.INVALID_REQUEST and not info.value.retryable
    assert "OpenAI-style message dict" in info.value.message


async def test_openai_style_dicts_and_messages_mix_in_one_prompt() -> None:
    seen: list[Sequence[Message]] = []

    def answer(messages: Sequence[Message], info: AgentInfo) -> str:
        seen.append(messages)
        return "ok"

    prompt = [Message.system("be brief"), {"role": "user", "content": "hi"}]
    assert (await FunctionModel(answer).generate(prompt)).text == "ok"
    assert seen[0] == (Message.system("be brief"), Message.user("hi"))


async def test_a_lone_surrogate_is_refused_before_any_request() -> None:
    calls: list[int] = []
    model = FunctionModel(lambda m, i: str(calls.append(1)))
    with pytest.raises(BelugaError) as info:
        await model.generate([Message.user("fine"), Message.user("bad \udc80 text")])
    assert info.value.code is ErrorCode.INVALID_REQUEST and not info.value.retryable
    assert "prompt message 1" in info.value.message and "surrogate" in info.value.message
    with pytest.raises(BelugaError, match="surrogate"):
        async for _ in model.stream("\ud800"):
            pass
    assert calls == []


# --------------------------------------------------------------------------- closed models


@pytest.mark.parametrize("name", ["openai", "anthropic", "ollama"])
async def test_calling_a_closed_model_says_so_and_is_not_retryable(name: str) -> None:
    async with ReplayServer() as server:
        server.enqueue(anthropic_message("hi") if name == "anthropic" else completion("hi"))
        options: dict[str, Any] = {"base_url": server.url}
        if name != "ollama":
            options |= {"api_key": KEY, "base_url": f"{server.url}/v1"}
        async with create(name, model="m", **options) as model:
            pass
        with pytest.raises(BelugaError) as info:
            await model.generate("hi")
        assert info.value.code is ErrorCode.INVALID_REQUEST and not info.value.retryable
        assert "was closed" in info.value.message and "create a new model" in info.value.message
        with pytest.raises(BelugaError, match="was closed"):
            async for _ in model.stream("hi"):
                pass
    assert server.requests == []


class _ReopeningModel(FunctionModel):
    """Like Bedrock or the local model: closing frees the client, the next call opens another."""

    async def aclose(self) -> None:
        self.function = lambda m, i: "reopened"


async def test_a_model_that_reopens_after_close_keeps_working() -> None:
    model = _ReopeningModel(lambda m, i: "first")
    await model.aclose()
    assert (await model.generate("hi")).text == "reopened"


async def test_a_runtime_error_of_an_open_model_is_left_alone() -> None:
    def broken(messages: Sequence[Message], info: AgentInfo) -> str:
        raise RuntimeError("a bug in the adapter")

    with pytest.raises(RuntimeError, match="a bug"):
        await FunctionModel(broken).generate("hi")


# --------------------------------------------------------------------------- deadline


async def _drip(messages: Sequence[Message], info: AgentInfo) -> AsyncIterator[str]:
    """One chunk at once, then one every 50 ms for a minute: each gap is short, the whole is
    not."""
    yield "first"
    for _ in range(1200):
        await asyncio.sleep(0.05)
        yield "x"


async def test_a_dripping_stream_is_cut_at_the_overall_deadline() -> None:
    model = FunctionModel(stream_function=_drip, timeout=0.3)
    seen: list[str] = []
    with pytest.raises(BelugaError) as info:
        async for event in model.stream("hi"):
            if isinstance(event, TextDelta):
                seen.append(event.text)
    assert info.value.code is ErrorCode.TIMEOUT and info.value.retryable
    assert "0.3s" in info.value.message and "timeout=" in info.value.message
    assert seen[0] == "first"


async def test_generate_has_the_same_deadline() -> None:
    model = FunctionModel(stream_function=_drip, timeout=0.3)
    with pytest.raises(BelugaError) as info:
        await model.generate("hi")
    assert info.value.code is ErrorCode.TIMEOUT and info.value.retryable


async def test_a_model_given_no_timeout_gets_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert TestModel().timeout is None and base_module.DEFAULT_TIMEOUT < 600
    monkeypatch.setattr(base_module, "DEFAULT_TIMEOUT", 0.2)
    with pytest.raises(BelugaError) as info:
        await FunctionModel(_hang).generate("hi")
    assert info.value.code is ErrorCode.TIMEOUT


async def test_time_the_consumer_spends_does_not_count() -> None:
    model = FunctionModel(lambda m, i: "a b c", timeout=0.2)
    events = []
    async for event in model.stream("hi"):
        events.append(event)
        await asyncio.sleep(0.1)  # 0.4 s in all, far beyond the deadline
    assert events[-1].reason == "stop"  # type: ignore[attr-defined]


async def test_a_timeout_error_of_the_provider_itself_is_not_relabelled() -> None:
    def slow(messages: Sequence[Message], info: AgentInfo) -> str:
        raise TimeoutError("the SDK's own read timeout")

    with pytest.raises(TimeoutError, match="SDK's own"):
        await FunctionModel(slow, timeout=5).generate("hi")


async def _hang(messages: Sequence[Message], info: AgentInfo) -> str:
    await asyncio.Event().wait()
    return "never"


async def test_a_cancellation_from_the_caller_is_not_a_timeout() -> None:
    task = asyncio.ensure_future(FunctionModel(_hang, timeout=30).generate("hi"))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_concurrent_calls_each_keep_their_own_deadline() -> None:
    slow = FunctionModel(_hang, timeout=30)
    fast = FunctionModel(_hang, timeout=0.2)
    patient = asyncio.ensure_future(slow.generate("hi"))
    await asyncio.sleep(0.01)  # the 30 s deadline is registered first
    with pytest.raises(BelugaError) as info:
        await fast.generate("hi")
    assert info.value.code is ErrorCode.TIMEOUT
    assert not patient.done()  # cut the short call only
    patient.cancel()
    with pytest.raises(asyncio.CancelledError):
        await patient


@pytest.mark.parametrize("timeout", [0, -1, math.nan, math.inf, "3", True])
def test_a_bad_timeout_is_invalid_config(timeout: object) -> None:
    with pytest.raises(BelugaError) as info:
        TestModel(timeout=timeout)  # type: ignore[arg-type]
    assert info.value.code is ErrorCode.INVALID_CONFIG and "timeout=" in info.value.message


async def _dripping_server(
    stream: bool, gap: float = 0.05, count: int = 400
) -> tuple[asyncio.Server, str]:
    """An OpenAI-compatible server that answers one small chunk every ``gap`` seconds."""
    if stream:
        pieces = [f"data: {json.dumps(chunk({'content': 'x'}))}\n\n".encode() for _ in range(count)]
    else:
        body = json.dumps(json.loads(completion("x" * count).body)).encode()
        pieces = [body[i : i + 1] for i in range(len(body))]

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        await reader.readexactly(length)
        kind = b"text/event-stream" if stream else b"application/json"
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: " + kind + b"\r\ntransfer-encoding: chunked\r\n\r\n"
        )
        try:
            for piece in pieces:
                writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                await writer.drain()
                await asyncio.sleep(gap)
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/v1"


@pytest.mark.parametrize("streaming", [True, False])
async def test_a_real_adapter_against_a_dripping_server_times_out(streaming: bool) -> None:
    server, url = await _dripping_server(streaming)
    try:
        async with create("openai", base_url=url, api_key=KEY) as model:
            model.timeout = 0.5  # type: ignore[attr-defined]
            with pytest.raises(BelugaError) as info:
                if streaming:
                    async for _ in model.stream("hi"):
                        pass
                else:
                    await model.generate("hi")
    finally:
        server.close()
    assert info.value.code is ErrorCode.TIMEOUT and info.value.retryable


# --------------------------------------------------------------------------- provider


def test_every_chat_model_carries_its_provider() -> None:
    model: ChatModel = TestModel()
    assert isinstance(model, ChatModel)
    assert model.provider == "test"
    assert FunctionModel(lambda m, i: "x").provider == "function"
    assert create("openai", api_key=KEY).provider == "openai"
    assert retrying()(TestModel()).provider == "test"


async def test_a_router_falls_back_when_the_deadline_passes() -> None:
    from beluga.llms.router import Role, Router

    router = Router(
        {"slow": FunctionModel(_hang, timeout=0.2), "spare": TestModel(text="from the spare")},
        roles={"main": Role("slow", ["spare"])},
        default="spare",
    )
    assert (await router.generate("hi", role="main")).text == "from the spare"
