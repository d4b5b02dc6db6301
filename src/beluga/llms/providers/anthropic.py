"""Anthropic's Messages API (Claude), on the official ``anthropic`` SDK.

The SDK is imported when a model is created, never when this module is imported. Its own retries
are off (``max_retries=0``) and so are its own OpenTelemetry spans (``open_telemetry=False``):
retry, timeout and fallback middleware decide from :class:`BelugaError.retryable`, and
:class:`BaseChatModel` records the one GenAI span of each call. Requests go through the SDK's
client (auth, headers, timeouts, connection pool, SSE decoding) with the body built by
``_anthropic_wire`` and responses read as plain dicts, so a streamed event costs a few dict
lookups rather than a pydantic model. The body goes to the GA endpoint ``/v1/messages``.
The SDK's guard against long non-streamed calls is bypassed with it: ``generate`` waits up to
``timeout`` (the SDK's default, 10 minutes), so use ``stream`` for very large ``max_tokens``.

Errors: HTTP statuses go through the shared table of ``_errors`` (401/403 auth, 404 not found,
429 rate limited with the server's ``retry-after``, 5xx and 529 ``overloaded_error`` retryable);
an ``event: error`` inside a stream is classified by its error type the same way (an
``overloaded_error`` mid-stream is a retryable PROVIDER_UNAVAILABLE); a stream cut before
``message_stop``, a refused connection and a timeout are retryable too; a request that cannot
be encoded is refused before sending (``_preflight``). The API key, header values and the
``base_url`` password are registered as secrets (``_connection``), so they are masked in every
message, span and repr; user info in ``base_url`` goes as ``Authorization: Basic``, never in a
URL the SDK logs.

Usage::

    model = AnthropicChatModel("claude-sonnet-4-5")        # ANTHROPIC_API_KEY from env
    thinking = ModelSettings(extra={"thinking": {"type": "adaptive"}})
    reply = await model.generate("Hi", settings=thinking)
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.redaction import display_url, register_secret, register_url
from beluga.core.registry import require
from beluga.llms.base import BaseChatModel, ModelSettings
from beluga.llms.providers._anthropic_wire import build_request, parse_message, stream_events
from beluga.llms.providers._connection import endpoint, env_key
from beluga.llms.providers._errors import (
    error_for_status,
    our_code,
    stainless_error,
    status_code,
)
from beluga.llms.providers._preflight import check_sendable
from beluga.schema import ChatResponse, Message, StreamEvent, ToolDefinition

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic, AsyncStream

__all__ = ["AnthropicChatModel"]

_DEFAULT_URL = "https://api.anthropic.com"
_PATH = "/v1/messages"
# The HTTP status each error type comes with, so that an error sent inside a body (an
# `event: error` mid-stream, after the 200) is classified by the same table as an HTTP error.
_ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


class AnthropicChatModel(BaseChatModel):
    """Claude through the Anthropic Messages API.

    Every keyword is also a ``beluga.yaml`` key. ``api_key`` falls back to ``ANTHROPIC_API_KEY``
    and ``base_url`` to ``ANTHROPIC_BASE_URL`` (the API root, without ``/v1``).
    ``max_tokens_default`` is sent when a call sets no ``max_tokens`` (the API requires one).
    Pass ``client=`` to reuse a configured ``AsyncAnthropic``; it is then not closed by
    :meth:`aclose`, and its own retry setting is kept. Options we do not model (``thinking``,
    ``top_k``, ``metadata``, ``cache_control``, ``output_config.effort``, ...) go in
    ``ModelSettings.extra``.
    """

    provider = "anthropic"

    def __init__(
        self,
        model: str = "claude-sonnet-4-5",
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        default_headers: dict[str, str] | None = None,
        max_tokens_default: int = 4096,
        settings: ModelSettings | None = None,
        client: AsyncAnthropic | None = None,
    ) -> None:
        super().__init__(model, settings=settings)
        if max_tokens_default < 1:
            raise BelugaError(
                "llms.anthropic.init",
                ErrorCode.INVALID_CONFIG,
                f"max_tokens_default must be at least 1 (got {max_tokens_default})",
            )
        self.max_tokens_default = max_tokens_default
        self.timeout: float | None = timeout
        sdk = cast(ModuleType, require("anthropic", extra="anthropic"))
        self._sdk = sdk
        self._stream_cls: type[AsyncStream[object]] = sdk.AsyncStream[object]
        key = env_key(api_key, "ANTHROPIC_API_KEY")
        conn = endpoint(
            base_url or os.environ.get("ANTHROPIC_BASE_URL") or None,
            default_url=_DEFAULT_URL,
            api_key=key,
            headers=default_headers,
            timeout=timeout,
        )
        if client is not None:
            register_secret(getattr(client, "api_key", None))
            register_secret(getattr(client, "auth_token", None))
            register_url(str(client.base_url))
            self._client: AsyncAnthropic = client
            self._owns_client = False
            self.base_url: str | None = display_url(str(client.base_url)).rstrip("/")
            return
        if not key:
            raise BelugaError(
                "llms.anthropic.init",
                ErrorCode.INVALID_CONFIG,
                "no Anthropic API key: pass api_key=, set the ANTHROPIC_API_KEY environment "
                "variable, or set the provider's api_key in beluga.yaml (e.g. to "
                "${ANTHROPIC_API_KEY}); keys come from https://console.anthropic.com",
            )
        self.base_url = conn.shown if conn.url else None
        self._client = sdk.AsyncAnthropic(**conn.sdk_options(sdk, open_telemetry=False))
        self._owns_client = True

    @property
    def _where(self) -> str:
        return f"Anthropic at {self.base_url}" if self.base_url else "Anthropic"

    async def _generate(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolDefinition],
        settings: ModelSettings,
    ) -> ChatResponse:
        op = "llms.anthropic.generate"
        check_sendable(messages, tools, settings, op)
        body = build_request(
            self._model,
            messages,
            tools,
            settings,
            op,
            stream=False,
            max_tokens_default=self.max_tokens_default,
            provider=self.provider,
        )
        try:
            data = await self._client.post(_PATH, cast_to=object, body=body)
        except Exception as exc:  # the SDK, its JSON coding of request and answer
            raise self._map_error(exc, op) from exc
        if isinstance(data, dict) and data.get("type") == "error":
            raise _error_in_body(data, op, self._where, "an error in a 200 response")
        with our_code(op):
            return parse_message(data, op, self._where, self.provider)

    async def _stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolDefinition],
        settings: ModelSettings,
    ) -> AsyncIterator[StreamEvent]:
        op = "llms.anthropic.stream"
        check_sendable(messages, tools, settings, op)
        body = build_request(
            self._model,
            messages,
            tools,
            settings,
            op,
            stream=True,
            max_tokens_default=self.max_tokens_default,
            provider=self.provider,
        )
        try:
            stream = await self._client.post(
                _PATH, cast_to=object, body=body, stream=True, stream_cls=self._stream_cls
            )
        except Exception as exc:  # the SDK, its JSON coding of request and answer
            raise self._map_error(exc, op) from exc
        events = stream_events(stream, op, self._where, self.provider)
        try:
            async for event in events:
                yield event
        except BelugaError:
            raise
        except Exception as exc:
            raise self._map_error(exc, op, streaming=True) from exc
        finally:
            await events.aclose()
            await stream.close()

    async def aclose(self) -> None:
        """Close the HTTP client, unless it was passed in as ``client=``."""
        if self._owns_client:
            await self._client.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self._model!r}, base_url={self._url!r})"

    @property
    def _url(self) -> str:
        return self.base_url or _DEFAULT_URL

    # ------------------------------------------------------------------- errors

    def _map_error(self, exc: BaseException, op: str, *, streaming: bool = False) -> BelugaError:
        """The :class:`BelugaError` for an exception of the SDK, its JSON coding, our parser
        or, while a stream is read, its HTTP transport."""
        where = self._where
        if streaming and isinstance(exc, KeyError | TypeError | AttributeError):
            return BelugaError(
                op,
                ErrorCode.PROVIDER_UNAVAILABLE,
                f"{where} sent a malformed stream event ({type(exc).__name__}: {exc}); check "
                "that base_url points at the Anthropic API or a faithful proxy of it",
                retryable=False,
                cause=exc,
            )

        def api_error(error: Any) -> BelugaError:
            status: int | None = getattr(error, "status_code", None)
            if status is None or status < 400:  # an `event: error` inside a 200 stream
                return _error_in_body(error.body, op, where, "an error mid-stream", error)
            body = error.body
            message = error.api_message or (body if isinstance(body, str) else error.message)
            return error_for_status(
                op,
                status,
                str(message),
                provider=where,
                headers=error.response.headers,
                cause=error,
            )

        return stainless_error(exc, op, where, self._sdk, streaming=streaming, api_error=api_error)


def _error_in_body(
    body: Any, op: str, where: str, context: str, cause: BaseException | None = None
) -> BelugaError:
    """The error for ``{"type": "error", "error": {"type": ..., "message": ...}}`` sent inside a
    body; an unknown error type counts as a server failure (retryable)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {"message": str(body) if body else "no details"}
    kind = str(error.get("type") or "api_error")
    message = str(error.get("message") or "no message")[:500]
    code, retryable = status_code(_ERROR_STATUS.get(kind, 500))
    hint = "retry" if retryable else "fix the request"
    return BelugaError(
        op,
        code,
        f"{where} reported {context} ({kind}): {message}; {hint}",
        retryable=retryable,
        cause=cause,
    )
