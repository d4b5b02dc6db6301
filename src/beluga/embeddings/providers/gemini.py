"""Gemini embeddings through the official ``google-genai`` SDK (``models.embed_content``).

On the Gemini Developer API the SDK sends one ``POST /v1beta/models/{model}:batchEmbedContents``
with ``{"requests": [{"model", "content": {"parts": [...]}, "taskType",
"outputDimensionality"}, ...]}`` and reads ``{"embeddings": [{"values": [...]}, ...]}``, one per
request in order. A call takes at most 100 requests; larger ``embed`` calls are split.
``task_type`` (``RETRIEVAL_DOCUMENT``, ``RETRIEVAL_QUERY``, ``SEMANTIC_SIMILARITY``, ...) tunes
the vectors to their use and ``dimensions`` becomes ``outputDimensionality`` (gemini-embedding-001
gives 3,072 floats, or 768/1,536 on request; shortened vectors are not normalised by the
service, so they are L2-normalised here when ``normalize`` is on). Multimodal models
(``gemini-embedding-2``...) take image, audio, video and PDF parts; each input's parts make one
content, so a text and its image share one vector.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

from beluga.config.endpoints import endpoint, env_key
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.provider_errors import error_for_status, our_code, own_failure, unreachable
from beluga.core.registry import require
from beluga.embeddings._batching import Batch
from beluga.embeddings._provider import ProviderEmbedder
from beluga.embeddings.base import EmbedInput
from beluga.schema import MediaPart, TextPart

if TYPE_CHECKING:
    from google import genai

__all__ = ["GeminiEmbedder"]

_URL = "https://generativelanguage.googleapis.com"
_KEY_VARS = ("GOOGLE_API_KEY", "GEMINI_API_KEY")
_SIZES = {"gemini-embedding-001": 3072, "text-embedding-004": 768, "embedding-001": 768}


class GeminiEmbedder(ProviderEmbedder):
    """Embeddings from the Gemini API (``api_key`` falls back to ``GOOGLE_API_KEY``, then
    ``GEMINI_API_KEY``). Pass ``client=`` to reuse a ``google.genai.Client`` (not closed here)."""

    provider: ClassVar[str] = "gemini"
    max_inputs = 100

    def __init__(
        self,
        model: str = "gemini-embedding-001",
        *,
        dimensions: int | None = None,
        task_type: str | None = None,
        normalize: bool = True,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = 60.0,
        max_concurrency: int = 4,
        client: genai.Client | None = None,
    ) -> None:
        full = _SIZES.get(model.removeprefix("models/"))
        size = dimensions or full
        if size is None:
            raise BelugaError(
                "embeddings.gemini.init",
                ErrorCode.INVALID_CONFIG,
                f"the size of {model!r}'s vectors is not known: pass dimensions=",
            )
        super().__init__(model, size)
        self._shorten = dimensions is not None and dimensions != full
        self._task_type, self._normalize = task_type, normalize
        self.max_concurrency = max_concurrency
        sdk: Any = require("google.genai", extra="gemini")
        self._sdk = sdk
        self._types = sdk.types
        if client is not None:
            self._client: genai.Client = client
            self._owns_client, self._where = False, "Gemini"
            return
        key = env_key(api_key, *_KEY_VARS)
        if not key:
            raise BelugaError(
                "embeddings.gemini.init",
                ErrorCode.INVALID_CONFIG,
                "no Gemini API key: set api_key, or GOOGLE_API_KEY / GEMINI_API_KEY",
            )
        conn = endpoint(base_url.rstrip("/") if base_url else None, default_url=_URL, api_key=key)
        self._where = f"Gemini at {conn.shown}"
        seconds = 60.0 if timeout is None else timeout
        import httpx  # the SDK's own dependency; one client we own and close

        self._http = httpx.AsyncClient(timeout=seconds)
        options: dict[str, Any] = {
            "api_version": "v1beta",
            "timeout": max(int(seconds * 1000), 1),
            "retry_options": {"attempts": 1},  # the retry middleware is the one loop
            "httpx_async_client": self._http,
        }
        if conn.url:
            options["base_url"] = conn.url
        if conn.headers:
            options["headers"] = conn.headers
        self._client = sdk.Client(api_key=key, vertexai=False, http_options=options)
        self._owns_client = True

    def contents(self, batch: list[EmbedInput]) -> list[Any]:
        """One ``types.Content`` per input (its parts: text, inline bytes or file URIs)."""
        types = self._types
        out = []
        for item in batch:
            parts = [types.Part(text=item)] if isinstance(item, str) else []
            if not isinstance(item, str):
                for part in item:
                    parts.append(self._part(part))
            out.append(types.Content(parts=parts))
        return out

    def _part(self, part: object) -> Any:
        types = self._types
        if isinstance(part, TextPart):
            return types.Part(text=part.text)
        if isinstance(part, MediaPart):
            if part.url is not None:
                return types.Part.from_uri(file_uri=part.url, mime_type=part.media_type)
            return types.Part.from_bytes(data=part.as_bytes(), mime_type=part.media_type)
        raise BelugaError(
            "embeddings.gemini",
            ErrorCode.INVALID_REQUEST,
            f"a {type(part).__name__} cannot be embedded; use text, image, audio, video or "
            "file parts",
        )

    def config(self) -> Any:
        """The ``EmbedContentConfig`` of every request (task type, output size)."""
        options: dict[str, Any] = {}
        if self._task_type:
            options["task_type"] = self._task_type
        if self._shorten:
            options["output_dimensionality"] = self._dimensions
        return self._types.EmbedContentConfig(**options) if options else None

    async def _embed_batch(self, batch: list[EmbedInput]) -> Batch:
        op = "embeddings.gemini.embed"
        contents = self.contents(batch)
        try:
            reply = await self._client.aio.models.embed_content(
                model=self._model, contents=contents, config=self.config()
            )
        except self._sdk.errors.APIError as exc:
            raise self._api_error(exc, op) from exc
        except (ConnectionError, OSError) as exc:
            raise unreachable(op, self._where, exc, type(exc).__name__) from exc
        except Exception as exc:
            if type(exc).__module__.split(".", 1)[0] in ("httpx", "httpcore"):
                raise unreachable(op, self._where, exc, type(exc).__name__) from exc
            raise own_failure(op, exc, "google-genai SDK") from exc
        with our_code(op):
            vectors = [list(e.values or ()) for e in reply.embeddings or ()]
            if self._normalize and self._shorten:
                vectors = [_unit(v) for v in vectors]
            usage = getattr(reply, "usage_metadata", None)
            tokens = getattr(usage, "prompt_token_count", None) or 0
            return Batch(vectors, int(tokens))

    def _api_error(self, exc: Any, op: str) -> BelugaError:
        details = exc.details if isinstance(exc.details, dict) else {}
        body = details.get("error", details) if isinstance(details, dict) else {}
        message = exc.message or (body.get("message") if isinstance(body, dict) else "") or ""
        code = exc.code if isinstance(exc.code, int) else 500
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
        return error_for_status(
            op, code, str(message), provider=self._where, headers=headers, cause=exc
        )

    async def aclose(self) -> None:
        """Close the SDK's HTTP clients, unless the client was passed in."""
        if self._owns_client:
            await self._client.aio.aclose()
            await self._http.aclose()

    def __repr__(self) -> str:
        return f"GeminiEmbedder(model={self._model!r}, dimensions={self._dimensions})"


def _unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in vector))
    return [v / norm for v in vector] if norm else vector
