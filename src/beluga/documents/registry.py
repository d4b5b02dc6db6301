"""Which loader reads which file: loaders by name, and file extensions to loader names.

Loaders register in :data:`loaders` (a :class:`beluga.core.registry.Registry`, entry-point group
``beluga.documents.loaders``) as classes taking keyword options, lazily, so importing
:mod:`beluga.documents` imports no parser. :func:`register_extension` maps more extensions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from beluga.core.registry import Registry
from beluga.documents.base import Loader, invalid

__all__ = ["extension_names", "loader_for", "loaders", "register_extension", "supported_extensions"]

loaders: Registry[Callable[..., Loader]] = Registry("document loader", "beluga.documents.loaders")

_BUILTIN = {
    "text": ("beluga.documents.loaders.text:TextLoader", ("charset_normalizer",)),
    "markdown": ("beluga.documents.loaders.markdown:MarkdownLoader", ("markdown_it",)),
    "html": ("beluga.documents.loaders.html:HtmlLoader", ("selectolax",)),
    "pdf": ("beluga.documents.loaders.pdf:PdfLoader", ("pypdf",)),
    "csv": ("beluga.documents.loaders.csv_rows:CsvLoader", ()),
    "json": ("beluga.documents.loaders.json_records:JsonLoader", ()),
    "jsonl": ("beluga.documents.loaders.json_records:JsonlLoader", ()),
}
for _name, (_target, _requires) in _BUILTIN.items():
    loaders.register(_name, _target, extra="documents", requires=_requires)

_EXTENSIONS: dict[str, str] = {
    ".txt": "text", ".text": "text", ".log": "text", ".rst": "text",
    ".md": "markdown", ".markdown": "markdown", ".mdx": "markdown",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".pdf": "pdf",
    ".csv": "csv", ".tsv": "csv",
    ".json": "json",
    ".jsonl": "jsonl", ".ndjson": "jsonl",
}  # fmt: skip


def register_extension(extension: str, loader: str, *, replace: bool = False) -> None:
    """Read files ending in ``extension`` (``".mdown"``) with the loader named ``loader``."""
    ext = extension.lower() if extension.startswith(".") else f".{extension.lower()}"
    if ext in _EXTENSIONS and not replace and _EXTENSIONS[ext] != loader:
        raise invalid(
            ext,
            f"is already read by {_EXTENSIONS[ext]!r}; pass replace=True to change it",
            op="documents.register_extension",
        )
    _EXTENSIONS[ext] = loader


def supported_extensions() -> list[str]:
    """Every extension some loader reads, sorted."""
    return sorted(_EXTENSIONS)


def extension_names() -> dict[str, str]:
    """A copy of the extension-to-loader map."""
    return dict(_EXTENSIONS)


def loader_for(
    path: Path,
    *,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    default: str | None = None,
) -> Loader | None:
    """A loader for ``path`` by its extension (``default`` names one for unknown extensions).

    ``options`` gives keyword options per loader name (``{"pdf": {"per_page": False}}``).
    Returns ``None`` when nothing reads the extension.
    """
    suffix = path.suffix.lower()
    name = _EXTENSIONS.get(suffix, default)
    if name is None:
        return None
    kwargs = dict((options or {}).get(name, {}))
    if suffix == ".tsv" and name == "csv":
        kwargs.setdefault("delimiter", "\t")
    return loaders.get(name)(**kwargs)
