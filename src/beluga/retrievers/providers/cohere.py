"""Cohere Rerank (``POST /v2/rerank``) through the official ``cohere`` SDK (``AsyncClientV2``).

Models: ``rerank-v3.5`` (default), ``rerank-english-v3.0``, ``rerank-multilingual-v3.0``,
``rerank-v4.0-pro``... One request takes the query and up to 1,000 documents (Cohere's
advice); a larger candidate list is refused with a clear error rather than split, since scores
of separate requests are not comparable. ``api_key`` falls back to ``CO_API_KEY``; ``base_url``
reaches a proxy or a local server. The SDK's own retries are off: the retry middleware is the
one loop. Results come back sorted by ``relevance_score`` with each one's ``index`` in the
request.
"""

from __future__ import annotations

from typing import Any, ClassVar

from beluga.config.endpoints import endpoint, env_key
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.provider_errors import our_code
from beluga.core.registry import require
from beluga.retrievers.providers._errors import http_error, status_error
from beluga.retrievers.rerank import BaseReranker
from beluga.schema import Document
from beluga.vectorstores.base import ScoredDocument

__all__ = ["CohereReranker"]

MAX_DOCUMENTS = 1000


class CohereReranker(BaseReranker):
    """Cohere's rerank models; pass ``client=`` to reuse an ``AsyncClientV2`` (not closed)."""

    provider: ClassVar[str] = "cohere"

    def __init__(
        self,
        model: str = "rerank-v3.5",
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = 60.0,
        max_tokens_per_doc: int | None = None,
        client: Any = None,
    ) -> None:
        super().__init__(model)
        self._max_tokens = max_tokens_per_doc
        sdk: Any = require("cohere", extra="cohere")
        self._sdk = sdk
        if client is not None:
            self._client, self._owns, self._where = client, False, "Cohere"
            return
        key = env_key(api_key, "CO_API_KEY", "COHERE_API_KEY")
        if not key:
            raise BelugaError(
                "retrievers.rerank.cohere.init",
                ErrorCode.INVALID_CONFIG,
                "no Cohere API key: set api_key or CO_API_KEY",
            )
        conn = endpoint(base_url, default_url="https://api.cohere.com", api_key=key)
        self._where = f"Cohere at {conn.shown}"
        options: dict[str, Any] = {"api_key": key, "timeout": timeout, "max_retries": 0}
        if conn.url is not None:
            options["base_url"] = conn.url
        self._client = sdk.AsyncClientV2(**options)
        self._owns = True

    async def _rerank(
        self, query: str, documents: list[Document], top_n: int
    ) -> list[ScoredDocument]:
        op = "retrievers.rerank.cohere"
        if len(documents) > MAX_DOCUMENTS:
            raise BelugaError(
                op,
                ErrorCode.INVALID_REQUEST,
                f"{len(documents)} documents in one rerank; Cohere takes up to {MAX_DOCUMENTS}: "
                "lower fetch_k",
            )
        options: dict[str, Any] = {"top_n": top_n}
        if self._max_tokens is not None:
            options["max_tokens_per_doc"] = self._max_tokens
        try:
            reply = await self._client.rerank(
                model=self._model, query=query, documents=[d.text for d in documents], **options
            )
        except self._sdk.core.api_error.ApiError as exc:
            raise status_error(
                op,
                int(exc.status_code or 500),
                exc.body,
                provider=self._where,
                headers=exc.headers,
            ) from exc
        except Exception as exc:
            raise http_error(exc, op, self._where) from exc
        with our_code(op):
            return [
                ScoredDocument(documents[r.index], float(r.relevance_score))
                for r in reply.results[:top_n]
            ]

    async def aclose(self) -> None:
        """Close the SDK's HTTP client, unless it was passed in."""
        if self._owns:
            wrapper = getattr(self._client, "_client_wrapper", None)
            http = getattr(getattr(wrapper, "httpx_client", None), "httpx_client", None)
            if http is not None:
                await http.aclose()
