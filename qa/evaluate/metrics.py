"""Per-question metrics for ``ragqa eval``: retrieval hits, answer correctness, citations.

All functions are pure (no index, no model) except that citation support may use an
``embed`` function, exactly as :func:`qa.cite.verify` does.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from index.chunk import sentence_spans

from ..cite import Thresholds, content_words, is_refusal
from ..types import Answer, Passage
from .questions import Question

Embed = Callable[[list[str]], np.ndarray]


# -- answers --------------------------------------------------------------------------------
def normalise(text: str) -> str:
    """Lower-cased text with punctuation turned into spaces and runs of spaces collapsed."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(f" {ch} " if ch == "%" else " " if unicodedata.category(ch).startswith(("P", "S")) else ch for ch in text)
    return " ".join(text.split())


def contains(haystack: str, needle: str) -> bool:
    """Whether ``needle`` occurs in ``haystack`` as whole words, after :func:`normalise`."""
    n = normalise(needle)
    return bool(n) and f" {n} " in f" {normalise(haystack)} "


def must_matched(answer: str, must: Sequence[Sequence[str]]) -> bool:
    """True when every group of ``must`` has at least one string found in ``answer``."""
    return all(any(contains(answer, s) for s in group) for group in must)


_MARKERS = re.compile(r"\s*\[\d+(?:\s*[,;-]\s*\d+)*\]")


def strip_markers(text: str) -> str:
    """The answer text without its ``[n]`` citation markers."""
    return _MARKERS.sub("", text)


def _squad_tokens(text: str) -> list[str]:
    text = "".join(" " if ch in string.punctuation else ch for ch in text.lower())
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return text.split()


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD token F1 between a prediction and a gold answer (lower case, no punctuation or articles)."""
    p, g = _squad_tokens(prediction), _squad_tokens(gold)
    if not p or not g:
        return float(p == g)
    common = sum((Counter(p) & Counter(g)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def contains_span(prediction: str, gold: str) -> bool:
    """Whether the prediction contains the whole gold answer (SQuAD-normalised)."""
    g = " ".join(_squad_tokens(gold))
    return bool(g) and f" {g} " in f" {' '.join(_squad_tokens(prediction))} "


# -- retrieval ------------------------------------------------------------------------------
def stem(source: str) -> str:
    """A source path's file stem (how question sets name sources)."""
    name = re.split(r"[\\/]", source)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name


def is_hit(passage: Passage, q: Question) -> bool:
    """A passage hits when it overlaps a gold answer span, or (without spans) comes from an expected source."""
    s = stem(passage.source)
    if q.gold:
        return any(g.source == s and passage.start < g.end and g.start < passage.end for g in q.gold)
    return s in q.sources


def first_hit_rank(passages: Sequence[Passage], q: Question) -> int | None:
    """1-based rank of the first hit among ``passages``, or None."""
    for rank, p in enumerate(passages, 1):
        if is_hit(p, q):
            return rank
    return None


def has_retrieval_target(q: Question) -> bool:
    return bool(q.gold or q.sources)


# -- citations ------------------------------------------------------------------------------
def _cosine(sentence: str, passage_text: str, embed: Embed | None) -> float:
    if embed is None:
        return -1.0
    spans = sentence_spans(passage_text) or [(0, len(passage_text))]
    vecs = embed([sentence] + [passage_text[s:e] for s, e in spans])
    return float((vecs[1:] @ vecs[0]).max())


def supports(sentence: str, question: str, passage_texts: Sequence[str], embed: Embed | None = None,
             thresholds: Thresholds | None = None) -> bool:
    """Whether the passages (together) support ``sentence``: the rule of :func:`qa.cite.verify`.

    Lexical: enough of the sentence's content words, and of its new ones (not in the question),
    occur in the passages; or semantic: a passage sentence is very close to it.
    """
    th = thresholds or Thresholds()
    words = content_words(sentence)
    if not words or not passage_texts:
        return False
    if len(passage_texts) == 1 and _cosine(sentence, passage_texts[0], embed) >= th.semantic:
        return True
    pw = set().union(*(content_words(t) for t in passage_texts))
    novel = words - content_words(question)
    overall = len(words & pw) / len(words)
    if not novel:
        return overall >= th.restated
    return len(novel & pw) / len(novel) >= th.novel and overall >= th.overall


def citation_scores(answer: Answer, embed: Embed | None = None) -> tuple[int, int, int, int]:
    """(supported citations, citations, supported claims, claims) of an answer.

    Precision counts every (sentence, citation) pair whose cited passage supports the
    sentence (alone, or together with the sentence's other citations when each of them adds
    content words). Recall counts the model's claim sentences (not refusals) that carry at
    least one supporting citation; sentences dropped as unsupported count as uncited. A
    refused answer has no answer sentences: (0, 0, 0, 0).
    """
    if answer.refused:
        return 0, 0, 0, 0
    by_n = {c.n: c for c in answer.citations}
    q = answer.standalone_question or answer.question
    good = total = 0
    claims = cited_claims = 0
    for s in answer.sentences:
        if is_refusal(s.text) or not content_words(s.text):
            continue
        claims += 1
        texts = [answer.passages[by_n[n].passage].text for n in s.citations
                 if n in by_n and 0 <= by_n[n].passage < len(answer.passages)]
        ok = [supports(s.text, q, [t], embed) for t in texts]
        if len(texts) > 1 and not all(ok) and supports(s.text, q, texts, embed):
            words = content_words(s.text)
            ok = [o or bool(words & content_words(t)) for o, t in zip(ok, texts)]
        total += len(s.citations)
        good += sum(ok)
        cited_claims += any(ok)
    return good, total, cited_claims, claims


def cites_expected_source(answer: Answer, q: Question) -> bool:
    """Whether one of the answer's citations points into an expected source (or a gold span)."""
    for c in answer.citations:
        if q.gold:
            if any(g.source == stem(c.source) and c.start < g.end and g.start < c.end for g in q.gold):
                return True
        elif stem(c.source) in q.sources:
            return True
    return False


def judge(answer: Answer, q: Question) -> tuple[bool | None, bool]:
    """(answer correct, question passed) for one generated answer.

    Correct: answerable questions with ``must`` groups are answered (not refused) with every
    group matched; unanswerable ones are refused; cross-lingual ones without groups count as
    correct when answered from an expected source. None when the set gives no way to judge
    (SQuAD-style: see token-F1). Passed: correct, and an answerable answer cites an expected
    source; cross-lingual questions also pass when refused.
    """
    text = strip_markers(answer.text)
    if q.kind == "unanswerable":
        return answer.refused, answer.refused
    cited = cites_expected_source(answer, q) if q.sources else True
    if q.must:
        correct = not answer.refused and must_matched(text, q.must)
    elif q.kind == "cross-lingual":
        correct = not answer.refused and cited
    else:
        return None, (not answer.refused and cited)
    if q.kind == "cross-lingual" and answer.refused:
        return correct, True
    return correct, correct and cited


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (linear interpolation), None for no values."""
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else None
