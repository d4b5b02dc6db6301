"""What the Google Cloud speech adapters share: building a GAPIC async client, and its errors.

Both Speech-to-Text and Text-to-Speech use the official ``google-cloud-*`` SDKs over gRPC.
A ``grpc.aio`` channel belongs to the event loop it was made on, so the client is made lazily,
once per running loop (an engine built in synchronous code and used under two ``asyncio.run``
calls works). Credentials: an explicit ``google.auth`` credentials object, a service-account
``credentials_file``, an ``api_key``, or Application Default Credentials when none is given.
``api_endpoint`` (``host:port``) reaches a regional endpoint or an emulator; ``insecure=True``
uses a plain-text channel with no credentials, for loopback servers only.

Errors: the SDK raises ``google.api_core`` exceptions that carry the HTTP status of the gRPC
code (INVALID_ARGUMENT 400, UNAUTHENTICATED 401, PERMISSION_DENIED 403, RESOURCE_EXHAUSTED 429,
UNAVAILABLE 503, DEADLINE_EXCEEDED 504); those go through the shared status table, so a bad
config is ``invalid_request``, a bad key ``auth_failed``, a quota ``rate_limited`` (retryable)
and a dropped stream ``provider_unavailable`` (retryable).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.provider_errors import status_code
from beluga.core.redaction import redact, register_secret
from beluga.core.registry import require

__all__ = ["GoogleClient", "google_error"]


class GoogleClient:
    """A GAPIC async client made on first use in each event loop (see the module docstring)."""

    def __init__(
        self,
        *,
        sdk_module: str,
        client_class: str,
        transport_class: str,
        extra: str,
        credentials: Any = None,
        credentials_file: str | None = None,
        api_key: str | None = None,
        api_endpoint: str | None = None,
        insecure: bool = False,
        client: Any = None,
    ) -> None:
        if insecure and not api_endpoint:
            raise BelugaError(
                "voice.google",
                ErrorCode.INVALID_CONFIG,
                "insecure=True needs api_endpoint (host:port of a local server)",
            )
        register_secret(api_key)
        self._sdk_module = sdk_module
        self._client_class = client_class
        self._transport_class = transport_class
        self._extra = extra
        self._credentials = credentials
        self._credentials_file = credentials_file
        self._api_key = api_key
        self.endpoint = api_endpoint
        self._insecure = insecure
        self._given = client
        self._clients: dict[asyncio.AbstractEventLoop, Any] = {}

    @property
    def where(self) -> str:
        """The endpoint as shown in errors (never a credential)."""
        return self.endpoint or "Google Cloud"

    def get(self) -> Any:
        """The client of the running event loop."""
        if self._given is not None:
            return self._given
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = self._make()
        return client

    def _make(self) -> Any:
        sdk: Any = require(self._sdk_module, extra=self._extra)
        factory: Callable[..., Any] = getattr(sdk, self._client_class)
        options: dict[str, Any] = {}
        if self.endpoint:
            options["api_endpoint"] = self.endpoint
        if self._insecure:
            grpc: Any = require("grpc", extra=self._extra)
            credentials: Any = require("google.auth.credentials", extra=self._extra)
            transports: Any = require(f"{self._sdk_module}.services", extra=self._extra)
            transport_cls = _find(transports, self._transport_class)
            anonymous = credentials.AnonymousCredentials()
            channel = grpc.aio.insecure_channel(self.endpoint, options=[("grpc.enable_retries", 0)])
            transport = transport_cls(host=self.endpoint, credentials=anonymous, channel=channel)
            return factory(transport=transport)
        if self._api_key:
            options["api_key"] = self._api_key
        if self._credentials_file:
            options["credentials_file"] = self._credentials_file
        return factory(credentials=self._credentials, client_options=options or None)

    async def aclose(self) -> None:
        """Close the channels this object made."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            transport = getattr(client, "transport", None)
            if transport is not None:
                await transport.close()


def _find(services: Any, name: str) -> Any:
    """The transport class ``name`` inside the SDK's ``services`` package."""
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(services.__path__):
        module = importlib.import_module(f"{services.__name__}.{info.name}.transports")
        if hasattr(module, name):
            return getattr(module, name)
    raise BelugaError(  # pragma: no cover - a broken SDK install
        "voice.google", ErrorCode.INTERNAL, f"{services.__name__} has no {name}"
    )


_HINTS = {
    ErrorCode.AUTH_FAILED: "check the credentials (GOOGLE_APPLICATION_CREDENTIALS or api_key)",
    ErrorCode.RATE_LIMITED: "the project's quota is used up; slow down or raise the quota",
    ErrorCode.INVALID_REQUEST: "check the language, model, voice and audio settings",
    ErrorCode.NOT_FOUND: "check the model or voice name and the endpoint",
}


def google_error(op: str, where: str, exc: BaseException, *, streaming: bool) -> BelugaError:
    """The BelugaError for anything the Google SDK raised (its message redacted)."""
    if isinstance(exc, BelugaError):
        return exc
    status = getattr(exc, "code", None)
    message = redact(str(getattr(exc, "message", None) or exc))
    grpc_code = getattr(getattr(exc, "grpc_status_code", None), "name", None)
    if not isinstance(status, int):
        if isinstance(exc, TimeoutError):
            return BelugaError(op, ErrorCode.TIMEOUT, f"{where} did not answer in time; retry")
        return BelugaError(
            op,
            ErrorCode.PROVIDER_UNAVAILABLE,
            f"the call to {where} failed ({type(exc).__name__}: {message}); retry",
            retryable=True,
            cause=RuntimeError(message),
        )
    said = f"gRPC {grpc_code}" if grpc_code else f"status {status}"
    if grpc_code == "UNAVAILABLE" and "failed to connect" in message.lower():
        return BelugaError(
            op,
            ErrorCode.PROVIDER_UNAVAILABLE,
            f"cannot connect to {where} ({message}); check api_endpoint and the network, or retry",
            retryable=True,
            cause=RuntimeError(message),
        )
    if streaming and grpc_code in {"UNAVAILABLE", "INTERNAL", "UNKNOWN", "ABORTED", "DATA_LOSS"}:
        return BelugaError(
            op,
            ErrorCode.PROVIDER_UNAVAILABLE,
            f"the stream from {where} was cut before it finished ({said}: {message}); retry",
            retryable=True,
            cause=RuntimeError(message),
        )
    code, retryable = status_code(status)
    hint = _HINTS.get(code, "see the provider's message")
    return BelugaError(
        op,
        code,
        f"{where} answered {said}: {message or 'no details'}; {hint}",
        retryable=retryable,
        cause=RuntimeError(message),
    )
