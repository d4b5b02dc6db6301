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
``message_stop``, a refused connection and a timeout are retryable too. The API key is registered
as a secret, so it is masked in every message, span and repr.

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
from beluga.core.redaction import redact, register_secret
from beluga.core.registry import require
from beluga.llms.base import BaseChatModel, ModelSettings
from beluga.llms.providers._anthropic_wire import build_request, parse_message, stream_events
from beluga.llms.providers._errors import error_for_status, status_code
from beluga.schema import ChatResponse, Message, StreamEvent, ToolDefinition

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic, AsyncStream

__all__ = ["AnthropicChatModel"]

_DEFAULT_URL = "https://api.anthropic.com"
_PATH = "/v1/messages"
_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "api-key"})
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
        sdk = cast(ModuleType, require("anthropic", extra="anthropic"))
        self._sdk = sdk
        self._errors: tuple[type[BaseException], ...] = (sdk.AnthropicError, ValueError)
        self._stream_cls: type[AsyncStream[object]] = sdk.AsyncStream[object]
        for name, value in (default_headers or {}).items():
            if name.lower() in _SECRET_HEADERS:
                register_secret(value)
        if client is not None:
            register_secret(getattr(client, "api_key", None))
            register_secret(getattr(client, "auth_token", None))
            self._client: AsyncAnthropic = client
            self._owns_client = False
            self.base_url: str | None = str(client.base_url).rstrip("/")
            return
        self.base_url = base_url or os.environ.get("ANTHROPIC_BASE_URL") or None
        key = api_key or os.environ.get("ANTHROPIC_API_KEY")
        if not key:
            raise BelugaError(
                "llms.anthropic.init",
                ErrorCode.INVALID_CONFIG,
                "no Anthropic API key: pass api_key=, set the ANTHROPIC_API_KEY environment "
                "variable, or set the provider's api_key in beluga.yaml (e.g. to "
                "${ANTHROPIC_API_KEY}); keys come from https://console.anthropic.com",
            )
        register_secret(key)
        options: dict[str, Any] = {
            "api_key": key,
            "base_url": self.base_url,
            "default_headers": default_headers,
            "max_retries": 0,
            "open_telemetry": False,
        }
        if timeout is not None:
            options["timeout"] = timeout
        self._client = sdk.AsyncAnthropic(**options)
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
        except self._errors as exc:
            raise self._map_error(exc, op) from exc
        if isinstance(data, dict) and data.get("type") == "error":
            raise _error_in_body(data, op, self._where, "an error in a 200 response")
        return parse_message(data, op, self._where, self.provider)

    async def _stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolDefinition],
        settings: ModelSettings,
    ) -> AsyncIterator[StreamEvent]:
        op = "llms.anthropic.stream"
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
        except self._errors as exc:
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
        """The :class:`BelugaError` for an exception of the SDK, its JSON decoding or, while a
        stream is read, its HTTP transport."""
        sdk, where = self._sdk, self._where
        _scrub(exc)
        if isinstance(exc, sdk.APITimeoutError):
            return BelugaError(
                op,
                ErrorCode.TIMEOUT,
                f"{where} did not answer in time; retry or raise timeout=",
                cause=exc,
            )
        if isinstance(exc, sdk.APIConnectionError):
            detail = type(exc.__cause__).__name__ if exc.__cause__ else "connection error"
            return BelugaError(
                op,
                ErrorCode.PROVIDER_UNAVAILABLE,
                _cut(where, detail)
                if streaming
                else f"could not reach {where} ({detail}); check base_url and the network, "
                "then retry",
                cause=exc,
            )
        if isinstance(exc, sdk.APIStatusError):
            status: int = exc.status_code
            if status < 400:  # an `event: error` inside a 200 stream
                return _error_in_body(exc.body, op, where, "an error mid-stream", exc)
            message = exc.api_message or (exc.body if isinstance(exc.body, str) else exc.message)
            return error_for_status(
                op,
                status,
                str(message),
                provider=where,
                headers=exc.response.headers,
                cause=exc,
            )
        if isinstance(exc, ValueError):  # the SDK decoding a body that is not JSON
            return BelugaError(
                op,
                ErrorCode.PROVIDER_UNAVAILABLE,
                f"{where} sent a response that is not valid JSON; check base_url, then retry",
                retryable=True,
                cause=exc,
            )
        if streaming and isinstance(exc, KeyError | TypeError | AttributeError):
            return BelugaError(
                op,
                ErrorCode.PROVIDER_UNAVAILABLE,
                f"{where} sent a malformed stream event ({type(exc).__name__}: {exc}); check "
                "that base_url points at the Anthropic API or a faithful proxy of it",
                retryable=False,
                cause=exc,
            )
        if streaming and _is_transport_error(exc):
            return BelugaError(
                op, ErrorCode.PROVIDER_UNAVAILABLE, _cut(where, type(exc).__name__), cause=exc
            )
        return BelugaError(
            op,
            ErrorCode.INTERNAL,
            f"the Anthropic SDK failed: {type(exc).__name__}: {exc}",
            cause=exc,
        )


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


def _cut(where: str, detail: str) -> str:
    return f"the stream from {where} was cut before it finished ({detail}); retry"


def _is_transport_error(exc: BaseException) -> bool:
    """Whether ``exc`` comes from the HTTP layer under the SDK (a connection dropped mid-body);
    checked by module name so that the HTTP library is not imported here."""
    return type(exc).__module__.split(".", 1)[0] in ("httpx", "httpx2", "httpcore", "h11")


def _scrub(exc: BaseException) -> None:
    """Redact the SDK exception's own text: it becomes our ``__cause__`` and so reaches
    tracebacks, and an error body may echo a key back."""
    exc.args = tuple(redact(a) if isinstance(a, str) else a for a in exc.args)
    for attr in ("message", "api_message"):
        value = getattr(exc, attr, None)
        if isinstance(value, str):
            setattr(exc, attr, redact(value))
