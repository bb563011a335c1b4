"""Hybrid retrieval: dense (FAISS) and lexical (BM25) candidates, fused, then widened.

With the whole index in Milvus (``RAGQA_STORE=milvus``) the fusion runs there (``hybrid_search``): ``"rrf"`` with
Milvus's RRF ranker, which is this module's :func:`fuse` with equal weights (RRF with unequal weights is fused
here, from Milvus's dense and BM25 lists), and ``"score"`` with its weighted ranker, which normalises scores its
own way (arctan), not by the best score.

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
    before, after = index.neighbours(chunk, window)
    lo = hi = chunk
    for c in reversed(before):
        if c.source != chunk.source or c.start >= chunk.start:
            break
        lo = c
    for c in after:
        if c.source != chunk.source or c.end <= chunk.end:
            break
        hi = c
    return min(lo.start, chunk.start), max(hi.end, chunk.end)


def passage_for(index: Index, chunk: Chunk, score: float, window: int) -> Passage:
    """The passage for a retrieved chunk, widened by ``window`` neighbours when the source text is at hand."""
    if window > 0:
        start, end = _widen(index, chunk, window)
        if (start, end) != (chunk.start, chunk.end):
            try:
                text = index.excerpt(chunk.source, start, end)
            except Exception:  # source gone or unreadable: the chunk alone is still exact
                text = None
            if text is not None and len(text) == end - start \
                    and text[chunk.start - start : chunk.end - start] == chunk.text:
                return Passage(chunk.source, start, end, text, round(score, 6), chunk.id,
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
    if top_k <= 0 or not index.size:
        return []
    rows = index.scope(keep) if keep is not None else None
    if rows is not None and len(rows) == 0:
        return []
    n = max(settings.candidates, top_k)
    vec = embedder.encode([question])[0] if query_vector is None else query_vector
    out: list[Passage] = []
    for c, score in ranked(index, question, vec, n, rows, settings):
        if any(p.source == c.source and p.start <= c.start and c.end <= p.end for p in out):
            continue  # already inside a returned passage
        out.append(passage_for(index, c, score, settings.window))
        if len(out) >= top_k:
            break
    return out


def ranked(index: Index, question: str, vector: np.ndarray, n: int, rows: np.ndarray | None,
           settings: RetrievalSettings) -> list[tuple[Chunk, float]]:
    """Chunks ranked by dense and lexical retrieval fused as ``settings`` says, best first: in the store when it
    fuses (Milvus ``hybrid_search``), else here from ``n`` dense and ``n`` lexical candidates."""
    if settings.fusion not in ("rrf", "score"):
        raise ValueError(f"unknown fusion {settings.fusion!r}: use 'score' or 'rrf'")
    weights = (settings.dense_weight, settings.lexical_weight)
    if index.fuses:
        found = index.hybrid(question, vector, n, rows, settings.fusion, weights, settings.rrf_k)
        if found is not None:
            return found
    dense = index.dense(vector, n, rows)
    lexical = index.lexical(question, n, rows)
    chunks = {c.id: c for c, _ in dense + lexical}
    if settings.fusion == "rrf":
        fused = fuse([[c.id for c, _ in dense], [c.id for c, _ in lexical]], list(weights), settings.rrf_k)
    else:
        fused = fuse_scores([[(c.id, s) for c, s in dense], [(c.id, s) for c, s in lexical]], list(weights))
    return [(chunks[cid], score) for cid, score in fused]
