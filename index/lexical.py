"""BM25 over the chunks, with bm25s (English stopwords, Snowball stemming, word bigrams).

Each text is indexed as its stemmed content words plus the bigrams of consecutive ones
("viral load" → ``viral``, ``load``, ``viral_load``): a question that repeats a phrase of the
passage scores higher than one that only shares its words (measured on COVID-QA: hit@1 +2.7
points, see the README's Quality section).
"""

from __future__ import annotations

from array import array
from functools import lru_cache
from pathlib import Path

import numpy as np


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: list[str], bigrams: bool = True) -> list[list[str]]:
    """Lower-cased, stopword-free, stemmed word tokens (as bm25s does it), plus their bigrams."""
    import bm25s

    words = bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False)
    if not bigrams:
        return words
    return [list(w) + [f"{a}_{b}" for a, b in zip(w, w[1:])] for w in words]


def terms(texts: list[str]) -> list[str]:
    """Each text's BM25 terms (:func:`tokenize`: stems and bigrams) as one string, separated by spaces: what a
    store with its own full-text search indexes, so that its BM25 ranks the terms bm25s ranks."""
    return [" ".join(t) for t in tokenize(texts)]


def token_ids(texts: list[str], vocab: dict[str, int], bigrams: bool = True, batch: int = 2000) -> list[array]:
    """``tokenize`` each text into compact arrays of ids from ``vocab`` (extended in place).

    Works through the texts in batches and keeps one int32 per token and one string per distinct
    token: a 50 MB source makes ~30 M tokens, which as lists of per-occurrence strings would cost
    ~1 GB (the bigram strings dominate), and as id arrays cost ~120 MB.
    """
    out: list[array] = []
    for start in range(0, len(texts), batch):
        for tokens in tokenize(texts[start:start + batch], bigrams=bigrams):
            out.append(array("i", [vocab.setdefault(t, len(vocab)) for t in tokens]))
    return out


class BM25Index:
    """A BM25 index whose rows are positions in the index's chunk list."""

    def __init__(self, retriever, size: int):
        self.retriever = retriever
        self.size = size

    @classmethod
    def build(cls, texts: list[str], k1: float = 1.2, b: float = 0.75) -> BM25Index:
        import bm25s

        retriever = bm25s.BM25(k1=k1, b=b)
        if texts:
            vocab: dict[str, int] = {}
            ids = token_ids(texts, vocab)
            retriever.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)
        return cls(retriever, len(texts))

    def search(self, query: str, k: int, allowed_rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` rows and their scores for ``query`` (rows with score 0 are dropped).

        ``allowed_rows`` restricts the ranking to those rows (bm25s's ``weight_mask``: the others
        score 0 inside the scorer).
        """
        if self.size == 0 or (allowed_rows is not None and len(allowed_rows) == 0):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        tokens = tokenize([query])
        vocab = self.retriever.vocab_dict
        tokens = [[t for t in tokens[0] if t in vocab]]
        if not tokens[0]:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        extra = {}
        if allowed_rows is not None:
            mask = np.zeros(self.size, dtype=np.float32)
            mask[np.asarray(allowed_rows, dtype=np.int64)] = 1.0
            extra["weight_mask"] = mask
        rows, scores = self.retriever.retrieve(tokens, k=min(k, self.size), show_progress=False, n_threads=1, **extra)
        rows, scores = rows[0], scores[0]
        keep = scores > 0
        return rows[keep].astype(np.int64), scores[keep].astype(np.float32)

    def save(self, directory: Path) -> None:
        if self.size == 0:  # every source was removed: bm25s cannot save an empty index, and there is nothing to
            Path(directory).mkdir(parents=True, exist_ok=True)
            (Path(directory) / "empty").write_text("no chunks\n")
            return
        self.retriever.save(str(directory))

    @classmethod
    def load(cls, directory: Path, size: int) -> BM25Index:
        import bm25s

        if size == 0:
            return cls(None, 0)
        return cls(bm25s.BM25.load(str(directory)), size)
