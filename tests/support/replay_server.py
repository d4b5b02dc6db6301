"""A local HTTP server that answers with recorded (or scripted) replies, for wire tests.

Split from :mod:`tests.support.cassettes` (which reads the recordings): tests enqueue
:class:`Reply` objects, point a real client at :attr:`ReplayServer.url`, and inspect what the
client sent in :attr:`ReplayServer.requests`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self

from tests.support.cassettes import Interaction, RecordedResponse

__all__ = ["ReceivedRequest", "ReplayServer", "Reply", "unused_port"]

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "content-encoding",
        "set-cookie",
        "alt-svc",
        "strict-transport-security",
    }
)


# --------------------------------------------------------------------------- replies


@dataclass(slots=True)
class Reply:
    """One HTTP response to serve.

    ``chunks`` sends the body with ``Transfer-Encoding: chunked``, one write (and flush) per chunk,
    as a streaming server would. ``cut_after`` closes the connection once that many bytes of the
    body have gone out on the wire (chunk framing included), mid-message. ``delay`` holds the
    answer back that many seconds.
    """

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    chunks: list[bytes] | None = None
    cut_after: int | None = None
    close: bool = False
    delay: float = 0.0  # seconds to wait before answering (for client timeouts)
    reset: bool = False  # drop the connection with a TCP reset instead of answering

    @classmethod
    def json(
        cls, payload: Any, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> Reply:
        return cls(
            status,
            [("content-type", "application/json"), *(headers or {}).items()],
            json.dumps(payload).encode(),
        )

    @classmethod
    def text(
        cls,
        text: str,
        status: int = 200,
        content_type: str = "text/plain",
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        return cls(
            status, [("content-type", content_type), *(headers or {}).items()], text.encode()
        )

    @classmethod
    def sse(
        cls,
        events: Iterable[str | Mapping[str, Any]],
        *,
        done: bool = True,
        cut_after: int | None = None,
        status: int = 200,
    ) -> Reply:
        """An event stream: each event is a dict (sent as ``data: <json>``) or a raw event text."""
        chunks = [
            (f"data: {json.dumps(e)}\n\n" if isinstance(e, Mapping) else e).encode() for e in events
        ]
        if done:
            chunks.append(b"data: [DONE]\n\n")
        return cls(
            status,
            [("content-type", "text/event-stream; charset=utf-8")],
            chunks=chunks,
            cut_after=cut_after,
        )

    @classmethod
    def recorded(cls, response: RecordedResponse) -> Reply:
        headers = [
            (name, value)
            for name, values in response.headers.items()
            if name not in _HOP_BY_HOP
            for value in values
        ]
        if response.body is None:
            payload = (
                b"" if response.parsed_body is None else json.dumps(response.parsed_body).encode()
            )
            return cls(response.status, headers, payload)
        text = response.body
        if isinstance(text, bytes):  # binary bodies (AWS event streams) are served as recorded
            return cls(response.status, headers, text)
        if response.is_event_stream:
            # One chunk per event, as the server flushed them.
            sep = "\r\n\r\n" if "\r\n\r\n" in text else "\n\n"  # Gemini uses CRLF
            parts = [p + sep for p in text.split(sep) if p.strip()]
            return cls(response.status, headers, chunks=[p.encode() for p in parts])
        return cls(response.status, headers, text.encode())

    def wire_body(self) -> bytes:
        if self.chunks is None:
            return self.body
        out = bytearray()
        for chunk in self.chunks:
            if chunk:
                out += f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        return bytes(out + b"0\r\n\r\n")


@dataclass(frozen=True, slots=True)
class ReceivedRequest:
    method: str
    path: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


# --------------------------------------------------------------------------- server


class ReplayServer:
    """Serves queued replies in order on ``127.0.0.1`` (a free port); records every request.

    Use as ``async with ReplayServer() as server: server.enqueue(...)``. A request that arrives
    with nothing queued gets a 418 and is listed in :attr:`unexpected`.
    """

    def __init__(self) -> None:
        self.requests: list[ReceivedRequest] = []
        self.unexpected: list[ReceivedRequest] = []
        self._queue: deque[Reply] = deque()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pending(self) -> int:
        return len(self._queue)

    def enqueue(self, *replies: Reply) -> None:
        self._queue.extend(replies)

    def replay(self, *interactions: Interaction) -> None:
        self.enqueue(*(Reply.recorded(i.response) for i in interactions))

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", 0, limit=16 * 1024 * 1024
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()  # handlers end quietly on cancellation (see _handle)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._writers.add(writer)
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    return
                reply = self._next(request)
                keep = await self._write(writer, reply)
                if not keep or request.headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        except asyncio.CancelledError:
            # Only aclose() cancels handlers. Ending normally keeps asyncio's stream callback
            # (Python 3.11) from logging the cancellation as an unhandled error.
            return
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()
            if task is not None:
                self._tasks.discard(task)

    def _next(self, request: ReceivedRequest) -> Reply:
        self.requests.append(request)
        if self._queue:
            return self._queue.popleft()
        self.unexpected.append(request)
        return Reply.json(
            {
                "error": {
                    "message": f"replay server: no reply queued for {request.method} "
                    f"{request.path}",
                    "type": "replay_error",
                }
            },
            status=418,
        )

    @staticmethod
    async def _read_request(reader: asyncio.StreamReader) -> ReceivedRequest | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None  # client closed the connection between requests
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    break
                body += await reader.readexactly(size)
                await reader.readexactly(2)
            data = bytes(body)
        else:
            data = await reader.readexactly(int(headers.get("content-length", "0")))
        return ReceivedRequest(method, target, headers, data)

    @staticmethod
    async def _write(writer: asyncio.StreamWriter, reply: Reply) -> bool:
        """Send ``reply``; returns whether the connection stays open."""
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.reset:
            sock = writer.get_extra_info("socket")
            if sock is not None:  # linger 0: close() sends RST, as a crashed peer would
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        try:
            reason = HTTPStatus(reply.status).phrase
        except ValueError:
            reason = "Unknown"
        head = [f"HTTP/1.1 {reply.status} {reason}"]
        head += [f"{k}: {v}" for k, v in reply.headers]
        if reply.chunks is not None:
            head.append("transfer-encoding: chunked")
        else:
            head.append(f"content-length: {len(reply.body)}")
        if reply.close or reply.cut_after is not None:
            head.append("connection: close")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        body = reply.wire_body()
        if reply.cut_after is not None:
            writer.write(body[: reply.cut_after])
            await writer.drain()
            return False
        if reply.chunks is None:
            writer.write(body)
        else:
            for chunk in reply.chunks:
                if chunk:
                    writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    await writer.drain()
            writer.write(b"0\r\n\r\n")
        await writer.drain()
        return not reply.close


def unused_port() -> int:
    """A loopback port with nothing listening on it (for connection-refused tests)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
