"""Questions in other languages on the real models and seeds: answered from the English sources, verified in
English, translated back with the same [n] markers; English questions untouched."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from qa import Translating, Verified, crosslingual
from tests.integration.test_answer import check_citations, has_all

pytestmark = [pytest.mark.slow, pytest.mark.integration]

SET = Path(__file__).resolve().parents[2] / "eval" / "dev_crosslingual.jsonl"


def rows(*ids: str) -> list[dict]:
    out = [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines()
           if line.strip() and not line.startswith("#")]
    return [r for r in out if r["id"] in ids]


# German, Spanish, French: answered right on 2026-12-01 (eval/dev_crosslingual.jsonl, ragqa eval)
ANSWERED = rows("xl02", "xl04", "xl05")


@pytest.mark.parametrize("row", ANSWERED, ids=lambda r: r["id"])
def test_a_question_in_another_language_is_answered_and_translated(pipeline, row):
    events = list(pipeline.stream(row["question"]))
    assert isinstance(events[-1], Verified) and isinstance(events[-2], Translating)
    a = events[-1].answer
    check_citations(a)  # the citations quote the English sources exactly
    assert a.language == row["language"] and a.standalone_question and a.standalone_question != a.question
    assert not a.refused, f"refused; searched for {a.standalone_question!r}; model said: {a.raw}"
    assert has_all(a.text, row["must"]), a.text  # the verified original holds the facts
    assert any(s in c.source for c in a.citations for s in row["sources"]), [c.source for c in a.citations]
    assert a.timings["translate"] > 0
    if a.translation is not None:  # shown only when it kept every marker, number and name
        assert crosslingual.markers(a.translation) == crosslingual.markers(a.text)
        assert crosslingual.check_translation(a.text, a.translation, a.language) is None
        assert a.translated_from == "en"
    else:
        assert any("translation into" in n for n in a.notes), a.notes


def test_the_german_answer_is_shown_in_german(pipeline):
    a = pipeline.answer(rows("xl02")[0]["question"])
    assert a.translation and "Wang Xiaochuan" in a.translation and "[1]" in a.translation
    assert re.search(r"Gründer|gegründet", a.translation), a.translation


def test_an_english_question_is_not_translated(pipeline):
    events = list(pipeline.stream("Who founded the search engine Sogou?"))
    a = events[-1].answer
    assert not any(isinstance(e, Translating) for e in events)
    assert a.language is None and a.translation is None and "translate" not in a.timings
    assert "Wang Xiaochuan" in a.text
