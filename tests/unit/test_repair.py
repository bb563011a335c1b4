"""The repair pass (VerifySettings.repair): a rejected answer gets one second try that copies a source sentence."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from qa.config import Config, VerifySettings
from qa.llm.base import LLM
from qa.pipeline import Pipeline
from tests.unit.one_file import one_file_index

REPORT = ("# Kestrel Water Board\n\n## Reservoir levels\n\nThe Kestrel reservoir held 48 million litres of water in "
          "March 2023. Rainfall was low that spring, and the board asked towns to save water.\n")
QUESTION = "How much water did the Kestrel reservoir hold in March 2023?"
FIRST = "Rainfall was low that spring [1]."  # true, cited, but no quantity: the checker rejects it
COPY = "The Kestrel reservoir held 48 million litres of water in March 2023 [1]."


class ScriptedLLM(LLM):
    """Answers off the question first; asked to copy a sentence, copies the right one. The judge says ``yes``."""

    n_ctx = 4096

    def __init__(self, yes: float) -> None:
        self.yes = yes
        self.prompts: list[str] = []

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, messages, max_tokens, temperature=0.0) -> Iterator[str]:
        user = messages[-1]["content"]
        self.prompts.append(user)
        yield COPY if "Copy, word for word" in user else FIRST

    def yes_probability(self, messages) -> float:
        return self.yes


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return one_file_index(tmp_path_factory, REPORT)


def _pipeline(settings, repair: int, yes: float) -> tuple[Pipeline, ScriptedLLM]:
    llm = ScriptedLLM(yes)
    return Pipeline(Config(index=settings, verify=VerifySettings(repair=repair)), llm=llm), llm


def test_a_rejected_answer_is_repaired_with_the_sources_own_sentence(settings):
    pipeline, llm = _pipeline(settings, repair=4, yes=0.9)
    a = pipeline.answer(QUESTION)
    assert not a.refused, a.rejected
    assert "48 million litres" in a.text and a.raw == FIRST and a.repair == COPY
    assert a.citations and a.citations[0].section == "Reservoir levels"
    assert any("asked again" in n for n in a.notes)
    assert len(llm.prompts) == 2 and "Copy, word for word" in llm.prompts[1]


def test_the_repair_must_convince_the_judge_at_its_own_bar(settings):
    # above the first judge's 0.3, below repair_judge 0.75; the copy restates the question, yet it is judged
    pipeline, _ = _pipeline(settings, repair=4, yes=0.5)
    a = pipeline.answer(QUESTION)
    assert a.refused and a.repair == COPY
    assert a.rejected and "quantity" in a.rejected  # the first rejection's reason stands


def test_off_by_default(settings):
    pipeline, llm = _pipeline(settings, repair=VerifySettings().repair, yes=0.9)
    a = pipeline.answer(QUESTION)
    assert a.refused and a.repair is None and len(llm.prompts) == 1
