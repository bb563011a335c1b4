"""Per-question metrics for ``ragqa eval``: retrieval hits, answer correctness, citations.

All functions are pure (no index, no model) and judge by the question set's ground truth
(``must`` strings, gold spans, expected sources, the unanswerable kind) only: nothing here
uses the citation checker's own rules, so the evaluation can see where the checker is wrong.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence

import numpy as np

from ..types import Answer, Citation, Passage
from .questions import Question


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


# -- citations, judged against ground truth only -------------------------------------------
def citation_right(citation: Citation, q: Question) -> bool | None:
    """Whether a citation points at the answer, by the question's ground truth (never the checker's rule).

    SQuAD-style sets: the cited span overlaps a gold answer span (same file, ``[start, end)``).
    JSONL sets: the cited quote holds one of the ``must`` strings. None when the set gives no
    ground truth for it (no spans and no ``must`` groups).
    """
    if q.gold:
        s = stem(citation.source)
        return any(g.source == s and citation.start < g.end and g.start < citation.end for g in q.gold)
    if q.must:
        return any(contains(citation.quote, s) for group in q.must for s in group)
    return None


def citation_counts(answer: Answer, q: Question) -> tuple[int, int]:
    """(right citations, judged citations) of a shown answer to an answerable question; (0, 0) otherwise.

    Every citation of an answer shown for an unanswerable question is wrong, but that is counted
    once, as an answered-wrong question, not per citation.
    """
    if answer.refused or not q.answerable:
        return 0, 0
    verdicts = [citation_right(c, q) for c in answer.citations]
    judged = [v for v in verdicts if v is not None]
    return sum(judged), len(judged)


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


RIGHT, WRONG, REFUSED = "right", "wrong", "refused"


def outcome(answer: Answer, q: Question) -> str:
    """``"right"``, ``"wrong"`` or ``"refused"``: what the user was shown, judged by ground truth.

    An answer that is shown (not refused) is right when: SQuAD-style (gold spans), one of its
    citations overlaps a gold answer span; JSONL with ``must`` groups, its text holds every group;
    otherwise (expected sources only, e.g. cross-lingual), it cites an expected source. Any answer
    shown for an unanswerable question is wrong. This is the trust figure: a wrong answer reached
    the user with a citation that passed verification.
    """
    if answer.refused:
        return REFUSED
    if not q.answerable:
        return WRONG
    if q.gold:
        return RIGHT if any(citation_right(c, q) for c in answer.citations) else WRONG
    if q.must:
        return RIGHT if must_matched(strip_markers(answer.text), q.must) else WRONG
    return RIGHT if cites_expected_source(answer, q) else WRONG


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (linear interpolation), None for no values."""
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else None
