"""The vector-store interface (add, delete, search, count, save and load), and the corpus-store interface of a
store that holds the whole index (every chunk's text and metadata, the lexical index, the documents' text)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from ..types import Chunk


class StoreUnavailableError(RuntimeError):
    """A store kept elsewhere (a Milvus server) could not be reached or refused the request."""


class VectorStore(ABC):
    """Inner-product search over unit vectors, keyed by int64 chunk ids."""

    holds_chunks: bool = False
    """False: the index keeps the chunks, BM25 and the documents' text in its generation folder beside the
    store. True: a :class:`CorpusStore`, which holds them itself."""

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


class CorpusStore(VectorStore):
    """A store that holds the whole index: the vectors, each chunk's text and metadata, a BM25 index over the
    chunks' terms (ranked inside the store) and the text of every document, which offsets refer to.

    An index on such a store keeps nothing of its own but the manifest and where the store is: no
    ``chunks.jsonl``, ``bm25/`` or ``texts/``. Like :meth:`add` and :meth:`delete`, the building methods change
    nothing saved: they take effect in the copy that :meth:`save` writes. Chunks deleted by id go with their
    rows; documents are kept by content hash (``sha``), those :meth:`keep_texts` names.
    """

    holds_chunks = True

    # -- building ----------------------------------------------------------------------------------------
    @abstractmethod
    def add_chunks(self, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Add ``chunks`` (with their text, source, offsets, page and section) and their ``vectors``."""

    @abstractmethod
    def rename(self, old: str, new: str) -> None:
        """The chunks of source ``old`` belong to ``new`` (a renamed file with the same content)."""

    @abstractmethod
    def add_text(self, sha: str, offset: int, text: str) -> None:
        """``text`` is document ``sha``'s text from ``offset`` on (the whole document, or one window of it)."""

    @abstractmethod
    def keep_texts(self, shas: set[str]) -> None:
        """Save the text of these documents only (those the manifest still lists)."""

    # -- reading -----------------------------------------------------------------------------------------
    @abstractmethod
    def dense(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[Chunk, float]]:
        """The top ``k`` chunks by inner product with ``vector``, restricted to the ids ``allowed``."""

    @abstractmethod
    def lexical(self, terms: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[Chunk, float]]:
        """The top ``k`` chunks by BM25 for ``terms`` (:func:`index.lexical.terms` of the question)."""

    @abstractmethod
    def hybrid(
        self,
        vector: np.ndarray,
        terms: str,
        k: int,
        allowed: np.ndarray | None,
        fusion: str,
        weights: tuple[float, float],
        rrf_k: int,
    ) -> list[tuple[Chunk, float]]:
        """The top ``k`` chunks by dense and BM25 ranking fused inside the store: ``fusion`` ``"rrf"``
        (reciprocal rank fusion with ``rrf_k``; equal weights) or ``"score"`` (weighted sum of normalised
        scores, ``weights`` = dense, lexical)."""

    @abstractmethod
    def chunks(self, ids: list[int]) -> list[Chunk]:
        """The chunks with these ids, in that order (unknown ids are left out)."""

    @abstractmethod
    def all_chunks(self) -> list[Chunk]:
        """Every chunk (for tools and tests: retrieval never needs them all)."""

    @abstractmethod
    def text(self, sha: str, start: int = 0, end: int | None = None) -> str:
        """``text[start:end]`` of document ``sha`` (KeyError when the store does not hold it)."""
