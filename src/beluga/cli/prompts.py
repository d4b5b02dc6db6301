"""``beluga prompts``: list, show and render the prompt files of ``prompts.folder``.

Mounted by ``beluga.cli.main`` as ``app.add_typer(prompts_app, name="prompts")``. Exit codes are
those of ``beluga`` (0 ok, 1 failed — an unknown prompt or version, a render error —, 2 bad
usage, 3 configuration: a broken prompt file or a missing folder, 130 interrupted); errors print
one line. The framework is imported inside the commands, so mounting this costs ``beluga --help``
nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from beluga.cli._errors import friendly

if TYPE_CHECKING:
    from beluga.prompts import ChatTemplate, PromptLibrary, PromptTemplate
    from beluga.schema import Message

__all__ = ["prompts_app"]

prompts_app = typer.Typer(no_args_is_help=True, help="Prompt files: list, show and render them.")

_ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="beluga.yaml whose prompts.folder to read (default: $BELUGA_CONFIG or "
        "./beluga.yaml); --folder wins over it.",
        show_default=False,
    ),
]
_FolderOption = Annotated[
    Path | None,
    typer.Option("--folder", help="Read this folder of prompt files.", show_default=False),
]
_VersionOption = Annotated[
    str | None,
    typer.Option("--version", "-v", help="This version (default: the latest).", show_default=False),
]
_JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
_NameArgument = Annotated[str, typer.Argument(help="The prompt's name.")]


def _library(config: Path | None, folder: Path | None) -> PromptLibrary:
    from beluga.prompts import PromptLibrary, build_library

    if folder is not None:
        return PromptLibrary(folder)
    from beluga.config import load_config

    return build_library(load_config(config))


@prompts_app.command("list")
@friendly
def _list(
    config: _ConfigOption = None, folder: _FolderOption = None, as_json: _JsonOption = False
) -> None:
    """Every prompt: its versions, kind and description."""
    library = _library(config, folder)
    infos = library.list()
    if as_json:
        rows = [
            {
                "name": i.name,
                "latest": i.latest,
                "versions": list(i.versions),
                "kind": i.kind,
                "description": i.description,
                "source": i.source,
            }
            for i in infos
        ]
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not infos:
        Console(stderr=True).print(f"no prompt files in {escape(str(library.folder))}")
        return
    table = Table("prompt", "latest", "versions", "kind", "description", title="Prompts")
    for i in infos:
        table.add_row(
            escape(i.name),
            escape(i.latest),
            escape(", ".join(i.versions)),
            i.kind,
            escape(i.description),
        )
    Console(highlight=False).print(table)


@prompts_app.command("show")
@friendly
def _show(
    name: _NameArgument,
    version: _VersionOption = None,
    config: _ConfigOption = None,
    folder: _FolderOption = None,
    as_json: _JsonOption = False,
) -> None:
    """A prompt's variables, defaults and template."""
    template = _library(config, folder).get(name, version)
    info = _describe(template)
    if as_json:
        typer.echo(json.dumps(info, indent=2, ensure_ascii=False, default=str))
        return
    for key in ("name", "version", "kind", "description", "source"):
        typer.echo(f"{key}: {info[key]}")
    typer.echo(f"variables: {', '.join(info['variables']) or '-'}")
    typer.echo(f"required: {', '.join(info['required']) or '-'}")
    for key, value in info["defaults"].items():
        typer.echo(f"default {key}: {value}")
    if "template" in info:
        typer.echo("---")
        typer.echo(info["template"])
        return
    for element in info["messages"]:
        typer.echo("---")
        typer.echo(_element_text(element))


@prompts_app.command("render")
@friendly
def _render(
    name: _NameArgument,
    var: Annotated[
        list[str] | None,
        typer.Option("--var", help="A variable as name=value (repeat it).", show_default=False),
    ] = None,
    version: _VersionOption = None,
    config: _ConfigOption = None,
    folder: _FolderOption = None,
    as_json: _JsonOption = False,
) -> None:
    """Render a prompt with --var name=value ...: text, or its messages."""
    from beluga.prompts import PromptTemplate

    values = _variables(var or [])
    template = _library(config, folder).get(name, version)
    head = {"name": template.name, "version": template.version}
    if isinstance(template, PromptTemplate):
        text = template.render(**values)
        typer.echo(json.dumps({**head, "text": text}, ensure_ascii=False) if as_json else text)
        return
    messages = template.render(**values)
    if as_json:
        from beluga.schema.wire import to_json

        typer.echo(json.dumps({**head, "messages": to_json(messages)}, ensure_ascii=False))
        return
    for message in messages:
        typer.echo(f"[{message.role}]")
        typer.echo(_message_text(message))


def _variables(pairs: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{pair!r} is not name=value", param_hint="--var")
        values[key] = value
    return values


def _describe(template: PromptTemplate | ChatTemplate) -> dict[str, Any]:
    from beluga.prompts import PromptTemplate

    info: dict[str, Any] = {
        "name": template.name,
        "version": template.version,
        "kind": "text" if isinstance(template, PromptTemplate) else "chat",
        "description": template.description,
        "source": template.source,
        "variables": list(template.input_variables),
        "required": list(template.required_variables),
        "defaults": dict(template.defaults),
    }
    if isinstance(template, PromptTemplate):
        info["template"] = template.template
    else:
        info["messages"] = [_element(e) for e in template.messages]
    return info


def _element(element: Any) -> dict[str, Any]:
    from beluga.prompts import FileSlot, ImageSlot, Placeholder
    from beluga.schema import Message

    if isinstance(element, Placeholder):
        return {"placeholder": element.name, "optional": element.optional}
    if isinstance(element, Message):
        return {"role": element.role, "content": _message_text(element), "fixed": True}
    role, content = element
    if isinstance(content, str):
        return {"role": role, "content": content}
    parts: list[Any] = []
    for part in content:
        if isinstance(part, ImageSlot):
            parts.append({"image": part.variable})
        elif isinstance(part, FileSlot):
            parts.append({"file": part.variable})
        else:
            parts.append(part)
    return {"role": role, "content": parts}


def _element_text(element: dict[str, Any]) -> str:
    if "placeholder" in element:
        optional = " (optional)" if element["optional"] else ""
        return f"[history from {element['placeholder']}{optional}]"
    fixed = " (fixed)" if element.get("fixed") else ""
    content = element["content"]
    if not isinstance(content, str):
        content = "\n".join(
            p if isinstance(p, str) else f"<{next(iter(p))} from {next(iter(p.values()))}>"
            for p in content
        )
    return f"[{element['role']}]{fixed}\n{content}"


def _message_text(message: Message) -> str:
    from beluga.schema import MediaPart, TextPart

    lines = []
    for part in message.content:
        if isinstance(part, TextPart):
            lines.append(part.text)
        elif isinstance(part, MediaPart):
            where = part.url or f"{len(part.as_bytes()):,} bytes"
            kind = getattr(part, "kind", "media")
            lines.append(" ".join(x for x in (f"<{kind}", part.media_type, f"{where}>") if x))
    return "\n".join(lines)
