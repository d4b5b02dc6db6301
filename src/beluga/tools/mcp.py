"""The tools of an MCP server as Beluga tools, over stdio or streamable HTTP (official ``mcp`` SDK).

    async with MCPServer.stdio("python", ["server.py"]) as server:
        tools = await server.list_tools(ctx)      # Beluga tools, named as providers accept

An :class:`MCPServer` is a :class:`~beluga.tools.Toolset`. It connects on ``async with`` (or
lazily, on the first :meth:`~MCPServer.list_tools`), keeps the listing until the server says it
changed (``notifications/tools/list_changed``), and closes its connection, and a stdio server's
process, on exit. A call whose connection died (the server crashed) fails with a retryable
``provider_unavailable`` error; the next call starts a new connection.

Errors name the server, never its header or environment values: those are registered with the
redactor as secrets, and reprs show neither (nor a URL's credentials). Importing this module
needs no ``mcp`` SDK; connecting without it is a clear error naming the ``mcp`` extra.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar

from pydantic import Field, NonNegativeInt, PositiveFloat, SecretStr, model_validator

from beluga.config import ConfigModel
from beluga.core.closing import AsyncClosing
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.redaction import display_url, redact, register_secret, register_url
from beluga.core.registry import require
from beluga.schema import ToolDefinition
from beluga.tools._mcp_content import exposed_names, to_tool_result
from beluga.tools._mcp_targets import HttpTarget, StdioTarget
from beluga.tools.base import RunContext, ToolResult, ToolRetry

if TYPE_CHECKING:
    from types import TracebackType

    from mcp import Client

    from beluga.tools._mcp_session import Connection

__all__ = ["MCPServer", "MCPServerConfig", "MCPTool"]

T = TypeVar("T")
_log = logging.getLogger("beluga.tools.mcp")

_MAX_PAGES = 100
"""Most ``tools/list`` pages read: a server whose cursor never ends cannot hang a run."""


@dataclass(frozen=True, slots=True)
class MCPTool:
    """One tool of an MCP server. ``definition.name`` is what the model sees (prefixed and
    sanitized); ``mcp_name`` is the server's own name for it."""

    definition: ToolDefinition
    mcp_name: str
    server: MCPServer = field(repr=False, compare=False)
    requires_approval: bool = False
    timeout: float | None = None
    max_retries: int = 1

    async def call(self, arguments: dict[str, Any], ctx: RunContext[Any]) -> ToolResult:
        return await self.server.call_tool(self.mcp_name, arguments, timeout=self.timeout)


class MCPServer(AsyncClosing):
    """An MCP server's tools as a :class:`~beluga.tools.Toolset`.

    Give ``command`` (with ``args``, ``env``, ``cwd``) to start a server over stdio, or ``url``
    (with ``headers``) to reach one over streamable HTTP; :meth:`stdio`, :meth:`http` and
    :meth:`from_config` say the same shorter. ``name`` labels the server in errors (default:
    the command or the URL's host and path), ``prefix`` goes before every tool name
    (``prefix_tool``). ``timeout`` bounds one tool call (None: no limit), ``connect_timeout``
    the start, the handshake and each listing. ``requires_approval`` is True for every tool or
    a collection of tool names (the server's or the exposed ones). ``protocol="legacy"``
    skips the 2026 ``server/discover`` probe for servers or gateways that mishandle it.

    ``async with`` nests: the connection closes when the outermost block ends (or on
    :meth:`aclose`).
    """

    def __init__(
        self,
        *,
        command: str | None = None,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        url: str | None = None,
        headers: Mapping[str, str] | None = None,
        name: str | None = None,
        prefix: str | None = None,
        timeout: float | None = 60.0,
        connect_timeout: float = 30.0,
        requires_approval: bool | Iterable[str] = False,
        max_retries: int = 1,
        protocol: Literal["auto", "legacy"] = "auto",
    ) -> None:
        _check_options(command, url, args, env, cwd, headers, timeout, connect_timeout, max_retries)
        for value in [*(env or {}).values(), *(headers or {}).values()]:
            register_secret(value)
        register_url(url)
        self._target = _target(command, args, env, cwd, url, headers, connect_timeout)
        self.name = name or _label(command, args, url)
        self.prefix = prefix
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_retries = max_retries
        self.protocol = protocol
        self._approve_all = requires_approval is True
        self._approve_names = _names(requires_approval)
        self._connection: Connection | None = None
        self._lock = asyncio.Lock()
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self._entered = 0
        self._changes = 0
        self._listed_at = -1
        self._tools: tuple[MCPTool, ...] | None = None

    @classmethod
    def stdio(
        cls,
        command: str,
        args: Sequence[str] = (),
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        **options: Any,
    ) -> MCPServer:
        """A server started as ``command args...``; ``env`` is added to a minimal environment
        (PATH, HOME, ...), not to the whole of ours."""
        return cls(command=command, args=args, env=env, cwd=cwd, **options)

    @classmethod
    def http(
        cls, url: str, *, headers: Mapping[str, str] | None = None, **options: Any
    ) -> MCPServer:
        """A server at ``url`` (streamable HTTP), sent ``headers`` (credentials) on every
        request."""
        return cls(url=url, headers=headers, **options)

    @classmethod
    def from_config(cls, config: MCPServerConfig | Mapping[str, Any]) -> MCPServer:
        """The server an ``mcp:`` entry of ``beluga.yaml`` declares."""
        if not isinstance(config, MCPServerConfig):
            config = MCPServerConfig.model_validate(config)
        return cls(**config.options())

    # -- the toolset -------------------------------------------------------------------------

    async def list_tools(self, ctx: RunContext[Any] | None = None) -> Sequence[MCPTool]:
        """The server's tools, listed once and again after the server says they changed.

        A server that was reached before and cannot be reached again (it is restarting) still
        offers its last listing, with a warning: its calls fail with a clear error the model
        sees, and each one tries to reconnect, so one unreachable server does not end a run.
        """
        try:
            client = await self._client()
        except BelugaError as exc:
            if self._tools is None or exc.code is not ErrorCode.PROVIDER_UNAVAILABLE:
                raise
            _log.warning("%s; offering its last tool listing", exc.message)
            return self._tools
        if self._tools is not None and self._listed_at == self._changes:
            return self._tools
        seen = self._changes
        listing = await self._bounded(_list_all(client), "list its tools")
        self._tools = tuple(
            self._tool(exposed, tool) for exposed, tool in _named(listing, self.prefix)
        )
        self._listed_at = seen
        return self._tools

    async def call_tool(
        self, name: str, arguments: Mapping[str, Any], *, timeout: float | None = None
    ) -> ToolResult:
        """Call the server's tool ``name`` (its own name, not the exposed one).

        Raises :class:`~beluga.tools.ToolRetry` for arguments the server rejects as invalid
        params, and :class:`BelugaError` when the server cannot answer: ``timeout``,
        ``provider_unavailable`` (retryable) when the connection died, after which the next
        call reconnects.
        """
        client = await self._client()
        connection = self._connection
        try:
            result = await client.call_tool(name, dict(arguments), read_timeout_seconds=timeout)
        except Exception as exc:
            raise self._call_error(exc, name, timeout, connection) from exc
        return to_tool_result(result.content, result.structured_content, result.is_error)

    async def connect(self) -> None:
        """Connect now (``list_tools`` and calls connect on their own when needed)."""
        await self._client()

    async def aclose(self) -> None:
        """Close the connection and stop a stdio server; a later call connects again."""
        async with self._loop_lock():
            connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    async def __aenter__(self) -> Self:
        self._entered += 1
        try:
            await self.connect()
        except BaseException:
            self._entered -= 1
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._entered -= 1
        if self._entered <= 0:
            self._entered = 0
            await self.aclose()

    def __repr__(self) -> str:
        target = self._target
        if isinstance(target, HttpTarget):
            where = f"url={display_url(target.url)!r}"
        else:
            where = f"command={redact(target.command)!r}"
        return f"MCPServer(name={self.name!r}, {where})"

    # -- internals ---------------------------------------------------------------------------

    def _tool(self, exposed: str, tool: Any) -> MCPTool:
        definition = ToolDefinition(
            name=exposed,
            description=tool.description or tool.title or "",
            parameters=dict(tool.input_schema),
        )
        approval = self._approve_all or not self._approve_names.isdisjoint((exposed, tool.name))

        return MCPTool(definition, tool.name, self, approval, self.timeout, self.max_retries)

    def _changed(self) -> None:
        self._changes += 1

    async def _client(self) -> Client:
        """The live client, connecting (again) when there is none or the last one died."""
        connection = self._connection
        if connection is not None and connection.usable:
            assert connection.client is not None
            return connection.client
        async with self._loop_lock():
            connection = self._connection
            if connection is not None and connection.usable:
                assert connection.client is not None
                return connection.client
            self._connection = None
            if connection is not None:
                await connection.close()
            connection = await self._open()
            self._connection = connection
            self._changed()  # a new session may serve other tools than the last one
            assert connection.client is not None
            return connection.client

    def _loop_lock(self) -> asyncio.Lock:
        """The lock of the running loop (an asyncio lock belongs to the loop it first waits in)."""
        loop = asyncio.get_running_loop()
        if self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    async def _open(self) -> Connection:
        require("mcp", extra="mcp")
        from beluga.tools._mcp_session import Connection, OpenFailed

        try:
            return await Connection.open(
                self._target,
                protocol=self.protocol,
                timeout=self.connect_timeout,
                on_change=self._changed,
            )
        except OpenFailed as exc:
            raise self._open_error(exc) from None

    def _open_error(self, failure: Any) -> BelugaError:
        """Why a connection could not be made (``failure`` is an ``OpenFailed``), with the fix."""
        status = failure.http_status
        if status in (401, 403):
            return BelugaError(
                "tools.mcp.connect",
                ErrorCode.AUTH_FAILED,
                f"MCP server {self.name!r} refused the credentials (HTTP {status}); check the "
                "headers (Authorization and the like)",
                cause=failure.cause,
            )
        if failure.timed_out:
            reason = f"it did not complete the MCP handshake within {self.connect_timeout:g} s"
        else:
            reason = str(failure) + (f" (HTTP {status})" if status else "")
        if isinstance(self._target, HttpTarget):
            fix = f"check that an MCP server runs at {display_url(self._target.url)}"
        else:
            fix = "check the command, its arguments and the server's error output (its stderr)"
        return BelugaError(
            "tools.mcp.connect",
            ErrorCode.PROVIDER_UNAVAILABLE,
            f"cannot connect to MCP server {self.name!r}: {reason}; {fix}",
            cause=failure.cause,
        )

    async def _bounded(self, work: Coroutine[Any, Any, T], what: str) -> T:
        """``work`` within ``connect_timeout``; a dead connection is marked for reconnecting."""
        connection = self._connection
        try:
            async with asyncio.timeout(self.connect_timeout):
                return await work
        except TimeoutError as exc:
            raise BelugaError(
                "tools.mcp.list_tools",
                ErrorCode.TIMEOUT,
                f"MCP server {self.name!r} did not {what} within {self.connect_timeout:g} s",
                cause=exc,
            ) from None
        except Exception as exc:
            error = self._call_error(exc, None, self.connect_timeout, connection)
            raise error from exc

    def _call_error(
        self,
        exc: Exception,
        tool: str | None,
        timeout: float | None,
        connection: Connection | None,
    ) -> BaseException:
        from mcp.shared.exceptions import MCPError

        from beluga.tools._mcp_session import (
            CONNECTION_CLOSED,
            INVALID_PARAMS,
            METHOD_NOT_FOUND,
            REQUEST_TIMEOUT,
            describe,
        )

        what = f"the call to tool {tool!r}" if tool else "listing its tools"
        op = "tools.mcp.call_tool" if tool else "tools.mcp.list_tools"
        code = exc.code if isinstance(exc, MCPError) else None
        dead = connection is None or connection.broken or connection.client is None
        if code == CONNECTION_CLOSED or (code is None and dead):
            if connection is not None:
                connection.broken = True
            return BelugaError(
                op,
                ErrorCode.PROVIDER_UNAVAILABLE,
                f"MCP server {self.name!r} closed the connection during {what} (it may have "
                f"crashed: {describe(exc)}); the next call reconnects",
                retryable=True,
                cause=exc,
            )
        if code == REQUEST_TIMEOUT:
            limit = f" within {timeout:g} s" if timeout else ""
            return BelugaError(
                op,
                ErrorCode.TIMEOUT,
                f"MCP server {self.name!r} did not answer {what}{limit}",
                cause=exc,
            )
        if code == INVALID_PARAMS and tool:
            return ToolRetry(f"invalid arguments for {tool}: {redact(describe(exc))}")
        # The SDK reports an HTTP error status as a bare error response; the status says more.
        status = connection.http_status if connection is not None else None
        if status in (401, 403):
            return BelugaError(
                op,
                ErrorCode.AUTH_FAILED,
                f"MCP server {self.name!r} refused the credentials during {what} (HTTP "
                f"{status}); check the headers",
                cause=exc,
            )
        kind = ErrorCode.NOT_FOUND if code == METHOD_NOT_FOUND else ErrorCode.INVALID_REQUEST
        return BelugaError(
            op,
            kind,
            f"MCP server {self.name!r} failed {what}: {describe(exc)}",
            retryable=False,
            cause=exc,
        )


class MCPServerConfig(ConfigModel):
    """An MCP server declared in ``beluga.yaml``: ``{command: ..., args: [...]}`` (stdio) or
    ``{url: ..., headers: {...}}`` (streamable HTTP), plus the options of
    :class:`MCPServer`. Header and environment values are secrets: masked in every repr and
    dump, registered with the redactor."""

    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, SecretStr] = Field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    name: str | None = None
    prefix: str | None = None
    timeout: PositiveFloat | None = 60.0
    connect_timeout: PositiveFloat = 30.0
    requires_approval: bool | list[str] = False
    max_retries: NonNegativeInt = 1
    protocol: Literal["auto", "legacy"] = "auto"

    @model_validator(mode="after")
    def _one_transport(self) -> Self:
        if (self.command is None) == (self.url is None):
            raise ValueError(
                "give either command (a server started over stdio) or url (streamable HTTP), "
                "not both and not neither"
            )
        if self.url is not None and (self.args or self.env or self.cwd):
            raise ValueError("args, env and cwd are for a command; a url server takes headers")
        if self.command is not None and self.headers:
            raise ValueError("headers are for a url server; a command takes args, env and cwd")
        return self

    def options(self) -> dict[str, Any]:
        """The keywords of :class:`MCPServer`, secrets revealed."""
        options = {name: getattr(self, name) for name in type(self).model_fields}
        options["env"] = {k: v.get_secret_value() for k, v in self.env.items()}
        options["headers"] = {k: v.get_secret_value() for k, v in self.headers.items()}
        return options


# -- helpers -------------------------------------------------------------------------------


async def _list_all(client: Client) -> list[Any]:
    """Every tool of every page of ``tools/list``."""
    tools: list[Any] = []
    cursor: str | None = None
    for _ in range(_MAX_PAGES):
        page = await client.list_tools(cursor=cursor, cache_mode="bypass")
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


def _named(tools: list[Any], prefix: str | None) -> list[tuple[str, Any]]:
    by_name = {tool.name: tool for tool in tools}
    return [
        (exposed, by_name[original]) for exposed, original in exposed_names(by_name, prefix).items()
    ]


def _target(
    command: str | None,
    args: Sequence[str],
    env: Mapping[str, str] | None,
    cwd: str | os.PathLike[str] | None,
    url: str | None,
    headers: Mapping[str, str] | None,
    connect_timeout: float,
) -> StdioTarget | HttpTarget:
    if url is not None:
        return HttpTarget(url, dict(headers or {}), connect_timeout)
    assert command is not None
    return StdioTarget(
        command, tuple(args), dict(env or {}), os.fspath(cwd) if cwd is not None else None
    )


def _names(requires_approval: bool | Iterable[str]) -> frozenset[str]:
    if isinstance(requires_approval, bool):
        return frozenset()
    names = [requires_approval] if isinstance(requires_approval, str) else list(requires_approval)
    if not all(isinstance(n, str) for n in names):
        raise BelugaError(
            "tools.mcp",
            ErrorCode.INVALID_CONFIG,
            "MCPServer: requires_approval= is True, False or a list of tool names",
        )
    return frozenset(names)


def _label(command: str | None, args: Sequence[str], url: str | None) -> str:
    """A server's name for messages: ``python server.py``, ``npx server-github`` or a URL
    without credentials."""
    if url is not None:
        return display_url(url)
    words = [os.path.basename(command or "")]
    script = next((a for a in args if not a.startswith("-")), None)
    if script:
        words.append(os.path.basename(script.rstrip("/")) or script)
    return redact(" ".join(words))


def _check_options(
    command: str | None,
    url: str | None,
    args: Sequence[str],
    env: Mapping[str, str] | None,
    cwd: object,
    headers: Mapping[str, str] | None,
    timeout: float | None,
    connect_timeout: float,
    max_retries: int,
) -> None:
    problem = None
    if (command is None) == (url is None):
        problem = "give command= (stdio) or url= (streamable HTTP), exactly one"
    elif url is not None and (args or env or cwd):
        problem = "args=, env= and cwd= are for command=; a url= server takes headers="
    elif command is not None and headers:
        problem = "headers= are for url=; a command= server takes args=, env= and cwd="
    elif isinstance(args, str):
        problem = "args= is a list of arguments, not one string"
    elif timeout is not None and not timeout > 0:
        problem = f"timeout= must be a positive number of seconds or None, not {timeout}"
    elif isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        problem = f"max_retries= must be an integer >= 0, not {max_retries!r}"
    elif not connect_timeout > 0:
        problem = f"connect_timeout= must be a positive number of seconds, not {connect_timeout}"
    if problem:
        raise BelugaError("tools.mcp", ErrorCode.INVALID_CONFIG, f"MCPServer: {problem}")
