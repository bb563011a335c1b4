"""Trust on the real models: questions that look answerable from the seeds but are not must be refused,
and a wrong answer never reaches the user with a citation (issue 11).

Each question imitates a seed sentence with one detail changed (checked against all five seeds):
the subject swapped, the verb turned around, a founder asked of a company whose founder the
seeds never name.
"""

from __future__ import annotations

import pytest

from tests.integration.test_answer import check_citations

pytestmark = [pytest.mark.slow, pytest.mark.integration]

LOOKALIKES = [
    # "Thus, Baidu is currently running three research laboratories in the United States."
    "How many research laboratories does Tencent run in the United States?",
    # "China buys nine out of ten computer chips from abroad …"
    "What proportion of its computer chips does China sell abroad?",
    # "Wang Xiaochuan, founder of the search engine Sogou, …": Baidu's founder is named nowhere
    "Who founded the search engine Baidu?",
]


@pytest.mark.parametrize("question", LOOKALIKES)
def test_lookalike_questions_are_refused(pipeline, question):
    a = pipeline.answer(question)
    assert a.refused, f"answered {a.text!r} (the model wrote {a.raw!r})"
    assert not a.citations and a.text == "I could not find the answer in the sources."


def test_the_rejected_text_is_kept_apart_from_the_answer(pipeline):
    a = pipeline.answer("What is the capital of Australia?")
    assert a.refused and not a.citations
    if a.raw.strip() and "could not find" not in a.raw:
        assert a.rejected  # the model claimed something: the reason it was not shown is recorded
        assert all(not s.citations for s in a.sentences)


def test_a_shown_answer_quotes_a_sentence_that_states_it(pipeline):
    a = pipeline.answer("How many research laboratories does Baidu run in the United States?")
    assert not a.refused, a.rejected
    check_citations(a)
    assert any("three" in c.quote and "Baidu" in c.quote for c in a.citations)


def test_a_question_about_someone_no_source_names_is_refused_without_the_model(pipeline):
    # the seeds name Jia Yangqing as vice president of Alibaba DAMO Academy; Jack Ma appears in none of them
    a = pipeline.answer("What position does Jack Ma hold at Alibaba DAMO Academy?")
    assert a.refused and not a.citations
    assert a.rejected == "the sources do not mention Jack Ma"
    assert a.raw == ""  # the model was not asked: nothing it could write would be stated by the sources
    assert a.passages  # the passages searched are still shown
    assert "the sources do not mention Jack Ma, so the model was not asked" in a.notes


ONE_WORD = [
    # "SenseTime recently joined the government's so-called AI "national team" to in developing facial recognition."
    "What voice recognition work did SenseTime join the Chinese government's so-called AI national team to develop?",
    # "Up to 2,500 companies in the world are engaged in research, development and practical use of AI."
    "How many universities in the world are engaged in research, development and practical use of AI?",
]


@pytest.mark.parametrize("question", ONE_WORD)
def test_one_word_lookalikes_are_refused(pipeline, question):
    # the model answers these from the sentence with the other word (eval/oneword_seeds.jsonl, 2026-12-02); the
    # checker finds the word put in the question's place and the judge, asked about exactly it, says no
    a = pipeline.answer(question)
    assert a.refused and not a.citations, f"answered {a.text!r}"


def test_a_paraphrased_word_in_the_questions_place_is_kept(pipeline):
    # "In 2014, Andrew Ng left Google Brain for Baidu …": "leave" asked, "left" cited; the judge says they agree
    a = pipeline.answer("In what year did Andrew Ng leave Google Brain for Baidu?")
    assert not a.refused, a.rejected
    assert "2014" in a.text
    check_citations(a)
