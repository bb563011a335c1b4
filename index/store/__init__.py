"""Vector stores: a small interface (:mod:`.base`) and one file per backend.

``faiss`` (default): in-process FAISS, saved in each index generation beside the chunks and BM25. ``milvus``:
the whole index (vectors, chunks, BM25, documents' text) in Milvus collections through pymilvus, embedded
Milvus Lite by default or a Milvus server/cluster (``RAGQA_MILVUS_URI``): a :class:`CorpusStore`.
The store an index uses is chosen by ``RAGQA_STORE`` when it is built and recorded in its manifest;
changing it rebuilds the index in full.
"""

from __future__ import annotations

from pathlib import Path

from .base import CorpusStore, VectorStore
from .faiss import FaissStore

__all__ = ["VectorStore", "CorpusStore", "FaissStore", "new_store", "load_store", "reusable", "STORES"]

STORES = ("faiss", "milvus")


def _cls(kind: str) -> type[VectorStore]:
    if kind == "faiss":
        return FaissStore
    if kind == "milvus":
        from .milvus import MilvusStore  # pymilvus is imported only when Milvus is used

        return MilvusStore
    raise ValueError(f"unknown vector store {kind!r} (known: {', '.join(STORES)}); set RAGQA_STORE to one of them")


def new_store(kind: str, dim: int) -> VectorStore:
    """An empty store of this kind (``faiss`` or ``milvus``) for ``dim``-dimensional vectors."""
    return _cls(kind).create(dim)


def load_store(kind: str, directory: Path) -> VectorStore:
    """The store of this kind saved in the generation folder ``directory``."""
    return _cls(kind).load(directory)


def reusable(kind: str, directory: Path) -> bool:
    """Whether a build can start from the store of this kind saved in ``directory`` (else it rebuilds in full)."""
    cls = _cls(kind)
    return cls.reusable(directory) if hasattr(cls, "reusable") else True
