"""Data that flows out of the index side."""

from __future__ import annotations

from dataclasses import dataclass, field

from .outline import Outline


@dataclass
class Document:
    """One source file, read and decoded.

    ``text`` is what every offset refers to: for plain-text sources it is exactly what
    ``open(source).read()`` returns (newlines translated the way Python does); for HTML and
    PDF it is the extracted text, which the index keeps beside the chunks.
    """

    source: str
    text: str
    sha256: str
    kind: str = "text"  # text | html | pdf
    encoding: str = "utf-8"
    outline: Outline = field(default_factory=Outline)
    """Where the pages start (PDF) and where the section headings are, by offset into ``text``."""

    @property
    def offsets_in_file(self) -> bool:
        return self.kind == "text"


@dataclass
class Chunk:
    """A span of a source: ``document.text[start:end] == text``."""

    id: int
    source: str
    start: int
    end: int
    text: str
    page: int | None = None
    """1-based page of the chunk's start (PDF), or None."""
    section: str | None = None
    """The nearest section heading at or above the chunk's start, or None."""


@dataclass
class Skipped:
    """A source that could not be indexed, with a one-line reason."""

    source: str
    reason: str


@dataclass
class BuildReport:
    """What :func:`index.build` did."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    chunks: int = 0
    embedded: int = 0
    full: bool = False
    seconds: float = 0.0
    index_dir: str = ""

    def summary(self) -> str:
        parts = [
            f"{len(self.added)} added",
            f"{len(self.changed)} changed",
            f"{len(self.removed)} removed",
            f"{len(self.unchanged)} unchanged",
        ]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        return (
            f"{', '.join(parts)}; {self.chunks} chunks ({self.embedded} embedded)"
            f"{' [full rebuild]' if self.full else ''} in {self.seconds:.1f}s"
        )
