"""Cut a document into sentence-aware chunks bounded by the embedder's token window.

Sentences come from pysbd inside each kept paragraph (see :mod:`index.clean`); chunks pack
whole sentences up to ``max_tokens`` embedder tokens and repeat up to ``overlap_tokens`` of
whole sentences from the end of the previous chunk. A sentence longer than the window is
split at word boundaries. Every chunk is a verbatim slice of the document text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache

from .clean import block_lines, clean_blocks
from .settings import ChunkSettings
from .types import Chunk, Document

TokenCounter = Callable[[list[str]], list[int]]
Span = tuple[int, int]


class _CachedRe:
    """The ``re`` functions pysbd calls, with a cache of compiled patterns large enough for pysbd's.

    pysbd builds a regex per abbreviation it meets ("(?<=\\sDr)\\.(?=…)") and calls ``re.sub``/``re.findall``
    with it; these overflow ``re``'s own cache of 512, so the same patterns are compiled again and again:
    chunking the 98 COVID-QA papers compiled 58,984 patterns (11.4 s of 21.5 s under cProfile). Same
    functions, same results; only the compiling is kept."""

    compile = staticmethod(lru_cache(maxsize=8192)(re.compile))  # COVID-QA and the seeds need 698

    def __getattr__(self, name):  # flags, escape, error, …: the module's own
        return getattr(re, name)

    def sub(self, pattern, repl, string, count=0, flags=0):
        return self.compile(pattern, flags).sub(repl, string, count)

    def findall(self, pattern, string, flags=0):
        return self.compile(pattern, flags).findall(string)

    def finditer(self, pattern, string, flags=0):
        return self.compile(pattern, flags).finditer(string)

    def search(self, pattern, string, flags=0):
        return self.compile(pattern, flags).search(string)

    def match(self, pattern, string, flags=0):
        return self.compile(pattern, flags).match(string)

    def split(self, pattern, string, maxsplit=0, flags=0):
        return self.compile(pattern, flags).split(string, maxsplit)


def _search_for_abbreviations(self, text):
    """pysbd's ``AbbreviationReplacer.search_for_abbreviations_in_string``, line for line, except that it skips an
    abbreviation of plain letters when no whitespace-led "abbr." (any case) is in the text.

    Every replacement pysbd makes for an abbreviation turns the period right after a whitespace-led occurrence of
    it into "∯"; without such a period each of its ``re.sub`` calls returns the text unchanged. pysbd still runs
    them, once per word that merely starts with the abbreviation ("a" → "and", "are", …): 5.8 s of chunking
    COVID-QA's 10.3 s under cProfile. Replacements only remove periods, so a skip never hides a later one.
    ``tests/unit/test_build_pipeline.py`` checks it against pysbd's own on random and real texts."""
    lowered = text.lower()
    plain = text.isascii()  # then "any case" is str.lower(); re's IGNORECASE also matches "ſ" for "s", "ı" for "i"
    for abbr in self.lang.Abbreviation.ABBREVIATIONS:
        stripped = abbr.strip()
        if stripped not in lowered:
            continue
        if stripped.isascii() and stripped.isalpha() and (  # the two lines added to pysbd's
                (plain and stripped + "." not in lowered)
                or not _PYSBD_RE.compile(r"(?:^|\s)" + stripped + r"\.", re.IGNORECASE).search(text)):
            continue
        abbrev_match = _PYSBD_RE.findall(rf"(?:^|\s|\r|\n){stripped}", text, flags=re.IGNORECASE)
        if not abbrev_match:
            continue
        next_word_start = r"(?<={" + str(re.escape(stripped)) + "} ).{1}"
        char_array = _PYSBD_RE.findall(next_word_start, text)
        for ind, match in enumerate(abbrev_match):
            text = self.scan_for_replacements(text, match, ind, char_array)
    return text


_PYSBD_RE = _CachedRe()
_PYSBD_OWN: dict = {}
"""pysbd's own ``search_for_abbreviations_in_string``, kept when :func:`_segmenter` replaces it (for the tests)."""
_PYSBD_MODULES = ("abbreviation_replacer", "between_punctuation", "exclamation_words", "lists_item_replacer",
                  "processor", "punctuation_replacer", "utils")


@lru_cache(maxsize=1)
def _segmenter():
    import importlib

    import pysbd

    for name in _PYSBD_MODULES:
        importlib.import_module(f"pysbd.{name}").re = _PYSBD_RE
    from pysbd.abbreviation_replacer import AbbreviationReplacer

    _PYSBD_OWN.setdefault("search", AbbreviationReplacer.search_for_abbreviations_in_string)
    AbbreviationReplacer.search_for_abbreviations_in_string = _search_for_abbreviations
    return pysbd.Segmenter(language="en", clean=False)


_SPACES = re.compile(r"\s*")


def _sentences(text: str) -> list[str]:
    """``_segmenter().segment(text)``: the same strings, without pysbd's costliest step (see :func:`_locate`)."""
    return _locate(text, _segmenter().processor(text).process()) if text else []


def _locate(text: str, sentences: list[str]) -> list[str]:
    r"""pysbd's ``Segmenter.sentences_with_char_spans`` on ``text``, the sentences' strings only.

    pysbd finds each sentence again in the text with a regex compiled for that sentence
    (``re.escape(sentence) + r"\s*"``); they overflow Python's regex cache, so pysbd's own rules are compiled
    again and again (chunking COVID-QA: 8.5 s with pysbd's search, 6.3 s with this one). This is the same search
    with ``str.find``: of the sentence's non-overlapping matches, left to right, the first that ends after the
    previous one, with its trailing whitespace; a sentence not found is dropped, as pysbd drops it.
    """
    found: list[str] = []
    prior = 0
    for sent in sentences:
        pos = 0
        while (i := text.find(sent, pos)) >= 0:
            end = _SPACES.match(text, i + len(sent)).end()
            if end > prior:
                found.append(text[i:end])
                prior = end
                break
            pos = end if end > i else i + 1  # as re.finditer: on after a match, one further after an empty one
    return found


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentence spans of ``text[start:end]`` as absolute offsets, whitespace trimmed.

    pysbd returns the sentence strings; their positions are found again by a forward search,
    which keeps the spans exact whatever pysbd does with whitespace.
    """
    end = len(text) if end is None else end
    piece = text[start:end]
    if not piece.strip():
        return []
    spans: list[Span] = []
    pos = 0
    for sent in _sentences(piece):
        s = sent.strip()
        if not s:
            continue
        i = piece.find(s, pos)
        if i < 0:  # pysbd altered the text; fall back to the rest of the piece
            rest = piece[pos:]
            i = pos + len(rest) - len(rest.lstrip())
            s = rest.strip()
            if not s:
                break
        spans.append((start + i, start + i + len(s)))
        pos = i + len(s)
    return spans


def _word_pieces(text: str, span: Span, counts: TokenCounter, limit: int) -> list[Span]:
    """Split an over-long sentence at word boundaries into pieces of at most ``limit`` tokens."""
    words = [(span[0] + m.start(), span[0] + m.end()) for m in re.finditer(r"\S+", text[span[0] : span[1]])]
    sizes = counts([text[s:e] for s, e in words])
    pieces: list[Span] = []
    cur_start, cur_tokens, last_end = None, 0, None
    for (s, e), n in zip(words, sizes):
        if cur_start is not None and cur_tokens + n > limit:
            pieces.append((cur_start, last_end))
            cur_start, cur_tokens = None, 0
        if cur_start is None:
            cur_start = s
        cur_tokens += n
        last_end = e
    if cur_start is not None:
        pieces.append((cur_start, last_end))
    return pieces


def _units(doc: Document, settings: ChunkSettings, counts: TokenCounter) -> Iterator[list[tuple[Span, int]]]:
    """For each kept block, its sentence units with their token counts."""
    text = doc.text
    limit = settings.max_tokens
    for block in clean_blocks(text, settings.clean):
        spans: list[Span] = []
        for line in block_lines(text, block):
            spans.extend(sentence_spans(text, *line))
        if not spans:
            continue
        sizes = counts([text[s:e] for s, e in spans])
        units: list[tuple[Span, int]] = []
        for span, n in zip(spans, sizes):
            if n <= limit:
                units.append((span, n))
            else:
                pieces = _word_pieces(text, span, counts, limit)
                units.extend(zip(pieces, counts([text[s:e] for s, e in pieces])))
        yield units


def chunk_document(doc: Document, settings: ChunkSettings, counts: TokenCounter) -> list[Chunk]:
    """Chunks of one document (ids are 0; the index assigns them)."""
    chunks: list[Chunk] = []
    for units in _units(doc, settings, counts):
        i = 0
        while i < len(units):
            j, total = i, 0
            while j < len(units) and (j == i or total + units[j][1] <= settings.max_tokens):
                total += units[j][1]
                j += 1
            start, end = units[i][0][0], units[j - 1][0][1]
            chunks.append(Chunk(0, doc.source, start, end, doc.text[start:end]))
            if j >= len(units):
                break
            # step back over whole sentences for the overlap, always moving forward
            k, back = j, 0
            while k - 1 > i and back + units[k - 1][1] <= settings.overlap_tokens:
                back += units[k - 1][1]
                k -= 1
            i = k
    return chunks
