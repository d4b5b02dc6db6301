"""Vector databases: what Beluga's Qdrant and Chroma stores cost over the raw client, next to
LangChain's integrations (``langchain-qdrant``, ``langchain-chroma``), on the same engine.

``python -m benchmarks.vectordbs`` (in ``.venv-bench``; peers missing there are skipped). Each
database runs embedded, so the figures are the client-side cost a user pays, not a network:
Qdrant's local mode in memory and Chroma's ``PersistentClient`` in a temporary folder. For each
implementation: upsert throughput (documents/s, batches of 256, document text + one metadata
key) and per-query latency of a top-10 search with and without a metadata filter (``tag == 3``,
a tenth of the data). Rounds are interleaved (raw, Beluga, LangChain, raw, ...) and medians of
the rounds' medians reported, with ratios to the raw client and Beluga's own cost per query in
microseconds (Beluga minus raw).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np

from beluga.schema import Document
from benchmarks.vectorstores import clustered

K = 10
BATCH = 256
Query = Callable[[list[float], bool], Awaitable[object]]


def _docs(n: int) -> list[Document]:
    return [Document(f"document {i}", id=f"d{i}", metadata={"tag": i % 10}) for i in range(n)]


def _lookup(vectors: dict[str, list[float]]) -> Any:
    """A LangChain ``Embeddings`` that returns the precomputed vector of each text."""
    from langchain_core.embeddings import Embeddings

    size = len(next(iter(vectors.values())))

    class Lookup(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return [self.embed_query(t) for t in texts]

        def embed_query(self, text: str) -> list[float]:
            # langchain-qdrant embeds a "dummy_text" once to learn the size
            return vectors.get(text) or [1.0] * size

    return Lookup()


async def _timed_upsert(write: Callable[[], Awaitable[None]], n: int) -> float:
    start = time.perf_counter()
    await write()
    return n / (time.perf_counter() - start)


# --------------------------------------------------------------------------- Qdrant


async def qdrant(data: np.ndarray, docs: list[Document]) -> dict[str, tuple[float, Query]]:
    """Each implementation's upsert throughput and its query function."""
    from qdrant_client import AsyncQdrantClient, QdrantClient, models

    from beluga.vectorstores.providers.qdrant import QdrantVectorStore

    rows = data.tolist()
    out: dict[str, tuple[float, Query]] = {}

    raw = AsyncQdrantClient(location=":memory:")
    await raw.create_collection(
        "raw",
        vectors_config=models.VectorParams(size=len(rows[0]), distance=models.Distance.COSINE),
    )

    async def raw_write() -> None:
        for s in range(0, len(rows), BATCH):
            points = [
                models.PointStruct(
                    id=s + j, vector=v, payload={"text": d.text, "tag": d.metadata["tag"]}
                )
                for j, (v, d) in enumerate(
                    zip(rows[s : s + BATCH], docs[s : s + BATCH], strict=True)
                )
            ]
            await raw.upsert("raw", points=points)

    tag = models.Filter(must=[models.FieldCondition(key="tag", match=models.MatchValue(value=3))])

    async def raw_query(vector: list[float], filtered: bool) -> object:
        return await raw.query_points(
            "raw", query=vector, limit=K, query_filter=tag if filtered else None, with_payload=True
        )

    out["raw qdrant-client"] = (await _timed_upsert(raw_write, len(rows)), raw_query)

    store = QdrantVectorStore("beluga", location=":memory:", dimensions=len(rows[0]))

    async def beluga_write() -> None:
        await store.upsert(docs, data)

    async def beluga_query(vector: list[float], filtered: bool) -> object:
        return await store.search(vector, k=K, filter={"tag": 3} if filtered else None)

    out["beluga"] = (await _timed_upsert(beluga_write, len(rows)), beluga_query)

    try:
        from langchain_qdrant import QdrantVectorStore as LangChainQdrant
    except ImportError:
        return out
    client = QdrantClient(location=":memory:")
    params = models.VectorParams(size=len(rows[0]), distance=models.Distance.COSINE)
    client.create_collection("langchain", vectors_config=params)
    texts = [d.text for d in docs]
    embedding = _lookup(dict(zip(texts, rows, strict=True)))
    lc = LangChainQdrant(client=client, collection_name="langchain", embedding=embedding)
    lc_tag = models.Filter(
        must=[models.FieldCondition(key="metadata.tag", match=models.MatchValue(value=3))]
    )

    async def lc_write() -> None:
        lc.add_texts(texts, metadatas=[d.metadata for d in docs], batch_size=BATCH)

    async def lc_query(vector: list[float], filtered: bool) -> object:
        return lc.similarity_search_with_score_by_vector(
            vector, k=K, filter=lc_tag if filtered else None
        )

    out["langchain-qdrant"] = (await _timed_upsert(lc_write, len(rows)), lc_query)
    return out


# --------------------------------------------------------------------------- Chroma


async def chroma(
    data: np.ndarray, docs: list[Document], folder: str
) -> dict[str, tuple[float, Query]]:
    import chromadb
    from chromadb.config import Settings

    from beluga.vectorstores.providers.chroma import ChromaVectorStore

    rows = data.tolist()
    out: dict[str, tuple[float, Query]] = {}
    settings = Settings(anonymized_telemetry=False)
    client = chromadb.PersistentClient(path=f"{folder}/raw", settings=settings)
    raw = client.create_collection(
        "raw", embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
    )

    async def raw_write() -> None:
        for s in range(0, len(rows), BATCH):
            part = docs[s : s + BATCH]
            raw.upsert(
                ids=[d.id for d in part],
                embeddings=rows[s : s + BATCH],
                documents=[d.text for d in part],
                metadatas=[d.metadata for d in part],
            )

    async def raw_query(vector: list[float], filtered: bool) -> object:
        return raw.query(
            query_embeddings=[vector],
            n_results=K,
            where={"tag": 3} if filtered else None,
            include=["documents", "metadatas", "distances"],
        )

    out["raw chromadb"] = (await _timed_upsert(raw_write, len(rows)), raw_query)

    store = ChromaVectorStore("beluga", path=f"{folder}/beluga", dimensions=len(rows[0]))

    async def beluga_write() -> None:
        for s in range(0, len(rows), BATCH):
            await store.upsert(docs[s : s + BATCH], data[s : s + BATCH])

    async def beluga_query(vector: list[float], filtered: bool) -> object:
        return await store.search(vector, k=K, filter={"tag": 3} if filtered else None)

    out["beluga"] = (await _timed_upsert(beluga_write, len(rows)), beluga_query)

    try:
        from langchain_chroma import Chroma
    except ImportError:
        return out
    texts = [d.text for d in docs]
    lc = Chroma(
        collection_name="langchain",
        embedding_function=_lookup(dict(zip(texts, rows, strict=True))),
        client=chromadb.PersistentClient(path=f"{folder}/lc", settings=settings),
        collection_configuration={"hnsw": {"space": "cosine"}},
    )

    async def lc_write() -> None:
        for s in range(0, len(rows), BATCH):
            part = docs[s : s + BATCH]
            lc.add_texts(
                [d.text for d in part],
                metadatas=[d.metadata for d in part],
                ids=[d.id for d in part],
            )

    async def lc_query(vector: list[float], filtered: bool) -> object:
        return lc.similarity_search_by_vector_with_relevance_scores(
            vector, k=K, filter={"tag": 3} if filtered else None
        )

    out["langchain-chroma"] = (await _timed_upsert(lc_write, len(rows)), lc_query)
    return out


# --------------------------------------------------------------------------- timing


async def _rounds(
    impls: dict[str, tuple[float, Query]], queries: list[list[float]], rounds: int
) -> dict[str, Any]:
    medians: dict[tuple[str, bool], list[float]] = {}
    for _ in range(rounds):
        for filtered in (False, True):
            for name, (_, query) in impls.items():
                await query(queries[0], filtered)  # warm
                times = []
                for vector in queries:
                    start = time.perf_counter()
                    await query(vector, filtered)
                    times.append(time.perf_counter() - start)
                medians.setdefault((name, filtered), []).append(statistics.median(times))
    raw_name = next(iter(impls))
    result: dict[str, Any] = {}
    for name, (docs_per_s, _) in impls.items():
        row: dict[str, Any] = {"upsert_docs_per_s": round(docs_per_s)}
        for filtered in (False, True):
            label = "filtered" if filtered else "search"
            mine = statistics.median(medians[(name, filtered)])
            raw = statistics.median(medians[(raw_name, filtered)])
            row[f"{label}_us"] = round(mine * 1e6, 1)
            row[f"{label}_ratio_vs_raw"] = round(mine / raw, 3)
            row[f"{label}_own_us"] = round((mine - raw) * 1e6, 1)
        result[name] = row
    return result


async def run(n: int, queries: int, rounds: int, dims: int) -> dict[str, Any]:
    data, probes = clustered(n, queries, dims)
    docs = _docs(n)
    vectors = probes.tolist()
    results: dict[str, Any] = {"n": n, "dims": dims, "queries": queries, "rounds": rounds}
    results["qdrant"] = await _rounds(await qdrant(data, docs), vectors, rounds)
    with tempfile.TemporaryDirectory() as folder:
        results["chroma"] = await _rounds(await chroma(data, docs, folder), vectors, rounds)
    return results


def report(results: dict[str, Any]) -> None:
    print(
        f"Vector databases, embedded engines, {results['n']:,} x {results['dims']} vectors, "
        f"top-{K}, medians of {results['rounds']} interleaved rounds of "
        f"{results['queries']} queries"
    )
    for db in ("qdrant", "chroma"):
        print(f"  {db}")
        for name, row in results[db].items():
            print(
                f"    {name:18} upsert {row['upsert_docs_per_s']:>7,}/s  "
                f"search {row['search_us']:>8.1f} us ({row['search_ratio_vs_raw']:.2f}x, "
                f"{row['search_own_us']:+.0f} us)  filtered {row['filtered_us']:>8.1f} us "
                f"({row['filtered_ratio_vs_raw']:.2f}x, {row['filtered_own_us']:+.0f} us)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(run(args.n, args.queries, args.rounds, args.dims))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        report(results)


if __name__ == "__main__":
    main()
