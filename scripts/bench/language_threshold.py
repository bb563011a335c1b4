"""language_threshold: how confident lingua is about questions in English and in other languages.

Chooses :data:`qa.language.MIN_CONFIDENCE`, the bar a question's detected language must reach before it is
translated. Over English questions (the seeds dev set, COVID-QA, the COVID-QA lookalikes) it prints the highest
confidences given to another language (each would be a needless translation and an answer in the wrong
language); over questions in other languages (eval/dev_crosslingual.jsonl, eval/language_calibration.jsonl and
the dev set's cross-lingual question) the lowest confidences of their own language (each below the bar is
answered as it was asked). No model is loaded: it takes seconds.

    python -m scripts.bench.language_threshold [--shared ../shared] [--bar 0.5]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from qa import language

ROOT = Path(__file__).resolve().parents[2]


def _jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def english_questions(shared: Path) -> list[str]:
    out = [r["question"] for r in _jsonl(shared / "eval" / "dev.jsonl") if r.get("kind") != "cross-lingual"]
    out += [r["question"] for r in _jsonl(shared / "eval" / "covidqa" / "covidqa_adversarial.jsonl")]
    squad = shared / "eval" / "covidqa" / "covidqa_200423.json"
    if squad.is_file():
        for doc in json.loads(squad.read_text(encoding="utf-8"))["data"]:
            for paragraph in doc["paragraphs"]:
                out += [q["question"] for q in paragraph["qas"]]
    return out


def foreign_questions(shared: Path) -> list[tuple[str, str]]:
    rows = _jsonl(ROOT / "eval" / "dev_crosslingual.jsonl") + _jsonl(ROOT / "eval" / "language_calibration.jsonl")
    out = [(r["language"], r["question"]) for r in rows]
    out += [("ru", r["question"]) for r in _jsonl(shared / "eval" / "dev.jsonl") if r.get("kind") == "cross-lingual"]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shared", default=str(ROOT.parent / "shared"))
    p.add_argument("--bar", type=float, default=language.MIN_CONFIDENCE)
    p.add_argument("--show", type=int, default=10, help="worst cases shown per side")
    args = p.parse_args(argv)
    shared = Path(args.shared)

    t0 = time.perf_counter()
    language.detector()
    print(f"detector built in {time.perf_counter() - t0:.2f} s ({len(language.LANGUAGES)} languages)")

    english = english_questions(shared)
    t0 = time.perf_counter()
    found = [(language.detect(q), q) for q in english]
    per = (time.perf_counter() - t0) / max(1, len(english)) * 1000
    wrong = sorted(((d.confidence, d.language, q) for d, q in found if d.language != "en"), reverse=True)
    over = sum(1 for c, _, _ in wrong if c >= args.bar)
    print(f"\n{len(english)} English questions ({per:.2f} ms each): another language on top for {len(wrong)}, "
          f"at or above {args.bar}: {over}")
    for c, code, q in wrong[: args.show]:
        print(f"  {c:.3f} {code}  {q}")

    foreign = foreign_questions(shared)
    rows = []
    for code, q in foreign:
        d = language.detect(q)
        own = d.confidence if d.language == code else 0.0
        rows.append((own, code, d.language, d.confidence, q))
    rows.sort()
    below = sum(1 for r in rows if r[0] < args.bar)
    print(f"\n{len(foreign)} questions in other languages: detected as their own language at or above {args.bar}: "
          f"{len(foreign) - below}; below: {below}")
    for own, code, got, c, q in rows[: args.show]:
        print(f"  {own:.3f} {code} (top: {got} {c:.3f})  {q}")
    for bar in (0.3, 0.4, 0.45, 0.5, 0.6, 0.7):
        fp = sum(1 for c, _, _ in wrong if c >= bar)
        tp = sum(1 for r in rows if r[0] >= bar)
        mixed = sum(1 for own, code, got, c, _ in rows if got not in (code, "en") and c >= bar)
        print(f"  bar {bar:.2f}: English translated {fp}/{len(english)}; others translated {tp}/{len(foreign)}, "
              f"into another language than their own {mixed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
