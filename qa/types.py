"""The data an answer is made of."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


def where(page: int | None, section: str | None) -> str:
    """A place in a document for display: "p. 3 · Methods", "p. 3", "Methods" or ""."""
    return " · ".join(x for x in (f"p. {page}" if page else "", section or "") if x)


@dataclass
class Passage:
    """A retrieved chunk: ``text == source_text[start:end]``."""

    source: str
    start: int
    end: int
    text: str
    score: float
    chunk_id: int = -1
    page: int | None = None
    """1-based page of the passage's start (PDF sources), or None."""
    section: str | None = None
    """The nearest section heading at or above the passage's start, or None."""

    @property
    def where(self) -> str:
        """"p. 3 · Methods", "p. 3", "Methods" or "" for display."""
        return where(self.page, self.section)


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
    page: int | None = None
    """1-based page of the quote (PDF sources), or None."""
    section: str | None = None
    """The nearest section heading at or above the quote, or None."""

    @property
    def where(self) -> str:
        """"p. 3 · Methods", "p. 3", "Methods" or "" for display."""
        return where(self.page, self.section)


@dataclass
class Sentence:
    """One sentence of the answer and the citations that support it (empty: unsupported)."""

    text: str
    citations: list[int] = field(default_factory=list)
    support: float = 0.0
    """Share of the sentence's new content words found in its cited text."""
    issue: str | None = None
    """Why the sentence was not shown (unsupported, off the question's subject, …); None when shown."""
    quoted: bool = False
    """The model's wording was replaced by the source sentence that states its answer (see :mod:`qa.cite`)."""


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
    repair: str | None = None
    """The model's second answer, asked to copy a source sentence after the first failed verification."""
    notes: list[str] = field(default_factory=list)
    rejected: str | None = None
    """Why the model's answer was refused by verification (None: shown, or the model itself refused)."""
    language: str | None = None
    """The question's language (ISO 639-1) when it was not the sources': the question was translated for
    retrieval (``standalone_question``) and ``text`` is the answer verified in the sources' language."""
    translation: str | None = None
    """``text`` translated into ``language``, with exactly the same ``[n]`` markers (citations and quotes stay
    the original's); None when the question was in the sources' language or the translation failed its check."""
    translated_from: str | None = None
    """The language ``translation`` was translated from (the sources'), when there is one."""

    @property
    def shown(self) -> str:
        """What the user reads: the translation when there is one, else the verified text."""
        return self.translation or self.text

    def to_dict(self) -> dict:
        d = asdict(self)
        d["answer"] = d.pop("text")
        return d
