"""What :meth:`qa.Pipeline.stream` yields, in order: the evidence, the model's text as it comes, the verified answer.

``Retrieved`` arrives as soon as retrieval is done (milliseconds, before the model reads anything),
so a caller can show the passages being read; ``Token`` carries each piece of the model's unverified
text; ``Verified`` carries the :class:`~qa.types.Answer` after verification, always last. A question
in another language than the sources' also gets ``Translating`` (the verified answer, before its
translation) just before ``Verified``. Match on the type::

    for event in qa.stream("Who founded Sogou?"):
        match event:
            case qa.Retrieved(passages=ps): print("reading", len(ps), "passages")
            case qa.Token(text=t): print(t, end="")
            case qa.Verified(answer=a): print("\\n" + a.text)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .types import Answer, Passage


@dataclass(frozen=True)
class Retrieved:
    """The passages retrieved for the question (the model reads their most relevant sentences; a passage of
    which nothing fits the prompt's budget is left out of the answer's ``passages``), and the question
    retrieved with."""

    passages: list[Passage] = field(default_factory=list)
    question: str = ""
    seconds: float = 0.0
    """Time from the call to retrieval's end."""


@dataclass(frozen=True)
class Token:
    """A piece of the model's text, not yet verified."""

    text: str


@dataclass(frozen=True)
class Translating:
    """Only for a question in another language than the sources': the answer verified in the sources'
    language, sent while it is being translated into the question's ``language`` (then comes ``Verified``,
    with the translation in ``Answer.translation``)."""

    answer: Answer
    language: str


@dataclass(frozen=True)
class Verified:
    """The verified answer; always the last event."""

    answer: Answer


Event = Retrieved | Token | Translating | Verified
