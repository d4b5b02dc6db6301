"""Ollama's native chat API (``POST /api/chat``), on the official ``ollama`` package.

Ollama's OpenAI-compatible ``/v1`` is served by the ``openai`` provider; the native API alone has
``keep_alive``, ``think`` levels, model ``options`` (``num_ctx``, ``top_k``...) and JSON-schema
``format``. ``ollama.AsyncClient`` is the connection: it parses ``base_url``/``OLLAMA_HOST`` as
the Ollama CLI does (``localhost:11434``, ``0.0.0.0``, ``https://ollama.com``), sets the headers
and holds the ``httpx.AsyncClient`` (``AsyncClient._client``, present in every release). Bodies
are built here and sent through that client, and answers are read as plain dicts, rather than
through ``AsyncClient.chat``, because its typed request drops JSON-schema keywords of tool
parameters (``anyOf``, ``minimum``, ``additionalProperties``, nested ``properties``), its errors
lose ``Retry-After``, the ``status`` of a mid-stream error line and the cause of a failed
connection, and it costs more: over a 5,000-line stream (httpx ``MockTransport``, best of 9)
``chat(stream=True)`` took 6.6 us a line, httpx lines + ``json.loads`` 3.9 us, and this model's
whole ``stream()`` (events and span included) 4.9 us; the ~1.7x held across noisy runs.

Mapping: images go inline as base64 (Ollama cannot fetch a URL: an image URL is INVALID_REQUEST,
a ``data:`` URL is unpacked); tool-call arguments travel as JSON objects; a tool result carries
``tool_name`` (from the call when the message has none) and ``tool_call_id``; calls without an
``id`` (Ollama < 0.12.10) get a fresh ``call_...`` id, unique across turns. ``max_tokens`` is
``options.num_predict`` and ``output`` is ``format``. ``tool_choice="none"`` leaves the tools out
and a tool's name offers only that tool; Ollama cannot force a call, so ``"required"`` is refused;
``parallel_tool_calls`` has no equivalent. ``settings.extra`` goes into the body as is (``think``,
``keep_alive``, ``logprobs``), except ``extra["options"]``, merged into ``options``. A response
with tool calls finishes ``tool_calls`` (Ollama says ``stop``). ``thinking`` comes back as a
:class:`ReasoningPart`; reasoning parts of a history are not sent back (local models carry no
signed reasoning to continue from).

Connection: ``_connection.endpoint`` registers the key and URL secrets; user info in
``base_url`` (which the SDK would drop) is sent as ``Authorization: Basic``, unless ``api_key``
sets that header.

Errors: statuses through the shared ``_errors`` table, a 404 for a missing model saying to run
``ollama pull``; error lines mid-stream (classified by their ``status`` when present), cut
streams, lines that are not JSON and a refused connection are retryable PROVIDER_UNAVAILABLE.

Usage::

    model = OllamaChatModel("qwen3")  # OLLAMA_HOST, else http://localhost:11434
    reply = await model.generate("17 * 23?", settings=ModelSettings(extra={"think": True}))
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

import httpx

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.ids import new_id
from beluga.core.redaction import display_url, register_secret, register_url
from beluga.core.registry import require
from beluga.llms.base import BaseChatModel, ModelSettings
from beluga.llms.providers._connection import endpoint, env_key
from beluga.llms.providers._errors import (
    error_for_status,
    our_code,
    own_failure,
    retry_after_from,
    status_code,
)
from beluga.llms.providers._preflight import check_sendable
from beluga.schema import (
    ChatResponse,
    ContentPart,
    FinishEvent,
    FinishReason,
    ImagePart,
    Message,
    ReasoningDelta,
    ReasoningPart,
    StreamEvent,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    ToolDefinition,
    Usage,
    UsageEvent,
)

if TYPE_CHECKING:
    from ollama import AsyncClient

__all__ = ["OllamaChatModel"]

_DEFAULT_URL = "http://localhost:11434"
_CHAT = "/api/chat"
_loads = json.loads


class OllamaChatModel(BaseChatModel):
    """A model served by Ollama (local, or Ollama cloud with an API key).

    Every keyword is also a ``beluga.yaml`` key. ``base_url`` falls back to ``OLLAMA_HOST``, then
    ``http://localhost:11434``; ``api_key`` (a bearer token, for Ollama cloud or a proxy) to
    ``OLLAMA_API_KEY``. ``timeout`` bounds the connection and each read, so a long stream is
    fine while lines keep coming; the default of 10 minutes leaves room to load a large model.
    ``keep_alive`` (seconds, or a duration such as ``"10m"``; ``-1`` keeps the model loaded) is
    sent with every call. Pass ``client=`` to reuse an ``ollama.AsyncClient``; it is then not
    closed by :meth:`aclose`.
    """

    provider = "ollama"

    def __init__(
        self,
        model: str = "llama3.2",
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float | None = 600.0,
        keep_alive: float | str | None = None,
        settings: ModelSettings | None = None,
        client: AsyncClient | None = None,
    ) -> None:
        super().__init__(model, settings=settings)
        self.keep_alive = keep_alive
        self.timeout: float | None = timeout
        self._owns_client = client is None
        if client is None:
            sdk = cast(ModuleType, require("ollama", extra="ollama"))
            key = env_key(api_key, "OLLAMA_API_KEY")
            conn = endpoint(
                base_url or os.environ.get("OLLAMA_HOST") or _DEFAULT_URL,
                default_url=_DEFAULT_URL,
                api_key=key,
                headers={"authorization": f"Bearer {key}"} if key else None,
                timeout=timeout,
            )
            client = sdk.AsyncClient(host=conn.url, timeout=timeout, headers=conn.headers)
        http = getattr(client, "_client", None)
        if not isinstance(http, httpx.AsyncClient):
            raise BelugaError(
                "llms.ollama.init",
                ErrorCode.INVALID_CONFIG,
                "this ollama package keeps no httpx client in AsyncClient._client; install a "
                "supported version: pip install 'beluga-ai[ollama]'",
            )
        auth = http.headers.get("authorization", "")  # ours or the injected client's
        register_secret(auth)
        register_secret(auth.partition(" ")[2])
        register_url(str(http.base_url))
        self._http = http
        # The SDK rebuilt the URL from scheme, host, port and path.
        self.base_url = display_url(str(http.base_url)).rstrip("/")

    async def _generate(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolDefinition],
        settings: ModelSettings,
    ) -> ChatResponse:
        op, where = "llms.ollama.generate", self.base_url
        check_sendable(messages, tools, settings, op)
        body = _request(self._model, messages, tools, settings, self.keep_alive, op, stream=False)
        try:
            response = await self._http.post(_CHAT, json=body)
        except httpx.HTTPError as exc:
            raise _transport_error(exc, op, where, started=False) from exc
        except (ValueError, TypeError) as exc:  # encoding the body: nothing was sent
            raise own_failure(op, exc, "ollama client") from exc
        if response.is_error:
            raise _status_error(response, op, where, self._model)
        try:
            data = response.json()
        except ValueError as exc:
            raise _unavailable(op, f"{where} sent a body that is not JSON; retry", exc) from exc
        if isinstance(data, dict) and data.get("error"):
            raise _reported(data, op, where, "in its answer")
        if not isinstance(data, dict) or not isinstance(data.get("message"), dict):
            raise BelugaError(
                op,
                ErrorCode.PROVIDER_UNAVAILABLE,
                f"{where} answered with something other than an /api/chat response; check that "
                "base_url is the Ollama server root (e.g. http://localhost:11434)",
                retryable=False,
            )
        with our_code(op):
            return _parse(data, self.provider)

    async def _stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolDefinition],
        settings: ModelSettings,
    ) -> AsyncIterator[StreamEvent]:
        op, where = "llms.ollama.stream", self.base_url
        check_sendable(messages, tools, settings, op)
        body = _request(self._model, messages, tools, settings, self.keep_alive, op, stream=True)
        started = False
        try:
            async with self._http.stream("POST", _CHAT, json=body) as response:
                started = True
                if response.is_error:
                    await response.aread()
                    raise _status_error(response, op, where, self._model)
                events = _events(response.aiter_lines(), op, where, self.provider)
                try:
                    async for event in events:
                        yield event
                finally:
                    await events.aclose()
        except httpx.HTTPError as exc:
            raise _transport_error(exc, op, where, started=started) from exc
        except (ValueError, TypeError) as exc:
            if started:  # our parser: the lines themselves are checked in _events
                raise own_failure(op, exc, "Ollama adapter") from exc
            raise own_failure(op, exc, "ollama client") from exc

    async def aclose(self) -> None:
        """Close the HTTP client, unless it was passed in as ``client=``."""
        if self._owns_client:
            await self._http.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self._model!r}, base_url={self.base_url!r})"


# --------------------------------------------------------------------------- request


def _request(
    model: str,
    messages: Sequence[Message],
    tools: Sequence[ToolDefinition],
    settings: ModelSettings,
    keep_alive: float | str | None,
    op: str,
    *,
    stream: bool,
) -> dict[str, Any]:
    """The JSON body of ``POST /api/chat``."""
    body: dict[str, Any] = {"model": model, "messages": _messages(messages, op), "stream": stream}
    offered = _offered(tools, settings.tool_choice, op)
    if offered:
        body["tools"] = [{"type": "function", "function": _function(t)} for t in offered]
    stop = list(settings.stop) if settings.stop is not None else None
    options = {
        name: value
        for name, value in (
            ("temperature", settings.temperature),
            ("top_p", settings.top_p),
            ("num_predict", settings.max_tokens),
            ("stop", stop),
            ("seed", settings.seed),
        )
        if value is not None
    }
    if settings.output is not None:
        body["format"] = settings.output.schema
    if keep_alive is not None:
        body["keep_alive"] = keep_alive
    if settings.extra:
        extra = dict(settings.extra)
        more = extra.pop("options", None)
        options.update(more if isinstance(more, dict) else {})
        body.update(extra)
    if options:
        body["options"] = options
    return body


def _function(tool: ToolDefinition) -> dict[str, Any]:
    return {"name": tool.name, "description": tool.description, "parameters": tool.parameters}


def _offered(
    tools: Sequence[ToolDefinition], choice: str | None, op: str
) -> Sequence[ToolDefinition]:
    if not tools or choice in (None, "auto"):
        return tools
    if choice == "none":
        return ()
    chosen = [t for t in tools if t.name == choice]
    if choice == "required":
        text = "Ollama cannot force a tool call (tool_choice='required'); use 'auto' or the name "
        text += "of the one tool to offer"
    elif not chosen:
        text = f"tool_choice={choice!r} names no tool of this call; use auto, none or one of: "
        text += ", ".join(t.name for t in tools)
    else:
        return chosen
    raise BelugaError(op, ErrorCode.INVALID_REQUEST, text)


def _messages(messages: Sequence[Message], op: str) -> list[dict[str, Any]]:
    names: dict[str | None, str] = {}  # call id -> tool name, for results that carry no name
    out: list[dict[str, Any]] = []
    for msg in messages:
        item: dict[str, Any] = {"role": msg.role, "content": msg.text}
        if not msg.is_text_only:
            item["images"] = _images(msg, op)
        if msg.tool_calls:
            item["tool_calls"] = [
                {"id": c.id, "function": {"name": c.name, "arguments": c.args()}}
                for c in msg.tool_calls
            ]
            names.update((c.id, c.name) for c in msg.tool_calls)
        if msg.role == "tool":
            name = msg.name or names.get(msg.tool_call_id)
            if name:
                item["tool_name"] = name
            item["tool_call_id"] = msg.tool_call_id
        out.append(item)
    return out


def _images(msg: Message, op: str) -> list[str]:
    images: list[str] = []
    for part in msg.content:
        if isinstance(part, TextPart | ReasoningPart):
            continue
        if not isinstance(part, ImagePart):
            text = f"Ollama's /api/chat takes text and images, not {type(part).__name__}"
        elif part.url is None:
            images.append(part.as_base64())
            continue
        elif part.url.startswith("data:") and ";base64," in part.url:
            images.append(part.url.partition(",")[2])
            continue
        else:
            text = "Ollama takes images inline and cannot fetch a URL; download the image and "
            text += "pass ImagePart(data=..., media_type=...) or ImagePart(base64=...)"
        raise BelugaError(op, ErrorCode.INVALID_REQUEST, text)
    return images


# --------------------------------------------------------------------------- response


def _tool_call(call: Any) -> ToolCall:
    function = call.get("function") if isinstance(call, dict) else None
    function = function if isinstance(function, dict) else {}
    args = function.get("arguments")
    if not isinstance(args, str):
        args = json.dumps(args if args is not None else {}, ensure_ascii=False)
    call_id = call.get("id") if isinstance(call, dict) else None
    return ToolCall(call_id or new_id("call"), function.get("name") or "", args)


def _usage(data: dict[str, Any]) -> Usage:
    # Go's `omitempty` drops a count of 0 (e.g. a prompt served from the cache).
    return Usage(data.get("prompt_eval_count") or 0, data.get("eval_count") or 0)


def _finish(raw: Any, has_calls: bool) -> FinishReason:
    if has_calls:
        return "tool_calls"
    return "length" if raw == "length" else "stop"


def _parse(data: dict[str, Any], provider: str) -> ChatResponse:
    """Our :class:`ChatResponse` from a non-streamed ``/api/chat`` answer."""
    message = data["message"]
    content = message.get("content")
    thinking = message.get("thinking")
    calls = [_tool_call(c) for c in message.get("tool_calls") or ()]
    raw = data.get("done_reason")
    parts: list[ContentPart] = []
    if isinstance(thinking, str) and thinking:
        parts.append(ReasoningPart(thinking, provider=provider))
    if isinstance(content, str) and content:
        parts.append(TextPart(content))
    return ChatResponse(
        Message.assistant(parts, tool_calls=calls),
        _usage(data),
        _finish(raw, bool(calls)),
        data.get("model"),
        None,
        raw,
    )


async def _events(
    lines: AsyncIterator[str], op: str, where: str, provider: str
) -> AsyncGenerator[StreamEvent, None]:
    """Our events from the NDJSON lines of a streamed answer; the line with ``done: true``
    gives one :class:`UsageEvent` and the one :class:`FinishEvent`."""
    count = 0
    async for line in lines:
        if not line:
            continue
        try:
            chunk = _loads(line)
        except ValueError as exc:
            text = f"{where} sent a stream line that is not JSON ({line[:60]!r}); retry"
            raise _unavailable(op, text, exc) from exc
        if type(chunk) is not dict:
            continue
        if chunk.get("error"):
            raise _reported(chunk, op, where, "mid-stream")
        message = chunk.get("message")
        if message:
            thinking = message.get("thinking")
            if thinking:
                yield ReasoningDelta(thinking, provider=provider)
            content = message.get("content")
            if content:
                yield TextDelta(content)
            for raw_call in message.get("tool_calls") or ():
                call = _tool_call(raw_call)
                yield ToolCallDelta(count, call.id, call.name, call.arguments)
                count += 1
        if chunk.get("done"):
            raw = chunk.get("done_reason")
            yield UsageEvent(_usage(chunk))
            yield FinishEvent(_finish(raw, count > 0), raw, chunk.get("model"))
            return
    text = f"the stream from {where} ended before the model finished (no done line); retry"
    raise _unavailable(op, text)


# --------------------------------------------------------------------------- errors


def _unavailable(op: str, text: str, cause: BaseException | None = None) -> BelugaError:
    return BelugaError(op, ErrorCode.PROVIDER_UNAVAILABLE, text, retryable=True, cause=cause)


def _status_error(response: httpx.Response, op: str, where: str, model: str) -> BelugaError:
    """An HTTP error answer; Ollama sends ``{"error": "..."}``, proxies may send anything."""
    text = response.text
    try:
        data = response.json()
    except ValueError:
        data = None
    from_ollama = isinstance(data, dict) and isinstance(data.get("error"), str)
    if from_ollama:
        text = cast(dict[str, str], data)["error"]
    if response.status_code != 404:
        said = f"Ollama at {where}"
        return error_for_status(
            op, response.status_code, text, provider=said, headers=response.headers
        )
    if from_ollama:
        fix = f"run `ollama pull {model}` on that server, or check the model name"
    else:
        fix = "base_url must be the Ollama server root (e.g. http://localhost:11434, no /v1)"
    return BelugaError(
        op,
        ErrorCode.NOT_FOUND,
        f"Ollama at {where} answered HTTP 404: {text.strip()[:300] or 'no message'}; {fix}",
        retry_after=retry_after_from(response.headers),
    )


def _reported(chunk: dict[str, Any], op: str, where: str, context: str) -> BelugaError:
    """An ``{"error": ..., "status"?: ...}`` object sent after the 200; Ollama adds the HTTP
    status when the failure had one."""
    status = chunk.get("status")
    if type(status) is int and status >= 400:
        code, retryable = status_code(status)
    else:
        code, retryable = ErrorCode.PROVIDER_UNAVAILABLE, True
    step = "retrying may help" if retryable else "fix the request"
    text = f"Ollama at {where} reported an error {context}: {str(chunk['error'])[:500]}; {step}"
    return BelugaError(op, code, text, retryable=retryable)


def _transport_error(exc: httpx.HTTPError, op: str, where: str, *, started: bool) -> BelugaError:
    detail = type(exc).__name__
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        text = (
            f"could not reach Ollama at {where} ({detail}); is `ollama serve` running at {where}?"
        )
    elif isinstance(exc, httpx.TimeoutException):
        text = f"Ollama at {where} did not answer in time ({detail}); retry, or raise timeout= "
        text += "(loading a large model can take minutes)"
        return BelugaError(op, ErrorCode.TIMEOUT, text, cause=exc)
    elif started:
        text = f"the stream from {where} was cut before it finished ({detail}); retry"
    else:
        text = f"the connection to Ollama at {where} failed ({detail}); retry"
    return _unavailable(op, text, exc)
