"""Credentials in a provider's connection settings never show, whichever adapter holds them.

A password in ``base_url`` and every configured header value are planted; each HTTP adapter is
driven against a loopback server (a success, then an error that echoes the header back) while
the SDK and HTTP-client loggers record at DEBUG, and the secret -- or any 6-character piece of
it -- must not appear in the repr, the error, its cause chain, a span or a log line.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from typing import Any

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms.base import BaseChatModel
from beluga.llms.providers._connection import endpoint
from beluga.llms.providers.anthropic import AnthropicChatModel
from beluga.llms.providers.azure import AzureOpenAIChatModel
from beluga.llms.providers.bedrock import BedrockChatModel
from beluga.llms.providers.compatible import VLLMChatModel
from beluga.llms.providers.gemini import GeminiChatModel
from beluga.llms.providers.local import LocalChatModel
from beluga.llms.providers.ollama import OllamaChatModel
from beluga.llms.providers.openai import OpenAIChatModel
from beluga.llms.providers.openai_responses import OpenAIResponsesModel
from beluga.llms.providers.xai import XAIChatModel
from tests.conftest import Telemetry
from tests.llms._servers import anthropic_message, completion, gemini_content
from tests.support.replay_server import ReplayServer, Reply

PASSWORD = "Pw-9f3kQz7LmX2v"
HEADER_SECRET = "hdr-Zq81Nc4Wt6Yb"
KEY = "sk-planted-key-0123456789abcdef"
_LOGGERS = ("httpx", "httpx2", "openai", "anthropic", "google_genai", "httpcore")


def _pieces(secret: str) -> list[str]:
    return [secret[i : i + 6] for i in range(len(secret) - 5)]


def _assert_clean(text: str) -> None:
    for secret in (PASSWORD, HEADER_SECRET):
        leaked = [p for p in _pieces(secret) if p in text]
        assert not leaked, f"{leaked} of a planted secret in: {text[:2000]}"


def _chain(exc: BaseException | None) -> str:
    out = []
    while exc is not None:
        out += [str(exc), repr(exc), *(str(a) for a in exc.args)]
        exc = exc.__cause__ or exc.__context__
    return "\n".join(out)


def _ollama_chat() -> Reply:
    return Reply.json(
        {
            "model": "llama3.2",
            "message": {"role": "assistant", "content": "hi"},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 3,
            "eval_count": 1,
        }
    )


def _responses_reply() -> Reply:
    return Reply.json(
        {
            "id": "resp_1",
            "object": "response",
            "status": "completed",
            "model": "gpt-5-mini",
            "output": [
                {
                    "type": "message",
                    "id": "msg_1",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": "hi", "annotations": []}],
                }
            ],
            "usage": {"input_tokens": 3, "output_tokens": 1, "total_tokens": 4},
        }
    )


def _error_echoing_the_header() -> Reply:
    return Reply.json(
        {
            "error": {
                "message": f"bad header X-Custom-Auth: {HEADER_SECRET}",
                "type": "server_error",
            }
        },
        status=500,
    )


Maker = Callable[[str], BaseChatModel]
_HEADERS = {"X-Custom-Auth": HEADER_SECRET}
ADAPTERS: dict[str, tuple[Maker, Callable[[], Reply], str]] = {
    "openai": (
        lambda url: OpenAIChatModel(
            "gpt", api_key=KEY, base_url=f"{url}/v1", default_headers=_HEADERS
        ),
        lambda: completion("hi"),
        "/v1/chat/completions",
    ),
    "openai_responses": (
        lambda url: OpenAIResponsesModel(
            "gpt-5-mini", api_key=KEY, base_url=f"{url}/v1", default_headers=_HEADERS
        ),
        _responses_reply,
        "/v1/responses",
    ),
    "vllm": (
        lambda url: VLLMChatModel("m", base_url=f"{url}/v1", default_headers=_HEADERS),
        lambda: completion("hi"),
        "/v1/chat/completions",
    ),
    "azure": (
        lambda url: AzureOpenAIChatModel(
            "dep", api_key=KEY, endpoint=url, api_version="v1", default_headers=_HEADERS
        ),
        lambda: completion("hi"),
        "/openai/v1/chat/completions",
    ),
    "anthropic": (
        lambda url: AnthropicChatModel("c", api_key=KEY, base_url=url, default_headers=_HEADERS),
        lambda: anthropic_message("hi"),
        "/v1/messages",
    ),
    "gemini": (
        lambda url: GeminiChatModel("gemini-2.5-flash", api_key=KEY, base_url=url),
        lambda: gemini_content("hi"),
        "/v1beta/models/gemini-2.5-flash:generateContent",
    ),
    "ollama": (
        lambda url: OllamaChatModel("llama3.2", base_url=url),
        _ollama_chat,
        "/api/chat",
    ),
}


def _with_password(url: str) -> str:
    return url.replace("http://", f"http://alice:{PASSWORD}@")


@pytest.mark.parametrize("name", list(ADAPTERS))
async def test_a_password_in_base_url_never_shows_and_is_sent_as_basic_auth(
    name: str,
    server: ReplayServer,
    caplog: pytest.LogCaptureFixture,
    telemetry: Telemetry,
) -> None:
    make, reply, path = ADAPTERS[name]
    for logger in _LOGGERS:
        caplog.set_level(logging.DEBUG, logger=logger)
    server.enqueue(reply(), Reply.json({"error": {"message": "down"}}, status=503))
    model = make(_with_password(server.url))
    try:
        assert (await model.generate("hi")).text == "hi"
        with pytest.raises(BelugaError) as info:
            await model.generate("hi")
    finally:
        await model.aclose()
    first = server.requests[0]
    assert first.path.split("?")[0] == path
    basic = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    assert first.headers["authorization"] == f"Basic {basic}"
    assert info.value.retryable
    spans = "\n".join(str(s.to_json()) for s in telemetry.spans.get_finished_spans())
    surfaces = [repr(model), _chain(info.value), caplog.text, spans, str(vars(model))]
    _assert_clean("\n".join(surfaces))
    assert "127.0.0.1" in repr(model) or name in ("azure",)


@pytest.mark.parametrize("name", [n for n in ADAPTERS if n not in ("gemini", "ollama")])
async def test_every_configured_header_value_is_a_secret_whatever_its_name(
    name: str, server: ReplayServer, caplog: pytest.LogCaptureFixture
) -> None:
    make, _, _ = ADAPTERS[name]
    for logger in _LOGGERS:
        caplog.set_level(logging.DEBUG, logger=logger)
    server.enqueue(_error_echoing_the_header())
    async with make(server.url) as model:
        with pytest.raises(BelugaError) as info:
            await model.generate("hi")
    assert server.requests[0].headers["x-custom-auth"] == HEADER_SECRET
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE
    _assert_clean(_chain(info.value) + caplog.text + repr(model))


async def test_a_refused_connection_names_the_host_but_not_the_password() -> None:
    from tests.support.replay_server import unused_port

    url = _with_password(f"http://127.0.0.1:{unused_port()}")
    async with AnthropicChatModel("c", api_key=KEY, base_url=url) as model:
        with pytest.raises(BelugaError) as info:
            await model.generate("hi")
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE
    assert "127.0.0.1" in info.value.message
    _assert_clean(_chain(info.value) + repr(model))


@pytest.mark.parametrize(
    "make",
    [
        lambda url: BedrockChatModel(
            "m",
            region="us-east-1",
            base_url=url,
            aws_access_key_id="AKIA" + "A" * 16,
            aws_secret_access_key="planted-aws-secret-000",
        ),
        lambda url: XAIChatModel("grok-4", api_key=KEY, base_url=url),
    ],
    ids=["bedrock", "xai"],
)
def test_user_info_where_it_cannot_be_sent_is_a_config_error(make: Maker) -> None:
    with pytest.raises(BelugaError) as info:
        make(_with_password("http://127.0.0.1:9"))
    assert info.value.code is ErrorCode.INVALID_CONFIG
    assert "user info" in info.value.message and "127.0.0.1:9" in info.value.message
    _assert_clean(_chain(info.value))


def test_an_explicit_authorization_header_wins_over_user_info() -> None:
    conn = endpoint(
        f"https://bob:{PASSWORD}@proxy.example/v1?x=1",
        default_url="https://api.example",
        headers={"authorization": "Bearer given-token-1"},
    )
    assert conn.url == "https://proxy.example/v1?x=1"
    assert conn.shown == "https://proxy.example/v1"
    assert conn.headers == {"authorization": "Bearer given-token-1"}


def test_user_info_is_unquoted_before_it_becomes_basic_auth() -> None:
    conn = endpoint("http://me%40corp:p%3Ass-word1@10.0.0.1:8080", default_url="http://x")
    assert conn.url == "http://10.0.0.1:8080"
    token = base64.b64encode(b"me@corp:p:ss-word1").decode()
    assert conn.headers == {"Authorization": f"Basic {token}"}


def test_a_host_without_scheme_keeps_its_form() -> None:
    assert endpoint("localhost:11434", default_url="http://x").url == "localhost:11434"
    conn = endpoint("u:secret-pw1@localhost:11434", default_url="http://x")
    assert conn.url == "localhost:11434" and conn.headers is not None


@pytest.mark.parametrize(
    ("make", "options"),
    [
        (OpenAIChatModel, {"api_key": KEY}),
        (OpenAIResponsesModel, {"api_key": KEY}),
        (AnthropicChatModel, {"api_key": KEY}),
        (GeminiChatModel, {"api_key": KEY}),
        (OllamaChatModel, {}),
        (AzureOpenAIChatModel, {"api_key": KEY, "endpoint": "https://r.openai.azure.com"}),
        (VLLMChatModel, {"model": "m"}),
        (XAIChatModel, {"api_key": KEY}),
        (
            BedrockChatModel,
            {
                "region": "us-east-1",
                "aws_access_key_id": "AKIA" + "B" * 16,
                "aws_secret_access_key": "planted-aws-secret-001",
            },
        ),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
async def test_every_adapter_keeps_its_configured_timeout(
    make: Callable[..., BaseChatModel], options: dict[str, Any]
) -> None:
    model = make(timeout=7.5, **options)
    assert model.timeout == 7.5  # type: ignore[attr-defined]
    await model.aclose()
    unset = make(**options)
    assert getattr(unset, "timeout", "missing") in (None, 600.0)
    await unset.aclose()


def test_the_local_model_takes_a_timeout_too() -> None:
    pytest.importorskip("llama_cpp")
    assert LocalChatModel(timeout=30).timeout == 30
    with pytest.raises(BelugaError) as info:
        LocalChatModel(timeout=0)
    assert info.value.code is ErrorCode.INVALID_CONFIG
