"""Questions in another language than the sources' (qa.language, qa.crosslingual), with a scripted model."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from qa import crosslingual, language
from qa.config import Config
from qa.events import Retrieved, Token, Translating, Verified
from qa.export import export
from qa.language import LanguageSettings
from qa.llm.base import LLM
from qa.pipeline import Pipeline
from qa.prompt import REFUSAL, SYSTEM
from tests.unit.one_file import one_file_index
from ui import render

REPORT = ("# Kestrel Water Board\n\n## Reservoir levels\n\nThe Kestrel reservoir held 48 million litres of water in "
          "March 2023. Rainfall was low that spring, and the board asked towns to save water.\n")
ASKED_RU = "Сколько воды было в водохранилище Кестрел в марте 2023 года?"
ASKED_EN = "How much water did the Kestrel reservoir hold in March 2023?"
ANSWER = "The Kestrel reservoir held 48 million litres of water in March 2023 [1]."
ANSWER_RU = "В марте 2023 года в водохранилище Kestrel было 48 миллионов литров воды [1]."


class ScriptedLLM(LLM):
    """Translates the question and the answer from a script, answers with ``answer``; the judge says yes."""

    n_ctx = 4096

    def __init__(self, answer: str = ANSWER, translation: str = ANSWER_RU, question: str = ASKED_EN) -> None:
        self.answer, self.translation, self.question = answer, translation, question
        self.prompts: list[str] = []
        self.systems: list[str] = []

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, messages, max_tokens, temperature=0.0) -> Iterator[str]:
        user = messages[-1]["content"]
        self.prompts.append(user)
        self.systems.append(messages[0]["content"])
        if "only translate it into English" in user:  # the first try, sharing the answering system prompt
            yield f"English question: {self.question}"
        elif user.startswith("Translate into English:"):  # the second, the translator's
            yield ASKED_EN
        elif user.startswith(("Translate this text into", "Translate into")):
            yield self.translation
        elif user.startswith("Conversation:"):  # condensing a follow-up
            yield "How much water did the Kestrel reservoir hold in March 2023, according to the board?"
        else:
            yield from re.findall(r"\S+\s*", self.answer)

    def yes_probability(self, messages) -> float:
        return 0.9

    def calls(self, kind: str) -> int:
        starts = {"question": ("This is not a question", "Translate into English:"),
                  "answer": ("Translate this text", "Translate into Russian"), "answering": ("Question:",)}
        return sum(1 for p in self.prompts if p.startswith(starts[kind]))


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return one_file_index(tmp_path_factory, REPORT)


def _pipeline(settings, llm: ScriptedLLM, **lang) -> Pipeline:
    return Pipeline(Config(index=settings, language=LanguageSettings(**lang)), llm=llm)


# -- detection ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("question", "code"), [
    ("Wer hat die Suchmaschine Sogou gegründet?", "de"),
    ("Почему мы так много слышим о доминировании Китая в ИИ?", "ru"),
    ("百度在美国运营多少个研究实验室？", "zh"),
    ("Selon LinkedIn, combien de spécialistes de l'IA travaillent aux États-Unis ?", "fr"),
    ("¿Cuánto capital semilla consiguió la startup de Wang Xiaochuan?", "es"),
])
def test_a_question_in_another_language_is_detected(question, code):
    assert language.foreign_language(question, "en") == code
    assert language.foreign_language(question, code) is None  # the sources' own language: nothing to do


@pytest.mark.parametrize("question", [
    "Who founded the search engine Sogou?", "What is the capital of Australia?", "Nvidia chips",
    "What is Bacillus subtilis?",  # lingua's top guess is French (0.43): below the bar
    "What are alphaviruses?", "Sogou?", "HCoV-NL63 ELISA", "2023",
])
def test_english_questions_stay_english(question):
    assert language.foreign_language(question, "en") is None


def test_names_numbers_and_acronyms_do_not_vote():
    assert language.language_words("Quels postes Henry He occupe-t-il chez Kingsoft Cloud en 2023 ?") == \
        "Quels postes occupe-t-il chez en"
    assert language.language_words("What does CVPR say about SenseTime and HCoV-NL63?") == "What does say about and"


def test_the_sources_language_is_read_from_the_index_or_set(settings):
    assert crosslingual.sources_language(_pipeline(settings, ScriptedLLM())) == "en"
    assert crosslingual.sources_language(_pipeline(settings, ScriptedLLM(), sources="de")) == "de"
    assert language.majority_language(["Ein kurzer deutscher Satz über das Wasser.", "The water board said so."
                                       " It asked towns to save water during the dry spring of that year."]) == "en"
    with pytest.raises(ValueError, match="RAGQA_SOURCES_LANGUAGE"):
        LanguageSettings(sources="xx")


# -- the flow -------------------------------------------------------------------------------------------------
def test_a_russian_question_is_answered_in_english_and_translated_back(settings):
    llm = ScriptedLLM()
    events = list(_pipeline(settings, llm).stream(ASKED_RU))
    kinds = [type(e) for e in events]
    assert kinds[0] is Retrieved and kinds[-1] is Verified and kinds[-2] is Translating
    assert set(kinds[1:-2]) == {Token}
    assert events[0].question == ASKED_EN  # retrieved with the translated question
    a = events[-1].answer
    assert not a.refused and a.question == ASKED_RU and a.standalone_question == ASKED_EN
    assert a.text == ANSWER and events[-2].answer.text == ANSWER and events[-2].language == "ru"
    assert a.language == "ru" and a.translated_from == "en" and a.translation == ANSWER_RU and a.shown == ANSWER_RU
    c = a.citations[0]
    assert c.n == 1 and REPORT[c.start:c.end] == c.quote and "48 million litres" in c.quote  # in English, exact
    assert llm.calls("question") == 1 and llm.calls("answer") == 1 and llm.calls("answering") == 1
    assert set(llm.systems) == {SYSTEM}  # every prompt shares the cached answering system prompt
    assert a.timings["translate"] >= 0 and a.timings["total"] >= a.timings["first_token"]
    d = a.to_dict()
    assert d["translation"] == ANSWER_RU and d["answer"] == ANSWER and d["language"] == "ru"


def test_an_english_question_costs_no_extra_model_call(settings):
    llm = ScriptedLLM()
    events = list(_pipeline(settings, llm).stream(ASKED_EN))
    a = events[-1].answer
    assert not any(isinstance(e, Translating) for e in events)
    assert a.language is None and a.translation is None and a.standalone_question is None
    assert "translate" not in a.timings
    assert len(llm.prompts) == 1 and llm.calls("answering") == 1


@pytest.mark.parametrize(("translation", "why"), [
    ("В марте 2023 года в водохранилище Кестрел было 48 миллионов литров воды.", "citation markers (none)"),
    ("В марте 2023 года в водохранилище было 48 миллионов литров [1][2].", "citation markers ([1] [2])"),
    (ANSWER, "repeated the original"),
    ("The reservoir of Kestrel held 48 million litres in the spring of 2023 [1].", "not in Russian"),
    ("В марте 2023 года в водохранилище Kestrel было 4,8 миллиона литров воды [1].", "numbers (2023, 4.8) are not the verified answer's (2023, 48)"),
    ("В марте 2023 года в водохранилище Кестрел было 48 миллионов литров воды [1].", "keep the names kestrel"),
    ("", "empty"),
])
def test_a_translation_that_changes_the_markers_is_not_shown(settings, translation, why):
    llm = ScriptedLLM(translation=translation)
    a = _pipeline(settings, llm).answer(ASKED_RU)
    assert llm.calls("answer") == 2 and llm.systems[-1] == crosslingual.TRANSLATOR  # a second try, then no more
    assert not a.refused and a.text == ANSWER  # the verified original stands
    assert a.language == "ru" and a.translation is None and a.translated_from is None and a.shown == ANSWER
    note = next(n for n in a.notes if "translation into Russian" in n)
    assert why in note and "verified answer in English" in note


@pytest.mark.parametrize("reply", [REFUSAL, "Сколько воды было в водохранилище [1]", "How [1]", ""])
def test_a_question_the_model_answered_instead_of_translating_is_asked_again(settings, reply):
    llm = ScriptedLLM(question=reply)
    a = _pipeline(settings, llm).answer(ASKED_RU)
    assert llm.calls("question") == 2 and a.standalone_question == ASKED_EN and not a.refused
    assert llm.systems[1] == crosslingual.TRANSLATOR


def test_a_follow_up_in_another_language_is_translated_then_condensed(settings):
    llm = ScriptedLLM()
    history = [("Что такое Kestrel Water Board?", "The Kestrel Water Board runs the Kestrel reservoir [1].")]
    a = _pipeline(settings, llm).answer(ASKED_RU, history=history)
    condense = next(p for p in llm.prompts if p.startswith("Conversation:"))
    assert f"Last question: {ASKED_EN}" in condense  # the translation is what gets condensed
    assert a.standalone_question.endswith("according to the board?") and a.language == "ru"


def test_markers_in_cjk_brackets_are_read_as_markers():
    assert crosslingual._plain_markers("水库有4800万升水【1】。见［２］") == "水库有4800万升水[1]。见[2]"
    assert crosslingual.check_translation("A [1]. B [2].", "甲[1]。乙[2]。", "zh") is None


def test_a_refusal_is_translated_without_the_model(settings):
    llm = ScriptedLLM(answer=REFUSAL)
    a = _pipeline(settings, llm).answer(ASKED_RU)
    assert a.refused and a.translation == crosslingual.REFUSALS["ru"] and llm.calls("answer") == 0
    assert set(crosslingual.REFUSALS) == set(language.LANGUAGES)


def test_translation_can_be_turned_off(settings):
    llm = ScriptedLLM()
    a = _pipeline(settings, llm, translate=False).answer(ASKED_RU)
    assert a.language is None and a.translation is None and llm.calls("question") == 0


def test_the_reply_is_cleaned_of_labels_quotes_and_explanations():
    assert crosslingual._reply('Russian translation: "Привет [1]."\n\nNote: I kept the marker.') == "Привет [1]."
    assert crosslingual._reply("  «Кто основал Sogou?» ") == "Кто основал Sogou?"


# -- what the user sees ---------------------------------------------------------------------------------------
def test_the_chat_shows_the_translation_marked_and_the_original_one_click_away(settings):
    a = _pipeline(settings, ScriptedLLM()).answer(ASKED_RU)
    html = render.answer_message(a)
    assert 'class="ragqa-text ragqa-translated-text" lang="ru"' in html and "48 миллионов" in html
    assert '<details class="ragqa-original">' in html and '<span class="ragqa-translated">translated</span>' in html
    assert "from English" in html and "48 million litres" in html  # the verified original, collapsed
    assert html.count('<div class="ragqa-text') == 1  # one answer text: the translation
    assert '<span class="ragqa-cite">[1]</span>' in html
    api = render.answer_text(a)
    assert api.startswith(ANSWER_RU) and "(translated from English; the verified original: " + ANSWER in api
    assert "Sources:" in api and "48 million litres" in api.split("Sources:")[1]
    md = export([a], "markdown")
    assert ANSWER_RU in md and "Translated from English" in md and ANSWER in md
    waiting = render.translating_message(a, "ru")
    assert "ragqa-streaming" in waiting and "translating it into Russian" in waiting


def test_a_failed_translation_is_shown_as_the_verified_original_with_its_note(settings):
    a = _pipeline(settings, ScriptedLLM(translation="без маркеров")).answer(ASKED_RU)
    html = render.answer_message(a)
    assert "ragqa-translated" not in html and '<div class="ragqa-text">' in html
    assert "translation into Russian was not shown" in html


# -- the facts a translation must keep -------------------------------------------------------------------------
def test_numbers_are_compared_whatever_their_separators():
    assert crosslingual.numbers("1.9 million, 850,000 and 50,000 [1]") == {"1.9", "850000", "50000"}
    assert crosslingual.numbers("1,9 millions, 850 000 et 50.000 [1]") == {"1.9", "850000", "50000"}
    assert crosslingual.numbers("China buys nine out of ten chips, one of many [2].", words=True) == {"9", "10"}
    assert crosslingual.numbers("4,8 миллиона") == {"4.8"}


@pytest.mark.parametrize(("translation", "kept"), [
    # the model's own translations of verified seed answers (2026-12-01)
    ("Ли Kai работает в университете финансов и экономики Сирия (SXUFE) [1].", False),  # "Shanxi" became "Syria"
    ("Li Kai работает в Shanxi University of Finance and Economics (SXUFE) [1].", True),
    ("Китай покупает десять из десяти компьютерных процессоров из за рубежа [1].", False),  # "ten out of ten"
    ("Китай покупает 9 из 10 компьютерных чипов за рубежом [1].", True),
])
def test_names_and_numbers_of_the_verified_answer_must_survive(translation, kept):
    original = {"Ли": "Li Kai works at the Shanxi University of Finance and Economics (SXUFE) [1].",
                "Li": "Li Kai works at the Shanxi University of Finance and Economics (SXUFE) [1].",
                "Ки": "China buys nine out of ten computer chips from abroad [1]."}[translation[:2]]
    assert (crosslingual.check_translation(original, translation, "ru") is None) is kept


def test_places_and_common_abbreviations_may_be_translated():
    original = ("According to LinkedIn, there are about 1.9 million AI specialists in the world with 850,000 of them "
                "working in the United States and only 50,000 in China [1].")
    french = ("Selon LinkedIn, il y a environ 1,9 millions d'experts en IA dans le monde avec 850,000 d'eux "
              "travaillant aux États-Unis et seulement 50,000 en Chine [1].")
    assert crosslingual.check_translation(original, french, "fr") is None
    korean = "LinkedIn에 따르면 세계적으로 1,900만의 AI 전문가가 있으며, 미국에서 850만명, 중국에서 50만명이 있습니다. [1]"
    assert "numbers" in crosslingual.check_translation(original, korean, "ko")
    assert "linkedin" in crosslingual.check_translation(original, french.replace("LinkedIn", "Linkedln"), "fr")
