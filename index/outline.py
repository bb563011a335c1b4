"""Where a span sits in its document: the page it is on and the section heading above it.

A document's :class:`Outline` lists, by character offset into the text that every offset of the
index refers to, where each page starts (PDF: 1-based page numbers from pypdf's pages) and
where each section heading is:

* Markdown: ``#`` to ``######`` headings (ATX), outside fenced code blocks;
* HTML: the ``h1``–``h4`` elements, found again as whole lines of the extracted text;
* PDF: a short unpunctuated line that starts a page or follows a finished sentence, before prose;
* plain text: a clear heading only, a short line (at most
  :data:`HEADING_WORDS` words, no sentence punctuation at its end, starting with a capital or a
  number) with a blank line or the document's start before it and a blank line after it,
  followed by a paragraph of prose.

:meth:`Outline.locate` answers ``(page, section)`` for any offset (``None`` where there is none).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

#: Longest plain-text line taken for a heading, in words. Section titles of papers and reports
#: run to about ten words ("Effect of Temperature on the Stability of the Virus"); a longer short
#: line is usually a title of the whole document or a sentence without its full stop.
HEADING_WORDS = 12
HEADING_CHARS = 100

_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_ENDS_SENTENCE = tuple('.,;:!?…"”’\'')
#: A heading does not stop on a word that needs another after it (a cut-off sentence does).
_DANGLING = frozenset("a an the of to in on at by for from with and or but as than that which is are was were".split())
_CODE = re.compile(r"[A-Za-z0-9_/\-]{20,}")  # hashes, identifiers, URLs: metadata lines, not headings


@dataclass
class Outline:
    """Page starts and section headings of one document, by offset into its text."""

    pages: list[tuple[int, int]] = field(default_factory=list)
    """``(offset, page number)`` where each page's text starts, in order (empty: the document has no pages)."""
    sections: list[tuple[int, str]] = field(default_factory=list)
    """``(offset, heading)`` of each heading line, in order."""

    def locate(self, offset: int) -> tuple[int | None, str | None]:
        """The page holding ``offset`` and the nearest heading at or above it."""
        page = section = None
        if self.pages:
            i = bisect.bisect_right([o for o, _ in self.pages], offset) - 1
            page = self.pages[max(i, 0)][1]
        if self.sections:
            i = bisect.bisect_right([o for o, _ in self.sections], offset) - 1
            section = self.sections[i][1] if i >= 0 else None
        return page, section

    def shifted(self, offset: int) -> Outline:
        """The same outline for a piece of text that starts at ``offset`` of the whole document."""
        return Outline([(o + offset, n) for o, n in self.pages], [(o + offset, t) for o, t in self.sections])

    def extend(self, other: Outline) -> None:
        self.pages.extend(other.pages)
        self.sections.extend(other.sections)

    def to_json(self) -> dict:
        return {"pages": [list(p) for p in self.pages], "sections": [list(s) for s in self.sections]}

    @classmethod
    def from_json(cls, data: dict | None) -> Outline:
        data = data or {}
        return cls([(int(o), int(n)) for o, n in data.get("pages", [])],
                   [(int(o), str(t)) for o, t in data.get("sections", [])])


def _lines(text: str):
    """``(offset, line)`` of every line of ``text`` (without its newline)."""
    pos = 0
    for line in text.split("\n"):
        yield pos, line
        pos += len(line) + 1


def markdown_headings(text: str) -> list[tuple[int, str]]:
    """ATX headings (``## Results``) outside fenced code, at the offset of their line."""
    out, fenced = [], False
    for pos, line in _lines(text):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        m = None if fenced else _ATX.match(line)
        if m:
            title = m.group(2).strip().strip("#").strip()
            if title:
                out.append((pos, title))
    return out


def _is_heading_line(line: str) -> bool:
    s = line.strip()
    if not s or len(s) > HEADING_CHARS or s.endswith(_ENDS_SENTENCE) or len(s.split()) > HEADING_WORDS:
        return False
    if not (s[0].isupper() or s[0].isdigit()) or not any(ch.isalpha() for ch in s):
        return False
    if s.split()[-1].lower() in _DANGLING or _CODE.search(s):
        return False
    return not s.lower().startswith(("http://", "https://", "www.", "doi:"))


def _is_prose(line: str) -> bool:
    s = line.strip()
    return len(s.split()) > HEADING_WORDS or s.endswith(_ENDS_SENTENCE)


def plain_headings(text: str) -> list[tuple[int, str]]:
    """Clear headings of plain text: a short, unpunctuated line alone between blank lines, before prose."""
    lines = list(_lines(text))
    out = []
    for i, (pos, line) in enumerate(lines):
        if not _is_heading_line(line):
            continue
        before_blank = i == 0 or not lines[i - 1][1].strip()
        after_blank = i + 1 < len(lines) and not lines[i + 1][1].strip()
        if not (before_blank and after_blank):
            continue
        nxt = next((ln for _, ln in lines[i + 2:] if ln.strip()), "")
        if _is_prose(nxt):
            s = line.strip()
            out.append((pos + line.index(s), s))
    return out


def pdf_headings(text: str) -> list[tuple[int, str]]:
    """Headings of text extracted from a PDF, where paragraphs are seldom set apart by blank lines: a
    short, unpunctuated line that starts a page or follows a finished sentence, before a line of prose."""
    lines = list(_lines(text))
    out = []
    for i, (pos, line) in enumerate(lines):
        if not _is_heading_line(line):
            continue
        prev = lines[i - 1][1].strip() if i else ""
        if prev and not prev.endswith(_ENDS_SENTENCE):
            continue  # the middle of a wrapped sentence
        nxt = next((ln for _, ln in lines[i + 1:] if ln.strip()), "")
        if _is_prose(nxt):
            s = line.strip()
            out.append((pos + line.index(s), s))
    return out


class _HeadingParser(HTMLParser):
    """Collects the text of ``h1``–``h4`` elements, in document order."""

    LEVELS = ("h1", "h2", "h3", "h4")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.titles: list[str] = []
        self._depth = 0
        self._parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.LEVELS:
            self._depth += 1
            self._parts = [] if self._depth == 1 else self._parts

    def handle_endtag(self, tag):
        if tag in self.LEVELS and self._depth:
            self._depth -= 1
            if not self._depth:
                title = " ".join("".join(self._parts).split())
                if title:
                    self.titles.append(title)

    def handle_data(self, data):
        if self._depth:
            self._parts.append(data)


def html_headings(html: str, text: str) -> list[tuple[int, str]]:
    """The ``h1``–``h4`` headings of ``html`` where they appear as whole lines of its extracted ``text``."""
    parser = _HeadingParser()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # a page the parser cannot read has no outline, and is still indexed
        return []
    starts = {}
    for pos, line in _lines(text):
        starts.setdefault(" ".join(line.split()), []).append(pos + len(line) - len(line.lstrip()))
    out, last = [], -1
    for title in parser.titles:
        later = [p for p in starts.get(title, []) if p > last]
        if later:
            last = later[0]
            out.append((last, title))
    return out


def paged(pages: list[tuple[int, str]], separator: str = "\n\n") -> tuple[str, list[tuple[int, int]]]:
    """Join ``(page number, text)`` pages with ``separator``: the text and where each page starts in it."""
    text, starts = [], []
    pos = 0
    for number, page in pages:
        if text:
            pos += len(separator)
        starts.append((pos, number))
        text.append(page)
        pos += len(page)
    return separator.join(text), starts
