"""``beluga vectorstores``: list the configured stores, count and search what they hold.

Mounted by ``beluga.cli.main`` as ``app.add_typer(vectorstores_app, name="vectorstores")``.
``list`` shows every store of the ``vectorstores:`` section (the default marked) with its
provider, the embedder of its vectors and where it keeps them (paths and hosts only: a DSN's
password never shows); ``count`` counts a store's documents, optionally those matching a
``--filter`` (JSON, the filter language of ``beluga.vectorstores.filters``); ``search`` embeds
the query with the store's embedder and prints the closest documents with their scores. Exit
codes are those of ``beluga``: 0 ok, 1 failed (a store that cannot be reached), 2 bad usage
(including a ``--filter`` that is not JSON), 3 configuration (including the in-process
``memory`` store, which no other process can read), 130 interrupted.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from beluga.cli._errors import friendly

if TYPE_CHECKING:
    from beluga.config import BelugaConfig
    from beluga.vectorstores import VectorStore

__all__ = ["vectorstores_app"]

vectorstores_app = typer.Typer(
    no_args_is_help=True, help="Vector stores: list them, count and search their documents."
)
_T = TypeVar("_T")
_WIDTH = 80

_ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="beluga.yaml whose vectorstores: section to read (default: $BELUGA_CONFIG or "
        "./beluga.yaml).",
        show_default=False,
    ),
]
_JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
_StoreOption = Annotated[
    str | None,
    typer.Option("--store", "-s", help="A store of vectorstores.stores (default: the default)."),
]
_FilterOption = Annotated[
    str | None,
    typer.Option(
        "--filter",
        "-f",
        help='A metadata filter as JSON, e.g. \'{"source": "README.md", "page": {"$gte": 2}}\'.',
        show_default=False,
    ),
]


@vectorstores_app.command("list")
@friendly
def _list(as_json: _JsonOption = False, config: _ConfigOption = None) -> None:
    """Every configured store: provider, embedder, where it keeps its vectors."""
    from beluga.config import load_config
    from beluga.vectorstores.config import VectorStoresConfig, store_entry, validate_vectorstores
    from beluga.vectorstores.registry import registry

    root = load_config(config)
    section = VectorStoresConfig.of(root)
    validate_vectorstores(root)
    names = list(section.stores)
    if section.default not in names:
        names.insert(0, store_entry(root)[0])
    rows = []
    for name in names:
        _, entry = store_entry(root, name)
        rows.append(
            {
                "name": name,
                "default": name == section.default,
                "provider": entry.provider,
                "embedder": entry.embedder,
                "where": _where(root, name),
                "installed": next(
                    (e.available for e in registry.entries() if e.name == entry.provider), False
                ),
            }
        )
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("store", "provider", "embedder", "where", title="Vector stores")
    for row in rows:
        mark = " (default)" if row["default"] else ""
        missing = "" if row["installed"] else " [red](not installed)[/]"
        table.add_row(
            escape(str(row["name"])) + mark,
            escape(str(row["provider"])) + missing,
            escape(str(row["embedder"] or "embeddings default")),
            escape(str(row["where"])),
        )
    Console(highlight=False).print(table)


@vectorstores_app.command("count")
@friendly
def _count(
    store: _StoreOption = None,
    filter: _FilterOption = None,
    as_json: _JsonOption = False,
    config: _ConfigOption = None,
) -> None:
    """How many documents a store holds (that match --filter)."""
    spec = _filter(filter)
    root, name = _root(config, store)
    found = _with_store(root, name, lambda s: s.count(spec))
    if as_json:
        typer.echo(json.dumps({"store": name, "count": found}))
    else:
        typer.echo(f"{found} documents in {name}" + (" matching the filter" if spec else ""))


@vectorstores_app.command("search")
@friendly
def _search(
    query: Annotated[str, typer.Argument(help="The text to search for.")],
    store: _StoreOption = None,
    k: Annotated[int, typer.Option("--k", "-k", min=1, help="How many hits.")] = 4,
    filter: _FilterOption = None,
    embedder: Annotated[
        str | None,
        typer.Option(help="The embedder of the query (default: the store's, else embeddings'"),
    ] = None,
    as_json: _JsonOption = False,
    config: _ConfigOption = None,
) -> None:
    """The documents closest to QUERY: score (higher is closer), id, text, metadata."""
    from beluga.embeddings import build_embedder
    from beluga.vectorstores.config import store_entry

    spec = _filter(filter)
    root, name = _root(config, store)
    embedder_name = embedder or store_entry(root, name)[1].embedder
    model = build_embedder(root, embedder_name)

    async def search(vectors: VectorStore) -> list[Any]:
        try:
            (vector,) = await model.embed([query])
        finally:
            close: Callable[[], Awaitable[None]] | None = getattr(model, "aclose", None)
            if close is not None:
                await close()
        return await vectors.search(vector, k=k, filter=spec)

    hits = _with_store(root, name, search)
    if as_json:
        rows = [
            {
                "score": hit.score,
                "id": hit.document.id,
                "text": hit.document.text,
                "metadata": hit.document.metadata,
            }
            for hit in hits
        ]
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table("#", "score", "id", "text", "metadata", title=f"{escape(query)!r} in {name}")
    for i, hit in enumerate(hits, 1):
        text = " ".join(hit.document.text.split()) or f"<{len(hit.document.content)} part(s)>"
        text = text if len(text) <= _WIDTH else text[: _WIDTH - 1] + "…"
        meta = json.dumps(hit.document.metadata, ensure_ascii=False)
        table.add_row(
            str(i), f"{hit.score:.4f}", escape(hit.document.id), escape(text), escape(meta)
        )
    Console(highlight=False).print(table)


def _filter(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"not JSON ({exc})", param_hint="--filter") from None
    if not isinstance(spec, dict):
        raise typer.BadParameter("a filter is a JSON object", param_hint="--filter")
    from beluga.vectorstores.filters import parse

    parse(spec)  # a bad operator is one clear error before any store is opened
    return spec


def _root(path: Path | None, name: str | None) -> tuple[BelugaConfig, str]:
    from beluga.config import ConfigError, load_config
    from beluga.vectorstores.config import store_entry

    root = load_config(path)
    ref, entry = store_entry(root, name)
    if entry.provider == "memory":
        raise ConfigError(
            root.source,
            f"vectorstores.stores.{ref}.provider",
            "the 'memory' store keeps its documents inside the process that filled it; no "
            "command can read them",
            "use provider faiss, usearch or pgvector to keep documents where this command can "
            "see them",
        )
    return root, ref


def _where(root: BelugaConfig, name: str) -> str:
    """Where a store keeps its data, safe to print (its repr names no credential)."""
    from beluga.vectorstores.config import build_vector_store

    try:
        store = build_vector_store(root, name)
    except Exception as exc:  # a missing extra: say so instead of failing the listing
        return f"({type(exc).__name__})"
    return repr(getattr(store, "inner", store))


def _with_store(root: BelugaConfig, name: str, use: Callable[[VectorStore], Awaitable[_T]]) -> _T:
    from beluga.vectorstores.config import build_vector_store

    async def run() -> _T:
        store = build_vector_store(root, name)
        try:
            return await use(store)
        finally:
            close: Callable[[], Awaitable[None]] | None = getattr(store, "aclose", None)
            if close is not None:
                await close()

    return asyncio.run(run())
