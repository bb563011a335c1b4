"""The data an answer is made of."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Passage:
    """A retrieved chunk: ``text == source_text[start:end]``."""

    source: str
    start: int
    end: int
    text: str
    score: float
    chunk_id: int = -1


@dataclass
class Citation:
    """Citation ``[n]`` of an answer: the exact span of the source that supports it."""

    n: int
    source: str
    start: int
    end: int
    quote: str
    passage: int = 0
    """Index into :attr:`Answer.passages` of the passage the quote lies in."""


@dataclass
class Sentence:
    """One sentence of the answer and the citations that support it (empty: unsupported)."""

    text: str
    citations: list[int] = field(default_factory=list)
    support: float = 0.0


@dataclass
class Answer:
    """A verified answer: ``text`` carries ``[n]`` markers that index ``citations``."""

    question: str
    text: str
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds: ``retrieve``, ``first_token``, ``total``."""
    standalone_question: str | None = None
    """The question actually retrieved with, when a follow-up was rewritten."""
    raw: str = ""
    """The model's text before verification."""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["answer"] = d.pop("text")
        return d
