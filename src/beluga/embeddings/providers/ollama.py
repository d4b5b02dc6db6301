"""Ollama embeddings (``POST /api/embed``) through the official ``ollama`` SDK.

``/api/embed`` takes a list of texts (``input``), an optional ``dimensions`` (models that can
shorten their vectors), ``truncate`` (default true: an input over the context is cut instead
of refused) and ``keep_alive``; it answers ``{"model", "embeddings": [[...], ...],
"prompt_eval_count", "total_duration", "load_duration"}``, vectors in input order and already
L2-normalised. Ollama has no documented batch cap; batches of 512 keep one request's body and
latency bounded. Text only: Ollama's embedding models take no images.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, ClassVar

from beluga.config.endpoints import endpoint, env_key
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.provider_errors import error_for_status, our_code, own_failure, unreachable
from beluga.core.registry import require
from beluga.embeddings._batching import Batch, input_text
from beluga.embeddings._provider import ProviderEmbedder
from beluga.embeddings.base import EmbedInput

if TYPE_CHECKING:
    from ollama import AsyncClient

__all__ = ["OllamaEmbedder"]

_DEFAULT_URL = "http://localhost:11434"
_SIZES = {"nomic-embed-text": 768, "mxbai-embed-large": 1024, "all-minilm": 384}
_SIZES.update({"bge-m3": 1024, "snowflake-arctic-embed": 1024, "embeddinggemma": 768})


class OllamaEmbedder(ProviderEmbedder):
    """Embeddings from an Ollama server (local, or Ollama cloud with ``api_key``).

    ``base_url`` falls back to ``OLLAMA_HOST`` then ``http://localhost:11434``; ``api_key`` to
    ``OLLAMA_API_KEY``. ``dimensions`` is required for a model not in the known list (the
    size of its vectors) and sent only when ``shorten=True``.
    """

    provider: ClassVar[str] = "ollama"
    max_inputs = 512

    def __init__(
        self,
        model: str = "nomic-embed-text",
        *,
        dimensions: int | None = None,
        shorten: bool = False,
        truncate: bool = True,
        keep_alive: float | str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float | None = 120.0,
        max_concurrency: int = 2,
        client: AsyncClient | None = None,
    ) -> None:
        size = dimensions or _SIZES.get(model.partition(":")[0])
        if size is None:
            raise BelugaError(
                "embeddings.ollama.init",
                ErrorCode.INVALID_CONFIG,
                f"the size of {model!r}'s vectors is not known: pass dimensions=",
            )
        super().__init__(model, size)
        self._shorten, self._truncate, self._keep_alive = shorten, truncate, keep_alive
        self.max_concurrency = max_concurrency
        sdk: Any = require("ollama", extra="ollama")
        self._sdk = sdk
        url = base_url or os.environ.get("OLLAMA_HOST") or _DEFAULT_URL
        key = env_key(api_key, "OLLAMA_API_KEY")
        conn = endpoint(
            url,
            default_url=_DEFAULT_URL,
            api_key=key,
            headers={"authorization": f"Bearer {key}"} if key else None,
            timeout=timeout,
        )
        self._where = conn.shown
        self._owns_client = client is None
        self._client: AsyncClient = client or sdk.AsyncClient(
            host=conn.url, timeout=timeout, headers=conn.headers
        )

    def request(self, batch: list[EmbedInput]) -> dict[str, Any]:
        """The keywords of ``AsyncClient.embed`` for ``batch`` (the JSON body's fields)."""
        texts = []
        for item in batch:
            if not isinstance(item, str) and any(getattr(p, "kind", "") != "text" for p in item):
                raise BelugaError(
                    "embeddings.ollama",
                    ErrorCode.INVALID_REQUEST,
                    "Ollama embeds text only; pass strings or text parts",
                )
            texts.append(input_text(item))
        options: dict[str, Any] = {"model": self._model, "input": texts}
        options["truncate"] = self._truncate
        if self._shorten:
            options["dimensions"] = self._dimensions
        if self._keep_alive is not None:
            options["keep_alive"] = self._keep_alive
        return options

    async def _embed_batch(self, batch: list[EmbedInput]) -> Batch:
        op = "embeddings.ollama.embed"
        try:
            reply = await self._client.embed(**self.request(batch))
        except self._sdk.ResponseError as exc:
            raise error_for_status(
                op,
                exc.status_code if exc.status_code > 0 else 500,
                str(exc.error),
                provider=f"Ollama at {self._where}",
                cause=exc,
            ) from exc
        except (ConnectionError, OSError) as exc:
            raise unreachable(op, f"Ollama at {self._where}", exc, type(exc).__name__) from exc
        except BelugaError:
            raise
        except Exception as exc:
            if type(exc).__module__.split(".", 1)[0] in ("httpx", "httpcore"):
                detail = type(exc).__name__
                raise unreachable(op, f"Ollama at {self._where}", exc, detail) from exc
            raise own_failure(op, exc, "ollama SDK") from exc
        with our_code(op):
            vectors = [list(map(float, v)) for v in reply.embeddings]
            return Batch(vectors, int(reply.prompt_eval_count or 0))

    async def aclose(self) -> None:
        """Close the HTTP client, unless it was passed in as ``client=``."""
        http = getattr(self._client, "_client", None)
        if self._owns_client and http is not None:
            await http.aclose()

    def __repr__(self) -> str:
        return f"OllamaEmbedder(model={self._model!r}, base_url={self._where!r})"
