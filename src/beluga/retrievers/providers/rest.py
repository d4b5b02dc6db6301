"""Voyage AI and Jina AI rerank over their REST APIs (httpx; neither needs an SDK).

Both take ``{"model", "query", "documents": [str], <top>}`` and answer relevance scores with
each document's ``index`` in the request:

- Voyage ``POST https://api.voyageai.com/v1/rerank``: ``top_k``, ``truncation``; answers
  ``{"object": "list", "data": [{"relevance_score", "index"}], "model", "usage":
  {"total_tokens"}}``. Key: ``VOYAGE_API_KEY``. Models ``rerank-2.5``, ``rerank-2.5-lite``.
- Jina ``POST https://api.jina.ai/v1/rerank``: ``top_n``, ``return_documents``; answers
  ``{"model", "usage": {"total_tokens"}, "results": [{"index", "relevance_score"}]}``. Key:
  ``JINA_API_KEY``. Models ``jina-reranker-v2-base-multilingual``, ``jina-reranker-m0``.

Errors are ``{"detail": "..."}`` with the HTTP status (429 with ``retry-after``). The key goes
in ``Authorization: Bearer`` and is registered with the redactor, so no error shows it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from beluga.config.endpoints import endpoint, env_key
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.provider_errors import our_code
from beluga.retrievers.providers._errors import http_error, status_error
from beluga.retrievers.rerank import BaseReranker
from beluga.schema import Document
from beluga.vectorstores.base import ScoredDocument

__all__ = ["JinaReranker", "RestReranker", "VoyageReranker"]


class RestReranker(BaseReranker):
    """A rerank endpoint taking ``{"model", "query", "documents"}`` (see the module doc)."""

    provider: ClassVar[str] = "rest"
    default_url: ClassVar[str]
    key_variable: ClassVar[str]
    top_field: ClassVar[str]
    results_field: ClassVar[str]
    max_documents: ClassVar[int] = 1000

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = 60.0,
        extra_body: dict[str, Any] | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(model)
        key = env_key(api_key, self.key_variable)
        name = type(self).__name__.removesuffix("Reranker")
        if not key:
            raise BelugaError(
                f"retrievers.rerank.{self.provider}.init",
                ErrorCode.INVALID_CONFIG,
                f"no {name} API key: set api_key or {self.key_variable}",
            )
        conn = endpoint(base_url, default_url=self.default_url, api_key=key)
        self._url = (conn.url or self.default_url).rstrip("/") + "/rerank"
        self._where = f"{name} at {conn.shown}"
        self._headers = {**(conn.headers or {}), "Authorization": f"Bearer {key}"}
        self._extra = dict(extra_body or {})
        self._owns = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout, trust_env=False)

    def request(self, query: str, documents: list[Document], top_n: int) -> dict[str, Any]:
        """The JSON body sent for one rerank."""
        return {
            "model": self._model,
            "query": query,
            "documents": [d.text for d in documents],
            self.top_field: top_n,
            **self._extra,
        }

    async def _rerank(
        self, query: str, documents: list[Document], top_n: int
    ) -> list[ScoredDocument]:
        op = f"retrievers.rerank.{self.provider}"
        if len(documents) > self.max_documents:
            raise BelugaError(
                op,
                ErrorCode.INVALID_REQUEST,
                f"{len(documents)} documents in one rerank; at most {self.max_documents}: "
                "lower fetch_k",
            )
        body = self.request(query, documents, top_n)
        try:
            response = await self._client.post(self._url, json=body, headers=self._headers)
            payload = response.json() if response.content else {}
        except Exception as exc:
            raise http_error(exc, op, self._where) from exc
        if response.status_code >= 400:
            raise status_error(
                op,
                response.status_code,
                payload,
                provider=self._where,
                headers=response.headers,
            )
        with our_code(op):
            rows = sorted(
                payload[self.results_field], key=lambda r: r["relevance_score"], reverse=True
            )
            return [
                ScoredDocument(documents[int(r["index"])], float(r["relevance_score"]))
                for r in rows[:top_n]
            ]

    async def aclose(self) -> None:
        if self._owns:
            await self._client.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self._model!r}, where={self._where!r})"


class VoyageReranker(RestReranker):
    """Voyage AI rerank (``truncation`` on by default, as the API's)."""

    provider: ClassVar[str] = "voyage"
    default_url = "https://api.voyageai.com/v1"
    key_variable = "VOYAGE_API_KEY"
    top_field = "top_k"
    results_field = "data"

    def __init__(self, model: str = "rerank-2.5", **options: Any) -> None:
        super().__init__(model, **options)


class JinaReranker(RestReranker):
    """Jina AI rerank (documents are not echoed back: ``return_documents`` false)."""

    provider: ClassVar[str] = "jina"
    default_url = "https://api.jina.ai/v1"
    key_variable = "JINA_API_KEY"
    top_field = "top_n"
    results_field = "results"

    def __init__(self, model: str = "jina-reranker-v2-base-multilingual", **options: Any) -> None:
        options.setdefault("extra_body", {"return_documents": False})
        super().__init__(model, **options)
