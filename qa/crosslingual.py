"""Questions in another language than the sources': asked in the sources' language, answered back in the user's.

The flow (:meth:`qa.Pipeline.stream`):

1. **Detect** the question's language (:func:`qa.language.detect`, lingua, ~0.1 ms). When it is the sources'
   language (or lingua is not confident), nothing else in this module runs: no model call is added.
2. **Translate the question** into the sources' language (one short model call); that is what is retrieved,
   answered and verified, exactly as a question asked in the sources' language, and it is shown as the
   question searched for.
3. **Translate the verified answer** back into the question's language (one model call), and keep the
   translation only when it holds exactly the same ``[n]`` markers as the verified text, the same numbers and
   every name of a person, organisation or code (:func:`check_translation`), in the question's language: the
   citations, their quotes and offsets stay those of the verified original, in the sources' language.
   Otherwise the verified original is shown, with a note saying why. A refusal is translated from a fixed
   table, without the model.

Both prompts share the answering system prompt (:data:`qa.prompt.SYSTEM`), so llama.cpp's cached prefix
serves them and the answer's own prompt after them; only when a reply is no usable translation is the model
asked once more with a translator's system prompt (:data:`TRANSLATOR`).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING

from . import language as lang
from .prompt import REFUSAL, SYSTEM
from .types import Answer

if TYPE_CHECKING:
    from .pipeline import Pipeline

REFUSALS: dict[str, str] = {
    "en": REFUSAL,
    "ru": "Я не нашёл ответа в источниках.",
    "uk": "Я не знайшов відповіді в джерелах.",
    "de": "Ich konnte die Antwort in den Quellen nicht finden.",
    "fr": "Je n'ai pas trouvé la réponse dans les sources.",
    "es": "No encontré la respuesta en las fuentes.",
    "it": "Non ho trovato la risposta nelle fonti.",
    "pt": "Não encontrei a resposta nas fontes.",
    "nl": "Ik kon het antwoord niet in de bronnen vinden.",
    "pl": "Nie znalazłem odpowiedzi w źródłach.",
    "tr": "Cevabı kaynaklarda bulamadım.",
    "zh": "我在资料中没有找到答案。",
    "ja": "資料の中に答えが見つかりませんでした。",
    "ko": "자료에서 답을 찾지 못했습니다.",
    "ar": "لم أجد الإجابة في المصادر.",
}
"""The refusal (:data:`qa.prompt.REFUSAL`) in every language of :data:`qa.language.LANGUAGES`: fixed text, so a
refused question costs no translation call."""

_MARKER = re.compile(r"\[(\d+)\]")
_WIDE_MARKER = re.compile(r"[［【〔]\s*([0-9０-９]+)\s*[］】〕]")
_LABEL = re.compile(r"^\s*(?:\*\*)?(?:(?:[a-z]+\s+)?(?:translation|translated text|question|answer|text)|"
                    + "|".join(lang.LANGUAGES.values()) + r")(?:\*\*)?\s*[:：]\s*", re.IGNORECASE)
_PREAMBLE = re.compile(r"^[^:：\n]{0,60}(?:translation|traduction|traducción|traduzione|tradução|übersetzung|перевод|"
                       r"переклад|vertaling|tłumaczenie|çeviri|翻译|翻譯|翻訳|번역|ترجمة)[^:：\n]{0,40}[:：]\s*",
                       re.IGNORECASE)
_QUOTES = "\"'“”«»„「」"


def markers(text: str) -> Counter[int]:
    """The ``[n]`` markers of ``text``, with how often each occurs."""
    return Counter(int(n) for n in _MARKER.findall(text))


def _plain_markers(text: str) -> str:
    """Full-width or lenticular brackets around a marker number ("【1】", "［１］", as CJK text writes them) as [1]."""
    return _WIDE_MARKER.sub(lambda m: f"[{int(m.group(1).translate(str.maketrans('０１２３４５６７８９', '0123456789')))}]",
                            text)


def _reply(text: str) -> str:
    """A translation as the model wrote it, without a "Translation:" label, wrapping quotes, or a second paragraph
    (an explanation after the translation)."""
    text = _PREAMBLE.sub("", _LABEL.sub("", text.strip()))
    text = re.split(r"\n\s*\n", text, maxsplit=1)[0]
    text = " ".join(text.split())
    if len(text) > 1 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    return text


TRANSLATOR = ("You are a translator. Translate the user's text into the language asked for. Reply with the "
              "translation only: never answer, explain or refuse.")
"""The system prompt of the second try, when the first (which shares the answering system prompt, and so its KV
cache) gave no usable translation. llama.cpp holds each system prompt's KV state once read (:mod:`qa.llm.llama_cpp`), so
this one is read once per process (or restored from the cache folder) and the answering one is restored after it."""


def question_messages(question: str, to: str, shared: bool = True) -> list[dict]:
    """Messages asking the model to translate ``question`` into language ``to`` (a code), not to answer it: with
    the answering system prompt (``shared``: llama.cpp reuses its cache) or the translator's."""
    target = lang.name(to)
    if not shared:
        return [{"role": "system", "content": TRANSLATOR}, {"role": "user", "content": f"Translate into {target}:\n{question}"}]
    user = (f"This is not a question for you to answer: only translate it into {target}, word for word. Keep names "
            f"and numbers; translate abbreviations. Reply with the {target} question only.\n\nQuestion to translate: {question}\n"
            f"{target} question:")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def answer_messages(text: str, to: str, shared: bool = True) -> list[dict]:
    """Messages asking the model to translate a verified answer into language ``to``, keeping its ``[n]`` markers
    (``shared``: as :func:`question_messages`)."""
    target = lang.name(to)
    keep = ("Keep every citation marker such as [1] exactly as it is, at the end of the same sentence. Write every "
            "number in digits. Keep the names of people, companies, institutions and places exactly as they are "
            "written here, in Latin letters.")
    if not shared:
        return [{"role": "system", "content": TRANSLATOR},
                {"role": "user", "content": f"Translate into {target}. {keep}\n{text}"}]
    user = (f"Translate this text into {target}. {keep} Reply with the {target} translation only.\n\n"
            f"Text: {text}\n{target} translation:")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def check_question(question: str, translation: str, to: str) -> str | None:
    """Why ``translation`` is no translation of ``question`` into ``to``; None when it can be retrieved with."""
    if len(translation) < 4 or translation == question:
        return "no translation"
    if _MARKER.search(translation) or translation.rstrip(".") == REFUSAL.rstrip("."):
        return "an answer, not a translation"
    found = lang.text_language(translation)
    if found is not None and found != to:
        return f"not in {lang.name(to)}"
    return None


def translate_question(pipeline: Pipeline, question: str, to: str) -> str:
    """``question`` in language ``to``, by the model (a second try with the translator's prompt when the first
    reply is no translation); the question itself when neither is usable."""
    budget = min(256, 2 * pipeline.llm.count_tokens(question) + 32)
    for shared in (True, False):
        reply = _reply(pipeline.llm.complete(question_messages(question, to, shared), budget, 0.0))
        if check_question(question, reply, to) is None:
            return reply
    return question


TRANSLATED_NAMES = frozenset("""
    ai ml us usa uk eu un
    china chinese america american americas united states kingdom britain british england europe european asia
    asian africa african australia canada japan korea india russia germany france spain italy portugal brazil
    mexico netherlands poland turkey ukraine israel iran taiwan singapore switzerland sweden norway denmark
    finland austria belgium greece egypt arabia saudi emirates indonesia vietnam thailand malaysia philippines
    pakistan argentina chile colombia peru nigeria kenya zealand ireland scotland wales hong kong macau
    beijing shanghai shenzhen guangzhou hangzhou tokyo seoul moscow london paris berlin rome madrid washington york
    mainland pacific atlantic east west north south middle valley silicon
    january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday
""".split())
"""Names a translation may write in its own language ("China" → "Chine", 中国; "AI" → "KI", "ИИ"): places, months,
days and a few common abbreviations, not required verbatim by :func:`check_translation`. Names of people and organisations,
acronyms and codes are."""

_DIGITS = re.compile(r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?!\d)|\d+(?:[.,]\d+)*")
def _value(number: str) -> str:
    """A written number as digits, whatever its separators: groups of three after a separator are thousands
    ("850,000", "850.000", "850 000" → "850000"), any other last group is decimals ("1.9", "1,9" → "1.9")."""
    parts = re.split(r"[.,\s]", number)
    if len(parts) == 1 or all(len(p) == 3 for p in parts[1:]):
        return "".join(parts).lstrip("0") or "0"
    whole, frac = "".join(parts[:-1]).lstrip("0") or "0", parts[-1].rstrip("0")
    return f"{whole}.{frac}" if frac else whole


def numbers(text: str, words: bool = False) -> set[str]:
    """The numbers of ``text`` as digits (:func:`_value`); with ``words``, English number words too ("nine" →
    "9"; not "one", which is rarely a count)."""
    found = {_value(m.group(0)) for m in _DIGITS.finditer(_MARKER.sub(" ", text))}
    if words:
        from .claims import _NUMBER_WORDS, fold

        found |= {_NUMBER_WORDS[w] for w in re.findall(r"[a-z]+", fold(text))
                  if w in _NUMBER_WORDS and _NUMBER_WORDS[w] not in ("%", "0", "1")}
    return found


def names(text: str) -> set[str]:
    """The names and codes of ``text`` (folded): capitalised words after the first, acronyms, codes ("hcovnl63")."""
    from .claims import terms

    t = terms(_MARKER.sub(" ", text))
    return set(t.names) | set(t.compounds) | set(t.codes)


def check_translation(original: str, translation: str, to: str) -> str | None:
    """Why ``translation`` cannot stand for the verified ``original`` in language ``to``; None when it can: the
    same ``[n]`` markers, as often each; the same numbers, in digits; every name and code of the original,
    as written there (a Latin name may take an ending: "Baidus"); text in ``to`` that is not ``original`` copied.
    What it cannot check is the wording around those facts: that is why the UI marks it "translated"."""
    from .claims import fold, squash

    if not translation.strip():
        return "it was empty"
    if markers(translation) != markers(original):
        have = " ".join(f"[{n}]" for n in sorted(markers(translation).elements())) or "none"
        want = " ".join(f"[{n}]" for n in sorted(markers(original).elements()))
        return f"its citation markers ({have}) are not the verified answer's ({want})"
    bare = _MARKER.sub(" ", translation)
    if " ".join(bare.split()) == " ".join(_MARKER.sub(" ", original).split()):
        return "it repeated the original"
    want, have = numbers(original, words=True), numbers(translation)
    if want != have:
        return (f"its numbers ({', '.join(sorted(have)) or 'none'}) are not the verified answer's "
                f"({', '.join(sorted(want)) or 'none'})")
    folded, squashed = fold(translation), squash(translation)
    missing = sorted(n for n in names(original) - TRANSLATED_NAMES if n not in squashed
                     and not re.search(rf"(?<![^\W\d_]){re.escape(n)}", folded))
    if missing:
        return f"it does not keep the names {', '.join(missing)}"
    found = lang.text_language(lang.language_words(bare) or bare)
    if found is not None and found != to:
        return f"it is not in {lang.name(to)} (it reads as {lang.name(found)})"
    return None


def translate_answer(pipeline: Pipeline, text: str, to: str) -> tuple[str | None, str | None]:
    """(the verified ``text`` in language ``to``, None) or (None, why the translation was not kept). A second try,
    with the translator's prompt, only when the first translation fails :func:`check_translation`."""
    budget = min(768, 3 * pipeline.llm.count_tokens(text) + 48)
    problems = []
    for shared in (True, False):
        reply = _plain_markers(_reply(pipeline.llm.complete(answer_messages(text, to, shared), budget, 0.0)))
        problem = check_translation(text, reply, to)
        if problem is None:
            return reply, None
        problems.append(problem)
    return None, problems[0]  # the first try's: the second, with a colder prompt, tends to be further off


# -- what the pipeline calls -------------------------------------------------------------------------------
def sources_language(pipeline: Pipeline) -> str:
    """The sources' language: the setting, or (``auto``) the language of most of a sample of the index's chunks,
    read once per index generation."""
    setting = pipeline.config.language.sources
    if setting != "auto":
        return setting
    index = pipeline.index
    cached = getattr(pipeline, "_sources_language", None)
    if cached is not None and cached[0] == index.directory:
        return cached[1]
    found = lang.majority_language(c.text for c in index.sample(lang.SAMPLE_CHUNKS))  # only those are read
    pipeline._sources_language = (index.directory, found)
    return found


def question_language(pipeline: Pipeline, question: str) -> str | None:
    """The question's language when it is confidently not the sources' (and translation is on); None otherwise."""
    settings = pipeline.config.language
    if not settings.translate:
        return None
    # lingua's low-accuracy mode settles most questions; only the others wait for the full detector
    return lang.foreign_language(question, sources_language(pipeline), settings.min_confidence)


def to_sources(pipeline: Pipeline, question: str) -> tuple[str, float]:
    """(``question`` in the sources' language, seconds the model took)."""
    t0 = time.perf_counter()
    return translate_question(pipeline, question, sources_language(pipeline)), time.perf_counter() - t0


def translated(pipeline: Pipeline, answer: Answer, language: str, seconds: float = 0.0) -> Answer:
    """``answer`` (verified, in the sources' language) with its translation into ``language``; ``seconds`` (the
    question's translation) is added to the answer's ``translate`` timing, and the whole to its total."""
    t0 = time.perf_counter()
    source = sources_language(pipeline)
    notes = list(answer.notes)
    translation = None
    if answer.refused:
        translation = REFUSALS.get(language)
    else:
        translation, problem = translate_answer(pipeline, answer.text, language)
        if translation is None:
            notes.append(f"the translation into {lang.name(language)} was not shown because {problem}; "
                         f"this is the verified answer in {lang.name(source)}")
    spent = time.perf_counter() - t0
    timings = dict(answer.timings)
    timings["translate"] = round(seconds + spent, 3)
    timings["total"] = round(timings.get("total", 0.0) + spent, 3)
    return replace(answer, language=language, translation=translation,
                   translated_from=source if translation is not None else None, notes=notes, timings=timings)
