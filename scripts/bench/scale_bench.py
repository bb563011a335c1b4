"""bench_scale: dense retrieval latency, recall and memory at 10k, 100k and 1M chunks.

The corpus is synthetic (384-d unit vectors, like MiniLM's): topics → documents → chunks, each
level a Gaussian step around the one above, so that a document's chunks lie close together
and queries (new points near a document) have real nearest neighbours, as in a text corpus.
For each size the script measures, single-query like the product:

- exact search (``IndexFlatIP``), which is also the ground truth;
- HNSW (``IndexHNSWFlat``, the product's parameters, plus an ``efSearch`` sweep): build time,
  p50/p95 latency, recall@10 against exact search;
- the index type the product picks at that size (``FaissStore`` after ``optimize()``, through
  its own ``search``), with memory per chunk from the saved index file and RSS growth.

From the flat latencies it reports the size where exact search passes 5 ms, the basis of
``index.store.faiss.HNSW_MIN``. ``--quick``: 10k and 50k chunks, fewer queries.
"""

from __future__ import annotations

import gc
import tempfile
import time
from pathlib import Path

import numpy as np

from .common import parser, pct, rss_mb, table, write_json

DIM = 384
CHUNKS_PER_DOC = 8


def synthetic(n: int, n_queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` corpus vectors and ``n_queries`` query vectors, float32, unit length (see the module)."""
    rng = np.random.default_rng(seed)
    n_docs = max(1, n // CHUNKS_PER_DOC)
    n_topics = max(1, int(np.sqrt(n_docs)))

    def unit(x: np.ndarray) -> np.ndarray:
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        return x

    def noise(rows: int, scale: float) -> np.ndarray:
        return rng.standard_normal((rows, DIM), dtype=np.float32) * np.float32(scale / np.sqrt(DIM))

    topics = unit(rng.standard_normal((n_topics, DIM), dtype=np.float32))
    docs = unit(topics[rng.integers(0, n_topics, n_docs)] + noise(n_docs, 0.8))
    out = np.empty((n, DIM), dtype=np.float32)
    step = 100_000
    for i in range(0, n, step):
        rows = min(step, n - i)
        out[i : i + rows] = unit(docs[(np.arange(i, i + rows)) // CHUNKS_PER_DOC % n_docs] + noise(rows, 0.6))
    queries = unit(docs[rng.integers(0, n_docs, n_queries)] + noise(n_queries, 0.6))
    return out, queries


def _latencies(search, queries: np.ndarray) -> tuple[list[float], list[np.ndarray]]:
    """Per-query seconds and ids, one query at a time on one FAISS thread, as the product searches."""
    from index.store.faiss import one_thread

    lat, found = [], []
    with one_thread():
        for q in queries:
            t0 = time.perf_counter()
            ids = search(q)
            lat.append(time.perf_counter() - t0)
            found.append(ids)
    return lat, found


def recall_at(found: list[np.ndarray], truth: np.ndarray, k: int = 10) -> float:
    """Mean share of the true top ``k`` among the ``k`` found, per query."""
    return float(np.mean([len(set(map(int, f[:k])) & set(map(int, t[:k]))) / k for f, t in zip(found, truth)]))


def measure_size(n: int, n_queries: int, ef_sweep: list[int]) -> dict:
    """All measurements at one corpus size."""
    import faiss

    from index.store import faiss as fs

    out: dict = {"n": n}
    t0 = time.perf_counter()
    vecs, queries = synthetic(n, n_queries, seed=n)
    out["generate_s"] = time.perf_counter() - t0
    ids = np.arange(n, dtype=np.int64) * 2 + 1  # chunk ids are not row numbers in the product

    # exact search: the ground truth, and the latency of the flat store
    flat = fs.flat_index(DIM)
    flat.add_with_ids(vecs, ids)
    truth = flat.search(queries, 10)[1]
    lat, found = _latencies(lambda q: flat.search(q.reshape(1, -1), 10)[1][0], queries)
    out["flat"] = {"p50_ms": pct(lat, 50) * 1e3, "p95_ms": pct(lat, 95) * 1e3, "recall@10": recall_at(found, truth)}
    flat = None
    gc.collect()

    # HNSW with the product's parameters, and its efSearch trade-off
    rss0 = rss_mb()
    t0 = time.perf_counter()
    hnsw = fs.hnsw_index(DIM)
    for i in range(0, n, 65536):
        hnsw.add_with_ids(vecs[i : i + 65536], ids[i : i + 65536])
    out["hnsw_build_s"] = time.perf_counter() - t0
    out["hnsw_rss_growth_mb"] = rss_mb() - rss0
    sweep = []
    for ef in ef_sweep:
        params = faiss.SearchParametersHNSW()
        params.efSearch = ef
        lat, found = _latencies(lambda q, p=params: hnsw.search(q.reshape(1, -1), 10, params=p)[1][0], queries)
        sweep.append({"ef_search": ef, "p50_ms": pct(lat, 50) * 1e3, "p95_ms": pct(lat, 95) * 1e3,
                      "recall@10": recall_at(found, truth)})
    out["hnsw_sweep"] = sweep

    # the product's choice at this size, through FaissStore itself (saved and loaded, as an index is)
    store = fs.FaissStore(hnsw if n >= fs.hnsw_min() else fs.flat_index(DIM))
    if store.kind == "flat":
        store.add(ids, vecs)
    hnsw = None
    store.optimize()
    with tempfile.TemporaryDirectory() as tmp:
        store.save(Path(tmp))
        size = (Path(tmp) / fs.FILE).stat().st_size
        store = None
        gc.collect()
        rss0 = rss_mb()
        t0 = time.perf_counter()
        store = fs.FaissStore.load(Path(tmp))
        out["load_s"] = time.perf_counter() - t0
        out["load_rss_growth_mb"] = rss_mb() - rss0
    lat, found = _latencies(lambda q: store.search(q, 10)[0], queries)
    out["product"] = {"index": store.describe(), "p50_ms": pct(lat, 50) * 1e3, "p95_ms": pct(lat, 95) * 1e3,
                      "recall@10": recall_at(found, truth),
                      "file_mb": size / 1e6, "bytes_per_chunk": size / n}
    store = vecs = None
    gc.collect()
    return out


def main(argv: list[str] | None = None) -> int:
    p = parser("Dense retrieval latency, recall@10 and memory at 10k, 100k and 1M synthetic chunks.")
    p.add_argument("--sizes", default=None, help="comma-separated corpus sizes (default 10000,100000,1000000; "
                   "--quick: 10000,50000)")
    p.add_argument("--queries", type=int, default=300, help="queries per size")
    p.add_argument("--ef", default="32,64,96,128,192", help="HNSW efSearch values to sweep")
    args = p.parse_args(argv)
    sizes = [int(s) for s in (args.sizes or ("10000,50000" if args.quick else "10000,100000,1000000")).split(",")]
    n_queries = 100 if args.quick else args.queries
    ef_sweep = [int(e) for e in args.ef.split(",")]

    from index.store import faiss as fs

    results = []
    for n in sizes:
        print(f"[bench_scale] {n:,} chunks ...", flush=True)
        results.append(measure_size(n, n_queries, ef_sweep))

    table("Dense retrieval, one query at a time, top 10 (the product's pick per size)",
          ["chunks", "product index", "p50 ms", "p95 ms", "recall@10", "bytes/chunk", "index MB", "load s",
           "exact p50 ms", "HNSW build s"],
          [[r["n"], r["product"]["index"], r["product"]["p50_ms"], r["product"]["p95_ms"], r["product"]["recall@10"],
            r["product"]["bytes_per_chunk"], r["product"]["file_mb"], r["load_s"], r["flat"]["p50_ms"],
            r["hnsw_build_s"]] for r in results])
    table(f"HNSW efSearch sweep (M={fs.HNSW_M}, efConstruction={fs.EF_CONSTRUCTION}; product efSearch={fs.EF_SEARCH})",
          ["chunks", "efSearch", "p50 ms", "p95 ms", "recall@10"],
          [[r["n"], s["ef_search"], s["p50_ms"], s["p95_ms"], s["recall@10"]] for r in results for s in r["hnsw_sweep"]])
    # where exact search crosses 5 ms (log-linear interpolation between measured sizes)
    pts = [(r["n"], r["flat"]["p50_ms"]) for r in results]
    cross = None
    for (n0, t0), (n1, t1) in zip(pts, pts[1:]):
        if t0 <= 5 < t1:
            cross = int(n0 + (5 - t0) * (n1 - n0) / (t1 - t0))
    print(f"exact search passes 5 ms at about {cross:,} chunks" if cross else "exact search stays on one side of 5 ms "
          "over the measured sizes", f"(product threshold HNSW_MIN={fs.hnsw_min():,})", flush=True)
    write_json("bench_scale", {"quick": args.quick, "queries": n_queries, "hnsw_min": fs.hnsw_min(),
                               "flat_5ms_crossing": cross, "results": results}, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
