"""Google Gemini (the Gemini Developer API, ``generativelanguage.googleapis.com``) on the official
``google-genai`` SDK.

The SDK is imported when a model is created, never when this module is imported. Everything that
would retry or re-send behind our back is off, since retry, timeout and fallback middleware decide
from :attr:`BelugaError.retryable`: the SDK's retries (``retry_options`` with one attempt), its
automatic function calling, and its automatic stream continuation (which resumes a cut stream).
Requests go through an ``httpx.AsyncClient`` this model owns: left to itself the SDK picks aiohttp
when installed, whose transport retries a failed connection after a random 1-10 s sleep.

The API version is pinned to ``v1beta``, where thinking, JSON-schema output and function-call ids
live (the SDK's own default moved to ``v1``). Vertex AI is not covered: it needs Google Cloud
credentials and its own endpoint scheme.

``settings.extra`` keys that name a ``GenerateContentConfig`` field (``top_k``, ``thinking_config``,
``safety_settings``, ``response_modalities``, ``cached_content``, ... in snake_case or camelCase)
set that field, overriding ours; any other key is merged into the JSON body as is.

Usage::

    model = GeminiChatModel("gemini-2.5-flash")          # GOOGLE_API_KEY or GEMINI_API_KEY
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import ssl
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.redaction import display_url, register_secret, register_url
from beluga.core.registry import require
from beluga.core.streams import aclose
from beluga.llms.base import BaseChatModel, ModelSettings
from beluga.llms.providers._connection import endpoint, env_key
from beluga.llms.providers._errors import (
    error_for_status,
    is_decode_error,
    not_json,
    our_code,
    own_failure,
    scrub,
    timed_out,
    unreachable,
)
from beluga.llms.providers._gemini_reply import parse_response, stream_events
from beluga.llms.providers._gemini_wire import build_config, build_contents, validates_signatures
from beluga.llms.providers._preflight import check_sendable
from beluga.schema import ChatResponse, Message, StreamEvent, ToolDefinition

if TYPE_CHECKING:
    import httpx
    from google import genai
    from google.genai import types as gt

__all__ = ["GeminiChatModel"]

_GEMINI_URL = "https://generativelanguage.googleapis.com"
_API_VERSION = "v1beta"
_DEFAULT_TIMEOUT = 600.0
_KEY_VARS = ("GOOGLE_API_KEY", "GEMINI_API_KEY")  # the SDK's precedence
_AUTH_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_EXPIRED", "API_KEY_SERVICE_BLOCKED"})
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?)s\s*$")


class GeminiChatModel(BaseChatModel):
    """A Gemini model behind the Gemini Developer API.

    Every keyword is also a ``beluga.yaml`` key. ``api_key`` falls back to ``GOOGLE_API_KEY``
    then ``GEMINI_API_KEY`` (the SDK's order). ``base_url`` replaces the API host (a proxy, a
    gateway or a local test server). ``timeout`` (seconds, default 600) bounds each network wait.
    Pass ``client=`` to reuse a configured ``google.genai.Client`` (it is then not closed by
    :meth:`aclose`, and its own retry and transport settings apply).
    """

    provider = "gcp.gemini"  # gen_ai.provider.name of the Gemini API in the GenAI conventions

    def __init__(
        self,
        model: str = "gemini-2.5-flash",
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        settings: ModelSettings | None = None,
        client: genai.Client | None = None,
    ) -> None:
        super().__init__(model, settings=settings)
        sdk = cast(ModuleType, require("google.genai", extra="gemini"))
        self._api_errors: type[Exception] = sdk.errors.APIError
        self._bad_json: tuple[type[Exception], ...] = (sdk.errors.UnknownApiResponseError,)
        fields = sdk.types.GenerateContentConfig.model_fields
        self._config_fields: dict[str, str] = {
            **{f.alias: name for name, f in fields.items() if f.alias},
            **{name: name for name in fields},
        }
        self._http: httpx.AsyncClient | None = None
        self.timeout: float | None = timeout
        if client is not None:
            api = getattr(client, "_api_client", None)
            register_secret(getattr(api, "api_key", None))
            given = getattr(api, "_http_options", None)
            url = getattr(given, "base_url", None) or None
            register_url(url)
            self.base_url: str | None = display_url(url).rstrip("/") if url else None
            self._client: genai.Client = client
            return
        key = env_key(api_key, *_KEY_VARS)
        if not key:
            raise BelugaError(
                "llms.gemini.init",
                ErrorCode.INVALID_CONFIG,
                "no Gemini API key: set api_key, or GOOGLE_API_KEY / GEMINI_API_KEY (create "
                "one at https://aistudio.google.com/apikey)",
            )
        conn = endpoint(
            base_url.rstrip("/") if base_url else None,
            default_url=_GEMINI_URL,
            api_key=key,
            timeout=timeout,
        )
        self.base_url = conn.shown if conn.url else None
        import httpx

        seconds = _DEFAULT_TIMEOUT if timeout is None else timeout
        tls = _tls_context()
        self._http = httpx.AsyncClient(timeout=seconds, verify=tls)
        options: dict[str, Any] = {
            "api_version": _API_VERSION,
            "timeout": max(int(seconds * 1000), 1),  # milliseconds, per request
            "retry_options": {"attempts": 1},
            "httpx_async_client": self._http,
            # The SDK also builds a sync client and a websocket context; sharing one TLS
            # context saves loading the CA bundle three times (~25 ms each) per model.
            "client_args": {"verify": tls},
            "async_client_args": {"ssl": tls},
        }
        if conn.url:
            options["base_url"] = conn.url
        if conn.headers:  # the Basic authorization of user info in base_url
            options["headers"] = conn.headers
        self._client = sdk.Client(api_key=key, vertexai=False, http_options=options)

    @property
    def _where(self) -> str:
        return self.base_url or _GEMINI_URL

    def _request(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolDefinition],
        settings: ModelSettings,
        op: str,
    ) -> tuple[Any, Any]:
        check_sendable(messages, tools, settings, op)
        placeholder = validates_signatures(self._model)
        system, contents = build_contents(messages, op, self.provider, placeholder=placeholder)
        config = build_config(tools, settings, op)
        if system is not None:
            config["system_instruction"] = system
        config["automatic_function_calling"] = {"disable": True}
        if "automatic_continuation" in self._config_fields:  # google-genai 3.x
            config["automatic_continuation"] = False
        if settings.extra:
            body: dict[str, Any] = {}
            for key, value in settings.extra.items():
                name = self._config_fields.get(key)
                if name is None:
                    body[key] = value
                else:
                    config[name] = value
            if body:
                config["http_options"] = {"extra_body": body}
        return contents, config

    async def _generate(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolDefinition],
        settings: ModelSettings,
    ) -> ChatResponse:
        op = "llms.gemini.generate"
        contents, config = self._request(messages, tools, settings, op)
        try:
            response = await self._client.aio.models.generate_content(
                model=self._model, contents=contents, config=config
            )
        except Exception as exc:
            raise self._map_error(exc, op) from exc
        with our_code(op):
            return parse_response(response, op, self._where, self.provider)

    async def _stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolDefinition],
        settings: ModelSettings,
    ) -> AsyncIterator[StreamEvent]:
        op = "llms.gemini.stream"
        contents, config = self._request(messages, tools, settings, op)
        try:
            chunks = await self._client.aio.models.generate_content_stream(
                model=self._model, contents=contents, config=config
            )
        except Exception as exc:
            raise self._map_error(exc, op) from exc
        guarded = self._guarded(chunks, op)
        events = stream_events(guarded, op, self._where, self.provider)
        try:
            async for event in events:
                yield event
        except BelugaError:
            raise
        except Exception as exc:  # our reading of the events: a bug, not a provider failure
            raise own_failure(op, exc, "stream parser") from exc
        finally:
            for iterator in (events, guarded, chunks):  # outermost first
                await aclose(iterator)

    async def _guarded(
        self, chunks: AsyncIterator[gt.GenerateContentResponse], op: str
    ) -> AsyncIterator[gt.GenerateContentResponse]:
        """The SDK's chunks, its failures (and only its) turned into :class:`BelugaError`.

        The request itself goes out on the first pull, so a failure before any chunk is a
        failure to connect or an HTTP error, not a cut stream."""
        started = False
        try:
            async for chunk in chunks:
                started = True
                yield chunk
        except Exception as exc:
            raise self._map_error(exc, op, stream_started=started) from exc

    async def aclose(self) -> None:
        """Close the HTTP clients, unless the SDK client was passed in as ``client=``."""
        if self._http is not None:
            await self._http.aclose()
            self._client.close()  # the SDK's own synchronous client

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self._model!r}, base_url={self._where!r})"

    # ----------------------------------------------------------------------- errors

    def _map_error(
        self, exc: Exception, op: str, *, stream_started: bool | None = None
    ) -> BelugaError:
        """The :class:`BelugaError` for an exception raised by the SDK or its transport;
        ``stream_started`` is set when it was raised reading a stream (True after a chunk)."""
        if isinstance(exc, BelugaError):
            return exc
        scrub(exc)
        where = self._where
        if isinstance(exc, self._api_errors):
            return _api_error(exc, op, where)
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if isinstance(exc, _timeouts()):
            return timed_out(op, where, exc, detail)
        if isinstance(exc, _transport_errors()):
            return unreachable(op, where, exc, detail, streaming=bool(stream_started))
        if isinstance(exc, self._bad_json) or is_decode_error(exc):
            return not_json(op, where, exc)
        if stream_started is not None and isinstance(exc, TypeError):
            # google-genai fails this way on an error event that carries no status code.
            return BelugaError(
                op,
                ErrorCode.PROVIDER_UNAVAILABLE,
                f"the stream from {where} carried an error the SDK could not read ({detail}); "
                "retry",
                retryable=True,
                cause=exc,
            )
        if isinstance(exc, ValueError) and not isinstance(exc, UnicodeEncodeError):
            # pydantic validation or the SDK's own checks, before anything is sent
            return BelugaError(
                op,
                ErrorCode.INVALID_REQUEST,
                f"the google-genai SDK rejected the request ({detail}); check settings.extra",
                retryable=False,
                cause=exc,
            )
        return own_failure(op, exc, "google-genai SDK")


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context for every model, trusting what the SDK would (``SSL_CERT_FILE`` /
    ``SSL_CERT_DIR``, else certifi's bundle)."""
    import certifi

    return ssl.create_default_context(
        cafile=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        capath=os.environ.get("SSL_CERT_DIR"),
    )


def _module_classes(*names: str) -> tuple[type[BaseException], ...]:
    """Classes ``"module.Name"`` of the modules already imported (httpx2 and aiohttp are
    optional transports the SDK may use with an injected client)."""
    found: list[type[BaseException]] = []
    for name in names:
        module_name, _, attr = name.rpartition(".")
        module = sys.modules.get(module_name)
        cls = getattr(module, attr, None) if module is not None else None
        if isinstance(cls, type) and issubclass(cls, BaseException):
            found.append(cls)
    return tuple(found)


def _timeouts() -> tuple[type[BaseException], ...]:
    return (
        asyncio.TimeoutError,
        *_module_classes("httpx.TimeoutException", "httpx2.TimeoutException"),
    )


def _transport_errors() -> tuple[type[BaseException], ...]:
    return (
        ConnectionError,
        *_module_classes("httpx.TransportError", "httpx2.TransportError", "aiohttp.ClientError"),
    )


def _api_error(exc: Any, op: str, where: str) -> BelugaError:
    """An HTTP error answer, or an error event inside a stream (``google.genai.errors``)."""
    details = exc.details if isinstance(exc.details, dict) else {}
    body = details.get("error", details)
    body = body if isinstance(body, dict) else {}
    message = exc.message or body.get("message") or str(exc)
    status = exc.status or body.get("status")
    text = f"{message} ({status})" if isinstance(status, str) and status.isupper() else message
    response = getattr(exc, "response", None)
    mid_stream = getattr(response, "status_code", None) == 200
    said = f"{where} (mid-stream)" if mid_stream else where
    reasons = {d.get("reason") for d in body.get("details") or () if isinstance(d, dict)}
    if reasons & _AUTH_REASONS:
        return BelugaError(
            op,
            ErrorCode.AUTH_FAILED,
            f"{said} rejected the API key (HTTP {exc.code}): {text}; check api_key or the "
            "GOOGLE_API_KEY and GEMINI_API_KEY variables",
            retryable=False,
            cause=exc,
        )
    code = exc.code if isinstance(exc.code, int) else body.get("code")
    if not isinstance(code, int):
        return BelugaError(
            op,
            ErrorCode.PROVIDER_UNAVAILABLE,
            f"{said} reported an error: {text}; retrying may help",
            retryable=True,
            cause=exc,
        )
    headers = getattr(response, "headers", None) if not mid_stream else None
    error = error_for_status(
        op,
        code,
        str(text),
        provider=said,
        headers=cast(Mapping[str, str] | None, headers),
        cause=exc,
    )
    delay = _retry_delay(body.get("details"))
    if delay is not None and error.retryable:
        error.retry_after = delay
    return error


def _retry_delay(details: Any) -> float | None:
    """Seconds from a ``google.rpc.RetryInfo`` detail (``"retryDelay": "23s"``), if any."""
    for detail in details or ():
        if not isinstance(detail, dict) or not str(detail.get("@type", "")).endswith("RetryInfo"):
            continue
        delay = detail.get("retryDelay")
        if isinstance(delay, dict):  # the proto form {"seconds": ..., "nanos": ...}
            return float(delay.get("seconds") or 0) + float(delay.get("nanos") or 0) / 1e9
        match = _DURATION.match(str(delay))
        if match:
            return float(match.group(1))
    return None
