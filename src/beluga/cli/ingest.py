"""``beluga ingest PATH --store NAME`` and ``beluga ask QUESTION --store NAME``.

``ingest`` brings a store of the ``vectorstores:`` section up to date with a folder (or a file):
loaders by file type, the splitter and embedder of ``retrieval.ingest`` (the store entry's own
``embedder`` first; the offline local embedder by default), a Rich progress bar, incremental and
resumable (:mod:`beluga.retrievers.ingest`). The manifest is SQLite next to the store's file
(``<store>.<collection>.ingest.db``), or ``~/.beluga/ingest/<store>.db`` for a server store;
``--manifest`` puts it elsewhere. ``ask`` embeds a question with the store's embedder and prints
the closest chunks (``--answer``: the configured model answers from them).

Exit codes are those of ``beluga``: 0 ok, 1 failed (a file could not be read, a store that
cannot be reached), 3 configuration, 130 interrupted. The framework is imported inside the
commands, so mounting them costs ``beluga --help`` nothing.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from beluga.cli._errors import EXIT_FAILED, err, friendly

if TYPE_CHECKING:
    from beluga.config import BelugaConfig
    from beluga.embeddings import Embedder
    from beluga.vectorstores import VectorStore

__all__ = ["ask_command", "ingest_command"]

_ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="beluga.yaml to use (default: $BELUGA_CONFIG or ./beluga.yaml).",
        show_default=False,
    ),
]
_StoreOption = Annotated[
    str | None,
    typer.Option("--store", "-s", help="A store of vectorstores: (default: vectorstores.default)."),
]
_EmbedderOption = Annotated[
    str | None,
    typer.Option(
        "--embedder",
        "-e",
        help="An embedder entry or id (default: the store's embedder, retrieval.ingest.embedder "
        "or embeddings.default).",
    ),
]
_JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@friendly
def ingest_command(
    path: Annotated[Path, typer.Argument(help="A folder or a file to ingest.")],
    store: _StoreOption = None,
    embedder: _EmbedderOption = None,
    manifest: Annotated[
        Path | None, typer.Option("--manifest", help="Where the ingestion manifest lives.")
    ] = None,
    include: Annotated[
        list[str] | None, typer.Option("--include", "-i", help="Glob of files to read.")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", "-x", help="Glob of files to skip.")
    ] = None,
    chunk_size: Annotated[int | None, typer.Option(help="Characters per chunk.")] = None,
    chunk_overlap: Annotated[int | None, typer.Option(help="Characters of overlap.")] = None,
    as_json: _JsonOption = False,
    config: _ConfigOption = None,
) -> None:
    """Load, split, embed and store the files under PATH; unchanged files are skipped."""
    from beluga.cli.main import load_cli_config
    from beluga.documents import RecursiveCharacterSplitter
    from beluga.retrievers.config import RetrievalConfig
    from beluga.retrievers.ingest import IngestEvent, default_manifest, ingest

    cfg = load_cli_config(config)
    settings = RetrievalConfig.of(cfg).ingest
    name, vector_store, vectors = _store_and_embedder(cfg, store, embedder or settings.embedder)
    splitter = RecursiveCharacterSplitter(
        chunk_size=chunk_size or settings.chunk_size,
        chunk_overlap=settings.chunk_overlap if chunk_overlap is None else chunk_overlap,
    )
    where = manifest or default_manifest(name, vector_store)
    console = Console(stderr=True, highlight=False)

    async def run() -> Any:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        bar = Progress(
            TextColumn("[bold]ingest[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            console=console,
            disable=as_json,
            transient=False,
        )
        task = bar.add_task("", total=None)

        def show(event: IngestEvent) -> None:
            if event.kind == "start":
                bar.update(task, total=event.total)
            elif event.kind == "read":
                bar.update(task, description=escape(f"{event.path} (embedding)"))
            elif event.kind == "file" and event.status != "removed":
                bar.update(task, advance=1, description=escape(f"{event.path} ({event.status})"))

        try:
            with bar:
                return await ingest(
                    path,
                    vector_store,
                    vectors,
                    manifest=where,
                    splitter=splitter,
                    include=include or settings.include or None,
                    exclude=exclude if exclude is not None else settings.exclude,
                    batch_size=settings.batch_size,
                    progress=show,
                )
        finally:
            await _close(vector_store, vectors)

    report = asyncio.run(run())
    if as_json:
        typer.echo(json.dumps({"store": name, "manifest": str(where), **report.as_dict()}))
    else:
        typer.echo(
            f"{name}: {report.added} added, {report.updated} updated, {report.unchanged} "
            f"unchanged, {report.removed} removed, {report.skipped} skipped; "
            f"{report.chunks_written} chunks written, {report.chunks_deleted} deleted"
            + (f"; recovered {report.recovered} interrupted file(s)" if report.recovered else "")
        )
    for failed, message in report.failed:
        err.print(f"[bold red]failed:[/] {escape(failed)}: {escape(message)}", soft_wrap=True)
    if report.failed:
        raise typer.Exit(EXIT_FAILED)


@friendly
def ask_command(
    question: Annotated[str, typer.Argument(help="What to look for.")],
    store: _StoreOption = None,
    embedder: _EmbedderOption = None,
    k: Annotated[int, typer.Option("--k", "-k", help="How many chunks.")] = 4,
    answer: Annotated[
        bool, typer.Option("--answer", help="Have the model answer from the chunks.")
    ] = False,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Model for --answer (default llm.default).")
    ] = None,
    retriever: Annotated[
        str | None,
        typer.Option(
            "--retriever",
            "-r",
            help="A retriever of retrieval.retrievers (BM25, hybrid, reranked...) instead of "
            "the vectors of --store.",
        ),
    ] = None,
    as_json: _JsonOption = False,
    config: _ConfigOption = None,
) -> None:
    """The chunks of a store closest to QUESTION (and, with --answer, an answer from them)."""
    from beluga.cli.main import load_cli_config
    from beluga.retrievers import BaseRetriever, VectorRetriever, format_hits
    from beluga.retrievers.config import build_retriever

    cfg = load_cli_config(config)
    finder: BaseRetriever
    if retriever is not None:
        if store is not None or embedder is not None:
            raise typer.BadParameter(
                "--retriever names its own store and embedder in beluga.yaml: drop --store "
                "and --embedder, or drop --retriever",
                param_hint="--retriever",
            )
        name, finder = retriever, build_retriever(cfg, retriever)
    else:
        name, vector_store, vectors = _store_and_embedder(cfg, store, embedder)
        finder = VectorRetriever(vector_store, vectors, k=k, name=name)
        finder.own(vector_store, vectors)

    async def run() -> tuple[list[Any], str | None]:
        try:
            hits = await finder.retrieve(question, k=k)
            if not answer or not hits:
                return hits, None
            from beluga.llms import from_config
            from beluga.schema import Message

            llm = from_config(cfg, model)
            try:
                reply = await llm.generate(
                    [
                        Message.system(
                            "Answer the question from these passages; cite them by number.\n\n"
                            + format_hits(hits)
                        ),
                        Message.user(question),
                    ]
                )
            finally:
                await llm.aclose()
            return hits, reply.text
        finally:
            await finder.aclose()

    hits, text = asyncio.run(run())
    if as_json:
        rows = [
            {"id": h.document.id, "score": h.score, "metadata": h.document.metadata,
             "text": h.document.text}
            for h in hits
        ]  # fmt: skip
        typer.echo(json.dumps({"store": name, "hits": rows, "answer": text}, default=str))
        return
    if not hits:
        err.print(f"no chunk in {escape(name)} matches; ingest some files first")
        raise typer.Exit(EXIT_FAILED)
    table = Table("#", "score", "source", "text", title=f"{escape(name)}: {escape(question)}")
    for i, hit in enumerate(hits, start=1):
        snippet = " ".join(hit.document.text.split())
        snippet = snippet if len(snippet) <= 100 else snippet[:99] + "…"
        source = str(hit.document.metadata.get("source", hit.document.id))
        table.add_row(str(i), f"{hit.score:.3f}", escape(source), escape(snippet))
    Console(highlight=False).print(table)
    if text is not None:
        typer.echo(text)


def _store_and_embedder(
    cfg: BelugaConfig, store: str | None, embedder: str | None
) -> tuple[str, VectorStore, Embedder]:
    from beluga.embeddings import build_embedder
    from beluga.vectorstores.config import build_vector_store, store_entry

    name, entry = store_entry(cfg, store)
    vectors = build_embedder(cfg, embedder or entry.embedder)
    return name, build_vector_store(cfg, store), vectors


async def _close(*resources: object) -> None:
    for resource in resources:
        close = getattr(resource, "aclose", None)
        if close is not None:
            await close()
