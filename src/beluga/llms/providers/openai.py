"""OpenAI Chat Completions, and every server that speaks it (vLLM, Ollama ``/v1``, LM Studio,
Groq, Mistral, Together, Cerebras, xAI, ...), on the official ``openai`` SDK.

The SDK is imported when a model is created, never when this module is imported. Its own retries
are off (``max_retries=0``): retry, timeout and fallback middleware decide that from
:class:`BelugaError.retryable`. The SDK does auth, HTTP, SSE decoding and error typing; bodies go
through ``client.post(..., cast_to=object)`` so responses come back as plain dicts -- the typed
models cost ~70 us per streamed chunk, several times everything else on the path. The
request/response mapping lives in ``_openai_wire``; SDK errors become :class:`BelugaError` here.
:class:`OpenAIClientModel` holds what every OpenAI adapter shares (client, auth, error mapping), so
the Responses adapter (``openai_responses``) and Azure (``azure``) add only their wire format.

Usage::

    model = OpenAIChatModel("gpt-4o-mini")                       # OPENAI_API_KEY from env
    local = OpenAIChatModel("qwen3:0.6b", base_url="http://localhost:11434/v1")  # no key needed
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit, urlunsplit

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.redaction import redact, register_secret
from beluga.core.registry import require
from beluga.llms.base import BaseChatModel, ModelSettings
from beluga.llms.providers._errors import retry_after_from, status_code
from beluga.llms.providers._openai_wire import build_request, parse_completion, stream_events
from beluga.schema import ChatResponse, Message, StreamEvent, ToolDefinition

if TYPE_CHECKING:
    from openai import AsyncOpenAI, AsyncStream, RequestOptions

__all__ = ["OpenAIChatModel", "OpenAIClientModel"]

_OPENAI_HOST = "api.openai.com"
# Local servers (vLLM, Ollama, LM Studio) ignore the key, but the SDK insists on sending one.
_NO_KEY = "not-needed"
_SECRET_HEADERS = frozenset({"authorization", "api-key", "x-api-key", "openai-api-key"})


def _display(url: str) -> str:
    """``url`` for messages: without user info or query, which may carry credentials."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _options(extra: dict[str, Any] | None) -> RequestOptions:
    # Same auth as the SDK's typed chat.completions.create(); the body goes through untyped so
    # that responses come back as dicts (see _openai_wire).
    options: RequestOptions = {"security": {"bearer_auth": True}}
    if extra:
        options["extra_json"] = extra
    return options


class OpenAIClientModel(BaseChatModel):
    """What the OpenAI adapters share: the SDK client, where it points, and error mapping.

    Every keyword is also a ``beluga.yaml`` key. ``api_key`` falls back to ``OPENAI_API_KEY``
    and ``base_url`` to ``OPENAI_BASE_URL``; a non-OpenAI ``base_url`` needs no key. Pass
    ``client=`` to reuse a configured ``AsyncOpenAI`` (it is then not closed by :meth:`aclose`).
    Subclasses implement one wire format with :meth:`_post` and :meth:`_stream_from`.
    """

    provider = "openai"
    _hints: dict[ErrorCode, str]
    """Next steps named in HTTP error messages; Azure swaps in its own variable names."""

    def __init__(
        self,
        model: str = "gpt-4o-mini",
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        organization: str | None = None,
        default_headers: dict[str, str] | None = None,
        settings: ModelSettings | None = None,
        client: AsyncOpenAI | None = None,
    ) -> None:
        super().__init__(model, settings=settings)
        self.base_url: str | None
        sdk = cast(ModuleType, require("openai", extra="openai"))
        self._errors: tuple[type[BaseException], ...] = (sdk.OpenAIError, ValueError)
        self._stream_cls: type[AsyncStream[object]] = sdk.AsyncStream[object]
        self._hints = _HINTS
        for name, value in (default_headers or {}).items():
            if name.lower() in _SECRET_HEADERS:
                register_secret(value)
        if client is not None:
            register_secret(getattr(client, "api_key", None))
            self._client: AsyncOpenAI = client
            self._owns_client = False
            self.base_url = str(client.base_url)
            self._where = _display(self.base_url)
            return
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            if self.base_url is None or _OPENAI_HOST in self.base_url:
                raise BelugaError(
                    "llms.openai.init",
                    ErrorCode.INVALID_CONFIG,
                    "no OpenAI API key: set api_key or OPENAI_API_KEY (a local OpenAI-compatible "
                    "server needs base_url instead, e.g. http://localhost:11434/v1)",
                )
            key = _NO_KEY
        else:
            register_secret(key)
        self._where = _display(self.base_url or f"https://{_OPENAI_HOST}/v1")
        options: dict[str, Any] = {
            "api_key": key,
            "base_url": self.base_url,
            "organization": organization,
            "default_headers": default_headers,
            "max_retries": 0,
        }
        if timeout is not None:
            options["timeout"] = timeout
        self._client = sdk.AsyncOpenAI(**options)
        self._owns_client = True

    async def _post(self, path: str, body: dict[str, Any], extra: Any, op: str) -> Any:
        """POST ``body`` (``extra`` merged over it) and return the decoded JSON, untyped."""
        try:
            return await self._client.post(path, cast_to=object, body=body, options=_options(extra))
        except self._errors as exc:
            raise self._error(exc, op) from exc

    async def _stream_from(
        self,
        path: str,
        body: dict[str, Any],
        extra: Any,
        op: str,
        parse: Callable[[AsyncStream[object], str, str, str], AsyncGenerator[StreamEvent, None]],
    ) -> AsyncIterator[StreamEvent]:
        """POST ``body`` for a stream and yield ``parse`` of its decoded SSE ``data`` dicts
        (given the stream, ``op``, where it comes from and the provider name); the HTTP stream
        is closed however the consumer stops."""
        try:
            stream = await self._client.post(
                path,
                cast_to=object,
                body=body,
                options=_options(extra),
                stream=True,
                stream_cls=self._stream_cls,
            )
        except self._errors as exc:
            raise self._error(exc, op) from exc
        events = parse(stream, op, self._where, self.provider)
        try:
            async for event in events:
                yield event
        except self._errors as exc:
            raise self._error(exc, op, streaming=True) from exc
        finally:
            await events.aclose()
            await stream.close()

    def _error(self, exc: BaseException, op: str, *, streaming: bool = False) -> BelugaError:
        return _map_error(exc, op, self._where, streaming=streaming, hints=self._hints)

    async def aclose(self) -> None:
        """Close the HTTP client, unless it was passed in as ``client=``."""
        if self._owns_client:
            await self._client.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self._model!r}, base_url={self._where!r})"


class OpenAIChatModel(OpenAIClientModel):
    """A chat model behind an OpenAI-compatible Chat Completions endpoint.

    Every keyword is also a ``beluga.yaml`` key. ``api_key`` falls back to ``OPENAI_API_KEY``
    and ``base_url`` to ``OPENAI_BASE_URL``; a non-OpenAI ``base_url`` needs no key. Pass
    ``client=`` to reuse a configured ``AsyncOpenAI`` (it is then not closed by :meth:`aclose`).
    """

    async def _generate(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolDefinition],
        settings: ModelSettings,
    ) -> ChatResponse:
        op = "llms.openai.generate"
        body, extra = build_request(self._model, messages, tools, settings, op, stream=False)
        data = await self._post("/chat/completions", body, extra, op)
        if (
            isinstance(data, dict)
            and not data.get("choices")
            and isinstance(data.get("error"), dict)
        ):
            raise _error_from_body(data["error"], op, self._where, "an error in a 200 response")
        return parse_completion(data, op, self._where, self.provider)

    async def _stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolDefinition],
        settings: ModelSettings,
    ) -> AsyncIterator[StreamEvent]:
        op = "llms.openai.stream"
        body, extra = build_request(self._model, messages, tools, settings, op, stream=True)
        async for event in self._stream_from("/chat/completions", body, extra, op, stream_events):
            yield event


# --------------------------------------------------------------------------- errors

_CONTENT_POLICY = frozenset({"content_policy_violation", "content_filter", "content_filtered"})


def _scrub(exc: BaseException) -> None:
    """Redact the SDK exception's own text: it becomes our ``__cause__`` and so reaches
    tracebacks, and an error body may echo a key back."""
    exc.args = tuple(redact(a) if isinstance(a, str) else a for a in exc.args)
    message = getattr(exc, "message", None)
    if isinstance(message, str):
        exc.message = redact(message)  # type: ignore[attr-defined]


def _server_message(body: Any, fallback: str) -> str:
    message = body.get("message") if isinstance(body, dict) else None
    text = message if isinstance(message, str) and message else fallback
    return text if len(text) <= 500 else text[:500] + "..."


def _error_from_body(
    body: dict[str, Any], op: str, where: str, context: str, cause: BaseException | None = None
) -> BelugaError:
    """An error the server reported inside a body (SSE ``error`` event, or a 200 with error)."""
    kinds = {str(body.get("code") or ""), str(body.get("type") or "")}
    message = _server_message(body, "unknown error")
    if "insufficient_quota" in kinds:
        return BelugaError(
            op,
            ErrorCode.CAPACITY_EXCEEDED,
            f"{where} reported {context}: {message}. The account is out of quota; "
            "check billing or use another key",
            retryable=False,
            cause=cause,
        )
    if any("rate_limit" in k for k in kinds):
        return BelugaError(
            op,
            ErrorCode.RATE_LIMITED,
            f"{where} reported {context}: {message}. Slow down and retry",
            cause=cause,
        )
    if kinds & _CONTENT_POLICY:
        return BelugaError(
            op,
            ErrorCode.CONTENT_FILTERED,
            f"{where} reported {context}: {message}. Rephrase the request",
            cause=cause,
        )
    if kinds & {"invalid_request_error", "invalid_request", "context_length_exceeded"}:
        return BelugaError(
            op,
            ErrorCode.INVALID_REQUEST,
            f"{where} reported {context}: {message}. Fix the request",
            cause=cause,
        )
    return BelugaError(
        op,
        ErrorCode.PROVIDER_UNAVAILABLE,
        f"{where} reported {context}: {message}. Retrying may help",
        retryable=True,
        cause=cause,
    )


def _map_error(
    exc: BaseException,
    op: str,
    where: str,
    *,
    streaming: bool = False,
    hints: dict[ErrorCode, str] | None = None,
) -> BelugaError:
    """The :class:`BelugaError` for an exception raised by the SDK (or its JSON decoding)."""
    import openai

    if isinstance(exc, BelugaError):
        return exc
    _scrub(exc)
    if isinstance(exc, openai.APITimeoutError):
        return BelugaError(
            op,
            ErrorCode.TIMEOUT,
            f"{where} did not answer in time; raise timeout= or retry",
            cause=exc,
        )
    if isinstance(exc, openai.APIConnectionError):
        detail = type(exc.__cause__).__name__ if exc.__cause__ else "connection error"
        if streaming:
            text = f"the stream from {where} was cut before it finished ({detail}); retry"
        else:
            text = (
                f"could not reach {where} ({detail}); check base_url and that the server "
                "is up, then retry"
            )
        return BelugaError(op, ErrorCode.PROVIDER_UNAVAILABLE, text, cause=exc)
    if isinstance(exc, openai.APIStatusError):
        return _status_error(exc, op, where, hints or _HINTS)
    if isinstance(exc, openai.APIError):  # an error event inside a stream
        body = exc.body if isinstance(exc.body, dict) else {"message": exc.message}
        return _error_from_body(body, op, where, "an error mid-stream", exc)
    if isinstance(exc, ValueError):  # the SDK decoding a body that is not JSON
        return BelugaError(
            op,
            ErrorCode.PROVIDER_UNAVAILABLE,
            f"{where} sent a response that is not valid JSON; check base_url, then retry",
            retryable=True,
            cause=exc,
        )
    return BelugaError(
        op, ErrorCode.INTERNAL, f"the OpenAI SDK failed: {type(exc).__name__}: {exc}", cause=exc
    )


_HINTS: dict[ErrorCode, str] = {
    ErrorCode.AUTH_FAILED: "check api_key / OPENAI_API_KEY and the key's access to this model",
    ErrorCode.NOT_FOUND: "check the model name and base_url",
    ErrorCode.TIMEOUT: "retry, or raise timeout=",
    ErrorCode.RATE_LIMITED: "rate limited; wait and retry, or lower the request rate",
    ErrorCode.PROVIDER_UNAVAILABLE: "the server is failing or overloaded; retry later",
    ErrorCode.INVALID_REQUEST: "fix the request",
}


def _status_error(exc: Any, op: str, where: str, hints: dict[ErrorCode, str]) -> BelugaError:
    """An HTTP error answer: the shared status table, refined by OpenAI's error codes."""
    status: int = exc.status_code
    body = exc.body if isinstance(exc.body, dict) else {}
    kinds = {str(body.get("code") or ""), str(body.get("type") or "")}
    said = f"{where} answered HTTP {status}: {_server_message(body, exc.message)}"
    if status == 429 and "insufficient_quota" in kinds:
        return BelugaError(
            op,
            ErrorCode.CAPACITY_EXCEEDED,
            f"{said}. The account is out of quota; check billing or use another key "
            "(retrying will not help)",
            retryable=False,
            cause=exc,
        )
    code, retryable = status_code(status)
    if code is ErrorCode.INVALID_REQUEST and kinds & _CONTENT_POLICY:
        return BelugaError(
            op, ErrorCode.CONTENT_FILTERED, f"{said}. Rephrase the request", cause=exc
        )
    hint = hints.get(code, "see the server's message")
    if "context_length_exceeded" in kinds:
        hint = "shorten the conversation or lower max_tokens"
    return BelugaError(
        op,
        code,
        f"{said}. {hint[0].upper()}{hint[1:]}",
        retryable=retryable,
        cause=exc,
        retry_after=retry_after_from(exc.response.headers),
    )
