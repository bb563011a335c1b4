"""Hybrid retrieval: dense (FAISS) and lexical (BM25) candidates fused by weighted RRF."""

from __future__ import annotations

import numpy as np

from index import Index
from index.embed import Embedder

from .config import RetrievalSettings
from .types import Passage


def fuse(rankings: list[list[int]], weights: list[float], k: int = 60) -> list[tuple[int, float]]:
    """Weighted reciprocal rank fusion of ranked id lists; returns (id, score) best first."""
    scores: dict[int, float] = {}
    for ranking, w in zip(rankings, weights):
        for rank, cid in enumerate(ranking):
            scores[cid] = scores.get(cid, 0.0) + w / (k + rank + 1)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def retrieve(
    index: Index,
    embedder: Embedder,
    question: str,
    top_k: int,
    settings: RetrievalSettings,
    query_vector: np.ndarray | None = None,
) -> list[Passage]:
    """The ``top_k`` passages for ``question``, best first."""
    if top_k <= 0 or not index.chunks:
        return []
    n = max(settings.candidates, top_k)
    vec = embedder.encode([question])[0] if query_vector is None else query_vector
    dense = index.dense(vec, n)
    lexical = index.lexical(question, n)
    fused = fuse(
        [[c.id for c, _ in dense], [c.id for c, _ in lexical]],
        [settings.dense_weight, settings.lexical_weight],
        settings.rrf_k,
    )
    out = []
    for cid, score in fused[:top_k]:
        c = index.chunks[index.by_id[cid]]
        out.append(Passage(c.source, c.start, c.end, c.text, round(score, 6), c.id))
    return out
