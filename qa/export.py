"""A conversation as a file to keep: Markdown to read, JSON with every field of every answer.

The UI's "Download conversation", its API endpoint and :func:`qa.export` all call :func:`export`.
Markdown holds each question, its verified answer (or the refusal) and, per citation, the source
path, the page and section where known, the character offsets and the exact quote; JSON holds the
full :class:`~qa.types.Answer` records (passages, sentences, timings, the model's raw text).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from enum import StrEnum

from .language import name as language_name
from .types import Answer


class ExportFormat(StrEnum):
    MARKDOWN = "markdown"
    JSON = "json"

    @property
    def suffix(self) -> str:
        return ".md" if self is ExportFormat.MARKDOWN else ".json"


def _quote_block(text: str) -> str:
    return "\n".join("> " + line if line.strip() else ">" for line in " ".join(text.split()).splitlines())


def to_markdown(answers: list[Answer], title: str = "ragqa conversation") -> str:
    """The conversation as Markdown (see the module docstring)."""
    out = [f"# {title}", "", f"Exported {time.strftime('%Y-%m-%d %H:%M %Z')}; {len(answers)} question(s).", ""]
    for n, a in enumerate(answers, 1):
        out += [f"## {n}. {' '.join(a.question.split())}", ""]
        if a.standalone_question:
            out += [f"*Searched for:* {a.standalone_question}", ""]
        if a.refused:
            out += ["**Not answered:** the sources do not contain the answer.", ""]
            if a.rejected and a.raw.strip():
                out += [f"*The model's answer could not be verified ({a.rejected}).*", ""]
        else:
            if a.translation:  # asked in another language: the translation, then the verified original
                out += [a.translation.strip(), "", f"*Translated from {language_name(a.translated_from)} by the model; "
                        "the verified original:*", ""]
            out += [a.text.strip(), ""]
            for c in a.citations:
                where = f", {c.where}" if c.where else ""
                out += [f"[{c.n}] `{c.source}`{where}, characters {c.start}–{c.end}:", "", _quote_block(c.quote), ""]
        out += [f"*Note: {note}*" for note in a.notes] + ([""] if a.notes else [])
    return "\n".join(out).rstrip() + "\n"


def to_json(answers: list[Answer]) -> str:
    """The conversation as JSON: ``{"exported": ..., "answers": [Answer.to_dict(), ...]}``."""
    return json.dumps({"exported": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "answers": [a.to_dict() for a in answers]},
                      ensure_ascii=False, indent=2) + "\n"


def export(answers: Iterable[Answer], fmt: ExportFormat | str = ExportFormat.MARKDOWN) -> str:
    """The answers of a conversation as Markdown or JSON text. ValueError for an unknown format."""
    try:
        fmt = ExportFormat(fmt)
    except ValueError:
        raise ValueError(f"unknown export format {fmt!r}: use 'markdown' or 'json'") from None
    answers = list(answers)
    if not all(isinstance(a, Answer) for a in answers):
        raise TypeError("export takes qa.Answer objects")
    return to_markdown(answers) if fmt is ExportFormat.MARKDOWN else to_json(answers)
