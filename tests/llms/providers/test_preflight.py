"""Errors of our own making are INVALID_REQUEST or INTERNAL, never retryable, never sent.

A lone surrogate in the prompt or NaN in the settings cannot be encoded. Before, the OpenAI and
Anthropic SDKs failed while encoding with a ``ValueError`` the adapters reported as "not valid
JSON" from the provider (retryable: a router tried every provider and cooled them all down),
and Gemini and Bedrock sent the broken body. Each adapter is driven against a loopback server
that must see no request at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms.base import BaseChatModel, ModelSettings
from beluga.llms.providers._errors import own_failure, stainless_error
from beluga.llms.providers._preflight import unsendable
from beluga.llms.providers.anthropic import AnthropicChatModel
from beluga.llms.providers.azure import AzureOpenAIChatModel
from beluga.llms.providers.bedrock import BedrockChatModel
from beluga.llms.providers.compatible import GroqChatModel
from beluga.llms.providers.gemini import GeminiChatModel
from beluga.llms.providers.ollama import OllamaChatModel
from beluga.llms.providers.openai import OpenAIChatModel
from beluga.llms.providers.openai_responses import OpenAIResponsesModel
from beluga.llms.router import Role, Router
from beluga.schema import Message, ToolCall, ToolDefinition
from tests.llms._servers import anthropic_message, completion, gemini_content
from tests.support.replay_server import ReplayServer

KEY = "sk-preflight-key-0123456789"
Maker = Callable[[str], BaseChatModel]
ADAPTERS: dict[str, Maker] = {
    "openai": lambda url: OpenAIChatModel("gpt", api_key=KEY, base_url=f"{url}/v1"),
    "openai_responses": lambda url: OpenAIResponsesModel("g", api_key=KEY, base_url=f"{url}/v1"),
    "groq": lambda url: GroqChatModel(api_key=KEY, base_url=f"{url}/v1"),
    "azure": lambda url: AzureOpenAIChatModel("dep", api_key=KEY, endpoint=url),
    "anthropic": lambda url: AnthropicChatModel("c", api_key=KEY, base_url=url),
    "gemini": lambda url: GeminiChatModel("gemini-2.5-flash", api_key=KEY, base_url=url),
    "ollama": lambda url: OllamaChatModel("llama3.2", base_url=url),
    "bedrock": lambda url: BedrockChatModel(
        "m",
        region="us-east-1",
        base_url=url,
        aws_access_key_id="AKIA" + "C" * 16,
        aws_secret_access_key="preflight-aws-secret-0",
    ),
}
SURROGATE = [Message.system("be brief"), Message.user("broken \ud800 text")]


async def _call(model: BaseChatModel, kind: str, prompt: Any, settings: Any = None) -> None:
    if kind == "generate":
        await model.generate(prompt, settings=settings)
    else:
        async for _ in model.stream(prompt, settings=settings):
            pass


@pytest.mark.parametrize("kind", ["generate", "stream"])
@pytest.mark.parametrize("name", list(ADAPTERS))
async def test_a_lone_surrogate_is_refused_before_anything_is_sent(
    name: str, kind: str, server: ReplayServer
) -> None:
    async with ADAPTERS[name](server.url) as model:
        with pytest.raises(BelugaError) as info:
            await _call(model, kind, SURROGATE)
    error = info.value
    assert (error.code, error.retryable) == (ErrorCode.INVALID_REQUEST, False)
    assert "lone surrogate" in error.message
    assert "not valid JSON" not in error.message
    assert server.requests == []


@pytest.mark.parametrize("kind", ["generate", "stream"])
@pytest.mark.parametrize("name", list(ADAPTERS))
async def test_nan_in_the_settings_is_refused_before_anything_is_sent(
    name: str, kind: str, server: ReplayServer
) -> None:
    settings = ModelSettings(extra={"top_k": float("nan")})  # the fields refuse NaN themselves
    async with ADAPTERS[name](server.url) as model:
        with pytest.raises(BelugaError) as info:
            await _call(model, kind, "hi", settings)
    error = info.value
    assert (error.code, error.retryable) == (ErrorCode.INVALID_REQUEST, False)
    assert "settings.extra (at ['top_k']) is nan" in error.message
    assert server.requests == []


@pytest.mark.parametrize("name", ["openai", "ollama"])
async def test_a_value_json_cannot_hold_is_an_invalid_request_not_a_server_fault(
    name: str, server: ReplayServer
) -> None:
    # A set in settings.extra passes the scan (it is no surrogate, no NaN): the SDK's own
    # encoder fails on it, before sending, and that is still the caller's error.
    settings = ModelSettings(extra={"metadata": {1, 2}})
    async with ADAPTERS[name](server.url) as model:
        with pytest.raises(BelugaError) as info:
            await model.generate("hi", settings=settings)
    assert (info.value.code, info.value.retryable) == (ErrorCode.INVALID_REQUEST, False)
    assert "nothing was sent" in info.value.message
    assert server.requests == []


async def test_the_router_neither_falls_back_nor_cools_down_for_a_bad_prompt() -> None:
    async with ReplayServer() as alpha, ReplayServer() as beta:
        models = {
            "alpha": OpenAIChatModel("a", api_key=KEY, base_url=f"{alpha.url}/v1"),
            "beta": AnthropicChatModel("b", api_key=KEY, base_url=beta.url),
        }
        router = Router(models, roles={"r": Role("alpha", ["beta"])}, default="alpha")
        try:
            with pytest.raises(BelugaError) as info:
                await router.generate("oops \udfff", role="r")
            assert info.value.code is ErrorCode.INVALID_REQUEST
            assert (alpha.requests, beta.requests) == ([], [])
            alpha.enqueue(completion("alpha still serves"))
            assert (await router.generate("fine", role="r")).text == "alpha still serves"
        finally:
            await router.aclose()


def test_the_scan_names_where_the_bad_value_is() -> None:
    call = ToolCall("c1", "lookup", '{"q": "\udc80"}')
    history = [Message.user("a"), Message.assistant("", tool_calls=[call])]
    said = unsendable(history, (), ModelSettings())
    assert said is not None and "message 2 (assistant)" in said and "tool_calls[0]" in said
    tool = ToolDefinition("t", "d", {"type": "object", "properties": {"x": {"default": 1e999}}})
    said = unsendable([Message.user("a")], [tool], ModelSettings())
    assert said is not None and "tool 't'" in said and "inf" in said
    said = unsendable([Message.user("a")], (), ModelSettings(extra={"k": [1, float("-inf")]}))
    assert said is not None and "settings.extra" in said and "['k'][1]" in said
    clean = [Message.user("naïve café ✓"), Message.assistant("ok")]
    assert unsendable(clean, [tool.__class__("t", "d")], ModelSettings(temperature=0.2)) is None


class _FakeSdk:
    """The exception tree of a Stainless SDK, enough for :func:`stainless_error`."""

    __name__ = "fake"

    class APIError(Exception):
        pass

    class APIConnectionError(APIError):
        pass

    class APITimeoutError(APIConnectionError):
        pass


def _map(exc: BaseException, *, streaming: bool = False) -> BelugaError:
    return stainless_error(
        exc,
        "op",
        "http://h",
        _FakeSdk,
        streaming=streaming,
        api_error=lambda e: BelugaError("op", ErrorCode.PROVIDER_UNAVAILABLE, "api"),
    )


def test_where_the_error_arose_decides_whether_a_retry_can_help() -> None:
    not_json = _map(json.JSONDecodeError("Expecting value", "<html>", 0))
    assert (not_json.code, not_json.retryable) == (ErrorCode.PROVIDER_UNAVAILABLE, True)
    undecodable = _map(UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"))
    assert undecodable.retryable
    encoding = _map(ValueError("Out of range float values are not JSON compliant"))
    assert (encoding.code, encoding.retryable) == (ErrorCode.INVALID_REQUEST, False)
    surrogate = _map(UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"))
    assert (surrogate.code, surrogate.retryable) == (ErrorCode.INVALID_REQUEST, False)
    for bug in (ValueError("bad"), KeyError("choices"), RuntimeError("x")):
        error = _map(bug, streaming=True)
        assert (error.code, error.retryable) == (ErrorCode.INTERNAL, False), bug
    assert own_failure("op", TypeError("x"), "y SDK").code is ErrorCode.INTERNAL


def _broken_parser(*_: Any, **__: Any) -> Any:
    raise KeyError("choices")


async def _broken_events(*_: Any, **__: Any) -> Any:
    raise KeyError("delta")
    yield  # pragma: no cover - makes this an async generator


_REPLIES = {
    "openai": (completion("hi"), "beluga.llms.providers.openai", "parse_completion"),
    "anthropic": (anthropic_message("hi"), "beluga.llms.providers.anthropic", "parse_message"),
    "gemini": (gemini_content("hi"), "beluga.llms.providers.gemini", "parse_response"),
}


@pytest.mark.parametrize("name", list(_REPLIES))
async def test_a_bug_in_reading_the_answer_is_internal_and_not_retryable(
    name: str, server: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: a raw KeyError, which a router counts as the provider failing.
    reply, module, parser = _REPLIES[name]
    monkeypatch.setattr(f"{module}.{parser}", _broken_parser)
    server.enqueue(reply)
    async with ADAPTERS[name](server.url) as model:
        with pytest.raises(BelugaError) as info:
            await model.generate("hi")
    assert (info.value.code, info.value.retryable) == (ErrorCode.INTERNAL, False)
    assert "KeyError" in info.value.message and "bug" in info.value.message


async def test_a_bug_in_reading_a_stream_is_internal_and_not_retryable(
    server: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("beluga.llms.providers.gemini.stream_events", _broken_events)
    server.enqueue(gemini_content("hi"))
    async with ADAPTERS["gemini"](server.url) as model:
        with pytest.raises(BelugaError) as info:
            await _call(model, "stream", "hi")
    assert (info.value.code, info.value.retryable) == (ErrorCode.INTERNAL, False)
