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
Connection set-up (key, URL, headers, secrets) is ``_connection.endpoint``'s; the mapping of
SDK exceptions shared with Anthropic is ``_errors.stainless_error``.

Usage::

    model = OpenAIChatModel("gpt-4o-mini")                       # OPENAI_API_KEY from env
    local = OpenAIChatModel("qwen3:0.6b", base_url="http://localhost:11434/v1")  # no key needed
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.redaction import display_url, register_secret, register_url
from beluga.core.registry import require
from beluga.llms.base import BaseChatModel, ModelSettings
from beluga.llms.providers._connection import endpoint, env_key
from beluga.llms.providers._errors import our_code, retry_after_from, stainless_error, status_code
from beluga.llms.providers._openai_wire import build_request, parse_completion, stream_events
from beluga.llms.providers._preflight import check_sendable
from beluga.schema import ChatResponse, Message, StreamEvent, ToolDefinition

if TYPE_CHECKING:
    from openai import AsyncOpenAI, AsyncStream, RequestOptions

__all__ = ["OpenAIChatModel", "OpenAIClientModel"]

_OPENAI_HOST = "api.openai.com"
# Local servers (vLLM, Ollama, LM Studio) ignore the key, but the SDK insists on sending one.
_NO_KEY = "not-needed"


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
        self.timeout: float | None = timeout
        sdk = cast(ModuleType, require("openai", extra="openai"))
        self._sdk = sdk
        self._stream_cls: type[AsyncStream[object]] = sdk.AsyncStream[object]
        self._hints = _HINTS
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        key = env_key(api_key, "OPENAI_API_KEY")
        conn = endpoint(
            base_url,
            default_url=f"https://{_OPENAI_HOST}/v1",
            api_key=key,
            headers=default_headers,
            timeout=timeout,
        )
        if client is not None:
            register_secret(getattr(client, "api_key", None))
            register_url(str(client.base_url))
            self._client: AsyncOpenAI = client
            self._owns_client = False
            self._where = display_url(str(client.base_url))
            self.base_url: str | None = self._where
            return
        if not key and (base_url is None or _OPENAI_HOST in base_url):
            raise BelugaError(
                "llms.openai.init",
                ErrorCode.INVALID_CONFIG,
                "no OpenAI API key: set api_key or OPENAI_API_KEY (a local OpenAI-compatible "
                "server needs base_url instead, e.g. http://localhost:11434/v1)",
            )
        self.base_url = conn.shown if conn.url else None
        self._where = conn.shown
        options = conn.sdk_options(sdk, api_key=key or _NO_KEY, organization=organization)
        self._client = sdk.AsyncOpenAI(**options)
        self._owns_client = True

    async def _post(self, path: str, body: dict[str, Any], extra: Any, op: str) -> Any:
        """POST ``body`` (``extra`` merged over it) and return the decoded JSON, untyped."""
        try:
            return await self._client.post(path, cast_to=object, body=body, options=_options(extra))
        except Exception as exc:  # the SDK, its JSON coding of request and answer
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
        except Exception as exc:  # the SDK, its JSON coding of request and answer
            raise self._error(exc, op) from exc
        events = parse(stream, op, self._where, self.provider)
        try:
            async for event in events:
                yield event
        except BelugaError:
            raise
        except Exception as exc:  # the SDK, the HTTP transport under it, or our parser
            raise self._error(exc, op, streaming=True) from exc
        finally:
            await events.aclose()
            await stream.close()

    def _error(self, exc: BaseException, op: str, *, streaming: bool = False) -> BelugaError:
        """The :class:`BelugaError` for an exception of the SDK, its JSON coding or our parser."""
        where, hints, status_error = self._where, self._hints, self._sdk.APIStatusError

        def api_error(error: Any) -> BelugaError:
            if isinstance(error, status_error):
                return _status_error(error, op, where, hints)
            # An error event inside a stream.
            body = error.body if isinstance(error.body, dict) else {"message": error.message}
            return _error_from_body(body, op, where, "an error mid-stream", error)

        return stainless_error(exc, op, where, self._sdk, streaming=streaming, api_error=api_error)

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
        check_sendable(messages, tools, settings, op)
        body, extra = build_request(self._model, messages, tools, settings, op, stream=False)
        data = await self._post("/chat/completions", body, extra, op)
        if (
            isinstance(data, dict)
            and not data.get("choices")
            and isinstance(data.get("error"), dict)
        ):
            raise _error_from_body(data["error"], op, self._where, "an error in a 200 response")
        with our_code(op):
            return parse_completion(data, op, self._where, self.provider)

    async def _stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolDefinition],
        settings: ModelSettings,
    ) -> AsyncIterator[StreamEvent]:
        op = "llms.openai.stream"
        check_sendable(messages, tools, settings, op)
        body, extra = build_request(self._model, messages, tools, settings, op, stream=True)
        async for event in self._stream_from("/chat/completions", body, extra, op, stream_events):
            yield event


# --------------------------------------------------------------------------- errors

_CONTENT_POLICY = frozenset({"content_policy_violation", "content_filter", "content_filtered"})


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
