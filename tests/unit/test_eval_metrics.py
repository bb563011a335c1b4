"""Metric code of ``ragqa eval`` on tiny hand-made cases (no models)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.evaluate import metrics as m
from qa.evaluate.questions import Gold, Question, load_questions, parse_jsonl
from qa.evaluate.runner import Record, summarise, summarise_by_kind
from qa.types import Answer, Citation, Passage, Sentence

REFUSAL = "I could not find the answer in the sources."


def passage(source: str, start: int, end: int, text: str = "x") -> Passage:
    return Passage(source, start, end, text, 1.0)


# -- retrieval -------------------------------------------------------------------------------
def test_gold_span_overlap_is_a_hit_and_rank_is_one_based():
    q = Question("1", "q?", gold=[Gold("0001_doc", 100, 150, "a" * 50)], sources=["0001_doc"])
    ranked = [
        passage("/c/0000_other.txt", 100, 150),  # right offsets, wrong file
        passage("/c/0001_doc.txt", 0, 100),  # touches the span's start but ends before it ([start,end))
        passage("/c/0001_doc.txt", 140, 400),  # overlaps
    ]
    assert [m.is_hit(p, q) for p in ranked] == [False, False, True]
    assert m.first_hit_rank(ranked, q) == 3


def test_known_miss_has_no_rank():
    q = Question("1", "q?", gold=[Gold("0001_doc", 100, 150, "a" * 50)], sources=["0001_doc"])
    assert m.first_hit_rank([passage("/c/0001_doc.txt", 150, 300), passage("/c/0001_doc.txt", 0, 99)], q) is None


def test_without_spans_an_expected_source_is_a_hit():
    q = Question("1", "q?", sources=["000_e1edbd7ea7deb9e1"])
    assert m.first_hit_rank([passage("seeds/001_x.txt", 0, 5), passage("/abs/seeds/000_e1edbd7ea7deb9e1.txt", 0, 5)], q) == 2


def test_hit_and_mrr_aggregation():
    recs = [Record("a", "single", "?", rank=1, measured_retrieval=True),
            Record("b", "single", "?", rank=4, measured_retrieval=True),
            Record("c", "single", "?", rank=None, measured_retrieval=True),
            Record("d", "unanswerable", "?")]
    s = summarise(recs)
    assert s["retrieval_n"] == 3
    assert s["hit@1"] == pytest.approx(1 / 3)
    assert s["hit@5"] == pytest.approx(2 / 3)
    assert s["mrr"] == pytest.approx((1 + 1 / 4) / 3)


# -- answers ---------------------------------------------------------------------------------
def test_must_groups_are_normalised_and_all_required():
    must = [["chief financial officer", "CFO"], ["executive director"]]
    assert m.must_matched("Henry He is the Chief-Financial Officer and an Executive  Director.", must)
    assert not m.must_matched("Henry He is the CFO.", must)
    assert m.must_matched("It buys “nine out of ten” chips abroad.", [["nine out of ten", "9 out of 10"]])
    assert m.must_matched("About 90% of them.", [["90"]])
    # whole words only: "3" is not found inside "2023"
    assert not m.must_matched("In 2023 it grew.", [["3", "three"]])
    assert m.must_matched("Baidu runs 3 labs [1].", [["3", "three"]])


def _answer(text: str, refused: bool, citations=(), passages=(), sentences=()) -> Answer:
    return Answer("Who founded Sogou?", text, refused, list(citations), list(passages), list(sentences))


def test_refusal_is_correct_only_for_unanswerable_questions():
    refused = _answer(REFUSAL, True, sentences=[Sentence(REFUSAL)])
    unans = Question("u", "What is the capital of Australia?", kind="unanswerable")
    single = Question("s", "Who founded Sogou?", must=[["Wang Xiaochuan"]], sources=["003_x"])
    cross = Question("c", "Кто основал Sogou?", kind="cross-lingual", sources=["003_x"])
    assert m.judge(refused, unans) == (True, True)
    assert m.judge(refused, single) == (False, False)
    assert m.judge(refused, cross) == (False, True)  # refusing is acceptable for cross-lingual
    answered = _answer("Canberra [1].", False)
    assert m.judge(answered, unans) == (False, False)


def test_correct_answer_must_also_cite_an_expected_source():
    q = Question("s", "Who founded Sogou?", must=[["Wang Xiaochuan"]], sources=["003_x"])
    p_good = passage("seeds/003_x.txt", 10, 60, "Sogou was founded by Wang Xiaochuan in 2004.")
    p_bad = passage("seeds/001_y.txt", 10, 60, "Sogou was founded by Wang Xiaochuan in 2004.")
    good = _answer("Wang Xiaochuan founded Sogou [1].", False, [Citation(1, p_good.source, 10, 60, p_good.text, 0)], [p_good])
    bad = _answer("Wang Xiaochuan founded Sogou [1].", False, [Citation(1, p_bad.source, 10, 60, p_bad.text, 0)], [p_bad])
    assert m.judge(good, q) == (True, True)
    assert m.judge(bad, q) == (True, False)


def test_refusal_accuracy_and_accuracy_in_summary():
    recs = [Record("u1", "unanswerable", "?", answer=REFUSAL, refused=True, correct=True, passed=True),
            Record("u2", "unanswerable", "?", answer="Canberra.", refused=False, correct=False, passed=False),
            Record("s1", "single", "?", answer="x", refused=False, correct=True, passed=True)]
    by_kind = summarise_by_kind(recs)
    assert by_kind["unanswerable"]["refusal_accuracy"] == 0.5
    assert by_kind["overall"]["correct"] == 2 and by_kind["overall"]["accuracy"] == pytest.approx(2 / 3)
    assert "refusal_accuracy" not in by_kind["single"]


# -- citations and outcomes, judged by ground truth only ------------------------------------------
def test_citation_is_judged_against_the_gold_span():
    q = Question("1", "How long is the incubation period?", gold=[Gold("0001_doc", 100, 120, "5 days on average")],
                 sources=["0001_doc"])
    inside = Citation(1, "/c/0001_doc.txt", 90, 130, "…", 0)
    beside = Citation(2, "/c/0001_doc.txt", 120, 200, "…", 0)  # starts where the span ends: no overlap
    other_file = Citation(3, "/c/0002_doc.txt", 100, 120, "…", 0)
    assert [m.citation_right(c, q) for c in (inside, beside, other_file)] == [True, False, False]


def test_citation_is_judged_by_the_must_strings_in_its_quote():
    q = Question("s", "Who founded Sogou?", must=[["Wang Xiaochuan"]], sources=["003_x"])
    good = Citation(1, "seeds/003_x.txt", 0, 50, "Wang Xiaochuan, founder of the search engine Sogou, …", 0)
    bad = Citation(2, "seeds/003_x.txt", 60, 99, "Sogou is a search engine.", 0)
    assert m.citation_right(good, q) and not m.citation_right(bad, q)
    answer = _answer("Wang Xiaochuan founded Sogou [1][2].", False, [good, bad])
    assert m.citation_counts(answer, q) == (1, 2)
    assert m.citation_right(good, Question("u", "?", kind="unanswerable")) is None


def test_a_wrong_answer_with_a_real_citation_is_counted_wrong():
    """The trust figure: a shown answer whose citation does not hold the gold answer is wrong,
    whatever the checker thought of it."""
    q = Question("1", "Who designed the north tower?", gold=[Gold("0001_doc", 200, 208, "A. Chen")], sources=["0001_doc"])
    cited_elsewhere = _answer("M. Ruiz designed the north tower [1].", False,
                              [Citation(1, "/c/0001_doc.txt", 100, 150, "M. Ruiz designed the south tower.", 0)])
    assert m.outcome(cited_elsewhere, q) == m.WRONG
    cited_gold = _answer("A. Chen designed it [1].", False, [Citation(1, "/c/0001_doc.txt", 190, 230, "…", 0)])
    assert m.outcome(cited_gold, q) == m.RIGHT
    assert m.outcome(_answer(REFUSAL, True), q) == m.REFUSED
    unanswerable = Question("u", "Who designed the west tower?", kind="unanswerable")
    assert m.outcome(cited_gold, unanswerable) == m.WRONG and m.outcome(_answer(REFUSAL, True), unanswerable) == m.REFUSED
    jsonl = Question("s", "Who founded Sogou?", must=[["Wang Xiaochuan"]], sources=["003_x"])
    assert m.outcome(_answer("Robin Li founded Sogou [1].", False), jsonl) == m.WRONG


def test_trust_figures_in_the_summary():
    recs = [Record("a", "single", "?", answer="x", refused=False, outcome="right", citations_right=1, citations_judged=1),
            Record("b", "single", "?", answer="y", refused=False, outcome="wrong", citations_right=0, citations_judged=2),
            Record("c", "single", "?", answer=REFUSAL, refused=True, outcome="refused"),
            Record("d", "unanswerable", "?", answer="z", refused=False, outcome="wrong"),
            Record("e", "unanswerable", "?", answer=REFUSAL, refused=True, outcome="refused")]
    s = summarise(recs)
    assert (s["right"], s["wrong"], s["refused_answerable"], s["refused_unanswerable"]) == (1, 2, 1, 1)
    assert s["shown_precision"] == pytest.approx(1 / 3) and s["wrong_share"] == pytest.approx(2 / 5)
    assert s["citation_precision"] == pytest.approx(1 / 3)


def test_missing_document_negatives_leave_out_the_own_source(tmp_path: Path):
    from qa.evaluate.questions import missing_document

    (tmp_path / "0001_a.txt").write_text("The incubation period is 5 days on average.")
    (tmp_path / "0002_b.txt").write_text("Masks reduce transmission. The incubation period is 5 days on average.")
    (tmp_path / "0003_c.txt").write_text("Bats host many coronaviruses.")
    qs = [Question("1", "How long is the incubation?", gold=[Gold("0001_a", 25, 42, "5 days on average")], sources=["0001_a"]),
          Question("2", "What do bats host?", gold=[Gold("0003_c", 10, 29, "many coronaviruses")], sources=["0003_c"]),
          Question("3", "Capital of Mars?", kind="unanswerable")]
    negatives, skipped = missing_document(qs, tmp_path)
    assert skipped == 2  # q1's answer is also in 0002_b; q3 has nothing to leave out
    assert [(q.id, q.kind, q.exclude) for q in negatives] == [("2-missing", "unanswerable", ["0003_c"])]


# -- SQuAD-style answers ---------------------------------------------------------------------
def test_token_f1_and_gold_span():
    assert m.token_f1("The cat sat.", "cat sat") == 1.0
    assert m.token_f1("dog", "cat") == 0.0
    assert m.token_f1("cat sat on mat", "cat sat") == pytest.approx(2 * 0.5 * 1 / 1.5)
    assert m.contains_span("Mainly mother-to-child transmission [1].", "Mother-to-child transmission")
    assert not m.contains_span("Mother to father", "Mother-to-child transmission")


# -- question files --------------------------------------------------------------------------
def test_jsonl_parsing_and_errors():
    qs = parse_jsonl('{"id": "a", "question": "Q?", "must": [["x", "y"], "z"], "sources": ["s1.txt"], "kind": "multi"}\n\n'
                     '{"question": "Capital of Mars?"}\n')
    assert qs[0].must == [["x", "y"], ["z"]] and qs[0].sources == ["s1"] and qs[0].kind == "multi"
    assert qs[1].kind == "unanswerable" and not qs[1].answerable
    with pytest.raises(ValueError, match="unknown kind"):
        parse_jsonl('{"question": "Q?", "kind": "tricky"}')
    with pytest.raises(ValueError, match=":1:"):
        parse_jsonl("not json")


def test_squad_contexts_become_files_with_meaningful_offsets(tmp_path: Path):
    context = "Intro line.\nThe incubation period is 5 days on average. More text follows here."
    data = {"data": [{"paragraphs": [{"document_id": 42, "context": context, "qas": [
        {"id": 1, "question": "How long is the incubation period?",
         # offset points at "5", text has a leading space (as in COVID-QA)
         "answers": [{"text": " 5 days on average", "answer_start": context.index("5 days")}]},
        {"id": 2, "question": "Unrelated?", "answers": [], "is_impossible": True},
    ]}]}]}
    path = tmp_path / "set.json"
    path.write_text(json.dumps(data))
    qset = load_questions(path, cache_dir=tmp_path / "cache")
    assert qset.format == "squad" and len(qset.questions) == 2
    q, impossible = qset.questions
    files = list(Path(qset.sources_dir).glob("*.txt"))
    assert len(files) == 1 and files[0].stem == q.gold[0].source
    text = open(files[0], encoding="utf-8").read()
    assert text == context
    g = q.gold[0]
    assert text[g.start : g.end] == "5 days on average"
    assert impossible.kind == "unanswerable" and not impossible.gold
    # loading again reuses the same folder
    assert load_questions(path, cache_dir=tmp_path / "cache").sources_dir == qset.sources_dir

