"""Where an MCP server is (a command to start over stdio, or a URL for streamable HTTP), how
it is named in messages, and the checks of :class:`~beluga.tools.mcp.MCPServer`'s options.

Kept apart from the SDK-facing code so that describing a server needs no ``mcp`` import.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.redaction import display_url, redact

__all__ = ["HttpTarget", "StdioTarget", "approval_names", "check_options", "label", "target_of"]


@dataclass(frozen=True, slots=True)
class StdioTarget:
    """A server started as a subprocess, spoken to over its stdin and stdout."""

    command: str
    args: tuple[str, ...]
    env: Mapping[str, str]
    cwd: str | None


@dataclass(frozen=True, slots=True)
class HttpTarget:
    """A server reached over streamable HTTP."""

    url: str
    headers: Mapping[str, str]
    timeout: float
    """Seconds to connect and to send a request; streamed answers may take longer."""


def target_of(
    command: str | None,
    args: Sequence[str],
    env: Mapping[str, str] | None,
    cwd: str | os.PathLike[str] | None,
    url: str | None,
    headers: Mapping[str, str] | None,
    connect_timeout: float,
) -> StdioTarget | HttpTarget:
    """The target the options describe (``check_options`` has accepted them)."""
    if url is not None:
        return HttpTarget(url, dict(headers or {}), connect_timeout)
    assert command is not None
    return StdioTarget(
        command, tuple(args), dict(env or {}), os.fspath(cwd) if cwd is not None else None
    )


def approval_names(requires_approval: bool | Iterable[str]) -> frozenset[str]:
    """The tool names of ``requires_approval=`` (none when it is a bool)."""
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


def label(command: str | None, args: Sequence[str], url: str | None) -> str:
    """A server's name for messages: ``python server.py``, ``npx server-github`` or a URL
    without credentials."""
    if url is not None:
        return display_url(url)
    words = [os.path.basename(command or "")]
    script = next((a for a in args if not a.startswith("-")), None)
    if script:
        words.append(os.path.basename(script.rstrip("/")) or script)
    return redact(" ".join(words))


def check_options(
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
    """One clear error for options that contradict each other or are out of range."""
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
