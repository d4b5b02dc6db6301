"""BedrockEmbedder against a loopback server speaking Bedrock's ``InvokeModel`` REST API.

``POST /model/{modelId}/invoke``, SigV4-signed by aiobotocore; the bodies are those of the Bedrock
model-parameter pages (Titan Text Embeddings V2, Titan Multimodal Embeddings G1, Cohere Embed
v3/v4), errors as the REST-JSON protocol sends them (``x-amzn-ErrorType`` header and a
``{"message"}`` body).
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.redaction import redact
from beluga.embeddings.providers.bedrock import BedrockEmbedder
from beluga.schema import ImagePart, TextPart
from tests.support.replay_server import ReplayServer, Reply

SECRET = "aws-secret-PLANTED0123456789abcdef"
PNG = b"\x89PNG\r\n\x1a\nfake"


def embedder(server: ReplayServer, model: str, **options: Any) -> BedrockEmbedder:
    return BedrockEmbedder(
        model,
        region="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key=SECRET,
        base_url=server.url,
        **options,
    )


def aws_error(status: int, kind: str, message: str, **headers: str) -> Reply:
    return Reply.json(
        {"message": message},
        status=status,
        headers={"x-amzn-ErrorType": f"{kind}:http://internal.amazon.com/", **headers},
    )


async def test_titan_text_v2_one_call_per_input(server: ReplayServer) -> None:
    for value in (1.0, 2.0):
        server.enqueue(
            Reply.json(
                {
                    "embedding": [value] * 4,
                    "inputTextTokenCount": 3,
                    "embeddingsByType": {"float": [value] * 4},
                }
            )
        )
    async with embedder(
        server, "amazon.titan-embed-text-v2:0", dimensions=4, max_concurrency=1
    ) as emb:
        vectors = await emb.embed(["hello", "world"])
    assert vectors == [[1.0] * 4, [2.0] * 4]
    first = server.requests[0]
    assert first.path == "/model/amazon.titan-embed-text-v2%3A0/invoke"
    assert first.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert first.json() == {
        "inputText": "hello",
        "normalize": True,
        "embeddingTypes": ["float"],
        "dimensions": 4,
    }
    assert server.requests[1].json()["inputText"] == "world"


async def test_titan_multimodal_text_and_image_in_one_vector(server: ReplayServer) -> None:
    server.enqueue(Reply.json({"embedding": [0.5] * 3, "inputTextTokenCount": 2}))
    async with embedder(server, "amazon.titan-embed-image-v1", dimensions=3) as emb:
        await emb.embed([[TextPart(text="a red bag"), ImagePart(data=PNG, media_type="image/png")]])
    assert server.requests[0].json() == {
        "inputText": "a red bag",
        "inputImage": base64.b64encode(PNG).decode(),
        "embeddingConfig": {"outputEmbeddingLength": 3},
    }


async def test_cohere_v3_texts_in_one_call(server: ReplayServer) -> None:
    server.enqueue(
        Reply.json(
            {
                "id": "e1",
                "response_type": "embeddings_by_type",
                "embeddings": {"float": [[1.0, 0.0], [0.0, 1.0]]},
                "texts": ["a", "b"],
            },
            headers={"X-Amzn-Bedrock-Input-Token-Count": "2"},
        )
    )
    async with embedder(
        server, "cohere.embed-english-v3", dimensions=2, input_type="search_query"
    ) as emb:
        assert await emb.embed(["a", "b"]) == [[1.0, 0.0], [0.0, 1.0]]
    assert server.requests[0].json() == {
        "embedding_types": ["float"],
        "texts": ["a", "b"],
        "input_type": "search_query",
        "truncate": "END",
    }


async def test_cohere_v3_image_and_plain_embeddings_shape(server: ReplayServer) -> None:
    server.enqueue(
        Reply.json(
            {
                "id": "e2",
                "response_type": "embeddings_floats",
                "embeddings": [[0.25, 0.75]],
                "images": [{}],
            }
        )
    )
    async with embedder(server, "cohere.embed-english-v3", dimensions=2) as emb:
        assert await emb.embed([[ImagePart(data=PNG, media_type="image/png")]]) == [[0.25, 0.75]]
        with pytest.raises(BelugaError, match="embed-v4"):
            await emb.embed([[TextPart(text="x"), ImagePart(data=PNG, media_type="image/png")]])
    body = server.requests[0].json()
    assert body["images"] == [f"data:image/png;base64,{base64.b64encode(PNG).decode()}"]
    assert body["input_type"] == "image"


async def test_cohere_v4_mixed_inputs(server: ReplayServer) -> None:
    server.enqueue(
        Reply.json(
            {
                "id": "e3",
                "embeddings": {"float": [[1.0, 0.0]]},
                "response_type": "embeddings_by_type",
            }
        )
    )
    async with embedder(server, "cohere.embed-v4:0", dimensions=2) as emb:
        await emb.embed([[TextPart(text="cat"), ImagePart(data=PNG, media_type="image/png")]])
    body = server.requests[0].json()
    assert body["inputs"] == [
        {
            "content": [
                {"type": "text", "text": "cat"},
                {
                    "type": "image_url",
                    "image_url": f"data:image/png;base64,{base64.b64encode(PNG).decode()}",
                },
            ]
        }
    ]
    assert body["output_dimension"] == 2


@pytest.mark.parametrize(
    ("status", "kind", "code", "retryable"),
    [
        (400, "ValidationException", ErrorCode.INVALID_REQUEST, False),
        (403, "AccessDeniedException", ErrorCode.AUTH_FAILED, False),
        (429, "ThrottlingException", ErrorCode.RATE_LIMITED, True),
        (503, "ServiceUnavailableException", ErrorCode.PROVIDER_UNAVAILABLE, True),
    ],
)
async def test_errors_mapped(
    server: ReplayServer, status: int, kind: str, code: ErrorCode, retryable: bool
) -> None:
    server.enqueue(aws_error(status, kind, f"{kind} said no"))
    async with embedder(server, "amazon.titan-embed-text-v2:0") as emb:
        with pytest.raises(BelugaError) as info:
            await emb.embed(["x"])
    assert info.value.code is code and info.value.retryable is retryable
    assert f"{kind}: {kind} said no" in info.value.message
    assert SECRET not in redact(repr(info.value.__cause__))


def test_unknown_model_and_half_credentials() -> None:
    with pytest.raises(BelugaError, match="not an embedding model"):
        BedrockEmbedder("anthropic.claude-3")
    with pytest.raises(BelugaError, match="both"):
        BedrockEmbedder(aws_access_key_id="AKID")
    assert BedrockEmbedder("us.cohere.embed-v4:0").dimensions == 1536
