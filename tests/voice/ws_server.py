"""A loopback WebSocket server for the provider tests: each test scripts the provider's side.

``handler(ws)`` runs per connection; ``reject`` makes the handshake answer an HTTP error (as a
provider does for a bad key or too many connections). The server records each request's path
and headers, so tests assert what was sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Request, Response, ServerConnection, serve
from websockets.datastructures import Headers

__all__ = ["Seen", "ws_server"]


@dataclass
class Seen:
    """What the server received: request paths, headers, and every message in order."""

    paths: list[str] = field(default_factory=list)
    headers: list[Headers] = field(default_factory=list)
    messages: list[str | bytes] = field(default_factory=list)


@asynccontextmanager
async def ws_server(
    handler: Callable[[ServerConnection, Seen], Awaitable[None]],
    *,
    reject: tuple[int, str, dict[str, str]] | None = None,
) -> AsyncIterator[tuple[str, Seen]]:
    """Serve on 127.0.0.1 (a free port); yields ``(ws://host:port, seen)``."""
    seen = Seen()

    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        seen.paths.append(request.path)
        seen.headers.append(request.headers)
        if reject is None:
            return None
        status, body, headers = reject
        response = connection.respond(HTTPStatus(status), body)
        for name, value in headers.items():
            response.headers[name] = value
        return response

    async def run(ws: ServerConnection) -> None:
        await handler(ws, seen)

    async with serve(run, "127.0.0.1", 0, process_request=process_request) as server:
        port: Any = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}", seen
