"""``ragqa eval``: measure retrieval, answers and citations on a question set.

>>> from qa.evaluate import run
>>> result = run("../shared/eval/dev.jsonl", retrieval_only=True)
>>> result.summary["overall"]["hit@5"]

Question formats are described in :mod:`qa.evaluate.questions`; metrics in
:mod:`qa.evaluate.metrics`; the report in :mod:`qa.evaluate.report`.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import index

from ..config import Config
from ..pipeline import Pipeline
from .questions import Question, QuestionSet, eval_cache_dir, load_questions
from .questions import missing_document as _missing_document
from .report import print_report, write_json
from .runner import Record, evaluate, summarise_by_kind

__all__ = ["run", "run_cli", "EvalResult", "load_questions", "index_settings_for", "Question", "QuestionSet", "Record"]


@dataclass
class EvalResult:
    """What one evaluation produced."""

    questions: QuestionSet
    records: list[Record]
    summary: dict[str, dict]
    meta: dict = field(default_factory=dict)


def index_settings_for(qset: QuestionSet, sources: str | None = None, index_dir: str | None = None) -> index.IndexSettings:
    """Where the evaluation's index lives and what it covers.

    ``sources`` (a folder) or a SQuAD-style set's written contexts get their own index under
    the eval cache (``~/.cache/ragqa/eval/<hash>/index``), leaving the main index untouched;
    otherwise the configured sources and index are used. ``index_dir`` overrides the folder.
    """
    settings = index.IndexSettings()
    corpus = sources or qset.sources_dir
    if corpus:
        corpus = os.path.abspath(os.path.expanduser(corpus))
        if not os.path.exists(corpus):
            raise FileNotFoundError(f"sources not found: {corpus}")
        settings.sources = [corpus]
        key = hashlib.sha256(corpus.encode()).hexdigest()[:16]
        settings.index_dir = str(eval_cache_dir() / key / "index")
    if index_dir:
        settings.index_dir = index_dir
    return settings


def run(questions: str | Path, *, sources: str | None = None, index_dir: str | None = None, limit: int | None = None,
        retrieval_only: bool = False, top_k: int | None = None, config: Config | None = None,
        pipeline: Pipeline | None = None, progress: bool = False, missing_document: bool = False,
        generation_cache: str | None = None) -> EvalResult:
    """Evaluate a question set: build or update its index, then measure every question.

    ``pipeline`` reuses an already loaded pipeline (its index settings win); otherwise one is
    made from ``config`` with the index settings of :func:`index_settings_for`.
    ``missing_document`` turns the answerable questions into negatives asked without their own
    source (see :func:`~qa.evaluate.questions.missing_document`); ``limit`` then counts negatives.
    ``generation_cache`` (a file) stores the model's completions and reuses them for identical
    prompts (see :mod:`qa.llm.cache`); latencies of cached answers are not the model's.
    """
    qset = load_questions(questions)
    if limit is not None and limit < 1:
        raise ValueError("--limit must be at least 1")
    selected = qset.questions
    if not missing_document:
        selected = selected[:limit] if limit else selected
    llm = None
    if pipeline is None:
        config = config or Config()
        config.index = index_settings_for(qset, sources, index_dir)
        report = index.build(settings=config.index, progress=progress)
        if progress:
            print(f"index {config.index.index_dir}: {report.summary()}", file=sys.stderr)
        if generation_cache:
            from ..llm import load_llm
            from ..llm.cache import CachingLLM

            llm = CachingLLM(load_llm(config.llm), generation_cache)
        pipeline = Pipeline(config, llm=llm)
    skipped = 0
    if missing_document:
        corpus = sources or qset.sources_dir or pipeline.config.index.sources[0]
        selected, skipped = _missing_document(selected, corpus)
        selected = selected[:limit] if limit else selected
    k = top_k or pipeline.config.retrieval.top_k
    if k < 1:
        raise ValueError("--top-k must be at least 1")
    records = evaluate(pipeline, selected, retrieval_only=retrieval_only, top_k=k, progress=progress)

    meta = {
        "questions": str(questions),
        "format": qset.format,
        "n": len(selected),
        "missing_document": missing_document,
        "missing_document_skipped": skipped,
        "generation_cache": {"path": generation_cache, "hits": llm.hits, "misses": llm.misses} if llm else None,
        "retrieval_only": retrieval_only,
        "top_k": k,
        "index_dir": pipeline.config.index.index_dir,
        "sources": list(map(str, pipeline.config.index.sources)),
        "chunk": pipeline.config.index.chunk.as_dict(),
        "retrieval": {key: v for key, v in vars(pipeline.config.retrieval).items()},
    }
    return EvalResult(qset, records, summarise_by_kind(records), meta)


def run_cli(args) -> int:
    """``ragqa eval`` (see :func:`qa.cli.parser` for the arguments)."""
    result = run(args.questions, sources=args.sources, index_dir=getattr(args, "index_dir", None), limit=args.limit,
                 retrieval_only=args.retrieval_only, top_k=args.top_k, progress=sys.stderr.isatty(),
                 missing_document=args.missing_document, generation_cache=args.generation_cache)
    title = f"{Path(args.questions).name}: {result.meta['n']} questions" + (" (retrieval only)" if args.retrieval_only else "")
    if args.missing_document:
        title += (f", each asked without its own document ({result.meta['missing_document_skipped']} skipped: "
                  "answer found in another document or nothing to judge)")
    cache = result.meta.get("generation_cache")
    if cache:
        print(f"generation cache {cache['path']}: {cache['hits']} reused, {cache['misses']} generated "
              "(latencies of reused answers are not the model's)", file=sys.stderr)
    print_report(result.summary, result.records, title, list_failures=result.meta["n"] <= 50)
    if args.json_out:
        write_json(args.json_out, result.meta, result.summary, result.records)
        print(f"wrote {args.json_out}", file=sys.stderr)
    return 0
