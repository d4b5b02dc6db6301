"""Parent-document retrieval: search small chunks, return the documents they came from.

Small chunks embed one idea each and match precisely; the model answering wants their context.
:meth:`ParentDocumentRetriever.add` splits each parent with the splitter (every chunk keeps
``parent_id``, see :mod:`beluga.documents.splitters`), embeds and upserts the chunks into the
vector store and keeps the parents in ``parents`` (a dict by default; any mutable mapping, such
as one backed by SQLite, fits). A query searches ``fetch_k`` chunks and returns each parent once,
scored by its best chunk, best first. Chunks whose parent is unknown are skipped (the parent was
deleted: :meth:`delete` removes a parent and its chunks).
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping, Sequence

from beluga.documents.base import Splitter
from beluga.embeddings.base import Embedder
from beluga.retrievers.base import BaseRetriever, check_k
from beluga.retrievers.vector import VectorRetriever
from beluga.schema import Document
from beluga.vectorstores.base import MetadataFilter, ScoredDocument, VectorStore

__all__ = ["ParentDocumentRetriever"]


class ParentDocumentRetriever(BaseRetriever):
    """Chunks of ``splitter`` in ``store`` are searched; their parents are returned."""

    kind = "parent_document"

    def __init__(
        self,
        store: VectorStore,
        embedder: Embedder,
        splitter: Splitter,
        *,
        parents: MutableMapping[str, Document] | None = None,
        k: int = 4,
        fetch_k: int | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(k=k, name=name)
        self.store = store
        self.embedder = embedder
        self.splitter = splitter
        self.parents: MutableMapping[str, Document] = {} if parents is None else parents
        self.fetch_k = check_k(fetch_k, "retrievers.parent_document") if fetch_k else None
        self._children = VectorRetriever(store, embedder, name=f"{self.name}.chunks")
        self._chunk_ids: dict[str, list[str]] = {}

    async def add(self, documents: Iterable[Document], *, batch_size: int = 64) -> int:
        """Split, embed and store ``documents``; returns the number of chunks stored. A parent
        added again replaces its old chunks."""
        parents = list(documents)
        await self.delete([p.id for p in parents if p.id in self._chunk_ids])
        chunks = self.splitter.split_documents(parents)
        for i in range(0, len(chunks), batch_size):
            batch = chunks[i : i + batch_size]
            vectors = await self.embedder.embed([c.content for c in batch])
            await self.store.upsert(batch, vectors)
        for parent in parents:
            self.parents[parent.id] = parent
            self._chunk_ids[parent.id] = []
        for chunk in chunks:
            self._chunk_ids[str(chunk.metadata["parent_id"])].append(chunk.id)
        return len(chunks)

    async def delete(self, ids: Sequence[str]) -> None:
        """Forget these parents and remove their chunks from the store."""
        chunk_ids = [c for p in ids for c in self._chunk_ids.pop(p, [])]
        if chunk_ids:
            await self.store.delete(chunk_ids)
        for parent_id in ids:
            self.parents.pop(parent_id, None)

    async def _retrieve(
        self, query: str, k: int, filter: MetadataFilter | None
    ) -> list[ScoredDocument]:
        hits = await self._children.retrieve(query, k=self.fetch_k or 5 * k, filter=filter)
        best: dict[str, ScoredDocument] = {}
        for hit in hits:  # closest first: the first chunk of a parent is its best
            parent_id = hit.document.metadata.get("parent_id")
            if not isinstance(parent_id, str) or parent_id in best:
                continue
            parent = self.parents.get(parent_id)
            if parent is not None:
                best[parent_id] = ScoredDocument(parent, hit.score)
            if len(best) == k:
                break
        return list(best.values())
