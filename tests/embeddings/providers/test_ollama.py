"""OllamaEmbedder against a loopback server speaking ``POST /api/embed``.

The answers are shaped as Ollama's API documentation shows them (``docs/api.md``, "Generate
Embeddings": ``{"model", "embeddings": [[...]], "total_duration", "load_duration",
"prompt_eval_count"}``), errors as ``{"error": "..."}`` with the HTTP status.
"""

from __future__ import annotations

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.embeddings import create
from beluga.embeddings.providers.ollama import OllamaEmbedder
from beluga.schema import ImagePart
from tests.support.replay_server import ReplayServer, Reply, unused_port


def answer(vectors: list[list[float]]) -> Reply:
    return Reply.json(
        {
            "model": "all-minilm",
            "embeddings": vectors,
            "total_duration": 14143917,
            "load_duration": 1019500,
            "prompt_eval_count": 8,
        }
    )


async def test_request_body_and_vectors(server: ReplayServer) -> None:
    server.enqueue(answer([[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]]))
    async with OllamaEmbedder(
        "all-minilm", dimensions=3, base_url=server.url, keep_alive="5m"
    ) as emb:
        vectors = await emb.embed(["Why is the sky blue?", "Why is the grass green?"])
    assert vectors == [[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]]
    request = server.requests[0]
    assert request.path == "/api/embed"
    assert request.json() == {
        "model": "all-minilm",
        "input": ["Why is the sky blue?", "Why is the grass green?"],
        "truncate": True,
        "keep_alive": "5m",
    }


async def test_shorten_sends_dimensions_and_key_is_a_bearer(server: ReplayServer) -> None:
    server.enqueue(answer([[0.6, 0.8]]))
    async with OllamaEmbedder(
        "nomic-embed-text",
        dimensions=2,
        shorten=True,
        base_url=server.url,
        api_key="ollama-PLANTED-key",
    ) as emb:
        await emb.embed(["x"])
    assert server.requests[0].json()["dimensions"] == 2
    assert server.requests[0].headers["authorization"] == "Bearer ollama-PLANTED-key"


async def test_missing_model_is_not_found(server: ReplayServer) -> None:
    server.enqueue(
        Reply.json({"error": 'model "nope" not found, try pulling it first'}, status=404)
    )
    async with OllamaEmbedder("nope", dimensions=3, base_url=server.url) as emb:
        with pytest.raises(BelugaError) as info:
            await emb.embed(["x"])
    assert info.value.code is ErrorCode.NOT_FOUND and "try pulling" in info.value.message


async def test_server_error_is_retryable(server: ReplayServer) -> None:
    server.enqueue(Reply.json({"error": "llama runner process has terminated"}, status=500))
    async with OllamaEmbedder("all-minilm", base_url=server.url) as emb:
        with pytest.raises(BelugaError) as info:
            await emb.embed(["x"])
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE and info.value.retryable


async def test_refused_connection_is_unavailable() -> None:
    async with OllamaEmbedder("all-minilm", base_url=f"http://127.0.0.1:{unused_port()}") as emb:
        with pytest.raises(BelugaError) as info:
            await emb.embed(["x"])
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE and info.value.retryable


async def test_images_refused(server: ReplayServer) -> None:
    async with OllamaEmbedder("all-minilm", base_url=server.url) as emb:
        with pytest.raises(BelugaError, match="text only"):
            await emb.embed([[ImagePart(url="https://example.com/a.png")]])
    assert server.requests == []


def test_registry_id_knows_model_sizes() -> None:
    assert create("ollama:mxbai-embed-large").dimensions == 1024
    assert create("ollama:all-minilm:l6-v2").dimensions == 384
    with pytest.raises(BelugaError, match="pass dimensions"):
        create("ollama:something-else")
