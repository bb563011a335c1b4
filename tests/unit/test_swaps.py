"""qa.claims.swaps: words of the question whose place the cited text fills with another word."""

from __future__ import annotations

from qa.claims import swaps, terms


def _swaps(question: str, text: str) -> list[tuple[str, str]]:
    return swaps(question, [text], terms(text))


def test_a_word_before_the_same_word_is_a_swap():
    text = "Talents working in the AI field enjoy a 75% reduction in their personal income tax."
    assert _swaps("How large a reduction in corporate income tax do AI talents enjoy?", text) == [("corporate", "personal")]


def test_a_word_between_the_same_neighbours_is_a_swap():
    text = "Kabu et al. reported TOS and TAS values in neonatal calves with diarrhea."
    assert _swaps("What TOS and TAS values did Kabu et al. report in neonatal lambs with diarrhea?", text) == [
        ("lambs", "calves")]


def test_a_number_where_the_question_asks_how_many():
    text = "Up to 2,500 companies in the world are engaged in research and practical use of AI."
    assert _swaps("How many universities in the world are engaged in research on AI?", text) == [
        ("universities", "companies")]


def test_the_words_of_the_question_are_no_swap():
    text = "Thus, Baidu is currently running three research laboratories in the United States."
    assert _swaps("How many research laboratories does Baidu run in the United States?", text) == []
    # a question word the text holds elsewhere is not lacking
    text = "The personal income tax, and the corporate one, fell: a 75% reduction in personal income tax."
    assert _swaps("How large a reduction in corporate income tax do AI talents enjoy?", text) == []


def test_names_are_left_to_the_name_checks():
    text = "Industry experts said so at the China Conference organised by the South China Morning Post."
    assert _swaps("At which event organised by the South China Morning Post did experts say so?", text) == []


def test_a_neighbour_that_is_only_a_stopword_is_not_enough():
    text = "The study of disease onset came first."  # "the review of" / "the study of": too little to align
    assert _swaps("What did the review of disease onset find?", text) == []
    assert _swaps("What did the review methods of disease onset find?", "The study methods of it.") == [
        ("review", "study")]  # with a plain word beside it, it is a swap


def test_words_that_only_begin_alike_are_a_swap_and_forms_of_one_word_are_not():
    text = "Patients were given intramuscular doses of the drug daily."
    assert _swaps("Were patients given intravenous doses of the drug daily?", text) == [("intravenous", "intramuscular")]
    assert _swaps("Did immune cells respond?", "The immunity cells responded.") == []


def test_a_year_is_not_the_number_a_how_many_question_asks_for():
    assert _swaps("How many universities in the world do AI?", "In 2020 companies in the world do AI.") == []


def test_the_words_are_given_as_written():
    text = "Personal income tax cuts for AI talents reached 75% in some regions."
    assert _swaps("Corporate income tax cuts for AI talents: how large were they?", text) == [("Corporate", "Personal")]
