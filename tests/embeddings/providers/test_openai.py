"""OpenAIEmbedder against a loopback server speaking ``POST /v1/embeddings``.

No embeddings traffic is recorded in the shared fixtures, so the answers served are shaped as
the OpenAI API reference documents them (``{"object": "list", "data": [{"object":
"embedding", "index", "embedding"}], "model", "usage": {"prompt_tokens", "total_tokens"}}``)
and its error bodies (``{"error": {"message", "type", "param", "code"}}``).
"""

from __future__ import annotations

from typing import Any

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.redaction import redact
from beluga.embeddings import create
from beluga.embeddings.providers.openai import OpenAIEmbedder
from beluga.schema import ImagePart, TextPart
from tests.conftest import Telemetry
from tests.support.replay_server import ReplayServer, Reply

KEY = "sk-test-PLANTED0123456789abcdef"


def answer(vectors: list[list[float]], *, tokens: int = 8, order: list[int] | None = None) -> Reply:
    indexes = order or list(range(len(vectors)))
    data = [{"object": "embedding", "index": i, "embedding": vectors[i]} for i in indexes]
    return Reply.json(
        {
            "object": "list",
            "data": data,
            "model": "text-embedding-3-small",
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


def error(status: int, message: str, code: str | None, **headers: str) -> Reply:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": None}}
    body["error"]["code"] = code  # type: ignore[assignment]
    return Reply.json(body, status=status, headers=headers)


def embedder(server: ReplayServer, **options: Any) -> OpenAIEmbedder:
    return OpenAIEmbedder(
        "text-embedding-3-small",
        dimensions=options.pop("dimensions", 3),
        api_key=KEY,
        base_url=f"{server.url}/v1",
        **options,
    )


async def test_request_body_and_vectors_in_input_order(
    server: ReplayServer, telemetry: Telemetry
) -> None:
    server.enqueue(answer([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], tokens=7, order=[1, 0]))
    async with embedder(server) as emb:
        vectors = await emb.embed(["hello world", [TextPart(text="second")]])
    assert vectors == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    request = server.requests[0]
    assert request.path == "/v1/embeddings"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.json() == {
        "model": "text-embedding-3-small",
        "input": ["hello world", "second"],
        "encoding_format": "float",
        "dimensions": 3,
    }
    (span,) = [s for s in telemetry.finished_spans() if s.name.startswith("embeddings")]
    assert span.name == "embeddings text-embedding-3-small"
    assert span.attributes is not None
    assert span.attributes["gen_ai.operation.name"] == "embeddings"
    assert span.attributes["gen_ai.provider.name"] == "openai"
    assert span.attributes["gen_ai.usage.input_tokens"] == 7
    assert span.attributes["gen_ai.embeddings.dimension.count"] == 3
    points = telemetry.metric_points("gen_ai.client.token.usage")
    kinds = {
        p.attributes.get("gen_ai.token.type")
        for p in points
        if p.attributes.get("gen_ai.operation.name") == "embeddings"
    }
    assert kinds == {"input"}


async def test_full_size_is_not_sent_as_dimensions(server: ReplayServer) -> None:
    server.enqueue(answer([[0.5] * 1536]))
    async with OpenAIEmbedder(api_key=KEY, base_url=f"{server.url}/v1") as emb:
        assert emb.dimensions == 1536
        await emb.embed(["x"])
    assert "dimensions" not in server.requests[0].json()


async def test_large_call_split_into_api_sized_batches(server: ReplayServer) -> None:
    texts = [f"text {i}" for i in range(2500)]
    server.enqueue(answer([[float(i), 0.0, 0.0] for i in range(2048)]))
    server.enqueue(answer([[float(i), 1.0, 0.0] for i in range(452)]))
    async with embedder(server, max_concurrency=1) as emb:
        vectors = await emb.embed(texts)
    sizes = [len(r.json()["input"]) for r in server.requests]
    assert sizes == [2048, 452]
    assert vectors[0] == [0.0, 0.0, 0.0] and vectors[2048] == [0.0, 1.0, 0.0]
    assert vectors[-1] == [451.0, 1.0, 0.0]


async def test_token_budget_splits_long_inputs(server: ReplayServer) -> None:
    long = "word " * 100_000  # ~167k estimated tokens each: two cannot share a request
    server.enqueue(answer([[1.0, 0.0, 0.0]]), answer([[0.0, 1.0, 0.0]]))
    async with embedder(server, max_concurrency=1) as emb:
        await emb.embed([long, long])
    assert [len(r.json()["input"]) for r in server.requests] == [1, 1]


async def test_unauthorized_is_auth_failed_and_key_hidden(server: ReplayServer) -> None:
    server.enqueue(error(401, f"Incorrect API key provided: {KEY}.", "invalid_api_key"))
    async with embedder(server) as emb:
        with pytest.raises(BelugaError) as info:
            await emb.embed(["x"])
    assert info.value.code is ErrorCode.AUTH_FAILED and not info.value.retryable
    assert KEY not in redact(str(info.value))


async def test_rate_limit_carries_retry_after(server: ReplayServer) -> None:
    server.enqueue(
        error(429, "Rate limit reached for requests", "rate_limit_exceeded", **{"retry-after": "7"})
    )
    async with embedder(server) as emb:
        with pytest.raises(BelugaError) as info:
            await emb.embed(["x"])
    assert info.value.code is ErrorCode.RATE_LIMITED and info.value.retryable
    assert info.value.retry_after == 7.0


async def test_too_long_input_is_invalid_request(server: ReplayServer) -> None:
    message = (
        "This model's maximum context length is 8192 tokens, however you requested 9000 "
        "tokens (9000 in your prompt; 0 for the completion). Please reduce your prompt."
    )
    server.enqueue(error(400, message, None))
    async with embedder(server) as emb:
        with pytest.raises(BelugaError) as info:
            await emb.embed(["x"])
    assert info.value.code is ErrorCode.INVALID_REQUEST and not info.value.retryable
    assert "8192 tokens" in info.value.message


async def test_server_error_is_retryable(server: ReplayServer) -> None:
    server.enqueue(error(503, "The server is overloaded", None))
    async with embedder(server) as emb:
        with pytest.raises(BelugaError) as info:
            await emb.embed(["x"])
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE and info.value.retryable


async def test_wrong_vector_size_is_refused(server: ReplayServer) -> None:
    server.enqueue(answer([[1.0, 2.0]]))
    async with embedder(server) as emb:
        with pytest.raises(BelugaError, match="2 floats where 3"):
            await emb.embed(["x"])


async def test_images_and_empty_text_refused_before_sending(server: ReplayServer) -> None:
    async with embedder(server) as emb:
        with pytest.raises(BelugaError, match="text only"):
            await emb.embed([[ImagePart(url="https://example.com/a.png")]])
        with pytest.raises(BelugaError, match="empty"):
            await emb.embed([""])
    assert server.requests == []


def test_registry_id_and_missing_key() -> None:
    with pytest.raises(BelugaError) as info:
        create("openai:text-embedding-3-large")
    assert info.value.code is ErrorCode.INVALID_CONFIG and "OPENAI_API_KEY" in info.value.message
    emb = create("openai:text-embedding-3-large", api_key=KEY)
    assert (emb.model_name, emb.dimensions) == ("text-embedding-3-large", 3072)
    with pytest.raises(BelugaError, match="pass dimensions"):
        create("openai:my-model", base_url="http://127.0.0.1:1/v1")
