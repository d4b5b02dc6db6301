"""How the embedded default vector index was chosen: the candidates measured side by side.

``python -m benchmarks.vectorstores_candidates --n 20000`` (in ``.venv-bench``, which has every
candidate; see benchmarks/peers.txt) builds each library's index over the same seeded, clustered
vectors and reports build time, recall@10 against exact search, single-query latency (median,
p99) and queries/s on one thread, the saved index's size and load time, and the installed size.
The table in docs/readme/vectorstores.md is its output. A library that cannot run here is
reported with the reason.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from benchmarks.vectorstores import K, clustered, exact_top_k, recall_at_k

Matrix = npt.NDArray[np.float32]


def _site_size(*names: str) -> float:
    """Installed size of these distributions (and nothing they pull in), in MB."""
    total = 0
    for name in names:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        for file in dist.files or ():
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                total += path.stat().st_size
    return total / 1e6


def _latencies(
    search: Callable[[Matrix], list[int]], queries: Matrix
) -> tuple[list[list[int]], list[float]]:
    found: list[list[int]] = []
    times: list[float] = []
    for q in queries[:20]:
        search(q)
    for q in queries:
        start = time.perf_counter()
        found.append(search(q))
        times.append(time.perf_counter() - start)
    return found, times


def _row(
    name: str, build_s: float, found: list[list[int]], times: list[float], truth: Any, **extra: Any
) -> dict[str, Any]:
    times_sorted = sorted(times)
    return {
        "library": name,
        "build_s": round(build_s, 2),
        "recall@10": round(recall_at_k(found, truth), 4),
        "median_ms": round(statistics.median(times) * 1e3, 3),
        "p99_ms": round(times_sorted[int(len(times) * 0.99) - 1] * 1e3, 3),
        "qps": round(len(times) / sum(times), 1),
        **extra,
    }


def bench_usearch(data: Matrix, queries: Matrix, truth: Any, tmp: Path) -> dict[str, Any]:
    from usearch.index import Index

    index = Index(
        ndim=data.shape[1],
        metric="cos",
        dtype="f32",
        connectivity=16,
        expansion_add=128,
        expansion_search=64,
    )
    keys = np.arange(len(data), dtype=np.uint64)
    start = time.perf_counter()
    index.add(keys, data, threads=1)
    build = time.perf_counter() - start
    found, times = _latencies(
        lambda q: [int(k) for k in index.search(q, K, threads=1).keys], queries
    )
    path = tmp / "usearch.index"
    index.save(str(path))
    start = time.perf_counter()
    loaded = Index.restore(str(path))
    load = time.perf_counter() - start
    assert loaded is not None and len(loaded) == len(data)
    return _row(
        f"usearch {importlib.metadata.version('usearch')}",
        build,
        found,
        times,
        truth,
        file_mb=round(path.stat().st_size / 1e6, 1),
        load_s=round(load, 3),
        installed_mb=round(_site_size("usearch"), 1),
        persistence="save()/restore() of one file; writes are not atomic (wrap: tmp + rename)",
        filter="no predicate in Python; exact search over a key subset via get()",
    )


def bench_hnswlib(data: Matrix, queries: Matrix, truth: Any, tmp: Path) -> dict[str, Any]:
    import hnswlib

    index = hnswlib.Index(space="cosine", dim=data.shape[1])
    index.init_index(max_elements=len(data), M=16, ef_construction=128)
    index.set_num_threads(1)
    start = time.perf_counter()
    index.add_items(data, np.arange(len(data)), num_threads=1)
    build = time.perf_counter() - start
    index.set_ef(64)
    found, times = _latencies(
        lambda q: [int(k) for k in index.knn_query(q, k=K, num_threads=1)[0][0]], queries
    )
    path = tmp / "hnswlib.index"
    index.save_index(str(path))
    start = time.perf_counter()
    loaded = hnswlib.Index(space="cosine", dim=data.shape[1])
    loaded.load_index(str(path), max_elements=len(data))
    load = time.perf_counter() - start
    return _row(
        f"hnswlib {importlib.metadata.version('hnswlib')}",
        build,
        found,
        times,
        truth,
        file_mb=round(path.stat().st_size / 1e6, 1),
        load_s=round(load, 3),
        installed_mb=round(_site_size("hnswlib"), 1),
        persistence="save_index()/load_index(); not atomic; last release 2023-12",
        filter="Python predicate per visited node (knn_query filter=)",
    )


def bench_faiss(data: Matrix, queries: Matrix, truth: Any, tmp: Path) -> dict[str, Any]:
    import faiss

    faiss.omp_set_num_threads(1)
    index = faiss.IndexHNSWFlat(data.shape[1], 16, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 128
    start = time.perf_counter()
    index.add(data)
    build = time.perf_counter() - start
    index.hnsw.efSearch = 64
    found, times = _latencies(
        lambda q: [int(i) for i in index.search(q[None, :], K)[1][0]], queries
    )
    path = tmp / "faiss.index"
    faiss.write_index(index, str(path))
    return _row(
        f"faiss-cpu {importlib.metadata.version('faiss-cpu')} (HNSW, reference)",
        build,
        found,
        times,
        truth,
        file_mb=round(path.stat().st_size / 1e6, 1),
        installed_mb=round(_site_size("faiss-cpu"), 1),
        persistence="write_index()/read_index(); not atomic",
        filter="IDSelector (C++), no metadata",
    )


def bench_lancedb(data: Matrix, queries: Matrix, truth: Any, tmp: Path) -> dict[str, Any]:
    import lancedb
    import pyarrow as pa

    db = lancedb.connect(str(tmp / "lance"))
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(data.reshape(-1)), data.shape[1])
    table = db.create_table(
        "docs", pa.table({"id": pa.array(np.arange(len(data))), "vector": vectors})
    )
    start = time.perf_counter()
    table.create_index(metric="cosine", index_type="IVF_HNSW_SQ", vector_column_name="vector")
    build = time.perf_counter() - start

    def search(q: Matrix) -> list[int]:
        rows = table.search(q).metric("cosine").limit(K).select(["id"]).to_arrow()
        return [int(i) for i in rows.column("id").to_pylist()]

    found, times = _latencies(search, queries[: max(len(queries) // 4, 25)])
    size = sum(p.stat().st_size for p in (tmp / "lance").rglob("*") if p.is_file())
    return _row(
        f"lancedb {importlib.metadata.version('lancedb')} (IVF_HNSW_SQ)",
        build,
        found,
        times,
        truth[: len(found)],
        file_mb=round(size / 1e6, 1),
        installed_mb=round(_site_size("lancedb", "pylance", "pyarrow"), 1),
        persistence="versioned Lance files, atomic commits",
        filter="SQL string where= (values must be escaped by the caller)",
    )


def bench_sqlite_vec(data: Matrix, queries: Matrix, truth: Any, tmp: Path) -> dict[str, Any]:
    import sqlite3

    import sqlite_vec

    connection = sqlite3.connect(str(tmp / "vec.db"))
    if not hasattr(connection, "enable_load_extension"):
        return {
            "library": f"sqlite-vec {importlib.metadata.version('sqlite-vec')}",
            "error": "this Python's sqlite3 cannot load extensions (no enable_load_extension)",
            "installed_mb": round(_site_size("sqlite-vec"), 1),
        }
    connection.enable_load_extension(True)
    sqlite_vec.load(connection)
    connection.execute(
        f"create virtual table v using vec0(embedding float[{data.shape[1]}] "
        "distance_metric=cosine)"
    )
    start = time.perf_counter()
    connection.executemany(
        "insert into v(rowid, embedding) values (?, ?)",
        ((i, row.tobytes()) for i, row in enumerate(data)),
    )
    connection.commit()
    build = time.perf_counter() - start

    def search(q: Matrix) -> list[int]:
        rows = connection.execute(
            "select rowid from v where embedding match ? and k = ?", (q.tobytes(), K)
        )
        return [int(r[0]) for r in rows]

    found, times = _latencies(search, queries[: max(len(queries) // 4, 25)])
    return _row(
        f"sqlite-vec {importlib.metadata.version('sqlite-vec')} (exact scan)",
        build,
        found,
        times,
        truth[: len(found)],
        installed_mb=round(_site_size("sqlite-vec"), 1),
        persistence="SQLite transactions",
        filter="metadata columns in SQL",
    )


CANDIDATES = {
    "usearch": bench_usearch,
    "hnswlib": bench_hnswlib,
    "faiss": bench_faiss,
    "sqlite-vec": bench_sqlite_vec,
    "lancedb": bench_lancedb,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="vectors")
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--only", nargs="*", default=list(CANDIDATES))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data, queries = clustered(args.n, args.queries, args.dims)
    truth = exact_top_k(data, queries, K)
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="beluga-vs-"))
    try:
        for name in args.only:
            where = tmp / name
            where.mkdir()
            try:
                rows.append(CANDIDATES[name](data, queries, truth, where))
            except ImportError as exc:
                rows.append({"library": name, "error": f"not installed: {exc}"})
            print(json.dumps(rows[-1]), file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(
        f"{args.n:,} clustered vectors x {args.dims} dims, {args.queries} queries, k={K}, 1 thread"
    )
    for row in rows:
        print("  " + ", ".join(f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
