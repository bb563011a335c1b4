"""Vector stores: a small interface (:mod:`.base`) and one file per backend."""

from .base import VectorStore
from .faiss import FaissStore

__all__ = ["VectorStore", "FaissStore", "new_store"]


def new_store(kind: str, dim: int) -> VectorStore:
    if kind == "faiss":
        return FaissStore.create(dim)
    raise ValueError(f"unknown vector store '{kind}' (known: faiss)")
