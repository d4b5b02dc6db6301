"""Vector-store figures: recall@10, queries/s and p99 of the embedded default and pgvector, next
to the raw libraries they wrap and FAISS-HNSW, on the same vectors in the same run.

``python -m benchmarks.vectorstores`` (in ``.venv-bench``: ``make bench`` installs faiss-cpu
there, see benchmarks/peers.txt; ``--json`` for scripts; ``--n``/``--dims`` for other sizes):

- 100,000 seeded, clustered unit vectors of 384 dims (200 centres: embeddings cluster by
  topic) and 1,000 queries from the same distribution, none of them stored; the truth is an
  exact numpy search.
- ``faiss store`` (the embedded default) is :class:`FaissVectorStore.search` (async, documents
  read back from SQLite and decoded); ``faiss raw`` is FAISS's ``search`` on the very same
  in-memory graph, so the difference is the framework's own cost per query; ``by hand`` is that
  bare search plus what a user writes to read texts and metadata back. ``usearch store``,
  ``raw`` and ``by hand`` are the same for :class:`USearchVectorStore` (bf16 graph).
  ``pgvector store`` is :class:`PgVectorStore.search` against ``pgvector raw``, the same
  ``ORDER BY embedding <=> %s LIMIT 10`` through psycopg on the same table and server (ids
  only). ``faiss-hnsw`` is a bare ``IndexHNSWFlat`` built apart (inner product on unit
  vectors), the reference. Every index has M=16, ef_construction=64, ef_search=64; one query at
  a time, one thread.
- Timing: rounds interleave the contenders (rotating who goes first) and each reports the median
  and p99 latency over all its queries and queries/s (queries over the time they took).
- What is built is kept in ``.bench/vectorstores`` (the SQLite file and its index, the FAISS
  index; the PostgreSQL table ``bench_vectors_<n>_<dims>`` in the database of
  ``BELUGA_PG_DSN``), so a second run measures without rebuilding; build times are those of the
  run that built them (``--rebuild`` to build again). pgvector is skipped when
  ``BELUGA_PG_DSN`` is not set, FAISS when faiss-cpu is not installed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

K = 10
M, EF_CONSTRUCTION, EF_SEARCH = 16, 64, 64
CACHE = Path(".bench/vectorstores")
Matrix = npt.NDArray[np.float32]


def clustered(n: int, queries: int, dims: int, *, seed: int = 7) -> tuple[Matrix, Matrix]:
    """``n`` unit vectors around 200 seeded centres (embeddings cluster by topic), and
    ``queries`` more from the same distribution, none of them stored."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((200, dims)).astype(np.float32)

    def draw(count: int) -> Matrix:
        rows = centres[rng.integers(0, len(centres), count)]
        rows = rows + 1.0 * rng.standard_normal((count, dims)).astype(np.float32)
        unit: Matrix = (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)
        return unit

    return draw(n), draw(queries)


def exact_top_k(data: Matrix, queries: Matrix, k: int) -> npt.NDArray[np.int64]:
    """The ids of the ``k`` nearest rows of ``data`` (cosine, unit rows) for each query."""
    out = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), 64):
        scores = queries[start : start + 64] @ data.T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.take_along_axis(scores, top, axis=1).argsort(axis=1)[:, ::-1]
        out[start : start + 64] = np.take_along_axis(top, order, axis=1)
    return out


def recall_at_k(found: list[list[Any]], truth: npt.NDArray[np.int64]) -> float:
    """The mean share of each query's true top-k among what was found."""
    hits = [
        len({int(i) for i in got[: truth.shape[1]]} & set(row.tolist()))
        for got, row in zip(found, truth, strict=True)
    ]
    return sum(hits) / (truth.shape[1] * len(found))


# --------------------------------------------------------------------------- contenders

Search = Callable[[Matrix], Awaitable[list[int]]]


def _bare_search(system: str, index: Any) -> Callable[[Matrix], list[int]]:
    """The library's own call on the store's in-memory graph: keys only."""
    if system == "usearch":
        graph = index.index
        return lambda q: graph.search(q, count=K, threads=1).keys.tolist()
    import faiss

    graph, params = index.index, faiss.SearchParametersHNSW(efSearch=EF_SEARCH)
    return lambda q: graph.search(q[None, :], K, params=params)[1][0].tolist()


async def embedded_contenders(
    system: str, data: Matrix, rebuild: bool
) -> tuple[dict[str, Search], dict[str, Any], Callable[[], Awaitable[None]]]:
    """The embedded store ``system`` (``faiss``, the default, or ``usearch``), its bare index
    and the same by hand."""
    from beluga.schema import Document
    from beluga.vectorstores import registry

    path = _cache(f"{system}-store-{len(data)}-{data.shape[1]}.db", rebuild)
    info_path = path.with_suffix(".json")
    options = {"connectivity": M, "expansion_add": EF_CONSTRUCTION, "expansion_search": EF_SEARCH}
    store: Any = registry.get(system)(path, **options)
    start = time.perf_counter()
    existing = await store.count()
    info: dict[str, Any]
    if existing != len(data):
        await store.delete(filter={})
        docs = [
            Document(f"document {i}", id=str(i), metadata={"i": i, "group": i % 100})
            for i in range(len(data))
        ]
        start = time.perf_counter()
        for lo in range(0, len(data), 20_000):
            await store.upsert(docs[lo : lo + 20_000], data[lo : lo + 20_000])
        await store.flush()
        info = {"build_s": round(time.perf_counter() - start, 1)}
        _save(info_path, info)
    else:
        info = _load(info_path)
        info["open_s"] = round(time.perf_counter() - start, 2)
    assert store._index is not None
    bare = _bare_search(system, store._index)
    rows = store._read(f"SELECT key, id FROM {store._table}", ())  # the raw side returns ids too
    key_to_id = {int(key): int(doc_id) for key, doc_id in rows}

    async def framework(q: Matrix) -> list[int]:
        return [int(hit.document.id) for hit in await store.search(q, k=K)]

    async def raw(q: Matrix) -> list[int]:
        return [key_to_id[key] for key in bare(q)]

    by_hand_db = sqlite3.connect(path, isolation_level=None)
    marks = ", ".join("?" * K)
    rows_sql = f"SELECT id, text, metadata FROM {store._table} WHERE key IN ({marks})"

    async def by_hand(q: Matrix) -> list[int]:
        """What a user writes around the bare index to get texts and metadata back."""
        keys = bare(q)
        rows = {int(i): (t, json.loads(m)) for i, t, m in by_hand_db.execute(rows_sql, keys)}
        return [key_to_id[key] for key in keys if key_to_id[key] in rows]

    async def close() -> None:
        by_hand_db.close()
        await store.aclose()

    info["installed_mb"] = _installed_mb("faiss-cpu" if system == "faiss" else "usearch")
    contenders = {f"{system} store": framework, f"{system} raw": raw, f"{system} by hand": by_hand}
    return contenders, info, close


async def pgvector_contenders(
    data: Matrix, rebuild: bool
) -> tuple[dict[str, Search], dict[str, Any], Callable[[], Awaitable[None]]]:
    import psycopg
    from pgvector.psycopg import register_vector_async

    from beluga.schema import Document
    from beluga.vectorstores.providers.pgvector import PgVectorStore

    dsn = os.environ["BELUGA_PG_DSN"]
    table = f"bench_vectors_{len(data)}_{data.shape[1]}"
    store = PgVectorStore(
        dsn,
        table=table,
        m=M,
        ef_construction=EF_CONSTRUCTION,
        ef_search=EF_SEARCH,
        pool_size=2,
        dimensions=data.shape[1],
    )
    if rebuild:
        await store.drop()
    info_path = _cache(f"{table}.json", False)
    info = _load(info_path)
    if await store.count() != len(data):
        # One bulk load: rows in with the HNSW index dropped, the index built once at the end.
        await store.delete(filter={})
        start = time.perf_counter()
        async with store.bulk():
            for lo in range(0, len(data), 5_000):
                docs = [
                    Document(f"document {i}", id=str(i), metadata={"i": i, "group": i % 100})
                    for i in range(lo, min(lo + 5_000, len(data)))
                ]
                await store.upsert(docs, data[lo : lo + len(docs)])
            info["load_s"] = round(time.perf_counter() - start, 1)
        info["build_s"] = round(time.perf_counter() - start, 1)
        _save(info_path, info)
    conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
    await register_vector_async(conn)
    await conn.execute("SELECT set_config('hnsw.ef_search', %s, false)", (str(EF_SEARCH),))
    sql = f"SELECT id FROM {table} ORDER BY embedding <=> %s LIMIT {K}"

    async def framework(q: Matrix) -> list[int]:
        return [int(hit.document.id) for hit in await store.search(q, k=K)]

    async def raw(q: Matrix) -> list[int]:
        cur = await conn.execute(sql, (q,))
        return [int(row[0]) for row in await cur.fetchall()]

    rows_sql = f"SELECT id, text, metadata FROM {table} ORDER BY embedding <=> %s LIMIT {K}"

    async def by_hand(q: Matrix) -> list[int]:
        """The same query returning texts and metadata, as a user would write it."""
        cur = await conn.execute(rows_sql, (q,))
        return [int(row[0]) for row in await cur.fetchall()]

    async def close() -> None:
        await conn.close()
        await store.aclose()

    contenders = {"pgvector store": framework, "pgvector raw": raw, "pgvector by hand": by_hand}
    return contenders, info, close


def faiss_contender(data: Matrix, rebuild: bool) -> tuple[dict[str, Search], dict[str, Any]]:
    import faiss

    faiss.omp_set_num_threads(1)
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"faiss-{len(data)}-{data.shape[1]}.index"
    info_path = path.with_suffix(".json")
    info: dict[str, Any] = {}
    if path.exists() and not rebuild:
        index = faiss.read_index(str(path))
        info = json.loads(info_path.read_text()) if info_path.exists() else {}
    else:
        index = faiss.IndexHNSWFlat(data.shape[1], M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = EF_CONSTRUCTION
        faiss.omp_set_num_threads(2)
        start = time.perf_counter()
        index.add(data)
        info["build_s"] = round(time.perf_counter() - start, 1)
        faiss.omp_set_num_threads(1)
        faiss.write_index(index, str(path))
        info_path.write_text(json.dumps(info))
    index.hnsw.efSearch = EF_SEARCH

    async def search(q: Matrix) -> list[int]:
        return [int(i) for i in index.search(q[None, :], K)[1][0]]

    info["installed_mb"] = _installed_mb("faiss-cpu")
    return {"faiss-hnsw": search}, info


def _cache(name: str, rebuild: bool) -> Path:
    """``CACHE/name``, the folder made; with ``rebuild``, what it held under that name gone."""
    CACHE.mkdir(parents=True, exist_ok=True)
    if rebuild:
        for stale in CACHE.glob(name + "*"):
            stale.unlink()
    return CACHE / name


def _load(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text())) if path.exists() else {}


def _save(path: Path, info: dict[str, Any]) -> None:
    path.write_text(json.dumps(info))


def _installed_mb(distribution: str) -> float | None:
    import importlib.metadata

    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    total = sum(
        Path(str(dist.locate_file(f))).stat().st_size
        for f in dist.files or ()
        if Path(str(dist.locate_file(f))).is_file()
    )
    return round(total / 1e6, 1)


# --------------------------------------------------------------------------- timing


async def measure(
    contenders: dict[str, Search], queries: Matrix, truth: npt.NDArray[np.int64], rounds: int
) -> dict[str, dict[str, Any]]:
    names = list(contenders)
    for fn in contenders.values():  # warm up: caches, connections, the event loop
        for q in queries[:50]:
            await fn(q)
    latencies: dict[str, list[float]] = {n: [] for n in names}
    found: dict[str, list[list[int]]] = {n: [[] for _ in queries] for n in names}
    per_round = np.array_split(np.arange(len(queries)), rounds)
    for r, chunk in enumerate(per_round):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            fn = contenders[name]
            for i in chunk:
                start = time.perf_counter()
                found[name][i] = await fn(queries[i])
                latencies[name].append(time.perf_counter() - start)
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        times = sorted(latencies[name])
        out[name] = {
            "recall@10": round(recall_at_k(found[name], truth), 4),
            "median_us": round(statistics.median(times) * 1e6, 1),
            "p99_us": round(times[max(0, int(len(times) * 0.99) - 1)] * 1e6, 1),
            "qps": round(len(times) / sum(times), 1),
        }
    return out


async def run(
    n: int = 100_000,
    dims: int = 384,
    queries: int = 1_000,
    rounds: int = 10,
    rebuild: bool = False,
) -> dict[str, Any]:
    data, qs = clustered(n, queries, dims)
    truth = exact_top_k(data, qs, K)
    contenders: dict[str, Search] = {}
    builds: dict[str, Any] = {}
    closers: list[Callable[[], Awaitable[None]]] = []
    for system in ("faiss", "usearch"):
        found, info, close = await embedded_contenders(system, data, rebuild)
        contenders |= found
        builds[system] = info
        closers.append(close)
    if os.environ.get("BELUGA_PG_DSN"):
        found, info, close = await pgvector_contenders(data, rebuild)
        contenders |= found
        builds["pgvector"] = info
        closers.append(close)
    try:
        found, info = faiss_contender(data, rebuild)
        contenders |= found
        builds["faiss-hnsw"] = info
    except ImportError:
        print("faiss-cpu is not installed: no FAISS-HNSW figures", file=sys.stderr)
    try:
        results = await measure(contenders, qs, truth, rounds)
    finally:
        for close in closers:
            await close()
    summary: dict[str, Any] = {
        "vectors": n,
        "dims": dims,
        "queries": queries,
        "k": K,
        "results": results,
        "builds": builds,
    }
    for system in ("faiss", "usearch", "pgvector"):
        store, raw = results.get(f"{system} store"), results.get(f"{system} raw")
        hand = results.get(f"{system} by hand")
        if store and raw and hand:
            summary[f"{system}_overhead"] = {
                "ratio_vs_raw": round(store["median_us"] / raw["median_us"], 3),
                "us_vs_raw": round(store["median_us"] - raw["median_us"], 1),
                "ratio_vs_by_hand": round(store["median_us"] / hand["median_us"], 3),
                "us_vs_by_hand": round(store["median_us"] - hand["median_us"], 1),
            }
        if store and "faiss-hnsw" in results:
            summary[f"{system}_vs_faiss_qps"] = round(
                store["qps"] / results["faiss-hnsw"]["qps"], 3
            )
    return summary


def report(summary: dict[str, Any]) -> None:
    print(
        f"Vector stores: {summary['vectors']:,} clustered vectors x {summary['dims']} dims, "
        f"{summary['queries']} queries, k={summary['k']}, one thread, M=16 ef=64"
    )
    for name, row in summary["results"].items():
        print(
            f"  {name:15} recall@10 {row['recall@10']:.4f}  median {row['median_us']:8.1f} us  "
            f"p99 {row['p99_us']:8.1f} us  {row['qps']:8.1f} q/s"
        )
    for system in ("faiss", "usearch", "pgvector"):
        over = summary.get(f"{system}_overhead")
        if over:
            print(
                f"  {system}: store {over['ratio_vs_raw']:.3f}x the bare index "
                f"({over['us_vs_raw']:+.1f} us per query, documents read and decoded included; "
                f"target <= 1.20x), {over['ratio_vs_by_hand']:.3f}x the same by hand "
                f"({over['us_vs_by_hand']:+.1f} us)"
            )
        vs = summary.get(f"{system}_vs_faiss_qps")
        if vs is not None:
            print(f"  {system} store: {vs:.0%} of FAISS-HNSW queries/s (target >= 50%)")
    for system, info in summary["builds"].items():
        print(f"  build {system}: {info}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--rebuild", action="store_true", help="build every index again")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    summary = asyncio.run(run(args.n, args.dims, args.queries, args.rounds, args.rebuild))
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        report(summary)


if __name__ == "__main__":
    main()
