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
from beluga.tools._mcp_targets import (
    HttpTarget,
    approval_names,
    check_options,
    label,
    target_of,
)
from beluga.tools.base import RunContext, ToolResult

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
        check_options(command, url, args, env, cwd, headers, timeout, connect_timeout, max_retries)
        for value in [*(env or {}).values(), *(headers or {}).values()]:
            register_secret(value)
        register_url(url)
        self._target = target_of(command, args, env, cwd, url, headers, connect_timeout)
        self.name = name or label(command, args, url)
        self.prefix = prefix
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_retries = max_retries
        self.protocol = protocol
        self._approve_all = requires_approval is True
        self._approve_names = approval_names(requires_approval)
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
            from beluga.tools._mcp_errors import call_error

            raise call_error(self.name, exc, name, timeout, connection) from exc
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
        from beluga.tools._mcp_errors import open_error
        from beluga.tools._mcp_session import Connection, OpenFailed

        try:
            return await Connection.open(
                self._target,
                protocol=self.protocol,
                timeout=self.connect_timeout,
                on_change=self._changed,
            )
        except OpenFailed as exc:
            raise open_error(self.name, self._target, self.connect_timeout, exc) from None

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
            from beluga.tools._mcp_errors import call_error

            raise call_error(self.name, exc, None, self.connect_timeout, connection) from exc


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
