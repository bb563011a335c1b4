"""Verify an answer against its passages; attach, repair and renumber citations.

The model proposes, this module disposes. Each answer sentence is checked against every
passage with two signals:

* lexical: the share of the sentence's content words (stemmed, stopwords dropped) found in
  the passage, and above all the share of its *new* content words, those not already in
  the question (the key content: "Canberra" in "The capital of Australia is Canberra");
* semantic: cosine similarity of the sentence with the passage's sentences (MiniLM).

A sentence is supported by a passage when the lexical evidence is strong, or the semantic
evidence very strong. Supported sentences get the ``[n]`` of their supporting passages (the
model's own markers are kept only when they point at a supporting passage), unsupported ones
are marked and left out of the answer text, and citations are renumbered 1..m in order of
first use. An answer with no supported sentence is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from index.chunk import sentence_spans

from .prompt import REFUSAL
from .types import Citation, Passage, Sentence

MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;-]\s*\d+)*)\]")
_ONE = r"\[\d+(?:\s*[,;-]\s*\d+)*\]"
MARKER_RUN = re.compile(rf"\s*{_ONE}(?:\s*(?:,\s*(?:and\s+|&\s*)?|;\s*|and\s+|&\s*)?{_ONE})*")
"""A run of markers with its separators: "[1], [2], and [3]" (removed as one)."""
_REFUSING = re.compile(
    r"(could\s*n[o']t|can\s*n[o']t|cannot|unable to|did\s*n[o']t|do\s*n[o']t)\s+(find|locate|determine|answer|know)"
    r"|(do|does|did)\s*(n[o']t|not)\s+(contain|mention|provide|say|include|specify|state)"
    r"|\bno (information|mention|details?)\b|\bnot (mentioned|provided|specified|stated|available|included)\b",
    re.IGNORECASE,
)
_FILLER = {
    "source", "sources", "passag", "passage", "accord", "according", "mention", "mentioned", "state", "stated",
    "say", "said", "also", "provid", "inform", "information", "text", "articl", "article", "document",
}


@dataclass
class Thresholds:
    novel: float = 0.5
    """Share of the sentence's new content words (not in the question) a passage must hold."""
    overall: float = 0.5
    """Share of all its content words."""
    restated: float = 0.7
    """Share needed when the sentence only restates the question's words."""
    semantic: float = 0.75
    """Cosine similarity with a passage sentence that counts as support on its own."""
    keep_model_citation: float = 0.3
    """A model-chosen passage is kept when it holds at least this share of the content words."""
    on_topic: float = 0.25
    """Share of the question's content words the answer and its quotes must hold together."""


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return frozenset(STOPWORDS_EN_PLUS)


@lru_cache(maxsize=1)
def _stem():
    import Stemmer

    return Stemmer.Stemmer("english").stemWord


_NUMBERS = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
}
_NUMBERS.update({"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70",
                 "eighty": "80", "ninety": "90", "hundred": "100", "percent": "%"})


def content_words(text: str) -> set[str]:
    """Stemmed content words of ``text``: lower-cased, stopwords and filler removed.

    Number words are written as digits ("nine" → "9") so "nine out of ten" and "9 out of 10"
    share their content.
    """
    stop = _stopwords()
    stem = _stem()
    words = set()
    for w in re.findall(r"[^\W_]+|%", text.lower()):
        if w in _NUMBERS:
            words.add(_NUMBERS[w])
            continue
        if w in stop or (len(w) < 2 and not w.isdigit()):
            continue
        s = stem(w)
        if s not in _FILLER and w not in _FILLER:
            words.add(s)
    return words


def is_refusal(text: str) -> bool:
    return bool(_REFUSING.search(text)) or REFUSAL.lower()[:25] in text.lower()


def split_answer(raw: str) -> list[tuple[str, list[int]]]:
    """Answer sentences with the marker numbers found in each (markers removed)."""
    out: list[tuple[str, list[int]]] = []
    for s, e in sentence_spans(raw):
        piece = raw[s:e]
        nums: list[int] = []
        for m in MARKER.finditer(piece):
            for part in re.split(r"\s*[,;]\s*", m.group(1)):
                if "-" in part:
                    a, b = (int(x) for x in part.split("-", 1))
                    nums.extend(range(a, min(b, a + 10) + 1))
                else:
                    nums.append(int(part))
        text = _drop_attribution(MARKER_RUN.sub(" ", piece))
        if not re.search(r"\w", text):  # a stray marker after the full stop
            if out:
                out[-1][1].extend(nums)
            continue
        out.append((text, nums))
    return out


_LEAD = re.compile(
    r"^\s*(?:according to|based on|as (?:stated|mentioned|noted|shown|described) in)"
    r"(?:\s+(?:the\s+)?(?:given\s+|provided\s+)?(?:sources?|passages?|texts?|documents?|articles?))?\s*,\s*",
    re.IGNORECASE,
)
_TAIL = re.compile(
    r",?\s*(?:according to|as (?:stated|mentioned|noted|shown|described) in)"
    r"(?:\s+(?:the\s+)?(?:sources?|passages?|texts?|documents?|articles?))?\s*(?=[.!?]*$)",
    re.IGNORECASE,
)


def _drop_attribution(text: str) -> str:
    """Tidy a sentence whose markers were removed: "According to [1], X." → "X."."""
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    stripped = _LEAD.sub("", text, count=1)
    if stripped != text and stripped:
        text = stripped[0].upper() + stripped[1:]
    return _TAIL.sub("", text).strip()


@dataclass
class _Support:
    passage: int
    overall: float
    novel: float | None
    cosine: float


def verify(
    raw: str,
    question: str,
    passages: list[Passage],
    embed=None,
    thresholds: Thresholds | None = None,
) -> tuple[str, list[Sentence], list[Citation], bool]:
    """Check ``raw`` against ``passages``; returns (text, sentences, citations, refused).

    ``embed`` maps a list of strings to unit vectors (the index's embedder); without it only
    lexical support is used.
    """
    th = thresholds or Thresholds()
    parts = split_answer(raw)
    q_words = content_words(question)
    claims = [(i, t) for i, (t, _) in enumerate(parts) if not is_refusal(t) and content_words(t)]
    if not passages or not claims:
        return REFUSAL, [Sentence(t) for t, _ in parts], [], True

    p_spans = [sentence_spans(p.text) or [(0, len(p.text))] for p in passages]
    p_words = [content_words(p.text) for p in passages]
    cos = None
    if embed is not None:
        flat = [(pi, s, e) for pi, spans in enumerate(p_spans) for s, e in spans]
        vecs = embed([t for _, t in claims] + [passages[pi].text[s:e] for pi, s, e in flat])
        a_vecs, s_vecs = vecs[: len(claims)], vecs[len(claims) :]
        sims = a_vecs @ s_vecs.T  # (claims, passage sentences)
        owner = np.array([pi for pi, _, _ in flat])
        cos = np.full((len(claims), len(passages)), -1.0)
        for pi in range(len(passages)):
            cols = owner == pi
            if cols.any():
                cos[:, pi] = sims[:, cols].max(axis=1)

    sentences = [Sentence(t) for t, _ in parts]
    keyed: dict[tuple[int, int, int], int] = {}
    citations: list[Citation] = []
    for ci, (si, text) in enumerate(claims):
        words = content_words(text)
        novel = words - q_words
        supports: list[_Support] = []
        for pi, pw in enumerate(p_words):
            overall = len(words & pw) / len(words)
            nov = (len(novel & pw) / len(novel)) if novel else None
            c = float(cos[ci, pi]) if cos is not None else -1.0
            supports.append(_Support(pi, overall, nov, c))

        def ok(s: _Support) -> bool:
            if s.cosine >= th.semantic:
                return True
            if s.novel is None:
                return s.overall >= th.restated
            return s.novel >= th.novel and s.overall >= th.overall

        chosen = [s for s in supports if ok(s)]
        if not chosen:
            # a claim that combines two passages: test the union of the best two
            best = sorted(supports, key=lambda s: (s.novel or 0, s.overall), reverse=True)[:2]
            union = set().union(*(p_words[s.passage] for s in best)) if best else set()
            nov = (len(novel & union) / len(novel)) if novel else None
            ov = len(words & union) / len(words)
            if (nov is None and ov >= th.restated) or (nov is not None and nov >= th.novel and ov >= th.overall):
                chosen = [s for s in best if (s.novel or 0) > 0 or s.overall >= th.keep_model_citation]
        if not chosen:
            sentences[si].support = max((max(s.overall, s.cosine) for s in supports), default=0.0)
            continue
        model_cited = {n - 1 for n in parts[si][1] if 1 <= n <= len(passages)}
        preferred = [s for s in chosen if s.passage in model_cited]
        chosen.sort(key=lambda s: ((s.novel if s.novel is not None else s.overall), s.overall, s.cosine), reverse=True)
        picks = preferred or chosen[:1]
        # a second passage only when it adds new content words the first lacks
        if not preferred and len(chosen) > 1:
            first = p_words[chosen[0].passage]
            extra = [s for s in chosen[1:] if (novel or words) - first & p_words[s.passage]]
            picks += extra[:1]
        sentences[si].support = max(max(s.overall, s.cosine) for s in picks)
        for s in picks:
            p = passages[s.passage]
            qs, qe = _best_quote(words, novel, p.text, p_spans[s.passage])
            key = (s.passage, qs, qe)
            if key not in keyed:
                keyed[key] = len(citations) + 1
                citations.append(Citation(keyed[key], p.source, p.start + qs, p.start + qe, p.text[qs:qe], s.passage))
            if keyed[key] not in sentences[si].citations:
                sentences[si].citations.append(keyed[key])

    supported = [s for s in sentences if s.citations]
    if not supported or not _on_topic(q_words, supported, citations, th):
        return REFUSAL, sentences, [], True
    text = " ".join(_with_markers(s.text, s.citations) for s in supported)
    return text, sentences, citations, False


def _on_topic(q_words: set[str], supported: list[Sentence], citations: list[Citation], th: Thresholds) -> bool:
    """Whether a supported answer is about the question at all.

    A small model sometimes copies a true but unrelated sentence from the sources when they do
    not hold the answer; the citation is then real but the answer is not one. The answer's
    sentences and the quotes they cite must share part of the question's content words.
    """
    if not q_words:
        return True
    words = set().union(*(content_words(s.text) for s in supported))
    for c in citations:
        words |= content_words(c.quote)
    return len(q_words & words) / len(q_words) >= th.on_topic


def _best_quote(words: set[str], novel: set[str], text: str, spans: list[tuple[int, int]]) -> tuple[int, int]:
    """The sentence of a passage (or two adjacent ones, if they hold more) that best supports a claim."""

    def score(span: tuple[int, int]) -> int:
        sw = content_words(text[span[0] : span[1]])
        return 2 * len(novel & sw) + len(words & sw)

    best = max(spans, key=score)
    best_score = score(best)
    for a, b in zip(spans, spans[1:]):
        if score((a[0], b[1])) > best_score:
            best, best_score = (a[0], b[1]), score((a[0], b[1]))
    return best


def _with_markers(text: str, nums: list[int]) -> str:
    marks = "".join(f"[{n}]" for n in nums)
    m = re.search(r"([.!?…]+[\"”’)]*)$", text)
    if m:
        return f"{text[: m.start()]} {marks}{m.group(1)}"
    return f"{text} {marks}"
