"""One live connection to an MCP server, owned by one task from connect to close.

The SDK's client is a stack of anyio task groups and cancel scopes, which the task that enters
them must also leave. A toolset, though, connects from whichever task first lists its tools and
closes from another, so each connection runs in a task of its own: it enters the client, says
it is ready, waits to be told to stop, and leaves. Requests from any task go through the session
it holds (the SDK's request path works across tasks).

A transport that dies (the server crashed, the HTTP connection dropped) fails pending requests
with ``CONNECTION_CLOSED`` or ends the owning task; the connection is then *broken*, and the
toolset opens a new one for the next call. List changes are followed in both protocol eras:
handshake-era servers send ``notifications/tools/list_changed`` on their own, 2026-era servers
only on a ``subscriptions/listen`` stream, which the owning task keeps open.

This module imports the ``mcp`` SDK (the ``mcp`` extra); :mod:`beluga.tools.mcp` imports it
only when a connection is first made.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any, Literal, TextIO, cast

import anyio
import anyio.abc
import httpx2
import mcp_types
from mcp import Client, StdioServerParameters, stdio_client
from mcp.client._transport import TransportStreams
from mcp.client.session import IncomingMessage, MessageHandlerFnT
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import MCP_DEFAULT_SSE_READ_TIMEOUT, create_mcp_http_client
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from beluga.tools._mcp_targets import HttpTarget, StdioTarget

__all__ = [
    "CONNECTION_CLOSED",
    "INVALID_PARAMS",
    "METHOD_NOT_FOUND",
    "REQUEST_TIMEOUT",
    "Connection",
    "OpenFailed",
    "describe",
    "root_cause",
]

CONNECTION_CLOSED = mcp_types.CONNECTION_CLOSED
REQUEST_TIMEOUT = mcp_types.REQUEST_TIMEOUT
INVALID_PARAMS = mcp_types.INVALID_PARAMS
METHOD_NOT_FOUND = mcp_types.METHOD_NOT_FOUND

_log = logging.getLogger("beluga.tools.mcp")

_Handshake = Literal["auto", "legacy"]


class OpenFailed(Exception):
    """A connection could not be made: ``cause`` is why (None when ``timed_out``), and
    ``http_status`` the last HTTP error status the server answered, if any."""

    def __init__(
        self, cause: BaseException | None, http_status: int | None, *, timed_out: bool = False
    ) -> None:
        super().__init__(describe(root_cause(cause)) if cause is not None else "timed out")
        self.cause = cause
        self.http_status = http_status
        self.timed_out = timed_out


class Connection:
    """A connected MCP client and the task that owns it. Use :meth:`open` and :meth:`close`.

    ``http_status`` is the last HTTP error status (400 and up) the server answered with, the
    only trace of an authentication failure the SDK leaves (it reports a bare "error
    response").
    """

    def __init__(
        self, target: StdioTarget | HttpTarget, protocol: _Handshake, on_change: Callable[[], None]
    ) -> None:
        self._target = target
        self._protocol = protocol
        self._on_change = on_change
        self._ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop = asyncio.get_running_loop()
        self.client: Client | None = None
        self.error: BaseException | None = None
        """Why the connection could not be made or ended (None while it is fine)."""
        self.broken = False
        self.http_status: int | None = None

    @classmethod
    async def open(
        cls,
        target: StdioTarget | HttpTarget,
        *,
        protocol: _Handshake,
        timeout: float | None,
        on_change: Callable[[], None],
    ) -> Connection:
        """Connect and complete the MCP handshake within ``timeout`` seconds, or raise
        :class:`OpenFailed`."""
        connection = cls(target, protocol, on_change)
        connection._task = asyncio.get_running_loop().create_task(connection._own())
        try:
            async with asyncio.timeout(timeout):
                await connection._ready.wait()
        except TimeoutError:
            await connection.close()
            raise OpenFailed(None, connection.http_status, timed_out=True) from None
        except BaseException:
            await connection.close()
            raise
        if connection.client is None:
            await connection.close()
            error = connection.error or ConnectionError("the MCP connection ended at once")
            raise OpenFailed(error, connection.http_status) from error
        return connection

    @property
    def usable(self) -> bool:
        """Connected, not broken, and on the running event loop (``asyncio.run`` twice makes
        two loops: the first one's connection died with it)."""
        return self.client is not None and not self.broken and self._loop is _running_loop()

    async def close(self) -> None:
        """Leave the client (stopping a stdio server) and wait for the owning task to end."""
        self.broken = True
        task = self._task
        if task is None or self._loop is not asyncio.get_running_loop():
            return  # that loop ended, and its end cancelled (and so closed) the connection
        self._stop.set()
        if self.client is None and not task.done():
            task.cancel()  # still connecting: nothing to leave gracefully
        await asyncio.wait([task])
        if not task.cancelled():
            task.exception()  # retrieved: a failure was already reported as ``error``

    async def _own(self) -> None:
        try:
            async with (
                _client(self._target, self._protocol, self._on_message, self._on_http) as client,
                anyio.create_task_group() as group,
            ):
                if _listens(client):
                    await group.start(self._follow, client)
                self.client = client
                self._ready.set()
                await self._stop.wait()
                group.cancel_scope.cancel()
        except Exception as exc:
            self.error = exc
            if self.client is not None:
                _log.debug("MCP connection ended: %s", describe(root_cause(exc)))
        finally:
            self.client = None
            self.broken = True
            self._ready.set()

    async def _on_http(self, response: httpx2.Response) -> None:
        if response.status_code >= 400:
            self.http_status = response.status_code

    async def _on_message(self, message: IncomingMessage) -> None:
        if isinstance(message, mcp_types.ToolListChangedNotification):
            self._on_change()
        elif isinstance(message, Exception):
            _log.debug("MCP transport reported: %s", describe(message))

    async def _follow(
        self, client: Client, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Keep a ``subscriptions/listen`` stream for tool list changes open (2026-era)."""
        try:
            async with client.listen(tools_list_changed=True) as subscription:
                task_status.started()
                async for _event in subscription:
                    self._on_change()
        except Exception as exc:  # a lost subscription must not take the connection down
            _log.debug("MCP tool list subscription ended: %s", describe(exc))
        finally:
            # A failed subscription still lets the connection start (changes are not followed).
            with suppress(RuntimeError):  # already started
                task_status.started()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _listens(client: Client) -> bool:
    """Whether list changes need a listen stream: a 2026-era session whose server offers it."""
    tools = client.server_capabilities.tools
    return (
        client.protocol_version in MODERN_PROTOCOL_VERSIONS
        and tools is not None
        and bool(tools.list_changed)
    )


def _client(
    target: StdioTarget | HttpTarget,
    protocol: _Handshake,
    on_message: MessageHandlerFnT,
    on_http: Callable[[httpx2.Response], Awaitable[None]],
) -> Client:
    transport = _stdio(target) if isinstance(target, StdioTarget) else _http(target, on_http)
    # No response cache: the toolset keeps its own listing and refreshes it on change.
    return Client(transport, mode=protocol, message_handler=on_message, cache=None)


def _stdio(target: StdioTarget) -> Any:
    params = StdioServerParameters(
        command=target.command, args=list(target.args), env=dict(target.env) or None, cwd=target.cwd
    )
    return stdio_client(params, errlog=_errlog())


def _errlog() -> TextIO:
    """Where the server's stderr goes: ours when it is a real file (its messages are the best
    clue to a failed start), else nowhere (a test runner's or Typer's captured stream has no
    file descriptor a child process could write to)."""
    stream = sys.stderr
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):
        return cast(TextIO, subprocess.DEVNULL)
    return stream


@asynccontextmanager
async def _http(
    target: HttpTarget, on_response: Callable[[httpx2.Response], Awaitable[None]]
) -> AsyncIterator[TransportStreams]:
    timeout = httpx2.Timeout(target.timeout, read=max(target.timeout, MCP_DEFAULT_SSE_READ_TIMEOUT))
    http = create_mcp_http_client(headers=dict(target.headers), timeout=timeout)
    http.event_hooks["response"].append(on_response)
    async with http, streamable_http_client(target.url, http_client=http) as streams:
        yield streams


def root_cause(exc: BaseException) -> BaseException:
    """The failure inside task-group wrappers (an ``ExceptionGroup`` of one real error)."""
    while isinstance(exc, BaseExceptionGroup):
        inner = [e for e in exc.exceptions if not isinstance(e, asyncio.CancelledError)]
        exc = (inner or list(exc.exceptions))[0]
    return exc


def describe(exc: BaseException) -> str:
    """A failure in a few words (the caller redacts it)."""
    if isinstance(exc, MCPError):
        return exc.message
    if isinstance(exc, FileNotFoundError):
        return f"command not found ({exc.filename or exc})"
    if isinstance(exc, PermissionError):
        return f"command not executable ({exc.filename or exc})"
    if isinstance(exc, httpx2.ConnectError):
        return f"the connection failed ({exc})"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
