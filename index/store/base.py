"""The vector-store interface: add, delete, search, count, save and load."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np


class VectorStore(ABC):
    """Inner-product search over unit vectors, keyed by int64 chunk ids."""

    @abstractmethod
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add ``vectors`` (n, dim float32) under ``ids`` (n int64)."""

    @abstractmethod
    def delete(self, ids: np.ndarray) -> None:
        """Remove the vectors with these ids (unknown ids are ignored)."""

    @abstractmethod
    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """For a (dim,) query, the top ``k`` ``(ids, scores)`` by inner product.

        ``allowed`` (int64 ids) restricts the search to those vectors, inside the store (not by
        fetching more and discarding): a question scoped to some sources, or an evaluation that
        leaves a document out.
        """

    @abstractmethod
    def count(self) -> int:
        """Number of vectors stored."""

    @abstractmethod
    def describe(self) -> str:
        """The index kept, for the manifest and benchmarks (e.g. ``flat``, ``hnsw(...)``, a collection)."""

    @abstractmethod
    def save(self, directory: Path) -> None:
        """Write the store into ``directory``."""

    @classmethod
    @abstractmethod
    def load(cls, directory: Path) -> VectorStore:
        """Read a store written by :meth:`save`."""
