"""One prompt file (YAML, or Markdown with YAML front matter) to a template.

Files are read with the configuration's bounded reader (``beluga.config._yaml``: size, aliases,
nesting, UTF-8), so a prompt folder is as safe to point at as a ``beluga.yaml``; every problem is
one :class:`~beluga.config.ConfigError` naming the file and the key, never quoting the text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator

from beluga.config import ConfigError, ConfigModel
from beluga.config._yaml import MAX_BYTES, load_yaml, read_config_file
from beluga.config.errors import from_validation
from beluga.core.errors import BelugaError
from beluga.prompts._media import FileSlot, ImageSlot
from beluga.prompts.templates import (
    DEFAULT_EXAMPLE_TEMPLATE,
    ChatTemplate,
    FewShot,
    MessageLike,
    Placeholder,
    PromptTemplate,
)

__all__ = ["SUFFIXES", "PromptFile", "load_prompt_file"]

SUFFIXES = frozenset({".yaml", ".yml", ".md"})
_FRONT = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S | re.M)
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
_FIX_MESSAGE = (
    "write {role: user, content: ...}, {placeholder: NAME}, or {examples: [...]} "
    "(see docs/readme/prompts.md)"
)


class PromptFile(ConfigModel):
    """The keys of a prompt file."""

    name: str = Field(pattern=_NAME)
    version: str
    description: str = ""
    template: str | None = None
    messages: list[dict[str, Any]] | None = None
    defaults: dict[str, Any] = Field(default_factory=dict)
    examples: list[dict[str, Any]] = Field(default_factory=list)
    example_template: str = DEFAULT_EXAMPLE_TEMPLATE
    example_separator: str = "\n\n"
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        """``version: 2`` is the text ``"2"``; a float (``1.10`` reads as 1.1) must be quoted."""
        if isinstance(value, bool | float):
            raise ValueError("quote the version, e.g. version: '1.10'")
        if isinstance(value, int):
            return str(value)
        if isinstance(value, str) and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.+-]*", value):
            raise ValueError("a version is letters, digits and . _ + -, e.g. '2' or '1.3.0'")
        return value


def load_prompt_file(path: Path, *, max_bytes: int = MAX_BYTES) -> PromptTemplate | ChatTemplate:
    """The template ``path`` defines."""
    source = str(path)
    text = read_config_file(path, max_bytes=max_bytes)
    if path.suffix == ".md":
        data = _front_matter(text, source)
    else:
        data = load_yaml(text, source)
        if not isinstance(data, dict):
            raise ConfigError(
                source,
                "",
                "the file is not a mapping",
                "start it with name:, version: and template: or messages:",
            )
    try:
        spec = PromptFile.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc, source, PromptFile) from None
    return _build(spec, source)


def _front_matter(text: str, source: str) -> dict[str, Any]:
    match = _FRONT.match(text)
    if match is None:
        raise ConfigError(
            source,
            "",
            "a Markdown prompt needs YAML front matter",
            "start the file with a '---' line, name: and version:, then a closing '---' line; "
            "the text after it is the template",
        )
    data = load_yaml(match[1], source)
    if not isinstance(data, dict):
        raise ConfigError(source, "", "the front matter is not a mapping", "write key: value lines")
    for key in ("template", "messages"):
        if key in data:
            raise ConfigError(
                source, key, "a Markdown prompt's template is its body", f"remove {key}:"
            )
    body = text[match.end() :]
    return {**data, "template": body[1:] if body.startswith("\n") else body}


def _build(spec: PromptFile, source: str) -> PromptTemplate | ChatTemplate:
    if (spec.template is None) == (spec.messages is None):
        raise ConfigError(
            source, "", "a prompt needs exactly one of template: or messages:", "keep one"
        )
    common: dict[str, Any] = {
        "name": spec.name,
        "version": spec.version,
        "description": spec.description,
        "defaults": spec.defaults,
        "metadata": spec.metadata,
        "source": source,
    }
    try:
        if spec.template is not None:
            return PromptTemplate(
                spec.template,
                examples=spec.examples,
                example_template=spec.example_template,
                example_separator=spec.example_separator,
                **common,
            )
        if spec.examples:
            raise ConfigError(
                source,
                "examples",
                "a chat prompt's examples go inside messages:",
                "write them as a messages entry {examples: [...]} where the turns go",
            )
        items = [_element(entry, i, source) for i, entry in enumerate(spec.messages or [])]
        return ChatTemplate(items, **common)
    except ConfigError:
        raise
    except BelugaError as exc:
        raise ConfigError(source, "", exc.message, "fix the template") from None


def _element(entry: dict[str, Any], index: int, source: str) -> MessageLike:
    where = f"messages.{index}"
    keys = set(entry)

    def check(allowed: set[str]) -> None:
        if extra := sorted(keys - allowed):
            raise ConfigError(
                source,
                f"{where}.{extra[0]}",
                "unknown key",
                f"allowed keys here: {', '.join(sorted(allowed))}",
            )

    if "placeholder" in entry:
        check({"placeholder", "optional"})
        return Placeholder(
            _text(entry["placeholder"], source, f"{where}.placeholder"),
            optional=entry.get("optional") is True,
        )
    if "examples" in entry:
        check({"examples", "input", "output"})
        examples = entry["examples"]
        if not isinstance(examples, list):
            raise ConfigError(
                source, f"{where}.examples", "examples must be a list", "give a list of mappings"
            )
        return FewShot(
            examples,
            input=_text(entry.get("input", "{{ input }}"), source, f"{where}.input"),
            output=_text(entry.get("output", "{{ output }}"), source, f"{where}.output"),
        )
    if "role" in entry:
        check({"role", "content"})
        role = entry["role"]
        if role not in ("system", "user", "assistant"):
            raise ConfigError(
                source, f"{where}.role", f"unknown role {role!r}", "use system, user or assistant"
            )
        content = entry.get("content", "")
        if isinstance(content, str):
            return (role, content)
        if not isinstance(content, list):
            raise ConfigError(
                source, f"{where}.content", "content must be text or a list of parts", _FIX_PART
            )
        return (role, [_part(p, f"{where}.content.{i}", source) for i, p in enumerate(content)])
    raise ConfigError(source, where, "not a message", _FIX_MESSAGE)


_FIX_PART = "write parts as {text: ...}, {image: VARIABLE} or {file: VARIABLE}"


def _part(part: Any, where: str, source: str) -> str | ImageSlot | FileSlot:
    if isinstance(part, str):
        return part
    if isinstance(part, dict) and set(part) == {"text"}:
        return _text(part["text"], source, f"{where}.text")
    if (
        isinstance(part, dict)
        and "image" in part
        and set(part) <= {"image", "media_type", "detail"}
    ):
        detail = part.get("detail")
        if detail not in (None, "auto", "low", "high"):
            raise ConfigError(source, f"{where}.detail", "unknown detail", "use auto, low or high")
        return ImageSlot(
            _text(part["image"], source, f"{where}.image"),
            media_type=part.get("media_type"),
            detail=detail,
        )
    if isinstance(part, dict) and "file" in part and set(part) <= {"file", "media_type", "name"}:
        return FileSlot(
            _text(part["file"], source, f"{where}.file"),
            media_type=part.get("media_type"),
            name=part.get("name"),
        )
    raise ConfigError(source, where, "not a content part", _FIX_PART)


def _text(value: Any, source: str, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(source, where, f"expected text, got {type(value).__name__}", "quote it")
    return value
