"""What went wrong with an MCP server, as a :class:`BelugaError` naming the server (never its
header or environment values) and saying what to do; or as :class:`ToolRetry` when the model
can fix its arguments. Imported once a connection is tried (it imports the ``mcp`` SDK).
"""

from __future__ import annotations

from mcp.shared.exceptions import MCPError

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.redaction import display_url, redact
from beluga.tools._mcp_session import (
    CONNECTION_CLOSED,
    INVALID_PARAMS,
    METHOD_NOT_FOUND,
    REQUEST_TIMEOUT,
    Connection,
    OpenFailed,
    describe,
)
from beluga.tools._mcp_targets import HttpTarget, StdioTarget
from beluga.tools.base import ToolRetry

__all__ = ["call_error", "open_error"]


def open_error(
    server: str, target: StdioTarget | HttpTarget, connect_timeout: float, failure: OpenFailed
) -> BelugaError:
    """Why a connection to ``server`` could not be made, with the fix."""
    status = failure.http_status
    if status in (401, 403):
        return BelugaError(
            "tools.mcp.connect",
            ErrorCode.AUTH_FAILED,
            f"MCP server {server!r} refused the credentials (HTTP {status}); check the "
            "headers (Authorization and the like)",
            cause=failure.cause,
        )
    if failure.timed_out:
        reason = f"it did not complete the MCP handshake within {connect_timeout:g} s"
    else:
        reason = str(failure) + (f" (HTTP {status})" if status else "")
    if isinstance(target, HttpTarget):
        fix = f"check that an MCP server runs at {display_url(target.url)}"
    else:
        fix = "check the command, its arguments and the server's error output (its stderr)"
    return BelugaError(
        "tools.mcp.connect",
        ErrorCode.PROVIDER_UNAVAILABLE,
        f"cannot connect to MCP server {server!r}: {reason}; {fix}",
        cause=failure.cause,
    )


def call_error(
    server: str,
    exc: Exception,
    tool: str | None,
    timeout: float | None,
    connection: Connection | None,
) -> BaseException:
    """What a failed request (``tool``'s call, or the listing when None) means; a connection
    that died is marked broken, so that the next request reconnects."""
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
            f"MCP server {server!r} closed the connection during {what} (it may have "
            f"crashed: {describe(exc)}); the next call reconnects",
            retryable=True,
            cause=exc,
        )
    if code == REQUEST_TIMEOUT:
        limit = f" within {timeout:g} s" if timeout else ""
        return BelugaError(
            op,
            ErrorCode.TIMEOUT,
            f"MCP server {server!r} did not answer {what}{limit}",
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
            f"MCP server {server!r} refused the credentials during {what} (HTTP "
            f"{status}); check the headers",
            cause=exc,
        )
    kind = ErrorCode.NOT_FOUND if code == METHOD_NOT_FOUND else ErrorCode.INVALID_REQUEST
    return BelugaError(
        op,
        kind,
        f"MCP server {server!r} failed {what}: {describe(exc)}",
        retryable=False,
        cause=exc,
    )
