"""A real MCP server for the tests, written with the ``mcp`` SDK's server API.

Run as ``python demo.py stdio`` (tools over stdin/stdout) or ``python demo.py http PORT
[TOKEN]`` (streamable HTTP on 127.0.0.1; port 0 picks a free one; with a token, requests
without ``Authorization: Bearer TOKEN`` get 401). In HTTP mode the server binds the
socket itself and prints ``PORT <n>`` on stdout once it listens, so a test never races for a
port; a restart passes the same port back.

Each tool exercises one mapping of the client: text, image, audio, embedded resources, a
resource link, structured content alone, ``isError``, a JSON-RPC invalid-params error, a
crash (``os._exit`` mid-call), a slow call, and a tool list that changes at run time.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import sys
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Audio, Context, Image
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    BlobResourceContents,
    CallToolResult,
    EmbeddedResource,
    ResourceLink,
    TextContent,
    TextResourceContents,
)

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9aw"
    "AAAABJRU5ErkJggg=="
)
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt "

server: MCPServer = MCPServer("demo", log_level="WARNING")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool(name="echo.text")
def echo_text(text: str) -> str:
    """Echo the text back (a dotted name, which providers reject)."""
    return text


@server.tool()
def picture() -> Image:
    """A one-pixel PNG."""
    return Image(data=PNG, format="png")


@server.tool()
def sound() -> Audio:
    """A few bytes of WAV."""
    return Audio(data=WAV, format="wav")


@server.tool()
def documents() -> list[Any]:
    """An embedded text resource, an embedded blob and a resource link."""
    return [
        EmbeddedResource(
            resource=TextResourceContents(
                uri="file:///notes.txt", text="the notes", mime_type="text/plain"
            )
        ),
        EmbeddedResource(
            resource=BlobResourceContents(
                uri="file:///report.pdf",
                blob=base64.b64encode(b"%PDF-1.4").decode(),
                mime_type="application/pdf",
            )
        ),
        ResourceLink(name="manual", uri="https://example.invalid/manual", description="the manual"),
    ]


@server.tool()
def only_structured() -> CallToolResult:
    """Structured content with no content blocks."""
    return CallToolResult(content=[], structured_content={"total": 42})


@server.tool()
def refuse(reason: str) -> CallToolResult:
    """A tool-level error (isError)."""
    return CallToolResult(content=[TextContent(text=f"refused: {reason}")], is_error=True)


@server.tool()
def positive(n: int) -> int:
    """Accepts only n > 0: anything else is a JSON-RPC invalid-params error."""
    if n <= 0:
        raise MCPError(INVALID_PARAMS, f"n must be positive, got {n}")
    return n


@server.tool()
def crash() -> str:
    """Kill the server process in the middle of the call."""
    sys.stdout.flush()
    os._exit(3)


@server.tool()
async def slow(seconds: float) -> str:
    """Sleep, then answer."""
    await asyncio.sleep(seconds)
    return "done"


@server.tool()
def environment(name: str) -> str:
    """The value of an environment variable of the server process ('' when unset)."""
    return os.environ.get(name, "")


@server.tool()
def pid() -> int:
    """The server's process id."""
    return os.getpid()


@server.tool()
def header(name: str, ctx: Context) -> str:
    """The value of an HTTP request header ('' when unset or not over HTTP)."""
    headers = ctx.headers or {}
    return str(headers.get(name.lower(), ""))


def _added(x: int) -> int:
    """Double x (a tool added at run time)."""
    return 2 * x


@server.tool()
async def grow(ctx: Context) -> str:
    """Add the tool ``added`` and tell the client the list changed."""
    server.add_tool(_added, name="added")
    await ctx.notify_tools_changed()  # 2026-07-28 sessions: subscriptions/listen streams
    await ctx.session.send_tool_list_changed()  # handshake-era sessions: a plain notification
    return "grown"


_revoked = False


@server.tool()
def revoke() -> str:
    """Refuse the client's token from the next request on (HTTP with a token only)."""
    global _revoked
    _revoked = True
    return "revoked"


def _guarded(app: Any, token: str) -> Any:
    """``app`` answering 401 to a request without ``Authorization: Bearer <token>``."""
    expected = f"Bearer {token}".encode()

    async def guard(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and (
            _revoked or dict(scope["headers"]).get(b"authorization") != expected
        ):
            await send({"type": "http.response.start", "status": 401, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await app(scope, receive, send)

    return guard


def _serve_http(port: int, token: str | None) -> None:
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    app = server.streamable_http_app(host="127.0.0.1")
    if token:
        app = _guarded(app, token)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    uv = uvicorn.Server(config)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    asyncio.run(uv.serve(sockets=[sock]))


if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        _serve_http(int(sys.argv[2]) if len(sys.argv) > 2 else 0, (sys.argv[3:4] or [None])[0])
    else:
        server.run("stdio")
