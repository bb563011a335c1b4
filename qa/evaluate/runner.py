"""Run a question set through retrieval (and generation) and collect per-question records."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from ..pipeline import Pipeline
from ..types import Answer, Passage
from . import metrics as m
from .questions import Question

#: Retrieval depth measured for hit@k and MRR.
DEPTH = 10


@dataclass
class Record:
    """Everything measured for one question."""

    id: str
    kind: str
    question: str
    rank: int | None = None
    """1-based rank of the first hit among the top ``DEPTH`` passages (None: no hit)."""
    measured_retrieval: bool = False
    retrieved: list[dict] = field(default_factory=list)
    answer: str | None = None
    refused: bool | None = None
    correct: bool | None = None
    passed: bool | None = None
    outcome: str | None = None
    """``right``, ``wrong`` or ``refused`` (see :func:`qa.evaluate.metrics.outcome`)."""
    citations_right: int = 0
    """Citations whose quote holds a ``must`` string or overlaps a gold span (ground truth)."""
    citations_judged: int = 0
    citations: list[dict] = field(default_factory=list)
    raw: str | None = None
    """The model's text before verification."""
    excluded: list[str] = field(default_factory=list)
    """Sources left out of retrieval for this question (missing-document negatives)."""
    f1: float | None = None
    gold_span: bool | None = None
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    searched: str | None = None
    """The question retrieved with when it was not the question itself (asked in another language: its
    translation, which ``rank`` and ``retrieved`` then measure)."""
    language: str | None = None
    """The question's detected language when it was not the sources' (the answer was translated back)."""
    translation: str | None = None
    """The answer shown to the user in that language (``answer`` stays the verified original, which is judged)."""

    def to_dict(self) -> dict:
        return asdict(self)


def _brief(p: Passage) -> dict:
    return {"source": m.stem(p.source), "start": p.start, "end": p.end, "score": p.score}


def evaluate_question(pipeline: Pipeline, q: Question, retrieval_only: bool, top_k: int) -> Record:
    """Retrieve (top ``DEPTH``) and, unless ``retrieval_only``, answer one question."""
    rec = Record(q.id, q.kind, q.question, excluded=list(q.exclude))
    left_out = set(q.exclude)
    keep = (lambda source: m.stem(source) not in left_out) if left_out else None
    t0 = time.perf_counter()
    passages = pipeline.retrieve(q.question, max(DEPTH, top_k), keep)
    rec.timings["retrieve"] = round(time.perf_counter() - t0, 4)
    if m.has_retrieval_target(q):
        rec.measured_retrieval = True
        rec.rank = m.first_hit_rank(passages[:DEPTH], q)
    rec.retrieved = [_brief(p) for p in passages[:DEPTH]]
    if retrieval_only:
        return rec
    try:
        answer: Answer = pipeline.answer(q.question, top_k=top_k, keep=keep)
    except Exception as exc:  # one failing question must not end the run
        rec.error = f"{type(exc).__name__}: {exc}"
        rec.correct, rec.passed = (False if q.must or q.kind == "unanswerable" else None), False
        return rec
    if answer.language and answer.standalone_question:  # asked in another language: rank what was retrieved
        rec.searched, rec.language, rec.translation = answer.standalone_question, answer.language, answer.translation
        if m.has_retrieval_target(q):
            passages = pipeline.retrieve(answer.standalone_question, max(DEPTH, top_k), keep)
            rec.rank = m.first_hit_rank(passages[:DEPTH], q)
            rec.retrieved = [_brief(p) for p in passages[:DEPTH]]
    rec.answer = answer.text
    rec.raw = answer.raw
    rec.refused = answer.refused
    rec.correct, rec.passed = m.judge(answer, q)
    rec.outcome = m.outcome(answer, q)
    rec.citations_right, rec.citations_judged = m.citation_counts(answer, q)
    rec.citations = [{"n": c.n, "source": m.stem(c.source), "start": c.start, "end": c.end, "quote": c.quote,
                      "right": m.citation_right(c, q)} for c in answer.citations]
    if q.gold and not answer.refused:
        text = m.strip_markers(answer.text)
        rec.f1 = max(m.token_f1(text, g.text) for g in q.gold)
        rec.gold_span = any(m.contains_span(text, g.text) for g in q.gold)
    elif q.gold:
        rec.f1, rec.gold_span = 0.0, False
    rec.timings.update({"first_token": answer.timings.get("first_token", 0.0), "total": answer.timings.get("total", 0.0)})
    if "translate" in answer.timings:
        rec.timings["translate"] = answer.timings["translate"]
    return rec


def evaluate(pipeline: Pipeline, questions: Iterable[Question], retrieval_only: bool = False, top_k: int = 5,
             progress: bool = False) -> list[Record]:
    """Records for every question, in order."""
    questions = list(questions)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(questions), desc="questions", unit="q")
    out = []
    for q in questions:
        out.append(evaluate_question(pipeline, q, retrieval_only, top_k))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return out


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def summarise(records: list[Record]) -> dict:
    """Aggregate figures of a group of records (see the README for each one's meaning)."""
    ret = [r for r in records if r.measured_retrieval]
    answered = [r for r in records if r.answer is not None or r.error]
    judged = [r for r in answered if r.correct is not None]
    unans = [r for r in answered if r.kind == "unanswerable"]
    answerable = [r for r in answered if r.kind != "unanswerable"]
    f1 = [r.f1 for r in answered if r.f1 is not None]
    span = [r.gold_span for r in answered if r.gold_span is not None]
    out: dict = {"n": len(records)}
    if ret:
        out["retrieval_n"] = len(ret)
        for k in (1, 5, 10):
            out[f"hit@{k}"] = sum(1 for r in ret if r.rank is not None and r.rank <= k) / len(ret)
        out["mrr"] = sum(1 / r.rank for r in ret if r.rank) / len(ret)
    if answered:
        out["answered_n"] = len(answered)
        out["passed"] = sum(1 for r in answered if r.passed)
        out["pass_rate"] = _ratio(out["passed"], len([r for r in answered if r.passed is not None]))
        if judged:
            out["correct"] = sum(1 for r in judged if r.correct)
            out["correct_n"] = len(judged)
            out["accuracy"] = out["correct"] / len(judged)
        # the trust figures: what was shown to the user, judged by ground truth
        out["right"] = sum(1 for r in answered if r.outcome == m.RIGHT)
        out["wrong"] = sum(1 for r in answered if r.outcome == m.WRONG)
        out["refused_answerable"] = sum(1 for r in answerable if r.refused)
        out["refused_unanswerable"] = sum(1 for r in unans if r.refused)
        out["answerable_n"] = len(answerable)
        out["unanswerable_n"] = len(unans)
        out["wrong_share"] = out["wrong"] / len(answered)
        out["shown_precision"] = _ratio(out["right"], out["right"] + out["wrong"])
        out["citation_precision"] = _ratio(sum(r.citations_right for r in answered),
                                           sum(r.citations_judged for r in answered))
        if unans:
            out["refusal_accuracy"] = out["refused_unanswerable"] / len(unans)
        if f1:
            out["token_f1"] = sum(f1) / len(f1)
        if span:
            out["gold_span_share"] = sum(span) / len(span)
        out["errors"] = sum(1 for r in answered if r.error)
    for key in ("retrieve", "first_token", "total", "translate"):
        vals = [r.timings[key] for r in records if key in r.timings]
        if vals:
            out[f"{key}_p50"] = m.percentile(vals, 50)
            out[f"{key}_p95"] = m.percentile(vals, 95)
    return out


def summarise_by_kind(records: list[Record]) -> dict[str, dict]:
    """Summaries per question kind (in first-seen order) plus ``overall``."""
    kinds = list(dict.fromkeys(r.kind for r in records))
    out = {k: summarise([r for r in records if r.kind == k]) for k in kinds}
    out["overall"] = summarise(records)
    return out
