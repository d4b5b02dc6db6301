"""Reading YAML that may be hostile: bounded before anything is expanded.

A configuration file is read by people deploying, often from paths they do not control, so the
reader refuses, in one :class:`ConfigError` and without reading further:

- anything that is not a regular file (a FIFO would block ``open`` forever, ``/dev/zero`` never
  ends), checked with ``stat`` and again on the descriptor, which is opened non-blocking;
- more than ``max_bytes`` (read at most that plus one byte, never the whole file first);
- bytes that are not UTF-8 (located by line and column, never quoted);
- alias bombs and self-referencing aliases: a first pass over the parse *events* counts aliases,
  nesting depth and the number of values the document expands to, and only a document within
  those bounds is composed and constructed.

Messages never quote the file's text: a line of a configuration file may hold a key.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from beluga.config.errors import ConfigError

__all__ = ["MAX_ALIASES", "MAX_BYTES", "MAX_DEPTH", "MAX_VALUES", "load_yaml", "read_config_file"]

MAX_BYTES = 1 << 20
"""Largest configuration file read (1 MiB); ``load_config(max_bytes=...)`` changes it."""
MAX_ALIASES = 1000
"""Most ``*alias`` references in one document."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists."""
MAX_VALUES = 100_000
"""Most values (scalars, mappings, lists) a document may expand to once aliases are followed."""

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_config_file(path: Path, *, max_bytes: int = MAX_BYTES) -> str:
    """The text of ``path``, refused in one line if it is not a small, regular UTF-8 file."""
    source = str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ConfigError(
            source,
            "",
            "file not found",
            "check the path, or unset BELUGA_CONFIG to use the defaults",
        ) from None
    except OSError as exc:
        raise _unreadable(source, exc) from None
    _require_regular(source, info.st_mode)
    if info.st_size > max_bytes:
        raise _too_large(source, max_bytes)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise _unreadable(source, exc) from None
    try:
        _require_regular(source, os.fstat(fd).st_mode)  # it may have been swapped since stat
        data = _read_at_most(fd, max_bytes + 1)
    except OSError as exc:
        raise _unreadable(source, exc) from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise _too_large(source, max_bytes)
    return _decode(source, data)


def load_yaml(text: str, source: str, *, key_path: str = "", what: str = "") -> Any:
    """Parse ``text`` as one YAML document, within the bounds above, into plain Python values.

    ``key_path`` is where the text goes in the configuration and ``what`` names it in messages,
    when it is not the file itself (an environment override).
    """
    try:
        _check_events(yaml.parse(text, Loader=_Loader), source, key_path, what)
        return yaml.load(text, Loader=_Loader)  # a SafeLoader: plain values only
    except yaml.YAMLError as exc:
        raise _syntax_error(source, key_path, what, exc) from None
    except (ValueError, OverflowError) as exc:  # e.g. an int of 5,000 digits, a date 2026-13-45
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ConfigError(
            source,
            key_path,
            f"a value{_in(what)} is not valid YAML ({reason})",
            "quote values that are meant as text",
        ) from None


def _in(what: str) -> str:
    return f" in {what}" if what else ""


def _require_regular(source: str, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise ConfigError(
            source, "", "it is a directory", "give the path of a beluga.yaml file inside it"
        )
    kind = (
        "named pipe"
        if stat.S_ISFIFO(mode)
        else "device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "socket"
        if stat.S_ISSOCK(mode)
        else "special file"
    )
    raise ConfigError(
        source, "", f"it is a {kind}, not a regular file", "give the path of a beluga.yaml file"
    )


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = os.read(fd, min(remaining, 1 << 16))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _decode(source: str, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            source,
            "",
            f"it is not valid UTF-8 (first bad byte at line {line}, column {column})",
            "save the file as UTF-8",
        ) from None


def _unreadable(source: str, exc: OSError) -> ConfigError:
    reason = (exc.strerror or type(exc).__name__).lower()
    if isinstance(exc, PermissionError):
        fix = "make it readable by this user (chmod u+r), or run as its owner"
    elif isinstance(exc, IsADirectoryError):
        fix = "give the path of a beluga.yaml file inside it"
    else:
        fix = "check the path and the file's permissions"
    return ConfigError(source, "", f"cannot read it ({reason})", fix)


def _too_large(source: str, max_bytes: int) -> ConfigError:
    return ConfigError(
        source,
        "",
        f"it is larger than {_size(max_bytes)}, the limit for a configuration file",
        "point at the right file, or split data out of it "
        "(load_config(max_bytes=...) raises the limit)",
    )


def _size(n: int) -> str:
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n:,} bytes"


def _syntax_error(source: str, key_path: str, what: str, exc: yaml.YAMLError) -> ConfigError:
    """One line: where (line and column) and what, never the quoted text around it."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        where = f"line {mark.line + 1}, column {mark.column + 1}"
    elif isinstance(exc, yaml.reader.ReaderError):
        where = f"character {exc.position + 1}"
    else:
        where = "an unknown place"
    if isinstance(exc, yaml.reader.ReaderError):
        problem = f"character #x{exc.character:04x} is not allowed"
        if isinstance(exc.character, bytes):
            problem = "a byte is not valid text"
    else:
        problem = str(getattr(exc, "problem", None) or type(exc).__name__)
    return ConfigError(
        source,
        key_path,
        f"invalid YAML{_in(what)} at {where}: {' '.join(problem.split())}",
        "fix the YAML syntax there (indentation, quotes, colons)",
    )


@dataclass(slots=True)
class _Frame:
    """A mapping or list being parsed: how many values it expands to, and where we are in it."""

    is_mapping: bool
    anchor: str | None
    values: int = 1
    index: int = 0
    key: str | None = None
    at_key: bool = True

    def segment(self) -> str | None:
        if self.is_mapping:
            return None if self.at_key else self.key
        return str(self.index)


def _check_events(events: Any, source: str, key_path: str, what: str) -> None:
    """Walk the parse events, refusing a document that would expand beyond the bounds."""
    stack: list[_Frame] = []
    sizes: dict[str, int] = {}
    open_anchors: set[str] = set()
    aliases = 0

    def path() -> str:
        inner = [s for f in stack if (s := f.segment()) is not None]
        return ".".join([key_path, *inner] if key_path else inner)

    def refuse(problem: str, fix: str) -> ConfigError:
        return ConfigError(source, path(), f"{problem}{_in(what)}", fix)

    def add(values: int, key_text: str | None) -> None:
        if not stack:
            return
        top = stack[-1]
        top.values += values
        if top.values > MAX_VALUES:
            raise refuse(
                f"it expands to more than {MAX_VALUES:,} values (an alias bomb?)",
                "remove the repeated *aliases, or write the values out",
            )
        if top.is_mapping:
            if top.at_key:
                top.key = key_text if key_text is not None else "?"
            top.at_key = not top.at_key
        else:
            top.index += 1

    for event in events:
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            anchor = event.anchor
            if anchor in open_anchors:
                raise refuse(
                    f"the alias *{anchor} refers to a value that contains it",
                    "an alias may only repeat a value defined before it, outside it",
                )
            if aliases > MAX_ALIASES:
                raise refuse(
                    f"more than {MAX_ALIASES:,} aliases", "write the values out instead of *aliases"
                )
            add(sizes.get(anchor or "", 1), f"*{anchor}")
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor is not None:
                sizes[event.anchor] = 1
            add(1, event.value)
        elif isinstance(event, yaml.CollectionStartEvent):
            if len(stack) >= MAX_DEPTH:
                raise refuse(
                    f"it nests deeper than {MAX_DEPTH} levels", "flatten the nested values"
                )
            anchor = event.anchor
            if anchor is not None:
                open_anchors.add(anchor)
            stack.append(_Frame(isinstance(event, yaml.MappingStartEvent), anchor))
        elif isinstance(event, yaml.CollectionEndEvent):
            frame = stack.pop()
            if frame.anchor is not None:
                open_anchors.discard(frame.anchor)
                sizes[frame.anchor] = frame.values
            add(frame.values, None)
