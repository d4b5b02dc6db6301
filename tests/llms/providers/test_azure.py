"""AzureOpenAIChatModel: Azure's routes and auth around the OpenAI adapters' wire formats.

What is Azure's own is checked here -- the URL (deployment path and ``api-version`` query, or
the versionless v1 path), the ``api-key`` header or Entra ID bearer token, configuration from
the environment, error hints and the ``azure.ai.openai`` span attribute. The wire formats are the
OpenAI adapters'; recorded OpenAI chat completions and the recorded Azure Responses calls are
replayed through the Azure path to show that nothing is lost on the way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms import create
from beluga.llms.providers.azure import DEFAULT_API_VERSION, AzureOpenAIChatModel
from beluga.schema import FinishEvent, StreamEvent, TextDelta, ToolDefinition
from tests.conftest import Telemetry
from tests.llms.providers import test_openai as chat
from tests.llms.providers import test_openai_responses as responses
from tests.support.cassettes import (
    cassette_root,
    expressible,
    is_reference_set,
    replayable,
    safe_select,
)
from tests.support.replay_server import ReplayServer, Reply

PLANTED = "sk-test-PLANTED0123456789abcdef"
DEPLOYMENT = "my-gpt4o"
VERSION = "2024-10-21"


@pytest.fixture(autouse=True)
def _no_azure_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    names = ("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN", "AZURE_OPENAI_ENDPOINT")
    for name in (*names, "OPENAI_API_VERSION"):
        monkeypatch.delenv(name, raising=False)


def _model(server: ReplayServer, **options: Any) -> AzureOpenAIChatModel:
    options.setdefault("api_key", PLANTED)
    options.setdefault("api_version", VERSION)
    return AzureOpenAIChatModel(options.pop("model", DEPLOYMENT), endpoint=server.url, **options)


def _target(server: ReplayServer) -> tuple[str, dict[str, list[str]]]:
    (request,) = server.requests
    parts = urlsplit(request.path)
    return parts.path, parse_qs(parts.query)


async def _collect(model: AzureOpenAIChatModel, *args: Any, **kwargs: Any) -> list[StreamEvent]:
    return [event async for event in model.stream(*args, **kwargs)]


def _assert_no_key(err: BaseException) -> None:
    for text in (str(err), repr(err), getattr(err, "message", "")):
        assert PLANTED not in text
    if err.__cause__ is not None:
        assert PLANTED not in str(err.__cause__)


# --------------------------------------------------------------------------- recorded calls


def _has_calls(case: chat.Case) -> bool:
    body = case.interaction.response.parsed_body or {}
    return bool((body.get("choices") or [{}])[0].get("message", {}).get("tool_calls"))


_KINDS: dict[str, Callable[[chat.Case], bool]] = {
    "tool-calls": lambda c: not c.interaction.request.body.get("stream") and _has_calls(c),
    "text": lambda c: not c.interaction.request.body.get("stream") and not _has_calls(c),
    "stream": lambda c: bool(c.interaction.request.body.get("stream")),
}


def _pick(kind: str) -> chat.Case:
    """The first replayable recorded OpenAI chat completion of ``kind`` (chosen here, in the
    test, so that no recorded shape is read at collection time); a skip if there is none."""
    usable = [
        c
        for c in chat.CASES
        if isinstance(c, chat.Case)
        and c.cassette.provider == "openai"
        and c.interaction.response.status == 200
    ]
    for case in safe_select(usable, lambda c: c.skip_reason is None and _KINDS[kind](c)):
        return case
    if is_reference_set():
        pytest.fail(f"the shared recordings hold a replayable OpenAI chat completion ({kind})")
    pytest.skip(f"no replayable recorded OpenAI chat completion ({kind}) in {cassette_root()}")


AZURE_RESPONSES = [
    c
    for c in responses.CASES
    if isinstance(c, responses.Case) and c.cassette.name.startswith("test_azure_")
]


@pytest.mark.parametrize("kind", list(_KINDS))
async def test_recorded_chat_completion_through_azure(kind: str, server: ReplayServer) -> None:
    case = _pick(kind)
    body = case.interaction.request.body
    with expressible(case.id):
        messages, tools, settings = chat.rebuild(body)
    server.replay(case.interaction)
    async with _model(server, model=body["model"]) as model:
        if body.get("stream"):
            events = await _collect(model, messages, tools=tools, settings=settings)
            chat._assert_stream_matches(events, str(case.interaction.response.body or ""))
        else:
            result = await model.generate(messages, tools=tools, settings=settings)
            chat._assert_completion_matches(result, case.interaction.response.parsed_body)
    sent = server.requests[0]
    path, query = _target(server)
    assert path == f"/openai/deployments/{body['model']}/chat/completions"
    assert query == {"api-version": [VERSION]}
    assert sent.headers["api-key"] == PLANTED and "authorization" not in sent.headers
    assert sent.json() == chat.expected_body(body)  # the OpenAI adapter's body, unchanged


@pytest.mark.parametrize(
    "slot", AZURE_RESPONSES or [None], ids=[c.id for c in AZURE_RESPONSES] or ["none"]
)
async def test_recorded_azure_responses_call(
    slot: responses.Case | None, server: ReplayServer
) -> None:
    if slot is None:
        pytest.skip(f"no recorded Azure Responses call (test_azure_*) in {cassette_root()}")
    case = replayable(slot)
    request = case.interaction.request
    body = request.body
    with expressible(case.id):
        messages, tools, settings = responses.rebuild(body)
    server.replay(case.interaction)
    async with _model(server, model=body["model"], api="responses", api_version="v1") as model:
        result = await model.generate(messages, tools=tools, settings=settings)
    # The reasoning is Azure's: only an Azure model sends it back.
    responses._assert_response_matches(
        result, case.interaction.response.parsed_body, "azure.ai.openai"
    )
    sent = server.requests[0]
    assert sent.path == request.path == "/openai/v1/responses"  # no api-version on v1
    assert sent.headers["authorization"] == f"Bearer {PLANTED}"
    assert sent.json() == responses.expected_body(body)


# --------------------------------------------------------------------------- routes and auth


def _completion(text: str = "Paris.") -> dict[str, Any]:
    return {
        "id": "chatcmpl-az",
        "object": "chat.completion",
        "model": "gpt-4o-2024-11-20",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": text},
                "content_filter_results": {"hate": {"filtered": False, "severity": "safe"}},
            }
        ],
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
    }


async def test_defaults_and_environment(
    server: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", PLANTED)
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", server.url + "/")
    server.enqueue(Reply.json(_completion()))
    model = create("azure:prod-chat")
    assert isinstance(model, AzureOpenAIChatModel)
    async with model:
        assert (await model.generate("hi")).text == "Paris."
    path, query = _target(server)
    assert path == "/openai/deployments/prod-chat/chat/completions"
    assert query == {"api-version": [DEFAULT_API_VERSION]}
    assert server.requests[0].headers["api-key"] == PLANTED
    assert PLANTED not in repr(model) and "prod-chat" in repr(model)


async def test_api_version_from_environment(
    server: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-06-01")
    server.enqueue(Reply.json(_completion()))
    async with AzureOpenAIChatModel(DEPLOYMENT, api_key=PLANTED, endpoint=server.url) as model:
        await model.generate("hi")
    assert _target(server)[1] == {"api-version": ["2024-06-01"]}


async def test_entra_id_token_is_a_bearer_token(server: ReplayServer) -> None:
    token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.PLANTEDTOKEN"
    server.enqueue(Reply.json(_completion()))
    async with _model(server, api_key=None, azure_ad_token=token) as model:
        await model.generate("hi")
        assert token not in repr(model)
    headers = server.requests[0].headers
    assert headers["authorization"] == f"Bearer {token}" and "api-key" not in headers


async def test_v1_api_chat(server: ReplayServer) -> None:
    server.enqueue(Reply.json(_completion()))
    async with _model(server, api_version="v1") as model:
        await model.generate("hi")
    path, query = _target(server)
    assert (path, query) == ("/openai/v1/chat/completions", {})
    assert server.requests[0].json()["model"] == DEPLOYMENT  # the deployment goes in the body
    assert server.requests[0].headers["authorization"] == f"Bearer {PLANTED}"


async def test_responses_on_a_dated_api_version(server: ReplayServer) -> None:
    server.enqueue(Reply.json(responses._response()))
    async with _model(server, api="responses", api_version=DEFAULT_API_VERSION) as model:
        result = await model.generate("hi", tools=[ToolDefinition("f")])
    path, query = _target(server)
    assert (path, query) == ("/openai/responses", {"api-version": [DEFAULT_API_VERSION]})
    sent = server.requests[0]
    assert sent.headers["api-key"] == PLANTED
    assert sent.json()["model"] == DEPLOYMENT and sent.json()["store"] is False
    assert result.text == "Paris."


async def test_responses_stream(server: ReplayServer) -> None:
    final = responses._response()
    events = responses._events(final, responses._ev("response.output_text.delta", delta="Paris."))
    server.enqueue(responses._stream_reply(events))
    async with _model(server, api="responses") as model:
        streamed = await _collect(model, "hi")
    assert streamed[0] == TextDelta("Paris.")
    assert streamed[-1] == FinishEvent("stop", "completed", "gpt-5-mini-2025-08-07", "resp_test")


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"api_key": None}, "AZURE_OPENAI_API_KEY"),
        ({"endpoint": None}, "AZURE_OPENAI_ENDPOINT"),
        ({"azure_ad_token": "tok-123456"}, "not both"),
        ({"api": "assistants"}, "api='assistants'"),
    ],
    ids=["no-key", "no-endpoint", "key-and-token", "bad-api"],
)
def test_configuration_errors(options: dict[str, Any], match: str) -> None:
    kwargs: dict[str, Any] = {"api_key": PLANTED, "endpoint": "https://r.openai.azure.com"}
    kwargs.update(options)
    with pytest.raises(BelugaError, match=match) as info:
        AzureOpenAIChatModel(DEPLOYMENT, **kwargs)
    assert info.value.code is ErrorCode.INVALID_CONFIG
    _assert_no_key(info.value)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("status", "body", "headers", "code", "retryable", "hint"),
    [
        (
            401,
            {"error": {"code": "401", "message": f"Access denied due to invalid key {PLANTED}."}},
            {},
            ErrorCode.AUTH_FAILED,
            False,
            "AZURE_OPENAI_API_KEY",
        ),
        (
            404,
            {
                "error": {
                    "code": "DeploymentNotFound",
                    "message": "The API deployment does not exist.",
                }
            },
            {},
            ErrorCode.NOT_FOUND,
            False,
            "deployment name",
        ),
        (
            429,
            {"error": {"code": "429", "message": "Requests exceeded the token rate limit."}},
            {"retry-after": "12"},
            ErrorCode.RATE_LIMITED,
            True,
            "quota",
        ),
        (
            400,
            {
                "error": {
                    "message": "The response was filtered due to the prompt triggering Azure "
                    "OpenAI's content management policy.",
                    "type": None,
                    "param": "prompt",
                    "code": "content_filter",
                    "status": 400,
                    "innererror": {"code": "ResponsibleAIPolicyViolation"},
                }
            },
            {},
            ErrorCode.CONTENT_FILTERED,
            False,
            "Rephrase",
        ),
        (
            500,
            {"error": {"code": "InternalServerError", "message": "Backend returned unexpected"}},
            {},
            ErrorCode.PROVIDER_UNAVAILABLE,
            True,
            "retry later",
        ),
    ],
)
@pytest.mark.parametrize("api", ["chat", "responses"])
async def test_http_errors(
    server: ReplayServer,
    status: int,
    body: dict[str, Any],
    headers: dict[str, str],
    code: ErrorCode,
    retryable: bool,
    hint: str,
    api: str,
) -> None:
    server.enqueue(Reply.json(body, status=status, headers=headers))
    async with _model(server, api=api) as model:
        with pytest.raises(BelugaError) as info:
            await _collect(model, "hi")
    err = info.value
    assert (err.code, err.retryable) == (code, retryable)
    assert err.retry_after == (12.0 if status == 429 else None)
    assert f"HTTP {status}" in err.message and hint in err.message
    _assert_no_key(err)
    assert len(server.requests) == 1  # the SDK's own retries are off


async def test_content_filter_finish_in_a_completion(server: ReplayServer) -> None:
    body = _completion("")
    body["choices"][0]["finish_reason"] = "content_filter"
    server.enqueue(Reply.json(body))
    async with _model(server) as model:
        result = await model.generate("hi")
    assert (result.finish_reason, result.raw_finish_reason) == ("content_filter", "content_filter")


# --------------------------------------------------------------------------- lifecycle, tracing


async def test_aclose_closes_the_client(server: ReplayServer) -> None:
    model = _model(server)
    client = model._inner._client
    await model.aclose()
    assert client.is_closed()


async def test_span_names_azure_and_the_deployment(
    server: ReplayServer, telemetry: Telemetry
) -> None:
    server.enqueue(Reply.json(_completion()))
    async with _model(server) as model:
        await model.generate("hi")
    (span,) = [s for s in telemetry.finished_spans() if s.name.startswith("chat ")]
    attrs = dict(span.attributes or {})
    assert span.name == f"chat {DEPLOYMENT}"
    assert attrs["gen_ai.provider.name"] == "azure.ai.openai"
    assert attrs["gen_ai.response.model"] == "gpt-4o-2024-11-20"
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (9, 2)
    assert PLANTED not in repr(attrs)
