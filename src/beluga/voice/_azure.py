"""What the Azure speech adapters share: the ``SpeechConfig``, thread hand-off, and errors.

Both use the official Azure Speech SDK (``azure-cognitiveservices-speech``), a native library
that speaks Azure's WebSocket protocol itself (``speech.config``, binary ``audio`` messages,
``turn.start`` / ``speech.hypothesis`` / ``speech.phrase`` / ``turn.end`` back; for synthesis
``synthesis.context`` and ``ssml`` out, ``audio`` and ``audio.metadata`` back). Where the
service lives: a ``region`` (``eastus``), a full ``endpoint`` URL, or a ``host``
(``wss://...`` or ``ws://127.0.0.1:port`` for a container or a local server). The key is a
secret (``AZURE_SPEECH_KEY``); it goes in the ``Ocp-Apim-Subscription-Key`` header and never
appears in a repr, an error or a span.

The SDK calls back on its own threads; events cross to the event loop with
``call_soon_threadsafe``. Its cancellation reasons map to error kinds: AuthenticationFailure and
Forbidden are ``auth_failed``, BadRequest ``invalid_request``, TooManyRequests ``rate_limited``,
ConnectionFailure, ServiceUnavailable and ServiceError ``provider_unavailable`` (all three
retryable), ServiceTimeout ``timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from typing import Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.redaction import redact, register_url
from beluga.core.registry import require
from beluga.voice._net import missing_key

__all__ = ["AzureSpeech", "azure_error", "to_loop"]


class AzureSpeech:
    """Where and how to reach Azure Speech; makes the SDK's ``SpeechConfig``."""

    def __init__(
        self,
        op: str,
        *,
        api_key: str | None,
        region: str | None,
        endpoint: str | None,
        host: str | None,
    ) -> None:
        self.sdk: Any = require("azure.cognitiveservices.speech", extra="azure")
        self._key = missing_key(
            op, "Azure Speech", "AZURE_SPEECH_KEY", api_key or os.environ.get("AZURE_SPEECH_KEY")
        )
        self._region = region or os.environ.get("AZURE_SPEECH_REGION")
        self._endpoint = endpoint
        self._host = host
        register_url(endpoint)
        register_url(host)
        if not (self._region or endpoint or host):
            raise BelugaError(
                op,
                ErrorCode.INVALID_CONFIG,
                "no Azure Speech region: pass region=... (or set AZURE_SPEECH_REGION), "
                "endpoint=... or host=...",
            )

    @property
    def where(self) -> str:
        """The service as shown in errors and reprs."""
        return redact(self._host or self._endpoint or f"Azure Speech ({self._region})")

    def config(self) -> Any:
        """A new ``SpeechConfig`` (each recognizer or synthesizer takes its own)."""
        speech = self.sdk
        if self._host:
            return speech.SpeechConfig(host=self._host, subscription=self._key)
        if self._endpoint:
            return speech.SpeechConfig(endpoint=self._endpoint, subscription=self._key)
        return speech.SpeechConfig(subscription=self._key, region=self._region)


def to_loop(loop: asyncio.AbstractEventLoop, put: Callable[[Any], None]) -> Callable[[Any], None]:
    """A callback for SDK threads that hands its argument to ``put`` on ``loop``."""

    def callback(item: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is listening
            loop.call_soon_threadsafe(put, item)

    return callback


_CODES: dict[str, tuple[ErrorCode, str]] = {
    "AuthenticationFailure": (ErrorCode.AUTH_FAILED, "check api_key / AZURE_SPEECH_KEY"),
    "Forbidden": (ErrorCode.AUTH_FAILED, "check the key's access to this resource and region"),
    "BadRequest": (ErrorCode.INVALID_REQUEST, "check the language, voice and audio settings"),
    "TooManyRequests": (ErrorCode.RATE_LIMITED, "slow down or raise the resource's quota"),
    "ConnectionFailure": (ErrorCode.PROVIDER_UNAVAILABLE, "check the network and region; retry"),
    "ServiceUnavailable": (ErrorCode.PROVIDER_UNAVAILABLE, "retry"),
    "ServiceError": (ErrorCode.PROVIDER_UNAVAILABLE, "retry"),
    "ServiceTimeout": (ErrorCode.TIMEOUT, "retry"),
}


def azure_error(op: str, where: str, details: Any) -> BelugaError:
    """The BelugaError for SDK ``CancellationDetails`` with reason ``Error``."""
    code_enum = getattr(details, "code", None) or getattr(details, "error_code", None)
    name = getattr(code_enum, "name", "RuntimeError")  # recognition: code; synthesis: error_code
    text = redact(str(getattr(details, "error_details", "") or "no details")).strip()
    if len(text) > 500:
        text = text[:500] + "..."
    code, hint = _CODES.get(name, (ErrorCode.INTERNAL, "see the SDK's message"))
    return BelugaError(op, code, f"{where} cancelled the request ({name}: {text}); {hint}")
