"""The OpenAI client shared by the OpenAI STT and TTS adapters (official ``openai`` SDK).

The SDK's own retries are off (``max_retries=0``): retry and fallback decide from
:class:`BelugaError.retryable`. Every SDK failure maps through the LLM adapters' shared
``stainless_error``, so a 401, a 429 with ``Retry-After`` or a body cut mid-stream reads the
same for speech as for chat. ``base_url`` reaches any server that speaks the audio API.
"""

from __future__ import annotations

import os
from typing import Any, cast

from beluga.core.errors import BelugaError
from beluga.core.redaction import display_url, register_secret, register_url
from beluga.core.registry import require
from beluga.llms.providers._errors import error_for_status, stainless_error

__all__ = ["OpenAIAudioClient"]


class OpenAIAudioClient:
    """An ``AsyncOpenAI`` client with the key registered as a secret, and its error mapping."""

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        timeout: float,
        client: Any = None,
        http_client: Any = None,
    ) -> None:
        self.sdk: Any = cast(Any, require("openai", extra="openai"))
        key = api_key or os.environ.get("OPENAI_API_KEY")
        register_secret(key)
        register_url(base_url)
        self.where = display_url(base_url or "https://api.openai.com/v1")
        self._owns = client is None
        self.client = client or self.sdk.AsyncOpenAI(
            api_key=key or "missing-key",  # the server answers 401, mapped to auth_failed
            base_url=base_url,
            timeout=timeout,
            max_retries=0,
            http_client=http_client,
        )

    def error(self, exc: BaseException, op: str, *, streaming: bool) -> BelugaError:
        """The BelugaError for anything the SDK raised."""

        def api_error(error: Any) -> BelugaError:
            status = getattr(error, "status_code", None)
            body = error.body if isinstance(getattr(error, "body", None), dict) else {}
            inner = body.get("error", body) if isinstance(body, dict) else {}
            message = inner.get("message") if isinstance(inner, dict) else None
            text = str(message or error.message)
            if status is None:
                return error_for_status(op, 502, text, provider=self.where, cause=error)
            response = getattr(error, "response", None)
            headers = getattr(response, "headers", None)
            return error_for_status(op, status, text, provider=self.where, headers=headers)

        return stainless_error(
            exc, op, self.where, self.sdk, streaming=streaming, api_error=api_error
        )

    async def aclose(self) -> None:
        """Close the client unless it was passed in."""
        if self._owns:
            await self.client.close()
