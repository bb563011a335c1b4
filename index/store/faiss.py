"""FAISS backend: exact inner-product search (``IndexFlatIP``) behind an id map."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from .base import VectorStore

FILE = "vectors.faiss"


class FaissStore(VectorStore):
    def __init__(self, index):
        self.index = index

    @classmethod
    def create(cls, dim: int) -> FaissStore:
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dim)))

    @property
    def dim(self) -> int:
        return self.index.d

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))

    def delete(self, ids: np.ndarray) -> None:
        if len(ids):
            self.index.remove_ids(np.asarray(ids, dtype=np.int64))

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        n = self.count()
        if n == 0 or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores, ids = self.index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), min(k, n))
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def count(self) -> int:
        return int(self.index.ntotal)

    def save(self, directory: Path) -> None:
        faiss.write_index(self.index, str(Path(directory) / FILE))

    @classmethod
    def load(cls, directory: Path) -> FaissStore:
        return cls(faiss.read_index(str(Path(directory) / FILE)))
