"""The model judge: asked only when the quotes leave some of the question unsaid (VerifySettings.judge_skip), and
with the words pointed out when the quotes put another word in place of one of the question's (swap_judge)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from qa.config import Config, VerifySettings
from qa.llm.base import LLM
from qa.pipeline import Pipeline
from tests.unit.one_file import one_file_index

REPORT = ("# Kestrel Water Board\n\n## Reservoir levels\n\nThe Kestrel reservoir held 48 million litres of water in "
          "March 2023. Rainfall was low that spring, and the board asked towns to save water. The board's winter "
          "survey counted 120 nesting birds on the rocky shore of the reservoir.\n")
ANSWER = "The Kestrel reservoir held 48 million litres of water in March 2023 [1]."
BIRDS = "The board's winter survey counted 120 nesting birds on the rocky shore of the reservoir [1]."
SANDY = "How many nesting birds did the board's winter survey count on the sandy shore of the reservoir?"
RESTATED = "How much water was held by the Kestrel reservoir in March 2023?"  # every word of it is in the quote
BEYOND = "How much drinking water did the Kestrel reservoir hold in March 2023?"  # 4 of its 6 words (drink, hold: not)


class JudgedLLM(LLM):
    """Always gives ``ANSWER``; the judge says ``yes`` with probability ``yes`` and counts its calls."""

    n_ctx = 4096

    def __init__(self, yes: float, answer: str = ANSWER) -> None:
        self.yes, self.judged, self.answer, self.asked = yes, 0, answer, []

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, messages, max_tokens, temperature=0.0) -> Iterator[str]:
        yield self.answer

    def yes_probability(self, messages) -> float:
        self.judged += 1
        self.asked.append(messages[-1]["content"])
        return self.yes


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return one_file_index(tmp_path_factory, REPORT)


def _ask(settings, question: str, yes: float, answer: str = ANSWER, **verify) -> tuple:
    llm = JudgedLLM(yes, answer)
    return Pipeline(Config(index=settings, verify=VerifySettings(**verify)), llm=llm).answer(question), llm


def test_quotes_that_restate_the_question_are_not_judged(settings):
    a, llm = _ask(settings, RESTATED, yes=0.01)
    assert not a.refused and "48 million litres" in a.text and llm.judged == 0


def test_quotes_that_leave_words_of_the_question_out_are_judged(settings):
    a, llm = _ask(settings, BEYOND, yes=0.01)
    assert llm.judged == 1 and a.refused and "model judged" in a.rejected
    a, llm = _ask(settings, BEYOND, yes=0.9)
    assert llm.judged == 1 and not a.refused


def test_a_missing_number_of_the_question_is_judged_whatever_the_words(settings):
    a, llm = _ask(settings, "How much water was held by the Kestrel reservoir on 3 March 2023?", yes=0.01)
    assert llm.judged == 1 and a.refused


def test_above_one_always_judges(settings):
    a, llm = _ask(settings, RESTATED, yes=0.01, judge_skip=1.01)
    assert llm.judged == 1 and a.refused


def test_no_judge_no_call(settings):
    a, llm = _ask(settings, BEYOND, yes=0.01, judge=0)
    assert llm.judged == 0 and not a.refused


def test_a_word_the_quote_puts_in_the_questions_place_is_pointed_out_to_the_judge(settings):
    a, llm = _ask(settings, SANDY, yes=0.2, answer=BIRDS)
    assert llm.judged == 1 and 'The question says "sandy" where the text says "rocky"' in llm.asked[0]
    assert a.refused and '"rocky" where the question says "sandy"' in a.rejected
    a, llm = _ask(settings, SANDY, yes=0.33, answer=BIRDS)  # passes the judge's 0.3, not swap_judge's 0.35
    assert llm.judged == 1 and a.refused
    a, llm = _ask(settings, SANDY, yes=0.9, answer=BIRDS)
    assert llm.judged == 1 and not a.refused and "120 nesting birds" in a.text


def test_without_the_swap_judge_the_plain_judge_decides(settings):
    # the quote holds 8 of the question's 9 words, which alone would spare the judge; a swap never does
    a, llm = _ask(settings, SANDY, yes=0.33, answer=BIRDS, swap_judge=0)
    assert llm.judged == 1 and "where the text says" not in llm.asked[0] and not a.refused
    a, llm = _ask(settings, SANDY, yes=0.2, answer=BIRDS, swap_judge=0)
    assert llm.judged == 1 and a.refused and "where the question says" not in a.rejected
