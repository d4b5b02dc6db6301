"""Voyage and Jina rerankers against a loopback server speaking their REST APIs.

Answers follow the providers' API references: Voyage ``POST /v1/rerank`` answers ``{"object":
"list", "data": [{"relevance_score", "index"}], "model", "usage": {"total_tokens"}}``; Jina
``POST /v1/rerank`` answers ``{"model", "usage": {"total_tokens"}, "results": [{"index",
"relevance_score"}]}``. Errors are ``{"detail": "..."}`` with the HTTP status.
"""

from __future__ import annotations

from typing import Any

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.retrievers import create_reranker
from beluga.retrievers.providers.rest import JinaReranker, RestReranker, VoyageReranker
from beluga.schema import Document
from tests.support.replay_server import ReplayServer, Reply

KEY = "pa-PLANTED-rerank-key-abcdef"
DOCS = [
    Document("The Mediterranean diet emphasizes fish, olive oil, and vegetables.", id="med"),
    Document("Photosynthesis in plants converts light energy into glucose.", id="photo"),
    Document("Apple's conference call to discuss fourth fiscal quarter results.", id="apple"),
]


def voyage_answer(rows: list[tuple[int, float]]) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"relevance_score": s, "index": i} for i, s in rows],
        "model": "rerank-2.5",
        "usage": {"total_tokens": 26},
    }


def jina_answer(rows: list[tuple[int, float]]) -> dict[str, Any]:
    return {
        "model": "jina-reranker-v2-base-multilingual",
        "usage": {"total_tokens": 38},
        "results": [{"index": i, "relevance_score": s} for i, s in rows],
    }


CASES = [
    pytest.param(VoyageReranker, voyage_answer, "top_k", {}, id="voyage"),
    pytest.param(JinaReranker, jina_answer, "top_n", {"return_documents": False}, id="jina"),
]


@pytest.mark.parametrize(("cls", "answer", "top_field", "extra"), CASES)
async def test_request_and_ranking(
    server: ReplayServer, cls: type[RestReranker], answer: Any, top_field: str, extra: Any
) -> None:
    server.enqueue(Reply.json(answer([(2, 0.2), (0, 0.9)])))  # unsorted on purpose
    async with cls(api_key=KEY, base_url=f"{server.url}/v1") as reranker:
        ranked = await reranker.rerank("healthy diet", DOCS, top_n=2)
    assert [(r.document.id, r.score) for r in ranked] == [("med", 0.9), ("apple", 0.2)]
    request = server.requests[0]
    assert request.path == "/v1/rerank"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.json() == {
        "model": reranker.model_name,
        "query": "healthy diet",
        "documents": [d.text for d in DOCS],
        top_field: 2,
        **extra,
    }


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (401, ErrorCode.AUTH_FAILED, False),
        (400, ErrorCode.INVALID_REQUEST, False),
        (429, ErrorCode.RATE_LIMITED, True),
        (503, ErrorCode.PROVIDER_UNAVAILABLE, True),
    ],
)
@pytest.mark.parametrize("cls", [VoyageReranker, JinaReranker])
async def test_error_statuses(
    server: ReplayServer, cls: type[RestReranker], status: int, code: ErrorCode, retryable: bool
) -> None:
    detail = f"Provided API key is invalid: {KEY}" if status == 401 else "try later"
    server.enqueue(Reply.json({"detail": detail}, status=status, headers={"retry-after": "3"}))
    async with cls(api_key=KEY, base_url=server.url) as reranker:
        with pytest.raises(BelugaError) as info:
            await reranker.rerank("q", DOCS)
    assert info.value.code is code and info.value.retryable is retryable
    assert KEY not in str(info.value) and f"HTTP {status}" in info.value.message
    if status == 429:
        assert info.value.retry_after == 3.0


@pytest.mark.parametrize("cls", [VoyageReranker, JinaReranker])
async def test_dropped_connection_and_bad_body(
    server: ReplayServer, cls: type[RestReranker]
) -> None:
    body = Reply.json(jina_answer([(0, 0.5)]))
    body.cut_after = 10
    server.enqueue(Reply(reset=True), body, Reply.text("<html>gateway</html>"))
    async with cls(api_key=KEY, base_url=server.url) as reranker:
        for _ in range(3):
            with pytest.raises(BelugaError) as info:
                await reranker.rerank("q", DOCS)
            assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE and info.value.retryable


async def test_missing_key_and_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BelugaError, match="VOYAGE_API_KEY"):
        VoyageReranker()
    monkeypatch.setenv("JINA_API_KEY", KEY)
    reranker = create_reranker("jina:jina-reranker-m0")
    assert reranker.model_name == "jina-reranker-m0"
    assert KEY not in repr(reranker)
    await reranker.aclose()  # type: ignore[attr-defined]
