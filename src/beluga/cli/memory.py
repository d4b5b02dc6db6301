"""``beluga memory``: look at and clear the conversations of the ``memory:`` store.

Mounted by ``beluga.cli.main`` as ``app.add_typer(memory_app, name="memory")``. ``show`` prints
a session's stored messages (a table, or ``--json``: the wire form of :mod:`beluga.schema.wire`,
what the store holds), ``sessions`` lists the stored sessions with their message counts and
``clear`` forgets one session (with its vectors, for vector recall), after a confirmation
unless ``--yes``. Exit codes are those of ``beluga``: 0 ok, 1 failed (a session with no
messages, a store that cannot be reached or listed, a clear not confirmed), 2 bad usage, 3
configuration (including the in-process ``memory`` store, which no other process can read),
130 interrupted. The framework is imported inside the commands, so mounting this costs
``beluga --help`` nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from beluga.cli._errors import EXIT_FAILED, err, friendly

if TYPE_CHECKING:
    from beluga.memory import MemoryConfig, MessageStore
    from beluga.schema import Message

__all__ = ["memory_app", "message_kind"]

memory_app = typer.Typer(
    no_args_is_help=True, help="Conversation memory: show, list and clear sessions."
)
T = TypeVar("T")
_WIDTH = 100
"""Characters of a message's text shown in the table (``--json`` has all of it)."""

_ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="beluga.yaml whose memory: store to read (default: $BELUGA_CONFIG or ./beluga.yaml).",
        show_default=False,
    ),
]
_JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
_SessionArgument = Annotated[str, typer.Argument(help="The session id.")]


@memory_app.command("show")
@friendly
def _show(
    session: _SessionArgument, as_json: _JsonOption = False, config: _ConfigOption = None
) -> None:
    """A session's stored messages: role, kind (text, tool call, tool result, summary), text."""
    section = _section(config)
    messages: list[Message] = _with_store(section, lambda s: s.messages(session))
    if not messages:
        _fail(f"session {session!r} has no stored messages in {_where(section)}")
    if as_json:
        from beluga.schema.wire import to_json

        body = {"session_id": session, "messages": to_json(messages)}
        typer.echo(json.dumps(body, indent=2, ensure_ascii=False))
        return
    table = Table("#", "role", "kind", "text", title=f"Session {escape(session)}")
    for i, message in enumerate(messages):
        table.add_row(str(i), message.role, message_kind(message), escape(_shown(message)))
    Console(highlight=False).print(table)


@memory_app.command("sessions")
@friendly
def _sessions(as_json: _JsonOption = False, config: _ConfigOption = None) -> None:
    """Every stored session with its number of messages."""
    from beluga.memory import SessionListing

    section = _section(config)

    async def listed(store: MessageStore) -> dict[str, int]:
        if not isinstance(store, SessionListing):
            _fail(f"the store {type(store).__name__} cannot list its sessions")
        return await store.sessions()

    found = _with_store(section, listed)
    if as_json:
        rows = [{"session_id": sid, "messages": count} for sid, count in found.items()]
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not found:
        err.print(f"no sessions in {escape(_where(section))}")
        return
    table = Table("session", "messages", title=f"Sessions in {escape(_where(section))}")
    for sid, count in found.items():
        table.add_row(escape(sid), str(count))
    Console(highlight=False).print(table)


@memory_app.command("clear")
@friendly
def _clear(
    session: _SessionArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    config: _ConfigOption = None,
) -> None:
    """Forget a session: its messages, summary and (for vector recall) its vectors."""
    from beluga.config import load_config
    from beluga.memory import build_memory

    root = load_config(config)
    section = _section(config, root)
    count = len(_with_store(section, lambda s: s.messages(session)))
    if count == 0:
        err.print(f"session {escape(session)!r} has no stored messages; nothing to clear")
        return
    if not yes and not typer.confirm(
        f"Forget session {session!r} ({count} messages in {_where(section)})?", err=True
    ):
        _fail("not cleared")
    memory = build_memory(section, root=root)

    async def run() -> None:
        try:
            await memory.clear(session)
        finally:
            close: Callable[[], Awaitable[None]] | None = getattr(memory, "aclose", None)
            if close is not None:
                await close()

    asyncio.run(run())
    typer.echo(f"cleared session {session!r} ({count} messages)")


def message_kind(message: Message) -> str:
    """What a stored message is: ``text``, ``tool call``, ``tool result``, ``tool error``,
    ``summary`` or ``media`` (a message of images, audio or files only)."""
    from beluga.memory._turns import summary_of

    if summary_of(message) is not None:
        return "summary"
    if message.tool_calls:
        return "tool call"
    if message.role == "tool":
        return "tool error" if message.is_error else "tool result"
    return "text" if message.text or message.is_text_only else "media"


def _shown(message: Message) -> str:
    calls = ", ".join(f"{c.name}({c.arguments})" for c in message.tool_calls)
    text = " ".join(" ".join(part for part in (message.text, calls) if part).split())
    if not text and not message.is_text_only:
        text = f"<{len(message.content)} media part(s)>"
    return text if len(text) <= _WIDTH else text[: _WIDTH - 1] + "…"


def _section(path: Path | None, root: Any = None) -> MemoryConfig:
    """The ``memory:`` section; the in-process store is refused (nothing to read from here)."""
    from beluga.config import ConfigError, load_config
    from beluga.memory import MemoryConfig

    root = root if root is not None else load_config(path)
    section = MemoryConfig.of(root)
    if section.store == "memory":
        raise ConfigError(
            root.source,
            "memory.store",
            "the 'memory' store keeps conversations inside the process that runs the agent; "
            "no command can read them",
            "use store sqlite, redis or postgres to keep conversations where this command "
            "can see them",
        )
    return section


def _with_store(section: MemoryConfig, use: Callable[[MessageStore], Awaitable[T]]) -> T:
    from beluga.memory import build_store

    async def run() -> T:
        store = build_store(section)
        try:
            return await use(store)
        finally:
            close: Callable[[], Awaitable[None]] | None = getattr(store, "aclose", None)
            if close is not None:
                await close()

    return asyncio.run(run())


def _where(section: MemoryConfig) -> str:
    from beluga.memory.config import describe

    return describe(section).partition(", strategy")[0]


def _fail(problem: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(problem)}", soft_wrap=True)
    raise typer.Exit(EXIT_FAILED)
