"""Odd questions get a clear answer or a clear ValueError; long ones are cut to the model's context."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

import index
import qa
from qa.llm.base import LLM
from qa.pipeline import MAX_QUESTION_CHARS, _check_question

from .conftest import ROOT, make_sources

EMPTY = ["", "   ", "\n\t \r\n", "?!...;:--", "\x00\x07\x1b", "¿¡…‽", "\u200b\u200b"]
LI_KAI = "Which university does the researcher Li Kai work at?"
OTHER_LANGUAGES = {
    "zh": "研究员李凯在哪所大学工作？",
    "ru": "В каком университете работает исследователь Ли Кай?",
    "ar": "في أي جامعة يعمل الباحث لي كاي؟",
}


class CountingLLM(LLM):
    """A stand-in model: one token per character, replies with the first excerpt's opening words."""

    n_ctx = 4096

    def __init__(self) -> None:
        self.prompts: list[str] = []

    def count_tokens(self, text: str) -> int:
        return len(text)

    def stream(self, messages, max_tokens, temperature=0.0) -> Iterator[str]:
        prompt = "".join(m["content"] for m in messages)
        self.prompts.append(prompt)
        assert self.count_tokens(prompt) + max_tokens <= 4 * self.n_ctx  # never beyond what a real context takes
        yield "Otters live in Norway [1]."


@pytest.mark.parametrize("question", EMPTY, ids=repr)
def test_empty_questions_are_a_clear_value_error(question):
    with pytest.raises(ValueError, match="the question is empty"):
        _check_question(question)


def test_not_a_string_is_a_type_error():
    with pytest.raises(TypeError, match="must be a string"):
        _check_question(None)  # type: ignore[arg-type]


def test_control_characters_are_removed():
    q, notes = _check_question("Who\x00 founded\x1b[31m Sogou?\x07\u202e")
    assert q == "Who  founded [31m Sogou?" and notes == []
    assert all(ch.isprintable() for ch in q)


@pytest.mark.parametrize("lang", sorted(OTHER_LANGUAGES))
def test_other_languages_pass_unchanged(lang):
    assert _check_question(OTHER_LANGUAGES[lang]) == (OTHER_LANGUAGES[lang], [])


def test_100kb_question_is_cut_with_a_note():
    long = LI_KAI + " " + "and please explain it in great detail " * 2700
    assert len(long.encode()) > 100_000
    q, notes = _check_question(long)
    assert q.startswith(LI_KAI) and len(q) <= MAX_QUESTION_CHARS and not q.endswith(" ")
    assert len(notes) == 1 and "cut" in notes[0]


def test_question_is_cut_to_the_token_budget():
    q, notes = _check_question("字" * 1900, count_tokens=len, max_tokens=300)
    assert len(q) <= 300 and "context" in notes[0]


def test_pipeline_with_long_and_odd_questions(tmp_path, fast_embedder):
    src, settings = make_sources(tmp_path)
    index.build(settings=settings)
    llm = CountingLLM()
    pipe = qa.Pipeline(qa.Config(index=settings), llm=llm)
    for bad in EMPTY:
        with pytest.raises(ValueError):
            pipe.answer(bad)
    assert llm.prompts == []  # refused before any work
    a = pipe.answer("Where do otters live? " + "Tell me everything. " * 6000)
    assert a.notes and "cut" in a.notes[0]
    budget = pipe._question_tokens()
    assert llm.count_tokens(a.question) <= budget
    assert len(llm.prompts[-1]) < 2 * budget + 3000  # the question appears twice, beside the excerpts
    for q in OTHER_LANGUAGES.values():
        assert isinstance(pipe.answer(q), qa.Answer)


@pytest.mark.slow
@pytest.mark.parametrize("question", ["", "   ", "?!?"], ids=repr)
def test_cli_empty_question_is_one_line_error(tmp_path, question):
    src, settings = make_sources(tmp_path)
    env = {**os.environ, "RAGQA_INDEX_DIR": str(tmp_path / "idx"), "RAGQA_SOURCES": str(src)}
    index.build(settings=settings)
    r = subprocess.run([str(ROOT / ".venv" / "bin" / "ragqa"), "ask", question], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and r.stderr.strip() == "ragqa: error: the question is empty: type a question with at least one word"


# -- the real models ------------------------------------------------------------------------


def _check_citations(answer: qa.Answer) -> None:
    for c in answer.citations:
        assert open(c.source, encoding="utf-8").read()[c.start : c.end] == c.quote


@pytest.mark.slow
@pytest.mark.integration
def test_real_model_long_question_with_control_characters(pipeline):
    question = "Which university\x00 does the researcher\x07 Li Kai work at?\x1b " + "Li Kai " * 20_000
    a = pipeline.answer(question)
    assert a.notes and "cut" in a.notes[0]
    assert "\x00" not in a.question and len(a.question) <= MAX_QUESTION_CHARS
    _check_citations(a)
    assert "Shanxi University" in a.text or a.refused


@pytest.mark.slow
@pytest.mark.integration
def test_real_model_question_beyond_context_in_tokens(pipeline):
    a = pipeline.answer("李凯" * 1000 + "在哪所大学工作？")  # 2000 characters, but far more tokens than chars/4
    assert a.notes and "context" in a.notes[0]
    assert pipeline.llm.count_tokens(a.question) <= pipeline._question_tokens()
    _check_citations(a)


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize("lang", sorted(OTHER_LANGUAGES))
def test_real_model_other_languages(pipeline, lang):
    a = pipeline.answer(OTHER_LANGUAGES[lang])
    assert a.text.strip() and isinstance(a.refused, bool)
    assert a.refused or a.citations  # an answer that stands is cited
    _check_citations(a)
