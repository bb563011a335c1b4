"""``ragqa eval`` on the real models and seeds (lean: one index, one model load, few answers)."""

from __future__ import annotations

import json

import pytest

from qa.evaluate import run
from qa.evaluate.report import write_json
from tests.conftest import DEV, SEEDS, dev_questions

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def test_dev_set_retrieval_through_eval(pipeline):
    dev_questions()  # skips without ../shared
    result = run(DEV, pipeline=pipeline, retrieval_only=True)
    overall = result.summary["overall"]
    assert result.meta["n"] == 14 and overall["retrieval_n"] == 11  # the 3 unanswerable have no target
    assert overall["hit@5"] == 1.0, [r.to_dict() for r in result.records if r.rank is None]
    assert all(r.answer is None for r in result.records)


def test_dev_subset_answers_through_eval(pipeline, tmp_path):
    rows = dev_questions()
    # one question of each kind keeps this lean: a single answer, a multi-source one, a refusal
    picked = [next(r for r in rows if r["kind"] == k) for k in ("single", "multi", "unanswerable")]
    path = tmp_path / "subset.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in picked))
    result = run(path, pipeline=pipeline)
    s = result.summary
    assert s["overall"]["passed"] == 3, [r.to_dict() for r in result.records]
    assert s["unanswerable"]["refusal_accuracy"] == 1.0
    assert s["overall"]["wrong"] == 0 and s["overall"]["right"] == 2 and s["overall"]["refused_unanswerable"] == 1
    assert s["single"]["citation_precision"] is not None
    assert s["overall"]["total_p50"] > 0
    out = tmp_path / "report.json"
    write_json(out, result.meta, s, result.records)
    doc = json.loads(out.read_text())
    assert doc["summary"]["overall"]["passed"] == 3 and len(doc["questions"]) == 3


def test_squad_style_set_gets_its_own_index(tmp_path, monkeypatch):
    """A tiny SQuAD-style set made from a seed: its context becomes a source with its own index."""
    monkeypatch.setenv("RAGQA_CACHE_DIR", str(tmp_path / "cache"))
    text = sorted(SEEDS.glob("*.txt"))[3].read_text(encoding="utf-8")
    answer = "Wang Xiaochuan"
    data = {"data": [{"paragraphs": [{"document_id": "sogou", "context": text, "qas": [
        {"id": "q1", "question": "Who founded the search engine Sogou?",
         "answers": [{"text": answer, "answer_start": text.index(answer)}]}]}]}]}
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(data))
    result = run(path, retrieval_only=True)
    assert result.meta["format"] == "squad"
    assert str(tmp_path / "cache") in result.meta["index_dir"]  # not the user's main index
    assert result.summary["overall"]["hit@5"] == 1.0
    hit = result.records[0].retrieved[result.records[0].rank - 1]
    assert hit["start"] <= text.index(answer) < hit["end"]
