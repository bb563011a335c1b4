"""Which language a question (or a source) is written in: lingua, over the languages ragqa translates.

Two detectors know only :data:`LANGUAGES` (fewer candidates: faster and more accurate). lingua's low-accuracy
mode (0.06 s to its first answer, ~90 MB) settles most questions: one it gives the sources' language with
:data:`QUICK_SAME` or more is in the sources' language. Only the others are read by the full detector, built on
first need with its models preloaded (about 1 s and ~360 MB more): the low-accuracy mode alone took 39 of the
1,483 English questions below for another language. Texts longer than a question (a sample of the sources, a
translation) are read by the low-accuracy mode. :func:`warm_up` builds it in the background as soon as a
pipeline is made. A detection takes about 0.1 ms.

Short questions misdetect easily ("What is Bacillus subtilis?" reads as French), so a question counts as
written in another language only when lingua is confident (:data:`MIN_CONFIDENCE`) once the words that say
nothing about the language are set aside: names and other capitalised words inside the sentence, acronyms,
numbers and codes (:func:`language_words`).
"""

from __future__ import annotations

import os
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

LANGUAGES: dict[str, str] = {
    "en": "English", "ru": "Russian", "uk": "Ukrainian", "de": "German", "fr": "French", "es": "Spanish",
    "it": "Italian", "pt": "Portuguese", "nl": "Dutch", "pl": "Polish", "tr": "Turkish", "zh": "Chinese",
    "ja": "Japanese", "ko": "Korean", "ar": "Arabic",
}
"""ISO 639-1 code → English name (as prompts and notes say it): the languages detected and translated. All are
languages Qwen2.5 was trained on; adding one here is enough to support it (and its refusal in ``REFUSALS``)."""

DEFAULT_SOURCES_LANGUAGE = "en"

MIN_CONFIDENCE = 0.5
"""A question is taken to be in another language than the sources' only when lingua gives that language at
least this confidence (on :func:`language_words`). Chosen with ``python -m scripts.bench.language_threshold``
(2026-12-01): over 1,483 English questions (the seeds dev set, COVID-QA's 1,380, the 90 COVID-QA lookalikes)
the highest confidence another language reached was 0.438 ("What are alphaviruses?" → French), so at 0.5 no
English question is translated (0.4: 2, 0.3: 3). Of 81 questions in 14 other languages (eval/dev_crosslingual
.jsonl, eval/language_calibration.jsonl, the dev set's Russian one), 72 reach 0.5 in their own language and 1
in another ("¿Qué es Sinovation Ventures?" → French, 0.569; at 0.6: 71 and 0); the 8 below are short questions
split between Spanish, Portuguese and Italian, or mostly names ("Wer ist Kai-Fu Lee?"), and are answered as
they were asked, as before."""

QUICK_SAME = 0.5
"""A question to which lingua's low-accuracy mode gives the sources' language this confidence or more is taken to
be in it, without the full detector. Over the same English questions (sources in English), 1,405 of 1,483 reach
0.5 (1,297 reach 0.9); of the 73 questions in other languages that the full detector sends to translation, the
highest English confidence in low-accuracy mode was 0.116, so none is missed (2026-12-01). A cold ``ragqa ask``
took 6.5 s with the full detector preloaded in the background, against 3.84 s for a warm answer (1.69×)."""

SAMPLE_CHUNKS = 64
"""Chunks read (evenly spaced) to tell the sources' language."""


@dataclass
class LanguageSettings:
    """Questions in another language than the sources' (:mod:`qa.crosslingual`)."""

    sources: str = field(default_factory=lambda: os.environ.get("RAGQA_SOURCES_LANGUAGE", "auto").strip().lower()
                         or "auto")
    """The sources' language: an ISO 639-1 code of :data:`LANGUAGES`, or ``auto`` (default): the language of
    most of the index's text, read from a sample of its chunks when the index is loaded."""
    translate: bool = field(default_factory=lambda: os.environ.get("RAGQA_TRANSLATE", "1").strip() not in ("0", "false", "no"))
    """Translate questions in another language (and their answers back); False (``RAGQA_TRANSLATE=0``): every
    question is answered as it is asked."""
    min_confidence: float = MIN_CONFIDENCE

    def __post_init__(self) -> None:
        if self.sources != "auto" and self.sources not in LANGUAGES:
            raise ValueError(f"RAGQA_SOURCES_LANGUAGE must be 'auto' or one of {', '.join(LANGUAGES)}, "
                             f"got {self.sources!r}")


_detectors: dict[bool, object] = {}
_detector_lock = threading.Lock()


def _built(quick: bool):
    """The lingua detector for :data:`LANGUAGES`, built once per process (thread-safe): the full one with its
    models preloaded, or (``quick``) the low-accuracy mode."""
    with _detector_lock:
        if quick not in _detectors:
            from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

            languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in LANGUAGES]
            builder = LanguageDetectorBuilder.from_languages(*languages)
            builder = builder.with_low_accuracy_mode() if quick else builder.with_preloaded_language_models()
            _detectors[quick] = builder.build()
        return _detectors[quick]


def detector():
    """The full lingua detector (about 1 s and ~360 MB, on first need)."""
    return _built(quick=False)


def quick_detector():
    """lingua's low-accuracy mode (~90 MB; settles most questions, see :data:`QUICK_SAME`)."""
    return _built(quick=True)


def warm_up() -> threading.Thread | None:
    """Build the low-accuracy detector in a background thread, so that the first question does not wait for it;
    None when it is built already."""
    if True in _detectors:
        return None
    thread = threading.Thread(target=quick_detector, name="ragqa-lingua", daemon=True)
    thread.start()
    return thread


_WORD = re.compile(r"\w+(?:['’-]\w+)*")


def language_words(text: str) -> str:
    """``text``'s words that tell its language: without numbers and codes ("2023", "HCoV-NL63"), acronyms and
    CamelCase ("CVPR", "SenseTime") and Latin-script capitalised words after the first ("Wang", "Sogou")."""
    words = _WORD.findall(text)
    kept = []
    for i, w in enumerate(words):
        if any(ch.isdigit() for ch in w) or sum(ch.isupper() for ch in w) > 1:
            continue
        if i > 0 and w[:1].isupper() and w[:1].isascii():
            continue
        kept.append(w)
    return " ".join(kept)


def confidences(text: str, quick: bool = False) -> list[tuple[str, float]]:
    """(code, confidence) of each language for ``text``, most likely first (empty for text without letters), by
    the full detector, or by the low-accuracy one when ``quick``."""
    if not any(ch.isalpha() for ch in text):
        return []
    found = (quick_detector() if quick else detector()).compute_language_confidence_values(text)
    return [(c.language.iso_code_639_1.name.lower(), float(c.value)) for c in found]


@dataclass(frozen=True)
class Detection:
    language: str | None
    """The most likely language's code (None: no letters to judge by)."""
    confidence: float


def _latin(text: str) -> bool:
    """Whether every letter of ``text`` is a Latin one (ASCII and the Latin extensions, before IPA)."""
    return all(ord(ch) < 0x250 for ch in text if ch.isalpha())


def detect(text: str) -> Detection:
    """The most likely language of ``text``'s :func:`language_words` (of all of it when none are left). A Latin-
    script text with fewer than two such words ("Sogou?", "Nvidia chips") tells nothing: ``Detection(None, 0)``."""
    words = language_words(text)
    if len(words.split()) < 2 and _latin(text):
        return Detection(None, 0.0)
    values = confidences(words) or confidences(text)
    return Detection(*values[0]) if values else Detection(None, 0.0)


def foreign_language(question: str, sources_language: str, min_confidence: float = MIN_CONFIDENCE) -> str | None:
    """The question's language when it is confidently not ``sources_language``; None otherwise (ask as it is)."""
    words = language_words(question)
    if len(words.split()) < 2 and _latin(question):
        return None  # nothing to tell the language by (see detect)
    if dict(confidences(words or question, quick=True)).get(sources_language, 0.0) >= QUICK_SAME:
        return None
    found = detect(question)
    if found.language is None or found.language == sources_language or found.confidence < min_confidence:
        return None
    return found.language


def text_language(text: str) -> str | None:
    """The most likely language of a longer text (a passage, a translation), without a confidence bar (by the
    low-accuracy detector, which reads longer texts well)."""
    values = confidences(text, quick=True)
    return values[0][0] if values else None


def majority_language(texts: Iterable[str], default: str = DEFAULT_SOURCES_LANGUAGE) -> str:
    """The language of most characters of ``texts`` (each detected as a whole); ``default`` when none has letters."""
    weight: Counter[str] = Counter()
    for text in texts:
        code = text_language(text)
        if code is not None:
            weight[code] += len(text)
    return weight.most_common(1)[0][0] if weight else default


def name(code: str | None) -> str:
    """A language's English name ("Russian"); the code itself when unknown."""
    return LANGUAGES.get(code or "", code or "")
