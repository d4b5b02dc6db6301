"""Retrieval quality on this repository's documentation: hit rate@5 and MRR per retriever.

``python -m benchmarks.retrieval_quality`` (``--json`` for scripts, ``--llm`` to add the local
chat model as a reranker, slow) chunks ``README.md`` and the ``docs/readme`` pages the labelled
set (:mod:`benchmarks.retrieval_qa`) asks about, embeds the chunks with the offline local
embedder into the exact in-memory store, and asks every question of:

- ``vector``: cosine top-k over all-MiniLM-L6-v2 embeddings;
- ``bm25``: BM25 (bm25s, English stop words, Snowball stems);
- ``hybrid``: both fused by reciprocal rank (20 candidates each);
- ``hybrid+rerank``: hybrid's 20 best re-ordered by the offline embedding reranker;
- ``hybrid+llm`` (``--llm``): hybrid's 10 best graded 0-10 by the local 135M chat model.

A question is a hit at 5 when one of the first five chunks is from the labelled file and
contains the labelled phrase; MRR is the mean of 1/rank of the first such chunk (0 if none in
the first ``k``). Everything is offline and deterministic (same chunks, same vectors).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

from beluga.core.middleware import apply
from beluga.documents import RecursiveCharacterSplitter, load_sync
from beluga.embeddings import MemoryEmbeddingCache, create
from beluga.embeddings.middleware import cached
from beluga.retrievers import (
    BM25Retriever,
    EmbeddingReranker,
    HybridRetriever,
    LLMReranker,
    RerankingRetriever,
    Retriever,
    VectorRetriever,
)
from beluga.schema import Document
from beluga.vectorstores.base import ScoredDocument
from beluga.vectorstores.testing import InMemoryVectorStore
from benchmarks.retrieval_qa import QUESTIONS

ROOT = Path(__file__).resolve().parents[1]
K = 5


def corpus(chunk_size: int = 800, overlap: int = 120) -> list[Document]:
    """The chunks of every file the labelled set names."""
    files = sorted({src for _, src, _ in QUESTIONS})
    paths = [
        ROOT / "README.md" if f == "README.md" else ROOT / "docs" / "readme" / f for f in files
    ]
    docs = [doc for p in paths for doc in load_sync(p)]
    splitter = RecursiveCharacterSplitter(chunk_size=chunk_size, chunk_overlap=overlap)
    return splitter.split_documents(docs)


def first_hit(hits: list[ScoredDocument], source: str, phrase: str) -> int | None:
    """The 1-based rank of the first chunk that answers, or None."""
    for rank, hit in enumerate(hits, start=1):
        if str(hit.document.metadata["source"]).endswith(source) and phrase in hit.document.text:
            return rank
    return None


async def evaluate(retriever: Retriever, k: int = K) -> dict[str, Any]:
    ranks: list[int | None] = []
    started = time.perf_counter()
    for question, source, phrase in QUESTIONS:
        ranks.append(first_hit(await retriever.retrieve(question, k=k), source, phrase))
    elapsed = time.perf_counter() - started
    return {
        "hit_rate@5": sum(1 for r in ranks if r is not None and r <= 5) / len(ranks),
        "mrr": sum(1 / r for r in ranks if r is not None) / len(ranks),
        "ms_per_query": 1000 * elapsed / len(ranks),
        "missed": [q for (q, _, _), r in zip(QUESTIONS, ranks, strict=True) if r is None],
    }


async def run(llm: bool = False) -> dict[str, Any]:
    chunks = corpus()
    # One cache for ingestion and queries: the reranker re-embeds candidates already embedded.
    embedder = apply(create("local"), cached(MemoryEmbeddingCache(max_entries=100_000)))
    store = InMemoryVectorStore()
    vectors = await embedder.embed([c.content for c in chunks])
    await store.upsert(chunks, vectors)
    vector = VectorRetriever(store, embedder, k=K, name="vector")
    bm25 = BM25Retriever(chunks, k=K, name="bm25")
    hybrid = HybridRetriever([bm25, vector], k=K, fetch_k=20, name="hybrid")
    retrievers: dict[str, Retriever] = {
        "vector": vector,
        "bm25": bm25,
        "hybrid": hybrid,
        "hybrid+rerank": RerankingRetriever(hybrid, EmbeddingReranker(embedder), k=K, fetch_k=20),
    }
    if llm:
        from beluga.llms import create as create_model

        grader = LLMReranker(create_model("local"), concurrency=1)
        retrievers["hybrid+llm"] = RerankingRetriever(hybrid, grader, k=K, fetch_k=10)
    results = {"questions": len(QUESTIONS), "chunks": len(chunks), "retrievers": {}}
    for name, retriever in retrievers.items():
        results["retrievers"][name] = await evaluate(retriever)
    return results


def _print(results: dict[str, Any]) -> None:
    print(
        f"Retrieval quality: {results['questions']} labelled questions over "
        f"{results['chunks']} chunks of this repository's docs (offline local embedder)"
    )
    print(f"  {'retriever':15} {'hit@5':>6} {'MRR':>6} {'ms/query':>9}")
    base = results["retrievers"]["vector"]["mrr"] or 1.0
    for name, row in results["retrievers"].items():
        print(
            f"  {name:15} {row['hit_rate@5']:6.3f} {row['mrr']:6.3f} {row['ms_per_query']:9.1f}"
            f"   MRR {row['mrr'] / base:.2f}x vector"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--llm", action="store_true", help="add the local chat model reranker")
    args = parser.parse_args()
    results = asyncio.run(run(llm=args.llm))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        _print(results)


if __name__ == "__main__":
    main()
