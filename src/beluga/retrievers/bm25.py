"""Sparse retrieval: BM25 over documents held in process, scored by ``bm25s``.

``bm25s`` (sparse matrices on numpy, maintained) was chosen over ``rank-bm25`` (no release
since 2022, pure-Python scoring of every document per query). Texts are lower-cased, split into
words of two or more letters, English stop words dropped and, when ``PyStemmer`` is installed,
stemmed (Snowball): "ingesting" finds "ingestion". The index is rebuilt, in a worker thread, on
the first query after documents were added or removed, so adding many documents one call at a
time costs one build. A ``filter`` becomes a weight mask over the index (the documents that do
not match score zero), and documents with a zero score (no query term) are never returned.
Scores are raw BM25 (unbounded, higher is better); compare them only within one retriever, or
fuse them by rank (:class:`~beluga.retrievers.fusion.HybridRetriever`). With a ``corpus``
(:class:`~beluga.retrievers.corpus.IngestedCorpus`: what ``beluga ingest`` put in a vector
store) the documents are the corpus's, asked for before each query and replaced when it
changed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from beluga.core.registry import require
from beluga.retrievers._filters import predicate
from beluga.retrievers.base import BaseRetriever
from beluga.retrievers.corpus import Corpus
from beluga.schema import Document
from beluga.vectorstores.base import MetadataFilter, ScoredDocument

__all__ = ["BM25Retriever"]

_EXTRA = "retrievers"


class BM25Retriever(BaseRetriever):
    """BM25 (Okapi, ``k1``/``b``) over ``documents`` (or a ``corpus``'s); :meth:`add` and
    :meth:`delete` change them."""

    kind = "bm25"

    def __init__(
        self,
        documents: Iterable[Document] = (),
        *,
        k: int = 4,
        k1: float = 1.5,
        b: float = 0.75,
        stopwords: str | Sequence[str] | None = "en",
        stem: bool = True,
        corpus: Corpus | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(k=k, name=name)
        self._bm25s: Any = require("bm25s", extra=_EXTRA)
        self._np: Any = require("numpy", extra=_EXTRA)
        self._k1, self._b = k1, b
        self._stopwords = stopwords
        self._stemmer = _stemmer() if stem else None
        self._documents: dict[str, Document] = {}
        self._lock = threading.Lock()
        self._index: tuple[Any, Any, list[Document]] | None = None  # bm25, tokenizer, docs
        self._corpus = corpus
        self.add(documents)

    def __len__(self) -> int:
        return len(self._documents)

    def add(self, documents: Iterable[Document]) -> None:
        """Add documents; one whose id is already held replaces it."""
        for doc in documents:
            self._documents[doc.id] = doc
        self._index = None

    def delete(self, ids: Iterable[str]) -> None:
        """Remove the documents with these ids (unknown ids are ignored)."""
        for doc_id in ids:
            self._documents.pop(doc_id, None)
        self._index = None

    async def _retrieve(
        self, query: str, k: int, filter: MetadataFilter | None
    ) -> list[ScoredDocument]:
        if self._corpus is not None and (docs := await self._corpus.documents()) is not None:
            self._documents = {doc.id: doc for doc in docs}
            self._index = None
        index = self._index
        if index is None:
            index = await asyncio.to_thread(self._build)
        return self._search(index, query, k, filter)

    def _build(self) -> tuple[Any, Any, list[Document]]:
        with self._lock:
            if self._index is not None:
                return self._index
            docs = list(self._documents.values())
            tokenizer = self._bm25s.tokenization.Tokenizer(
                stopwords=self._stopwords or [], stemmer=self._stemmer
            )
            tokens = tokenizer.tokenize(
                [d.text for d in docs], return_as="string", show_progress=False
            )
            bm25 = self._bm25s.BM25(k1=self._k1, b=self._b)
            if docs:
                bm25.index(tokens, show_progress=False)
            self._index = (bm25, tokenizer, docs)
            return self._index

    def _search(
        self,
        index: tuple[Any, Any, list[Document]],
        query: str,
        k: int,
        filter: MetadataFilter | None,
    ) -> list[ScoredDocument]:
        bm25, tokenizer, docs = index
        if not docs:
            return []
        (terms,) = tokenizer.tokenize(
            [query], return_as="string", update_vocab=False, show_progress=False
        )
        known = bm25.vocab_dict
        terms = [t for t in terms if t and t in known]  # words no document has score nothing
        if not terms:
            return []
        mask = None
        if filter:
            keep = predicate(filter)
            mask = self._np.asarray([keep(d.metadata) for d in docs], dtype=self._np.float32)
            if not mask.any():
                return []
        scores = self._np.asarray(bm25.get_scores(terms, weight_mask=mask))
        top = min(k, len(docs))
        order = self._np.argsort(-scores, kind="stable")[:top]
        ranked = zip(order.tolist(), scores[order].tolist(), strict=True)  # plain ints and floats
        return [ScoredDocument(docs[i], score) for i, score in ranked if score > 0]


def _stemmer() -> Any:
    """PyStemmer's English Snowball stemmer, or ``None`` when it is not installed."""
    try:
        import Stemmer
    except ImportError:
        return None
    return Stemmer.Stemmer("english")
