"""GeminiEmbedder against a loopback server speaking the Gemini API's ``batchEmbedContents``.

The answers are shaped as the Gemini API reference documents ``models.batchEmbedContents``
(``{"embeddings": [{"values": [...]}]}``) and its errors (``{"error": {"code", "message",
"status"}}``); the request is what the google-genai SDK sends for ``embed_content``.
"""

from __future__ import annotations

import base64
import math

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.embeddings.providers.gemini import GeminiEmbedder
from beluga.schema import ImagePart, TextPart
from tests.support.replay_server import ReplayServer, Reply

KEY = "AIza-PLANTED0123456789abcdef"
PNG = b"\x89PNG\r\n\x1a\nfake"


def answer(vectors: list[list[float]]) -> Reply:
    return Reply.json({"embeddings": [{"values": v} for v in vectors]})


def embedder(server: ReplayServer, **options: object) -> GeminiEmbedder:
    return GeminiEmbedder(api_key=KEY, base_url=server.url, **options)  # type: ignore[arg-type]


async def test_batch_request_with_task_type_and_dimensions(server: ReplayServer) -> None:
    server.enqueue(answer([[3.0, 4.0], [0.0, 2.0]]))
    async with embedder(server, dimensions=2, task_type="RETRIEVAL_DOCUMENT") as emb:
        vectors = await emb.embed(["What is the meaning of life?", "How much wood?"])
    # A shortened vector is normalised here (the service does not).
    assert vectors == [[0.6, 0.8], [0.0, 1.0]]
    request = server.requests[0]
    assert request.path == "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    assert request.headers["x-goog-api-key"] == KEY
    assert request.json() == {
        "requests": [
            {
                "content": {"parts": [{"text": "What is the meaning of life?"}]},
                "taskType": "RETRIEVAL_DOCUMENT",
                "outputDimensionality": 2,
                "model": "models/gemini-embedding-001",
            },
            {
                "content": {"parts": [{"text": "How much wood?"}]},
                "taskType": "RETRIEVAL_DOCUMENT",
                "outputDimensionality": 2,
                "model": "models/gemini-embedding-001",
            },
        ]
    }


async def test_full_size_vectors_untouched(server: ReplayServer) -> None:
    vector = [0.5] * 3072
    server.enqueue(answer([vector]))
    async with embedder(server) as emb:
        (got,) = await emb.embed(["x"])
    assert got == vector and "outputDimensionality" not in server.requests[0].json()["requests"][0]


async def test_multimodal_input_is_one_content(server: ReplayServer) -> None:
    server.enqueue(answer([[1.0, 0.0, 0.0]]))
    async with embedder(server, model="gemini-embedding-2", dimensions=3) as emb:
        await emb.embed([[TextPart(text="a scone"), ImagePart(data=PNG, media_type="image/png")]])
    (item,) = server.requests[0].json()["requests"]
    # The SDK sends the part in proto field names, which the API's JSON parser accepts.
    assert item["content"]["parts"] == [
        {"text": "a scone"},
        {"inline_data": {"data": base64.b64encode(PNG).decode(), "mime_type": "image/png"}},
    ]


async def test_more_than_100_inputs_split(server: ReplayServer) -> None:
    server.enqueue(answer([[1.0, 0.0]] * 100), answer([[0.0, 1.0]] * 20))
    async with embedder(server, dimensions=2, max_concurrency=1) as emb:
        vectors = await emb.embed([f"t{i}" for i in range(120)])
    assert [len(r.json()["requests"]) for r in server.requests] == [100, 20]
    assert vectors[99] == [1.0, 0.0] and vectors[100] == [0.0, 1.0]
    assert all(math.isclose(sum(x * x for x in v), 1.0) for v in vectors)


@pytest.mark.parametrize(
    ("status", "state", "code", "retryable"),
    [
        (400, "INVALID_ARGUMENT", ErrorCode.INVALID_REQUEST, False),
        (403, "PERMISSION_DENIED", ErrorCode.AUTH_FAILED, False),
        (429, "RESOURCE_EXHAUSTED", ErrorCode.RATE_LIMITED, True),
        (500, "INTERNAL", ErrorCode.PROVIDER_UNAVAILABLE, True),
    ],
)
async def test_errors_mapped(
    server: ReplayServer, status: int, state: str, code: ErrorCode, retryable: bool
) -> None:
    body = {"error": {"code": status, "message": f"the {state} message", "status": state}}
    server.enqueue(Reply.json(body, status=status, headers={"retry-after": "3"}))
    async with embedder(server) as emb:
        with pytest.raises(BelugaError) as info:
            await emb.embed(["x"])
    assert info.value.code is code and info.value.retryable is retryable
    assert f"the {state} message" in info.value.message


def test_needs_a_key_and_a_known_size() -> None:
    with pytest.raises(BelugaError, match="GOOGLE_API_KEY"):
        GeminiEmbedder()
    with pytest.raises(BelugaError, match="pass dimensions"):
        GeminiEmbedder("gemini-embedding-2", api_key=KEY)
