"""Hybrid retrieval: dense (FAISS) and lexical (BM25) candidates, fused, then widened.

Two fusions are available (``RetrievalSettings.fusion``):

* ``"rrf"`` (default): weighted reciprocal rank fusion;
* ``"score"``: a weighted sum of each retriever's scores, each divided by its best
  score for the question (``dense_weight`` and ``lexical_weight``); a chunk missing from one
  list gets that list's lowest score. It keeps how *much* better the best BM25 match is, which
  ranks better than ranks alone on COVID-QA's long papers but lost two seeds dev questions
  (see the README's Quality section).

Retrieval is done on small chunks, but each passage returned is the chunk widened by
``window`` neighbouring chunks on each side (retrieve small, answer with the larger context;
always an exact slice of the source text). A chunk that falls inside an already returned
passage is skipped, so the ``top_k`` passages are distinct stretches of text.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from index import Index
from index.embed import Embedder
from index.types import Chunk

from .config import RetrievalSettings
from .types import Passage


def fuse(rankings: list[list[int]], weights: list[float], k: int = 60) -> list[tuple[int, float]]:
    """Weighted reciprocal rank fusion of ranked id lists; returns (id, score) best first."""
    scores: dict[int, float] = {}
    for ranking, w in zip(rankings, weights):
        for rank, cid in enumerate(ranking):
            scores[cid] = scores.get(cid, 0.0) + w / (k + rank + 1)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def fuse_scores(results: list[list[tuple[int, float]]], weights: list[float]) -> list[tuple[int, float]]:
    """Weighted sum of max-normalised scores of scored id lists; returns (id, score) best first.

    Each list's scores are divided by its best one; an id absent from a list gets that list's
    lowest normalised score (it ranked below everything listed). Lists whose best score is not
    positive contribute nothing.
    """
    norm: list[tuple[dict[int, float], float, float]] = []
    for result, w in zip(results, weights):
        best = max((s for _, s in result), default=0.0)
        if best <= 0:
            continue
        values = {cid: s / best for cid, s in result}
        norm.append((values, min(values.values()), w))
    ids = dict.fromkeys(cid for values, _, _ in norm for cid in values)
    scores = {cid: sum(w * values.get(cid, floor) for values, floor, w in norm) for cid in ids}
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def _widen(index: Index, chunk: Chunk, window: int) -> tuple[int, int]:
    """The span of ``chunk`` and up to ``window`` neighbouring chunks of its source on each side."""
    pos = index.by_id[chunk.id]
    lo = hi = pos
    chunks = index.chunks
    while lo > pos - window and lo > 0 and chunks[lo - 1].source == chunk.source and chunks[lo - 1].start < chunk.start:
        lo -= 1
    while hi < pos + window and hi + 1 < len(chunks) and chunks[hi + 1].source == chunk.source \
            and chunks[hi + 1].end > chunk.end:
        hi += 1
    return min(chunks[lo].start, chunk.start), max(chunks[hi].end, chunk.end)


def passage_for(index: Index, chunk: Chunk, score: float, window: int) -> Passage:
    """The passage for a retrieved chunk, widened by ``window`` neighbours when the source text is at hand."""
    if window > 0:
        start, end = _widen(index, chunk, window)
        if (start, end) != (chunk.start, chunk.end):
            try:
                text = index.text_of(chunk.source)
            except Exception:  # source gone or unreadable: the chunk alone is still exact
                text = None
            if text is not None and text[chunk.start : chunk.end] == chunk.text:
                return Passage(chunk.source, start, end, text[start:end], round(score, 6), chunk.id,
                               *index.locate(chunk.source, start))
    return Passage(chunk.source, chunk.start, chunk.end, chunk.text, round(score, 6), chunk.id,
                   *index.locate(chunk.source, chunk.start))


def retrieve(
    index: Index,
    embedder: Embedder,
    question: str,
    top_k: int,
    settings: RetrievalSettings,
    query_vector: np.ndarray | None = None,
    keep: Callable[[str], bool] | None = None,
) -> list[Passage]:
    """The ``top_k`` passages for ``question``, best first.

    ``keep`` (source path → bool) restricts retrieval to the chunks of the sources it accepts,
    inside the vector store and BM25 (not by over-fetching and discarding).
    """
    if top_k <= 0 or not index.chunks:
        return []
    rows = index.rows_where(keep) if keep is not None else None
    if rows is not None and len(rows) == 0:
        return []
    n = max(settings.candidates, top_k)
    vec = embedder.encode([question])[0] if query_vector is None else query_vector
    dense = [(c.id, s) for c, s in index.dense(vec, n, rows)]
    lexical = [(c.id, s) for c, s in index.lexical(question, n, rows)]
    weights = [settings.dense_weight, settings.lexical_weight]
    if settings.fusion == "rrf":
        fused = fuse([[cid for cid, _ in dense], [cid for cid, _ in lexical]], weights, settings.rrf_k)
    elif settings.fusion == "score":
        fused = fuse_scores([dense, lexical], weights)
    else:
        raise ValueError(f"unknown fusion {settings.fusion!r}: use 'score' or 'rrf'")
    out: list[Passage] = []
    for cid, score in fused:
        c = index.chunks[index.by_id[cid]]
        if any(p.source == c.source and p.start <= c.start and c.end <= p.end for p in out):
            continue  # already inside a returned passage
        out.append(passage_for(index, c, score, settings.window))
        if len(out) >= top_k:
            break
    return out
