"""Score fusion and the widened passages of :mod:`qa.retrieve` (no models: a fake index)."""

from __future__ import annotations

import numpy as np
import pytest

from index.types import Chunk
from qa.config import RetrievalSettings
from qa.retrieve import fuse_scores, retrieve

TEXT = "Alpha one. Beta two. Gamma three. Delta four. Epsilon five. Zeta six."


def test_score_fusion_keeps_margins_and_weights():
    dense = [(1, 0.9), (2, 0.8)]
    lexical = [(2, 10.0), (3, 2.0)]
    fused = dict(fuse_scores([dense, lexical], [0.5, 0.5]))
    # 2: 0.5*0.8/0.9 + 0.5*1.0 ; 1: 0.5*1 + 0.5*floor(0.2) ; 3: 0.5*floor(0.8/0.9) + 0.5*0.2
    assert fused[2] == pytest.approx(0.5 * 0.8 / 0.9 + 0.5)
    assert fused[1] == pytest.approx(0.5 + 0.5 * 0.2)
    assert fused[3] == pytest.approx(0.5 * 0.8 / 0.9 + 0.5 * 0.2)
    assert [i for i, _ in fuse_scores([dense, lexical], [1.0, 0.0])][0] == 1
    assert fuse_scores([[], [(5, 0.0)]], [1.0, 1.0]) == []


class FakeIndex:
    """Chunks of one sentence each over TEXT, in source order, with given retrieval results."""

    def __init__(self, dense, lexical):
        starts = [i for i in range(len(TEXT)) if i == 0 or TEXT[i - 2 : i] == ". "]
        self.chunks = [Chunk(i, "doc.txt", s, TEXT.index(".", s) + 1, "") for i, s in enumerate(starts)]
        for c in self.chunks:
            c.text = TEXT[c.start : c.end]
        self.size = len(self.chunks)
        self.fuses = False
        self._dense, self._lexical = dense, lexical

    def dense(self, vec, k, rows=None):
        return [(self.chunks[i], s) for i, s in self._dense][:k]

    def lexical(self, q, k, rows=None):
        return [(self.chunks[i], s) for i, s in self._lexical][:k]

    def neighbours(self, chunk, window):
        return self.chunks[max(0, chunk.id - window) : chunk.id], self.chunks[chunk.id + 1 : chunk.id + 1 + window]

    def excerpt(self, source, start, end):
        return TEXT[start:end]

    def locate(self, source, offset):
        return (1 if offset < 40 else 2), None  # two "pages"


class FakeEmbedder:
    def encode(self, texts):
        return np.zeros((len(texts), 3), np.float32)


def test_passages_are_widened_exact_slices_and_distinct():
    idx = FakeIndex(dense=[(2, 0.9), (3, 0.8), (5, 0.1)], lexical=[(2, 5.0), (3, 4.0)])
    out = retrieve(idx, FakeEmbedder(), "q", 3, RetrievalSettings(window=1))
    assert out[0].text == "Beta two. Gamma three. Delta four." and out[0].chunk_id == 2
    for p in out:
        assert TEXT[p.start : p.end] == p.text
    # chunk 3 lies inside the first passage: skipped; chunk 5 (last) widens to one side only
    assert [p.chunk_id for p in out] == [2, 5]
    assert out[1].text == "Epsilon five. Zeta six."


def test_passages_say_their_page():
    idx = FakeIndex([(2, 0.9)], [])
    p = retrieve(idx, FakeEmbedder(), "q", 1, RetrievalSettings(window=0))[0]
    assert p.page == (1 if p.start < 40 else 2) and p.section is None


def test_window_zero_returns_the_chunks_and_rrf_still_works():
    idx = FakeIndex(dense=[(0, 0.9), (1, 0.5)], lexical=[(1, 3.0)])
    out = retrieve(idx, FakeEmbedder(), "q", 2, RetrievalSettings(window=0, fusion="rrf"))
    assert [p.text for p in out] == ["Beta two.", "Alpha one."]
    with pytest.raises(ValueError, match="fusion"):
        retrieve(idx, FakeEmbedder(), "q", 2, RetrievalSettings(fusion="magic"))
