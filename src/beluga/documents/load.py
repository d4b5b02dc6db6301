"""Load a file or a directory tree: ``async for doc in load("docs/")``.

A directory is walked in sorted order (deterministic ids and results), with ``include`` and
``exclude`` globs matched against paths relative to the root (``**`` spans directories, ``*``
and ``?`` stay within one name). Hidden files and directories, ``__pycache__`` and
``node_modules`` are excluded unless ``exclude`` is given. Symbolic links to directories are
not followed (no loops), and a linked file is read only if it resolves inside the root. Files
are dispatched by extension through :mod:`beluga.documents.registry`; in a walk, files no loader
reads and files that look binary (a NUL byte in the first 8 KiB, without a UTF-16/32 mark) are
skipped and counted on the span; naming such a file directly is an error that lists what is
supported.

Parsing is blocking, so :func:`load` runs it in a worker thread a few documents at a time and
yields between batches: a JSON Lines file of a million lines streams without being held whole.
:func:`iter_load` is the same walk, synchronous, and :func:`load_sync` returns a list.
"""

from __future__ import annotations

import asyncio
import codecs
import os
import re
from collections.abc import AsyncIterator, Generator, Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from beluga.core.errors import BelugaError, ErrorCode
from beluga.documents.base import Source, invalid
from beluga.documents.registry import loader_for, supported_extensions
from beluga.observability import start_operation
from beluga.schema import Document

__all__ = ["DEFAULT_EXCLUDE", "glob_match", "iter_load", "load", "load_sync", "walk"]

DEFAULT_EXCLUDE = ("**/.*", "**/__pycache__", "**/node_modules")
_BATCH = 16
_SNIFF = 8192
_TEXT_MARKS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
_BINARY_OK = frozenset({"pdf"})


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def glob_match(relative: str, patterns: Sequence[str]) -> bool:
    """Whether the POSIX ``relative`` path matches any glob of ``patterns``."""
    return any(_glob_regex(p).match(relative) for p in patterns)


def walk(
    root: str | Path,
    *,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
) -> Iterator[Path]:
    """Files under ``root`` that pass the globs, sorted, never leaving ``root`` by a link."""
    base = Path(root)
    real = base.resolve()
    excluded = DEFAULT_EXCLUDE if exclude is None else tuple(exclude)
    for directory, dirnames, filenames in os.walk(base, followlinks=False):
        here = Path(directory)
        rel_dir = here.relative_to(base).as_posix()
        prefix = "" if rel_dir == "." else rel_dir + "/"
        dirnames[:] = sorted(d for d in dirnames if not glob_match(prefix + d, excluded))
        for filename in sorted(filenames):
            relative = prefix + filename
            if glob_match(relative, excluded) or (include and not glob_match(relative, include)):
                continue
            path = here / filename
            if path.is_symlink() and not path.resolve().is_relative_to(real):
                continue
            if path.is_file():
                yield path


def _looks_binary(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(_SNIFF)
    return b"\x00" in head and not head.startswith(_TEXT_MARKS)


def iter_load(
    path: str | Path,
    *,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    default_loader: str | None = None,
    skip_errors: bool = False,
) -> Generator[Document, None, None]:
    """Documents of a file or a directory tree (blocking); see :func:`load`."""
    root = Path(path)
    counts = {"files": 0, "documents": 0, "skipped": 0, "failed": 0}
    with start_operation("load_documents", root.name or root.as_posix()) as op:
        op.set("beluga.documents.root", root.as_posix())
        try:
            if root.is_dir():
                for file in walk(root, include=include, exclude=exclude):
                    loader = loader_for(file, options=options, default=default_loader)
                    if loader is None or (loader.name not in _BINARY_OK and _looks_binary(file)):
                        counts["skipped"] += 1
                        continue
                    counts["files"] += 1
                    try:
                        for doc in loader.load(Source.from_path(file)):
                            counts["documents"] += 1
                            yield doc
                    except BelugaError as exc:
                        if not skip_errors:
                            raise
                        counts["failed"] += 1
                        op.event("skipped_file", {"path": file.as_posix(), "error": exc.code.value})
            elif root.exists():
                loader = loader_for(root, options=options, default=default_loader)
                if loader is None:
                    raise invalid(
                        root,
                        f"no loader reads {root.suffix or 'files without an extension'!r}; "
                        f"supported: {', '.join(supported_extensions())}. Pass "
                        "default_loader='text' to read it as text, or register one with "
                        "beluga.documents.registry.register_extension",
                    )
                if loader.name not in _BINARY_OK and _looks_binary(root):
                    raise invalid(root, f"looks binary, not {loader.name}; exclude it")
                counts["files"] = 1
                for doc in loader.load(Source.from_path(root)):
                    counts["documents"] += 1
                    yield doc
            else:
                raise BelugaError(
                    "documents.load",
                    ErrorCode.NOT_FOUND,
                    f"{root.as_posix()}: no such file or directory (relative to {Path.cwd()})",
                )
        finally:
            for key, value in counts.items():
                op.set(f"beluga.documents.{key}", value)


async def load(
    path: str | Path,
    *,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    default_loader: str | None = None,
    skip_errors: bool = False,
) -> AsyncIterator[Document]:
    """Documents of a file or directory, parsed in a worker thread a batch at a time.

    ``options`` passes keyword options per loader (``{"pdf": {"per_page": False}}``);
    ``default_loader`` reads unknown extensions (``"text"``); ``skip_errors`` skips files that
    fail to parse (counted on the span) instead of raising.
    """
    documents = iter_load(
        path,
        include=include,
        exclude=exclude,
        options=options,
        default_loader=default_loader,
        skip_errors=skip_errors,
    )
    try:
        while batch := await asyncio.to_thread(_take, documents, _BATCH):
            for doc in batch:
                yield doc
    finally:
        await asyncio.to_thread(documents.close)


def _take(documents: Iterator[Document], count: int) -> list[Document]:
    batch: list[Document] = []
    for doc in documents:
        batch.append(doc)
        if len(batch) == count:
            break
    return batch


def load_sync(
    path: str | Path,
    *,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    default_loader: str | None = None,
    skip_errors: bool = False,
) -> list[Document]:
    """All documents of a file or directory, for scripts and notebooks."""
    return list(
        iter_load(
            path,
            include=include,
            exclude=exclude,
            options=options,
            default_loader=default_loader,
            skip_errors=skip_errors,
        )
    )
