"""``beluga bench serve-mock``: the mock model behind the OpenAI-compatible chat-completions API.

``POST /v1/chat/completions`` (streamed as server-sent events, or whole), ``GET /v1/models`` and
``GET /health`` (as vLLM has it) and ``GET /mock/stats``: how late the server itself sent its
tokens, the check that its timings are the injected ones; ``?starts`` adds each stream's start
and first-token times on the machine's monotonic clock, which splits a client's TTFT into request
path, server and delivery. Faults look as the real API's do: a 429 with ``retry-after`` and an
OpenAI error body, a 500 with one, and a stream whose connection is dropped after some tokens.

The server runs on a ``select()`` event loop: ``epoll`` rounds every timer up to the next
millisecond, ``select`` waits to the microsecond, so the tokens leave when they are due rather
than up to 1 ms later. While few streams are open, the last half millisecond before a token is
due is polled rather than slept: an idle process wakes from a timer a quarter of a millisecond
late on a virtual machine, and that would be counted against the client being checked. (With
more streams open the loop is busy and wakes on time; polling there would starve it.) aiohttp
(the ``bench`` extra) speaks HTTP.
"""

from __future__ import annotations

import asyncio
import json
import selectors
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms.base import ModelSettings
from beluga.llms.providers.mock import MockChatModel, answer_pieces
from beluga.schema import Message, OutputSchema, ToolDefinition

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ["MockServer", "loop_factory", "serve_forever"]


def loop_factory() -> asyncio.AbstractEventLoop:
    """An event loop whose timers wake to the microsecond (see the module docstring)."""
    return asyncio.SelectorEventLoop(selectors.SelectSelector())


def _require_aiohttp() -> None:
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        raise BelugaError(
            "bench.serve_mock",
            ErrorCode.INVALID_CONFIG,
            "the mock server needs aiohttp: pip install 'beluga-ai[bench]'",
        ) from None


class MockServer:
    """The mock model served on ``host:port`` (port 0 picks a free one); an async context
    manager whose ``base_url`` ends in ``/v1``."""

    def __init__(self, model: MockChatModel, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.model = model
        self.host = host
        self.port = port
        self.requests = 0
        self.lateness: deque[float] = deque(maxlen=200_000)
        self.starts: deque[tuple[str, float, float]] = deque(maxlen=10_000)
        """(response id, handler start, first token written) per streamed answer, in
        CLOCK_MONOTONIC seconds."""
        self._runner: Any = None
        self._open = 0  # answers in progress

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    async def start(self) -> None:
        _require_aiohttp()
        from aiohttp import web

        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/mock/stats", self._stats)
        app.router.add_get("/health", self._health)  # vLLM's liveness route; peer tools probe it
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def aclose(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> MockServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _models(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        data = [{"id": self.model.model_name, "object": "model", "owned_by": "beluga-mock"}]
        return web.json_response({"object": "list", "data": data})

    async def _health(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        return web.Response(text="ok")

    async def _stats(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        late = sorted(self.lateness)

        def q(p: float) -> float | None:
            return late[min(int(p * len(late)), len(late) - 1)] * 1e3 if late else None

        return web.json_response(
            {
                "requests": self.requests,
                "tokens": len(late),
                "lateness_ms": {"p50": q(0.5), "p99": q(0.99), "max": q(1.0)},
                "ttft": str(self.model.ttft),
                "itl": str(self.model.itl),
                **({"starts": list(self.starts)} if "starts" in request.query else {}),
            }
        )

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        start = asyncio.get_running_loop().time()
        self._open += 1
        try:
            return await self._answer(request, start)
        finally:
            self._open -= 1

    async def _answer(self, request: web.Request, start: float) -> web.StreamResponse:
        from aiohttp import web

        loop = asyncio.get_running_loop()
        self.requests += 1
        try:
            body = await request.json()
            messages, tools, settings = _read_request(body)
        except (ValueError, TypeError, KeyError, BelugaError) as exc:
            return _error(400, f"invalid request body: {exc}", "invalid_request_error")
        tokens = settings.max_tokens or self.model.output_tokens
        plan = self.model.schedule(tokens)
        if plan.fault == "rate_limit":
            return _error(
                429, "Rate limit reached (injected by the mock)", "rate_limit_exceeded", "1"
            )
        if plan.fault == "server_error":
            return _error(500, "The server had an error (injected by the mock)", None)
        pieces, tool = answer_pieces(messages, tools, settings, tokens)
        usage = self.model._usage(messages, tokens)
        model = str(body.get("model") or self.model.model_name)
        ident = f"chatcmpl-mock{self.requests}"
        created = int(time.time())
        if not body.get("stream"):
            await _until(loop, start + plan.offsets[-1], self._open)
            return web.json_response(_completion(ident, created, model, pieces, tool, usage))
        chunks = _rendered(ident, created, model, pieces, tool)  # before the first deadline
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                # when the server started this answer's clock (CLOCK_MONOTONIC, shared by every
                # process of the machine): how accuracy checks split an error into its sides
                "x-mock-start-ns": str(int(start * 1e9)),
            }
        )
        await response.prepare(request)
        for i, offset in enumerate(plan.offsets):
            due = start + offset
            await _until(loop, due, self._open)
            if plan.fault == "cut" and i == plan.cut_after:
                if request.transport is not None:
                    request.transport.abort()
                return response
            now = loop.time()
            self.lateness.append(now - due)
            if i == 0:
                self.starts.append((ident, start, now))
            await response.write(chunks[i])
        finish = "tool_calls" if tool else "stop"
        await response.write(_sse(_chunk(ident, created, model, {}, finish)))
        if (body.get("stream_options") or {}).get("include_usage"):
            chunk = _chunk(ident, created, model, {}, None)
            chunk["choices"] = []
            chunk["usage"] = _usage(usage)
            await response.write(_sse(chunk))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


_POLL_S = 0.0005  # the end of a wait that is polled while few streams are open
_POLL_STREAMS = 4


async def _until(loop: asyncio.AbstractEventLoop, when: float, streams: int = 0) -> None:
    """Wait for ``when`` (loop time); polled at the end while at most ``_POLL_STREAMS`` answers
    are in progress, ``streams`` (the module docstring says why)."""
    delay = when - loop.time()
    if delay <= 0:
        return
    if streams > _POLL_STREAMS:
        await asyncio.sleep(delay)
        return
    if delay > _POLL_S:
        await asyncio.sleep(delay - _POLL_S)
    while loop.time() < when:  # noqa: ASYNC110 -- polling, not waiting, is the point
        await asyncio.sleep(0)


def _read_request(body: Any) -> tuple[list[Message], list[ToolDefinition], ModelSettings]:
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        raise ValueError("'messages' must be a list")
    messages: list[Message] = []
    for item in body["messages"]:
        content = item.get("content")
        if isinstance(content, list):
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        text = str(content or "")
        role = item.get("role")
        if role == "tool":
            messages.append(Message.tool(str(item.get("tool_call_id", "call")), text))
        elif role in ("system", "developer"):
            messages.append(Message.system(text))
        elif role == "assistant":
            messages.append(Message.assistant(text))
        else:
            messages.append(Message.user(text))
    tools = [
        ToolDefinition(
            t["function"]["name"],
            str(t["function"].get("description", "")),
            t["function"].get("parameters") or {"type": "object", "properties": {}},
        )
        for t in body.get("tools") or ()
    ]
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    output = None
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        output = OutputSchema.of(fmt["json_schema"].get("schema") or {"type": "object"})
    choice = body.get("tool_choice")
    settings = ModelSettings(
        max_tokens=int(limit) if limit else None,
        tool_choice=choice if isinstance(choice, str) else None,
        output=output,
    )
    return messages, tools, settings


def _error(
    status: int, message: str, code: str | None, retry_after: str | None = None
) -> web.StreamResponse:
    from aiohttp import web

    kind = {400: "invalid_request_error", 429: "requests"}.get(status, "server_error")
    headers = {"retry-after": retry_after} if retry_after else None
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return web.json_response(body, status=status, headers=headers)


def _usage(usage: Any) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
    }


def _chunk(
    ident: str, created: int, model: str, delta: dict[str, Any], finish: str | None
) -> dict[str, Any]:
    return {
        "id": ident,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _rendered(
    ident: str, created: int, model: str, pieces: Sequence[str], tool: str | None
) -> list[bytes]:
    """Every content chunk's SSE bytes, rendered up front so that sending a token at its
    deadline is one write."""
    out = []
    for i, piece in enumerate(pieces):
        delta: dict[str, Any] = {"role": "assistant"} if i == 0 else {}
        if tool is None:
            delta["content"] = piece
        else:
            call: dict[str, Any] = {"index": 0, "function": {"arguments": piece}}
            if i == 0:
                call.update(id="call_0", type="function")
                call["function"]["name"] = tool
            delta["tool_calls"] = [call]
        out.append(_sse(_chunk(ident, created, model, delta, None)))
    return out


def _sse(data: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


def _completion(
    ident: str,
    created: int,
    model: str,
    pieces: Sequence[str],
    tool: str | None,
    usage: Any,
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": None if tool else "".join(pieces)}
    if tool is not None:
        message["tool_calls"] = [
            {
                "id": "call_0",
                "type": "function",
                "function": {"name": tool, "arguments": "".join(pieces)},
            }
        ]
    return {
        "id": ident,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if tool else "stop"}
        ],
        "usage": _usage(usage),
    }


def serve_forever(
    model: MockChatModel,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ready: Callable[[MockServer], None] | None = None,
) -> None:
    """Serve until interrupted, on the precise loop; ``ready`` is told the bound address."""

    async def main() -> None:
        async with MockServer(model, host=host, port=port) as server:
            if ready is not None:
                ready(server)
            await asyncio.Event().wait()

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main())
