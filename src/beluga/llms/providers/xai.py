"""xAI's Grok models over xAI's native gRPC API, on the official ``xai-sdk``'s protocol code.

The SDK is imported when a model is created, never when this module is imported. Calls go through
the SDK's generated ``ChatStub`` on a ``grpc.aio`` channel built here, with requests made of the
SDK's protobuf classes (``_xai_wire``). We do not call the SDK's ``Chat.sample()``/``stream()``
wrappers, for three reasons found while building this adapter:

- they ``json.loads`` every tool call's arguments in the history to fill span attributes, so a
  conversation that feeds a malformed tool call back to the model (our recovery path, see
  :meth:`ToolCall.args`) fails before anything is sent;
- they open a second span per call, ``chat.sample {model}``, that carries the prompt and answer
  text unredacted and repeats our token counts (:class:`BaseChatModel` records the one GenAI span);
- the SDK's ``AsyncClient`` binds its channel to the event loop current when it is created (a
  model made in synchronous code then fails with "attached to a different loop"), retries
  UNAVAILABLE up to 5 times through its service config, and exposes the channel only through
  private attributes.

So the channel is made lazily, on the event loop of the first call (one per loop: a model built
in synchronous code and used under ``asyncio.run`` twice works), with gRPC's own retries off
(``grpc.enable_retries=0``): retry, timeout and fallback middleware decide from
:class:`BelugaError.retryable`. The key goes as a bearer token: through TLS call credentials on
secure channels, and as request metadata on plain-text ones (loopback servers, ``http://``).

``base_url`` is the gRPC target: ``None`` for ``api.x.ai:443``; ``host:port`` (TLS, except for a
loopback host, which is plain text); ``https://host[:port]`` (TLS) or ``http://host:port`` (plain).
``timeout`` is the deadline of each call in seconds, for a stream its whole length (default 27
minutes, as the SDK's); use the ``with_timeout`` stream helper to bound the first token.

Errors: gRPC status codes are read as the HTTP status of the same meaning and go through the shared
table of ``_errors``: UNAUTHENTICATED/PERMISSION_DENIED -> AUTH_FAILED, RESOURCE_EXHAUSTED ->
RATE_LIMITED (retryable, with the server's ``retry-after`` metadata or ``RetryInfo`` detail),
UNAVAILABLE/INTERNAL/UNKNOWN/ABORTED/DATA_LOSS -> PROVIDER_UNAVAILABLE (retryable),
DEADLINE_EXCEEDED -> TIMEOUT (retryable), INVALID_ARGUMENT/FAILED_PRECONDITION/OUT_OF_RANGE/
ALREADY_EXISTS -> INVALID_REQUEST, NOT_FOUND/UNIMPLEMENTED -> NOT_FOUND, CANCELLED -> CANCELED. A
refused connection and a stream cut mid-way are retryable. The key is registered as a secret and
the gRPC error chained as the cause is a redacted copy, so the key never shows in a message,
traceback, span or repr.

Usage::

    model = XAIChatModel("grok-4-fast-reasoning")             # XAI_API_KEY from env
    effort = ModelSettings(extra={"reasoning_effort": "EFFORT_LOW"})
    reply = await model.generate("Hi", settings=effort)
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from beluga._version import __version__
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.redaction import redact, register_secret
from beluga.core.registry import require
from beluga.llms.base import BaseChatModel, ModelSettings
from beluga.llms.providers._connection import guard_sdk_logs, reject_userinfo
from beluga.llms.providers._errors import our_code, own_failure, retry_after_from, status_code
from beluga.llms.providers._preflight import check_sendable
from beluga.llms.providers._xai_wire import (
    build_request,
    load_protos,
    parse_response,
    stream_events,
)
from beluga.schema import ChatResponse, Message, StreamEvent, ToolDefinition

__all__ = ["XAIChatModel"]

_DEFAULT_TARGET = "api.x.ai:443"
_DEFAULT_TIMEOUT = 27 * 60.0  # the SDK's default deadline
_MIB = 1 << 20
# gRPC status -> the HTTP status of the same meaning (Google's mapping), so that the shared table
# of _errors decides code and retryability. DEADLINE_EXCEEDED reads as 408 (a retryable TIMEOUT)
# rather than 504; UNIMPLEMENTED and ALREADY_EXISTS as client errors, since retrying cannot help.
_AS_HTTP = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "ALREADY_EXISTS": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "UNIMPLEMENTED": 404,
    "DEADLINE_EXCEEDED": 408,
    "ABORTED": 409,
    "RESOURCE_EXHAUSTED": 429,
    "UNKNOWN": 500,
    "INTERNAL": 500,
    "DATA_LOSS": 500,
    "UNAVAILABLE": 503,
}
_HINTS = {
    ErrorCode.AUTH_FAILED: "check api_key / XAI_API_KEY and the key's access to this model",
    ErrorCode.NOT_FOUND: "check the model name, and that base_url is xAI's gRPC API",
    ErrorCode.TIMEOUT: "retry, or raise timeout=",
    ErrorCode.RATE_LIMITED: "rate limited; wait and retry, or lower the request rate",
    ErrorCode.PROVIDER_UNAVAILABLE: "the server is failing or overloaded; retry later",
    ErrorCode.INVALID_REQUEST: "fix the request (model, messages, tool schemas, settings.extra)",
}
_CUT = frozenset({"UNAVAILABLE", "INTERNAL", "UNKNOWN", "DATA_LOSS", "ABORTED"})
_NO_CONNECTION = ("failed to connect", "connection refused", "dns resolution failed")


class XAIChatModel(BaseChatModel):
    """A Grok model behind xAI's gRPC API (or any server speaking ``xai_api.Chat``).

    Every keyword is also a ``beluga.yaml`` key; ``api_key`` falls back to ``XAI_API_KEY``.
    """

    provider = "x_ai"  # gen_ai.provider.name of the OpenTelemetry GenAI conventions

    def __init__(
        self,
        model: str = "grok-4-fast-reasoning",
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        settings: ModelSettings | None = None,
    ) -> None:
        super().__init__(model, settings=settings)
        self.timeout: float | None = timeout
        reject_userinfo(base_url, "llms.xai.init", "the gRPC API authenticates with api_key")
        guard_sdk_logs()
        self._pb = load_protos()
        self._grpc: Any = require("grpc", extra="xai")
        key = api_key or os.environ.get("XAI_API_KEY")
        if not key:
            raise BelugaError(
                "llms.xai.init",
                ErrorCode.INVALID_CONFIG,
                "no xAI API key: set api_key or XAI_API_KEY (create a key at console.x.ai)",
            )
        register_secret(key)
        if timeout is not None and timeout <= 0:
            raise BelugaError(
                "llms.xai.init",
                ErrorCode.INVALID_CONFIG,
                f"timeout must be a positive number of seconds, got {timeout!r}",
            )
        self._key = SecretStr(key)
        self._target, self._secure = _target(base_url)
        self.base_url = base_url and self._target
        self._loopback = _loopback(self._target.rpartition(":")[0].strip("[]"))
        self._where = f"xAI ({self._target})"
        self._timeout = timeout or _DEFAULT_TIMEOUT
        self._channel: Any = None
        self._stub: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # ----------------------------------------------------------------- connection

    def _connect(self) -> Any:
        """The stub on a channel of the running event loop (a ``grpc.aio`` channel only works
        on the loop it was made on), made on first use."""
        loop = asyncio.get_running_loop()
        if self._stub is not None and self._loop is loop:
            return self._stub
        grpc = self._grpc
        options = [
            ("grpc.enable_retries", 0),  # retry middleware decides
            ("grpc.max_send_message_length", 20 * _MIB),  # the SDK's limits
            ("grpc.max_receive_message_length", 20 * _MIB),
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.keepalive_timeout_ms", 10_000),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.max_pings_without_data", 0),
            ("grpc.primary_user_agent", f"beluga-ai/{__version__} XaiSdk/{self._pb.version}"),
        ]
        if self._loopback:  # a local server: no proxy from the environment in between
            options.append(("grpc.enable_http_proxy", 0))
        if self._secure:
            credentials = grpc.composite_channel_credentials(
                grpc.ssl_channel_credentials(),
                grpc.access_token_call_credentials(self._key.get_secret_value()),
            )
            channel = grpc.aio.secure_channel(self._target, credentials, options=options)
        else:
            channel = grpc.aio.insecure_channel(self._target, options=options)
        # A channel of an earlier loop cannot be closed from this one; it is dropped.
        self._channel, self._stub, self._loop = channel, self._pb.stub(channel), loop
        return self._stub

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        metadata = (("xai-sdk-version", f"python/{self._pb.version}"),)
        if self._secure:  # the call credentials add the key, over TLS only
            return metadata
        return (("authorization", f"Bearer {self._key.get_secret_value()}"), *metadata)

    # ----------------------------------------------------------------- calls

    async def _generate(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolDefinition],
        settings: ModelSettings,
    ) -> ChatResponse:
        op = "llms.xai.generate"
        check_sendable(messages, tools, settings, op)
        request = build_request(self._pb, self._model, messages, tools, settings, op, self.provider)
        stub = self._connect()
        try:
            response = await stub.GetCompletion(
                request, timeout=self._timeout, metadata=self._metadata()
            )
        except self._grpc.RpcError as exc:
            error = self._map_error(exc, op)
            raise error from error.cause
        with our_code(op):
            return parse_response(self._pb, response, op, self._where, self.provider)

    async def _stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolDefinition],
        settings: ModelSettings,
    ) -> AsyncIterator[StreamEvent]:
        op = "llms.xai.stream"
        check_sendable(messages, tools, settings, op)
        request = build_request(self._pb, self._model, messages, tools, settings, op, self.provider)
        call = self._connect().GetCompletionChunk(
            request, timeout=self._timeout, metadata=self._metadata()
        )
        events = stream_events(self._pb, call, op, self._where, self.provider)
        started = False
        try:
            async for event in events:
                started = True
                yield event
        except self._grpc.RpcError as exc:
            error = self._map_error(exc, op, streaming=started)
            raise error from error.cause
        except BelugaError:
            raise
        except Exception as exc:  # our reading of the events: a bug, not a provider failure
            raise own_failure(op, exc, "stream parser") from exc
        finally:
            await events.aclose()
            call.cancel()  # no-op once finished; stops the server when the consumer left early

    async def aclose(self) -> None:
        """Close the channel; a later call opens a new one."""
        channel, loop = self._channel, self._loop
        self._channel = self._stub = self._loop = None
        if channel is not None and loop is asyncio.get_running_loop():
            await channel.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self._model!r}, base_url={self._target!r})"

    # ----------------------------------------------------------------- errors

    def _map_error(self, exc: Any, op: str, *, streaming: bool = False) -> BelugaError:
        """The :class:`BelugaError` for a failed RPC, chaining a redacted copy of it."""
        grpc = self._grpc
        code = exc.code() if callable(getattr(exc, "code", None)) else None
        name = getattr(code, "name", "UNKNOWN")
        details = redact(str(exc.details() or "") if hasattr(exc, "details") else str(exc))
        cause = _scrubbed(grpc, exc, details)
        shown = details if len(details) <= 500 else details[:500] + "..."
        where = self._where
        if name == "CANCELLED":
            return BelugaError(
                op,
                ErrorCode.CANCELED,
                f"{where} cancelled the call (gRPC CANCELLED: {shown}); retry if that was "
                "not intended",
                retryable=False,
                cause=cause,
            )
        if name == "UNAVAILABLE" and any(s in details.lower() for s in _NO_CONNECTION):
            return BelugaError(
                op,
                ErrorCode.PROVIDER_UNAVAILABLE,
                f"could not reach {where} ({shown}); check base_url and that the server is up, "
                "then retry",
                retryable=True,
                cause=cause,
            )
        if name == "RESOURCE_EXHAUSTED" and "larger than max" in details:
            return BelugaError(
                op,
                ErrorCode.INVALID_REQUEST,
                f"a message to or from {where} exceeds gRPC's 20 MiB limit ({shown}); send "
                "smaller images or files",
                retryable=False,
                cause=cause,
            )
        error_code, retryable = status_code(_AS_HTTP.get(name, 500))
        if streaming and name in _CUT:
            text = f"the stream from {where} was cut before it finished (gRPC {name}: {shown})"
            return BelugaError(op, error_code, f"{text}; retry", retryable=True, cause=cause)
        said = f"{where} answered gRPC {name}" + (" mid-stream" if streaming else "")
        hint = _HINTS.get(error_code, "see the server's message")
        return BelugaError(
            op,
            error_code,
            f"{said}: {shown or 'no details'}. {hint[0].upper()}{hint[1:]}",
            retryable=retryable,
            cause=cause,
            retry_after=_retry_after(exc),
        )


def _target(base_url: str | None) -> tuple[str, bool]:
    """The gRPC target (``host:port``) of ``base_url`` and whether it uses TLS."""
    if not base_url:
        return _DEFAULT_TARGET, True
    text = base_url.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    scheme = scheme.lower()
    try:
        parts = urlsplit("//" + rest.split("/", 1)[0])
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if scheme not in ("", "http", "https") or not host:
        raise BelugaError(
            "llms.xai.init",
            ErrorCode.INVALID_CONFIG,
            f"base_url {redact(base_url)!r} is not a gRPC target; use host:port "
            "(e.g. api.x.ai:443), https://host[:port] or http://host:port (no TLS)",
        )
    secure = scheme == "https" or (scheme == "" and not _loopback(host))
    if port is None:
        port = 443 if secure else 80
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{port}", secure


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _scrubbed(grpc: Any, exc: Any, details: str) -> BaseException:
    """A copy of the gRPC error without secrets: it becomes our ``__cause__``, so it reaches
    tracebacks, and a server may echo the key back."""
    aio_error = getattr(getattr(grpc, "aio", None), "AioRpcError", None)
    if aio_error is None or not isinstance(exc, aio_error):
        return RuntimeError(redact(str(exc)))
    debug = exc.debug_error_string()
    return aio_error(  # type: ignore[no-any-return]
        exc.code(), None, None, details, redact(debug) if isinstance(debug, str) else None
    )


def _retry_after(exc: Any) -> float | None:
    """The server's back-off hint: ``retry-after(-ms)`` metadata, or a ``google.rpc.RetryInfo``
    in the status details."""
    metadata: dict[str, Any] = {}
    for source in (exc.initial_metadata(), exc.trailing_metadata()):
        for key, value in source or ():
            metadata[key.lower()] = value
    hint = retry_after_from({k: v for k, v in metadata.items() if isinstance(v, str)})
    blob = metadata.get("grpc-status-details-bin")
    if hint is not None or not isinstance(blob, bytes):
        return hint
    try:
        status_pb2: Any = require("google.rpc.status_pb2", extra="xai")
        details_pb2: Any = require("google.rpc.error_details_pb2", extra="xai")
        for detail in status_pb2.Status.FromString(blob).details:
            if detail.Is(details_pb2.RetryInfo.DESCRIPTOR):
                info = details_pb2.RetryInfo()
                detail.Unpack(info)
                seconds: float = info.retry_delay.seconds + info.retry_delay.nanos / 1e9
                return max(seconds, 0.0)
    except Exception:  # a malformed detail is no hint
        return None
    return None
