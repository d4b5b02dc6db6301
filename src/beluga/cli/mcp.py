"""``beluga mcp``: what an MCP server offers, before an agent uses it.

``beluga mcp tools URL`` (streamable HTTP) or ``beluga mcp tools -- COMMAND ARGS...`` (stdio)
connects, lists the server's tools as an agent will see them (names sanitized, prefixed with
``--prefix``), and closes. Mounted by ``beluga.cli.main`` as ``app.add_typer(mcp_app,
name="mcp")``; exit codes are those of ``beluga`` (0 ok, 1 the server failed, 2 bad usage, 3
missing ``mcp`` extra, 130 interrupted), errors print one line, and header and environment
values given here never appear in it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from beluga.cli._errors import friendly

if TYPE_CHECKING:
    from beluga.tools.mcp import MCPServer, MCPTool

__all__ = ["mcp_app"]

mcp_app = typer.Typer(no_args_is_help=True, help="MCP servers: the tools they offer.")


@mcp_app.command("tools")
@friendly
def _tools(
    target: Annotated[
        list[str],
        typer.Argument(
            help="A URL (streamable HTTP), or a command and its arguments (stdio); put '--' "
            "before a command whose arguments start with '-' (-- npx -y some-server).",
            show_default=False,
        ),
    ],
    header: Annotated[
        list[str] | None,
        typer.Option("--header", "-H", help="'Name: value' sent to a URL server (repeatable)."),
    ] = None,
    env: Annotated[
        list[str] | None,
        typer.Option("--env", "-e", help="KEY=VALUE for a command's environment (repeatable)."),
    ] = None,
    prefix: Annotated[
        str | None, typer.Option("--prefix", help="Put PREFIX_ before every tool name.")
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.001, help="Seconds to start, connect and list.")
    ] = 30.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List the tools of the MCP server TARGET."""
    server = _server(target, header or [], env or [], prefix, timeout)
    tools = asyncio.run(_list(server))
    if as_json:
        typer.echo(json.dumps([_as_dict(t) for t in tools], indent=2, ensure_ascii=False))
    else:
        Console(highlight=False).print(_table(server.name, tools))


def _server(
    target: Sequence[str],
    headers: Sequence[str],
    env: Sequence[str],
    prefix: str | None,
    timeout: float,
) -> MCPServer:
    from beluga.tools.mcp import MCPServer

    first = target[0]
    if "://" in first:
        if len(target) > 1 or env:
            _usage("a URL takes no arguments and no --env (give --header)", "TARGET")
        parsed = dict(_pair(h, ":", "--header", "'Authorization: Bearer ...'") for h in headers)
        return MCPServer.http(first, headers=parsed, prefix=prefix, connect_timeout=timeout)
    if headers:
        _usage("--header is for a URL server; a command takes --env", "--header")
    variables = dict(_pair(e, "=", "--env", "KEY=VALUE") for e in env)
    return MCPServer.stdio(
        first, list(target[1:]), env=variables, prefix=prefix, connect_timeout=timeout
    )


def _pair(text: str, sep: str, option: str, example: str) -> tuple[str, str]:
    key, found, value = text.partition(sep)
    if not found or not key.strip():
        _usage(f"expected {example}, got {key.strip()!r} without a value", option)
    return key.strip(), value.strip() if sep == ":" else value


def _usage(message: str, hint: str) -> None:
    raise typer.BadParameter(message, param_hint=hint)


async def _list(server: MCPServer) -> list[MCPTool]:
    async with server:
        return list(await server.list_tools())


def _as_dict(tool: MCPTool) -> dict[str, object]:
    return {
        "name": tool.definition.name,
        "mcp_name": tool.mcp_name,
        "description": tool.definition.description,
        "parameters": tool.definition.parameters,
    }


def _table(server: str, tools: Sequence[MCPTool]) -> Table:
    table = Table(
        "tool",
        "arguments",
        "description",
        title=f"Tools of {escape(server)}",
        caption=f"{len(tools)} tools; * required; --json for the full schemas",
    )
    for t in tools:
        name = escape(t.definition.name)
        if t.mcp_name != t.definition.name:
            name += f" [dim]({escape(t.mcp_name)})[/]"
        table.add_row(name, escape(_arguments(t)), escape(_summary(t.definition.description)))
    return table


def _arguments(tool: MCPTool) -> str:
    schema = tool.definition.parameters
    required = set(schema.get("required") or ())
    names = schema.get("properties") or {}
    return ", ".join(f"{n}*" if n in required else n for n in names) or "-"


def _summary(description: str) -> str:
    """The first line of a description, cut to a width a table can show."""
    line = description.strip().splitlines()[0] if description.strip() else ""
    return line if len(line) <= 100 else line[:99] + "…"
