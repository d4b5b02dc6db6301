"""OpenAI embeddings (``POST /v1/embeddings``) through the official ``openai`` SDK.

``text-embedding-3-small`` (1,536 dims) and ``-large`` (3,072) accept ``dimensions`` to shorten
their vectors; ``text-embedding-ada-002`` does not. One request takes at most 2,048 inputs and
300,000 tokens in all (8,192 per input): a larger ``embed`` is split within those limits and
its batches sent concurrently. Vectors are asked for as floats (``encoding_format``) and put
back in input order by their ``index``. The same adapter serves any OpenAI-compatible
embeddings endpoint through ``base_url`` (vLLM, LM Studio, Ollama's ``/v1``, Together, ...).

Connection set-up is :func:`beluga.config.endpoints.endpoint`'s and error mapping
:mod:`beluga.core.provider_errors`', shared with the chat adapters; the SDK's own retries are
off, so the retry middleware is the one loop.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, ClassVar

from beluga.config.endpoints import endpoint, env_key
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.provider_errors import error_for_status, our_code, stainless_error
from beluga.core.registry import require
from beluga.embeddings._batching import Batch, input_text
from beluga.embeddings._provider import ProviderEmbedder
from beluga.embeddings.base import EmbedInput

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = ["OpenAIEmbedder"]

_HOST = "api.openai.com"
_SIZES = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072}
_SIZES["text-embedding-ada-002"] = 1536
_NO_KEY = "not-needed"  # local servers ignore the key; the SDK insists on one


class OpenAIEmbedder(ProviderEmbedder):
    """Embeddings from OpenAI or an OpenAI-compatible server.

    ``api_key`` falls back to ``OPENAI_API_KEY``, ``base_url`` to ``OPENAI_BASE_URL``.
    ``dimensions`` is sent only when it differs from the model's full size (or the model is
    unknown and it is given). Pass ``client=`` to reuse an ``AsyncOpenAI`` (not closed here).
    """

    provider: ClassVar[str] = "openai"
    max_inputs = 2048
    max_tokens = 300_000

    def __init__(
        self,
        model: str = "text-embedding-3-small",
        *,
        dimensions: int | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        organization: str | None = None,
        default_headers: dict[str, str] | None = None,
        max_concurrency: int = 4,
        user: str | None = None,
        client: AsyncOpenAI | None = None,
    ) -> None:
        full = _SIZES.get(model)
        size = dimensions or full
        if size is None:
            raise BelugaError(
                "embeddings.openai.init",
                ErrorCode.INVALID_CONFIG,
                f"the size of {model!r}'s vectors is not known: pass dimensions=",
            )
        super().__init__(model, size)
        self._send_dimensions = dimensions is not None and dimensions != full
        self.max_concurrency = max_concurrency
        self._user = user
        sdk: Any = require("openai", extra="openai")
        self._sdk = sdk
        if client is not None:
            self._client: AsyncOpenAI = client
            self._owns_client = False
            self._where = str(client.base_url)
            return
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        key = env_key(api_key, "OPENAI_API_KEY")
        conn = endpoint(
            base_url,
            default_url=f"https://{_HOST}/v1",
            api_key=key,
            headers=default_headers,
            timeout=timeout,
        )
        if not key and (base_url is None or _HOST in base_url):
            raise BelugaError(
                "embeddings.openai.init",
                ErrorCode.INVALID_CONFIG,
                "no OpenAI API key: set api_key or OPENAI_API_KEY (an OpenAI-compatible server "
                "needs base_url instead, e.g. http://localhost:11434/v1)",
            )
        self._where = conn.shown
        self._client = sdk.AsyncOpenAI(
            **conn.sdk_options(sdk, api_key=key or _NO_KEY, organization=organization)
        )
        self._owns_client = True

    def request(self, batch: list[EmbedInput]) -> dict[str, Any]:
        """The keywords of ``embeddings.create`` for ``batch`` (the request body's fields)."""
        body: dict[str, Any] = {
            "model": self._model,
            "input": [self._text(item) for item in batch],
            "encoding_format": "float",
        }
        if self._send_dimensions:
            body["dimensions"] = self._dimensions
        if self._user:
            body["user"] = self._user
        return body

    def _text(self, item: EmbedInput) -> str:
        if not isinstance(item, str) and any(getattr(p, "kind", "") != "text" for p in item):
            raise BelugaError(
                "embeddings.openai",
                ErrorCode.INVALID_REQUEST,
                f"{self._model} embeds text only; pass strings or text parts "
                "(use gemini, bedrock titan-embed-image or cohere for images)",
            )
        text = input_text(item)
        if not text:
            raise BelugaError(
                "embeddings.openai",
                ErrorCode.INVALID_REQUEST,
                "OpenAI refuses empty input: drop empty texts before embedding",
            )
        return text

    async def _embed_batch(self, batch: list[EmbedInput]) -> Batch:
        op = "embeddings.openai.embed"
        try:
            reply = await self._client.embeddings.create(**self.request(batch))
        except Exception as exc:
            raise self._error(exc, op) from exc
        with our_code(op):
            rows = sorted(reply.data, key=lambda row: row.index)
            usage = reply.usage
            tokens = int(usage.prompt_tokens) if usage is not None else 0
            return Batch([list(row.embedding) for row in rows], tokens)

    def _error(self, exc: BaseException, op: str) -> BelugaError:
        where, status_error = self._where, self._sdk.APIStatusError

        def api_error(error: Any) -> BelugaError:
            if isinstance(error, status_error):
                body = error.body if isinstance(error.body, dict) else {}
                inner = body.get("error", body) if isinstance(body, dict) else {}
                message = inner.get("message") if isinstance(inner, dict) else None
                return error_for_status(
                    op,
                    error.status_code,
                    message if isinstance(message, str) else str(error.message),
                    provider=f"OpenAI at {where}",
                    headers=error.response.headers,
                    cause=error,
                )
            return error_for_status(op, 500, str(error), provider=f"OpenAI at {where}")

        return stainless_error(exc, op, where, self._sdk, streaming=False, api_error=api_error)

    async def aclose(self) -> None:
        """Close the HTTP client, unless it was passed in as ``client=``."""
        if self._owns_client:
            await self._client.close()

    def __repr__(self) -> str:
        return f"OpenAIEmbedder(model={self._model!r}, base_url={self._where!r})"
