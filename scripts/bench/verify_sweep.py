"""How the citation checker's settings trade right answers against wrong ones, on question sets with ground truth.

Each question is retrieved, read and answered once (answers come from a generation cache when
the same prompt was answered before: ``--generation-cache``); then every checker setting of the
sweep verifies the same model text, and each is scored by ground truth alone
(:func:`qa.evaluate.metrics.outcome`): answered right, answered wrong, refused. This is how the
thresholds in :class:`qa.cite.Thresholds` were chosen; it prints one table and writes JSON.

    python -m scripts.bench.verify_sweep --generation-cache var/gen.sqlite \\
        --set dev=../shared/eval/dev.jsonl \\
        --set adversarial=../shared/eval/covidqa/covidqa_adversarial.jsonl@../shared/eval/covidqa/papers \\
        --set covid=../shared/eval/covidqa/covidqa_200423.json:200 \\
        --set missing=../shared/eval/covidqa/covidqa_200423.json:200:missing \\
        --grid novel=0.5,0.6,0.7 question_words=0.5,0.6
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import index
from qa.cite import Thresholds
from qa.config import Config, VerifySettings
from qa.evaluate import index_settings_for
from qa.evaluate import metrics as m
from qa.evaluate.questions import Question, load_questions, missing_document
from qa.evidence import Evidence
from qa.llm import load_llm
from qa.llm.cache import CachingLLM
from qa.pipeline import Pipeline
from qa.prompt import answer_messages
from qa.types import Answer

from .common import OUT_DIR


@dataclass
class Case:
    question: Question
    evidence: Evidence
    raw: str
    pipeline: Pipeline


def parse_set(spec: str) -> tuple[str, str, str | None, int | None, bool]:
    """``name=path[@sources][:limit][:missing]``."""
    name, _, rest = spec.partition("=")
    parts = rest.split(":")
    path, _, sources = parts[0].partition("@")
    limit = int(parts[1]) if len(parts) > 1 and parts[1] else None
    return name, path, sources or None, limit, "missing" in parts[2:]


def gather(pipeline: Pipeline, questions: list[Question], top_k: int, progress: bool) -> list[Case]:
    """Retrieve, read and answer every question once (the answering half of :meth:`Pipeline.stream`)."""
    cases = []
    for n, q in enumerate(questions, 1):
        left_out = set(q.exclude)
        keep = (lambda source, left_out=left_out: m.stem(source) not in left_out) if left_out else None
        passages = pipeline.retrieve(q.question, top_k, keep)
        evidence, excerpts = pipeline.read(q.question, passages)
        raw = pipeline.llm.complete(answer_messages(q.question, excerpts), pipeline.config.llm.max_tokens,
                                    pipeline.config.llm.temperature)
        cases.append(Case(q, evidence, raw, pipeline))
        if progress:
            print(f"\r  {n}/{len(questions)}", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return cases


def check(case: Case, settings: VerifySettings) -> tuple[Answer, bool]:
    """The answer the product shows for this case under ``settings``, and whether the model judge was asked."""
    case.pipeline.config.verify = settings
    v, repaired = case.pipeline.settle(case.evidence, case.raw)
    answer = Answer(case.question.question, v.text, v.refused, v.citations, case.evidence.passages, v.sentences,
                    raw=case.raw, repair=repaired, rejected=v.reason if v.refused else None)
    return answer, v.judge is not None


def score(cases: list[Case], settings: VerifySettings) -> dict:
    """Right / wrong / refused by ground truth, and ``judged``: how many answers the model judge was asked about
    (that gave a probability: with a backend that cannot, none are counted)."""
    out = {"right": 0, "wrong": 0, "refused": 0, "n": len(cases), "judged": 0}
    for c in cases:
        answer, judged = check(c, settings)
        out[m.outcome(answer, c.question)] += 1
        out["judged"] += judged
    return out


_VERIFY = {f.name: f.type for f in dataclasses.fields(VerifySettings) if f.name != "thresholds"}


def settings_of(cfg: dict) -> VerifySettings:
    """Checker settings from one point of the grid (``judge``, ``judge_skip``, ``repair``, ``repair_judge`` are fields of
    VerifySettings, the rest of Thresholds); unset ones keep their defaults."""
    cfg = dict(cfg)
    extra = {k: cfg.pop(k) for k in _VERIFY if k in cfg}
    return VerifySettings(Thresholds(**cfg), **extra)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--set", action="append", required=True, help="name=path[@sources][:limit][:missing]")
    p.add_argument("--grid", nargs="*", default=[], help="field=v1,v2,... of qa.cite.Thresholds")
    p.add_argument("--generation-cache", required=True)
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument("--out", type=Path, default=OUT_DIR / "verify_sweep.json")
    p.add_argument("--dump", type=Path, help="JSONL of every answer under the first setting (for reading failures)")
    args = p.parse_args(argv)

    grid = {}
    types = {f.name: f.type for f in dataclasses.fields(Thresholds)}
    types |= _VERIFY
    for g in args.grid:
        key, _, values = g.partition("=")
        cast = int if types[key] in (int, "int") else float
        grid[key] = [cast(v) for v in values.split(",")]
    configs = [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())] or [{}]

    llm = None
    results: dict[str, list[Case]] = {}
    for spec in args.set:
        name, path, sources, limit, missing = parse_set(spec)
        qset = load_questions(path)
        config = Config()
        config.index = index_settings_for(qset, sources)
        index.build(settings=config.index, progress=False)
        if llm is None:
            llm = CachingLLM(load_llm(config.llm), args.generation_cache)
        pipeline = Pipeline(config, llm=llm)
        questions = qset.questions
        if missing:
            questions, _ = missing_document(questions, sources or qset.sources_dir)
        questions = questions[:limit] if limit else questions
        print(f"{name}: {len(questions)} questions", file=sys.stderr)
        results[name] = gather(pipeline, questions, args.top_k, sys.stderr.isatty())
    print(f"generation cache: {llm.hits} reused, {llm.misses} generated", file=sys.stderr)

    rows = []
    for cfg in configs:
        settings = settings_of(cfg)
        row = {"config": cfg, "sets": {name: score(cases, settings) for name, cases in results.items()}}
        rows.append(row)
        cells = "  ".join(f"{name} {s['right']}/{s['wrong']}/{s['refused']} ({s['judged']}j)"
                          for name, s in row["sets"].items())
        print(f"{json.dumps(cfg):60s} {cells}")
    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as f:
            for name, cases in results.items():
                for c in cases:
                    a, _ = check(c, settings_of(configs[0]))
                    f.write(json.dumps({"set": name, "id": c.question.id, "kind": c.question.kind,
                                        "question": c.question.question, "outcome": m.outcome(a, c.question),
                                        "raw": c.raw, "repair": a.repair, "text": a.text, "reason": a.rejected,
                                        "issues": [s.issue for s in a.sentences],
                                        "quotes": [ci.quote for ci in a.citations],
                                        "gold": [g.text for g in c.question.gold] or c.question.must},
                                       ensure_ascii=False) + "\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"sets": args.set, "rows": rows}, indent=2) + "\n")
    print(f"(right/wrong/refused, (n j): answers the model judge was asked about) wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
