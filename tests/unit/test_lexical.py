"""BM25 index: parity with bm25s indexing the same token strings, bigrams, compact ids."""

from __future__ import annotations

from pathlib import Path

import bm25s
import numpy as np

from index.lexical import BM25Index, token_ids, tokenize

SEEDS = sorted((Path(__file__).resolve().parents[2] / "seeds").glob("*.txt"))


def _paragraphs() -> list[str]:
    texts = []
    for path in SEEDS:
        texts += [p for p in path.read_text(encoding="utf-8").split("\n\n") if len(p.split()) > 8]
    return texts


def test_tokens_have_stems_and_bigrams():
    tokens = tokenize(["The viral loads were measured in patients"])[0]
    assert "viral" in tokens and "load" in tokens and "viral_load" in tokens
    assert "the" not in tokens and "in" not in tokens and "measur_patient" in tokens


def test_token_ids_share_one_vocabulary_across_batches():
    texts = ["export controls on chips", "chips and export controls", "nothing shared here"]
    vocab: dict[str, int] = {}
    ids = token_ids(texts, vocab, batch=1)
    assert [len(a) for a in ids] == [len(t) for t in tokenize(texts)]
    inverse = {v: k for k, v in vocab.items()}
    assert [[inverse[i] for i in a] for a in ids] == tokenize(texts)
    assert sorted(vocab.values()) == list(range(len(vocab)))


def test_scores_match_bm25s_on_string_tokens():
    """Our id-based build gives the scores bm25s gives when it indexes the token strings itself."""
    texts = _paragraphs()
    assert len(texts) > 50
    ours = BM25Index.build(texts)
    reference = bm25s.BM25(k1=1.2, b=0.75)
    reference.index(tokenize(texts), show_progress=False)
    for query in ["Which chips are restricted by export controls?", "DeepSeek training cost",
                  "open-source models from China", "talent and universities"]:
        rows, scores = ours.search(query, 10)
        tokens = [t for t in tokenize([query])[0] if t in reference.vocab_dict]
        every = reference.get_scores(tokens)  # the reference score of every text
        assert rows.size == min(10, int((every > 0).sum())) > 0
        np.testing.assert_allclose(scores, every[rows], rtol=1e-5)  # each row we return, scored as bm25s does
        np.testing.assert_allclose(scores, np.sort(every)[::-1][: rows.size], rtol=1e-5)  # and they are its top


def test_empty_and_unknown_queries_return_nothing(tmp_path):
    idx = BM25Index.build(["alpha beta gamma", "delta epsilon"])
    assert idx.search("zzzz qqqq", 5)[0].size == 0
    idx.save(tmp_path)
    again = BM25Index.load(tmp_path, 2)
    assert again.search("delta", 5)[0].tolist() == [1]
    assert BM25Index.build([]).search("delta", 3)[0].size == 0


def test_search_restricted_to_allowed_rows():
    texts = _paragraphs()
    bm25 = BM25Index.build(texts)
    rows, _ = bm25.search("Baidu research laboratories United States", 5)
    best = int(rows[0])
    allowed = np.array([r for r in range(len(texts)) if r != best], dtype=np.int64)
    kept, scores = bm25.search("Baidu research laboratories United States", 5, allowed)
    assert best not in kept.tolist() and set(kept.tolist()) <= set(allowed.tolist()) and (scores > 0).all()
    assert len(bm25.search("Baidu", 5, np.array([], dtype=np.int64))[0]) == 0
