"""CohereReranker through the ``cohere`` SDK against a loopback server speaking v2 rerank.

Answers are shaped as Cohere's API reference shows them (``POST /v2/rerank``: ``{"id",
"results": [{"index", "relevance_score"}], "meta": {"api_version", "billed_units":
{"search_units"}}}``); errors as ``{"message": "..."}`` with the HTTP status.
"""

from __future__ import annotations

import pytest

pytest.importorskip("cohere")

from beluga.core.errors import BelugaError, ErrorCode
from beluga.retrievers import create_reranker
from beluga.retrievers.providers.cohere import CohereReranker
from beluga.schema import Document
from tests.support.replay_server import ReplayServer, Reply, unused_port

KEY = "co-PLANTED-rerank-key-123456"
DOCS = [
    Document("Carson City is the capital city of the American state of Nevada.", id="nv"),
    Document("Washington, D.C. is the capital of the United States.", id="dc"),
    Document("Capital punishment has existed in the United States since 1608.", id="cp"),
]


def answer(*results: tuple[int, float]) -> Reply:
    return Reply.json(
        {
            "id": "07734bd2-2473-4f07-94e1-0d9f0e6843cf",
            "results": [{"index": i, "relevance_score": s} for i, s in results],
            "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
        }
    )


async def test_request_and_ranking(server: ReplayServer) -> None:
    server.enqueue(answer((1, 0.999071), (0, 0.32713068)))
    async with CohereReranker(api_key=KEY, base_url=server.url, max_tokens_per_doc=512) as rr:
        ranked = await rr.rerank("What is the capital of the United States?", DOCS, top_n=2)
    assert [(r.document.id, r.score) for r in ranked] == [("dc", 0.999071), ("nv", 0.32713068)]
    request = server.requests[0]
    assert request.path == "/v2/rerank"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.json() == {
        "model": "rerank-v3.5",
        "query": "What is the capital of the United States?",
        "documents": [d.text for d in DOCS],
        "top_n": 2,
        "max_tokens_per_doc": 512,
    }


async def test_bad_key_is_auth_failed_and_key_never_shown(server: ReplayServer) -> None:
    server.enqueue(Reply.json({"message": f"invalid api token {KEY}"}, status=401))
    async with CohereReranker(api_key=KEY, base_url=server.url) as rr:
        with pytest.raises(BelugaError) as info:
            await rr.rerank("q", DOCS)
    assert info.value.code is ErrorCode.AUTH_FAILED and not info.value.retryable
    assert KEY not in str(info.value) and "invalid api token" in info.value.message


async def test_rate_limit_carries_retry_after(server: ReplayServer) -> None:
    server.enqueue(
        Reply.json(
            {"message": "You are using a Trial key, which is limited to 10 API calls / minute."},
            status=429,
            headers={"retry-after": "7"},
        )
    )
    async with CohereReranker(api_key=KEY, base_url=server.url) as rr:
        with pytest.raises(BelugaError) as info:
            await rr.rerank("q", DOCS)
    assert info.value.code is ErrorCode.RATE_LIMITED and info.value.retryable
    assert info.value.retry_after == 7.0


async def test_bad_request_and_server_error(server: ReplayServer) -> None:
    server.enqueue(
        Reply.json({"message": "invalid request: model 'rerank-nope' not found"}, status=400),
        Reply.json({"message": "internal server error"}, status=500),
    )
    async with CohereReranker("rerank-nope", api_key=KEY, base_url=server.url) as rr:
        with pytest.raises(BelugaError) as info:
            await rr.rerank("q", DOCS)
        assert info.value.code is ErrorCode.INVALID_REQUEST
        with pytest.raises(BelugaError) as info:
            await rr.rerank("q", DOCS)
        assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE and info.value.retryable


async def test_dropped_connection_is_retryable(server: ReplayServer) -> None:
    server.enqueue(Reply(reset=True))
    async with CohereReranker(api_key=KEY, base_url=server.url) as rr:
        with pytest.raises(BelugaError) as info:
            await rr.rerank("q", DOCS)
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE and info.value.retryable


async def test_refused_connection_and_missing_key() -> None:
    url = f"http://127.0.0.1:{unused_port()}"
    async with CohereReranker(api_key=KEY, base_url=url) as rr:
        with pytest.raises(BelugaError) as info:
            await rr.rerank("q", DOCS)
    assert info.value.code is ErrorCode.PROVIDER_UNAVAILABLE
    with pytest.raises(BelugaError, match="CO_API_KEY") as info:
        CohereReranker()
    assert info.value.code is ErrorCode.INVALID_CONFIG


async def test_registry_id(server: ReplayServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CO_API_KEY", KEY)
    server.enqueue(answer((0, 0.5)))
    reranker = create_reranker("cohere:rerank-english-v3.0", base_url=server.url)
    async with reranker:  # type: ignore[attr-defined]
        await reranker.rerank("q", DOCS[:1])
    assert server.requests[0].json()["model"] == "rerank-english-v3.0"
