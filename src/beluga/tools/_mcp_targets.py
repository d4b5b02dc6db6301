"""Where an MCP server is: a command to start (stdio) or a URL (streamable HTTP).

Kept apart from the SDK-facing code so that describing a server needs no ``mcp`` import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["HttpTarget", "StdioTarget"]


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
