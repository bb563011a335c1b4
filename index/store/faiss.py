"""FAISS backend: exact inner-product search for small corpora, HNSW for large ones, behind an id map.

The index type follows the size of the corpus (measured by ``scripts/bench_scale``):

- below :data:`HNSW_MIN` vectors, ``IndexIDMap2(IndexFlatIP)``: exact search, deletes in place;
- from :data:`HNSW_MIN` on, ``IndexIDMap2(IndexHNSWFlat)`` (inner product, ``M`` = :data:`HNSW_M`):
  graph search, well under 20 ms at a million chunks with recall@10 above 0.95.

HNSW cannot remove a vector from its graph, so a delete marks the vector dead: its id in the id
map becomes -1 and searches skip it with an id selector (the dead vector still helps navigation).
The dead are dropped by rebuilding the graph once they are more than :data:`COMPACT_DEAD` of it.
All of that lives in the one ``vectors.faiss`` file. The type is settled when the store is saved
(:meth:`FaissStore.optimize`), so a large build adds to a flat index and builds the graph once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import faiss
import numpy as np

from .base import VectorStore

FILE = "vectors.faiss"

#: Corpus size from which the store uses HNSW instead of exact search (``RAGQA_HNSW_MIN`` overrides).
#: bench_scale, 2 cores: exact search takes ~0.5 ms at 10k chunks, ~5 ms at 100k, ~50 ms at 1M.
HNSW_MIN = 50_000
#: Graph degree, build and search breadth of HNSW. bench_scale at 1M chunks (2 cores): efSearch 96
#: gave recall@10 0.938 (p50 0.29 ms), 128 gave 0.952, 192 gave 0.972 (p50 0.42 ms); at 100k, 64 and
#: up gave 1.000 within 0.25 ms. 192 keeps recall above 0.95 at 1M for a fraction of a ms.
HNSW_M = 32
EF_CONSTRUCTION = 100
EF_SEARCH = 192
#: Share of dead (deleted) vectors in an HNSW graph above which saving rebuilds it without them.
COMPACT_DEAD = 0.2


@contextmanager
def one_thread() -> Iterator[None]:
    """Run FAISS on one OpenMP thread in this thread (restored afterwards).

    A single query gains nothing from OpenMP threads, and on a busy 2-core machine waiting for
    them costs far more than the search (bench_scale: HNSW at 50k chunks 16 ms with 2 threads,
    0.04 ms with one). The setting is per calling thread, so builds elsewhere keep their threads.
    """
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def hnsw_min() -> int:
    """The corpus size from which HNSW is used (``RAGQA_HNSW_MIN`` or :data:`HNSW_MIN`)."""
    value = os.environ.get("RAGQA_HNSW_MIN")
    try:
        return int(value) if value else HNSW_MIN
    except ValueError as exc:
        raise ValueError(f"RAGQA_HNSW_MIN must be an integer, got {value!r}") from exc


def flat_index(dim: int) -> faiss.Index:
    """An empty exact inner-product index with id mapping."""
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def hnsw_index(dim: int, m: int = HNSW_M, ef_construction: int = EF_CONSTRUCTION) -> faiss.Index:
    """An empty HNSW inner-product index with id mapping."""
    inner = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
    inner.hnsw.efConstruction = ef_construction
    return faiss.IndexIDMap2(inner)


class FaissStore(VectorStore):
    """Vectors in a FAISS index keyed by int64 chunk ids; flat or HNSW by size (see the module)."""

    name = "faiss"

    def __init__(self, index, ef_search: int = EF_SEARCH, min_hnsw: int | None = None):
        self.index = index
        self.ef_search = ef_search
        self.min_hnsw = hnsw_min() if min_hnsw is None else min_hnsw
        self._dead = self._count_dead()
        # searches skip the ids of dead vectors (-1); kept as attributes so SWIG does not free them
        self._dead_ids = faiss.IDSelectorBatch(np.array([-1], dtype=np.int64))
        self._live = faiss.IDSelectorNot(self._dead_ids)

    @classmethod
    def create(cls, dim: int) -> FaissStore:
        return cls(flat_index(dim))

    # -- what kind of index ------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return self.index.d

    @property
    def inner(self) -> faiss.Index:
        """The index under the id map (``IndexFlatIP`` or ``IndexHNSWFlat``)."""
        return faiss.downcast_index(self.index.index)

    @property
    def kind(self) -> str:
        """``"flat"`` (exact) or ``"hnsw"``."""
        return "hnsw" if isinstance(self.inner, faiss.IndexHNSW) else "flat"

    def describe(self) -> str:
        """The index type and its parameters, e.g. ``flat`` or ``hnsw(M=32,efC=100,efS=96)``."""
        if self.kind == "flat":
            return "flat"
        h = self.inner.hnsw
        return f"hnsw(M={h.nb_neighbors(1)},efC={h.efConstruction},efS={self.ef_search})"

    def _ids(self) -> np.ndarray:
        return faiss.vector_to_array(self.index.id_map).astype(np.int64, copy=False)

    def _count_dead(self) -> int:
        return int((self._ids() < 0).sum()) if self.kind == "hnsw" else 0

    # -- the interface -----------------------------------------------------------------------
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))

    def delete(self, ids: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids) or self.index.ntotal == 0:
            return
        if self.kind == "flat":
            self.index.remove_ids(ids)
            return
        current = self._ids().copy()
        gone = np.isin(current, ids[ids >= 0])
        if gone.any():
            current[gone] = -1
            faiss.copy_array_to_vector(current, self.index.id_map)
            self.index.construct_rev_map()
            self._dead += int(gone.sum())

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        n = self.count() if allowed is None else min(self.count(), len(allowed))
        if n == 0 or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        k = min(k, n)
        q = np.asarray(query, dtype=np.float32).reshape(1, -1)
        params = None
        # selectors are kept in locals until the search returns, so SWIG does not free them early
        only = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64)) if allowed is not None else None
        if self.kind == "hnsw":
            params = faiss.SearchParametersHNSW()
            params.efSearch = max(self.ef_search, k)
            sel = self._live if self._dead else None
            if only is not None:
                both = faiss.IDSelectorAnd(only, self._live) if sel is not None else None
                sel = both if both is not None else only
            if sel is not None:
                params.sel = sel
        elif only is not None:
            params = faiss.SearchParameters()
            params.sel = only
        with one_thread():
            scores, ids = self.index.search(q, k, params=params)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def count(self) -> int:
        return int(self.index.ntotal) - self._dead

    def vectors(self, ids: list[int]) -> np.ndarray:
        """The stored vectors of these ids (KeyError-like RuntimeError for an unknown id)."""
        if not ids:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self.index.reconstruct(int(i)) for i in ids])

    # -- settling the type -------------------------------------------------------------------
    def _live_items(self) -> tuple[np.ndarray, np.ndarray]:
        ids = self._ids()
        vecs = self.inner.reconstruct_n(0, self.index.ntotal) if self.index.ntotal else np.zeros((0, self.dim), np.float32)
        keep = ids >= 0
        return ids[keep], vecs[keep]

    def _rebuild(self, index: faiss.Index) -> None:
        ids, vecs = self._live_items()
        self.index = None  # free the old index before the new one grows: peak is one copy less
        step = 65536  # bounded temporary memory; HNSW adds in parallel within each part
        for i in range(0, len(ids), step):
            index.add_with_ids(np.ascontiguousarray(vecs[i : i + step]), ids[i : i + step])
        self.index = index
        self._dead = 0

    def optimize(self) -> str:
        """Settle the index type for the current size: flat → HNSW from :func:`hnsw_min` vectors on,
        HNSW → flat below half of it, and an HNSW graph with too many dead vectors is rebuilt.
        Returns :meth:`describe`."""
        n, threshold = self.count(), self.min_hnsw
        if self.kind == "flat" and n >= threshold:
            self._rebuild(hnsw_index(self.dim))
        elif self.kind == "hnsw" and n < threshold // 2:
            self._rebuild(flat_index(self.dim))
        elif self.kind == "hnsw" and self._dead > COMPACT_DEAD * self.index.ntotal:
            h = self.inner.hnsw
            self._rebuild(hnsw_index(self.dim, h.nb_neighbors(1), h.efConstruction))
        return self.describe()

    def save(self, directory: Path) -> None:
        """Settle the index type (:meth:`optimize`) and write it to ``directory``."""
        self.optimize()
        faiss.write_index(self.index, str(Path(directory) / FILE))

    @classmethod
    def load(cls, directory: Path) -> FaissStore:
        return cls(faiss.read_index(str(Path(directory) / FILE)))
