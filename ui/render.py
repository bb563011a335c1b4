"""Turn questions and :class:`qa.Answer` objects into inert HTML for the chat, or plain text for the API.

Everything that comes from a user or a source is HTML-escaped, and newlines become ``<br>``
so that a message never contains a blank line: each message is one HTML block, which the
chat's Markdown renderer passes through untouched (no Markdown inside sources or questions
is interpreted). Gradio's own sanitizer is a second layer, not the first.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path

from qa.cite import MARKER_RUN
from qa.display import reading_summary, size_text, time_text
from qa.types import Answer, Citation, Passage

CONTEXT_CHARS = 200
"""Characters of surrounding text shown on each side of a cited passage."""

SUMMARY_QUOTE_CHARS = 110
CLOSEST_SHOWN = 3
"""Passages shown under a refused answer."""

DOC_CHARS = 60_000
"""Most characters of a source embedded in one citation's "whole document" viewer, a window around the cited
span. Every chat message travels whole to the browser and stays in the session's chat history, once per
citation: a book-length source in full would make each answer megabytes of HTML to send, sanitize and keep.
60,000 characters (about 25 pages of prose) is far more than anyone scrolls through to check a quote."""

REFUSED_TEXT = "The sources do not contain the answer to this question."

TextOf = Callable[[str], str]
"""Maps a source path to the full text that passage offsets refer to."""

_MARKER = re.compile(r"\[(\d+)\]")
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")


def escape(text: str, paragraphs: bool = False) -> str:
    """``text`` as inert HTML: escaped, control characters dropped, line breaks as ``<br>`` (so never a blank line).

    Runs of blank lines become one line break, or with ``paragraphs`` one empty line (``<br><br>``: still no
    newline character in the HTML).
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch.isprintable() or ch in "\n\t")
    text = _BLANK_LINES.sub("\n\n" if paragraphs else "\n", text)
    return html.escape(text, quote=True).replace("\n", "<br>")


def short(text: str, limit: int = SUMMARY_QUOTE_CHARS) -> str:
    """``text`` on one line, cut at a word boundary to at most ``limit`` characters."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0] + "…"


def source_name(source: str) -> str:
    """What a source is called in the UI: its file name."""
    return Path(source).name or source


def _where(place: str) -> str:
    """The place in the document after a source's name: " · p. 2 · Results" (nothing when unknown)."""
    return f'<span class="ragqa-where"> · {escape(place)}</span>' if place else ""


def user_message(question: str) -> str:
    """The user's question as it appears in the chat."""
    return f'<div class="ragqa-question">{escape(question)}</div>'


def _evidence_list(passages: list[Passage]) -> str:
    items = "".join(f'<li><b>{escape(source_name(p.source))}</b>{_where(p.where)} — <q>{escape(short(p.text))}</q>'
                    "</li>" for p in passages)
    return f'<ol class="ragqa-evidence-list">{items}</ol>'


def streaming_message(raw: str, passages: list[Passage] | None = None) -> str:
    """The model's text while it is still being generated (not yet verified), under the passages it is reading.

    The passages arrive as soon as retrieval is done, long before the model's first token on a CPU:
    they are shown collapsed ("Reading 5 passages from …") so the user sees the evidence first.
    """
    evidence = ""
    if passages:
        evidence = (f'<details class="ragqa-evidence"><summary><small>{escape(reading_summary(passages))}</small>'
                    f"</summary>{_evidence_list(passages)}</details>")
    if raw.strip():
        body = escape(raw)
    elif passages:
        body = '<span class="ragqa-wait">The model is reading the passages…</span>'
    else:
        body = '<span class="ragqa-wait">Searching the sources…</span>'
    return f'<div class="ragqa-streaming">{evidence}{body}<span class="ragqa-cursor">▌</span></div>'


def error_message(message: str) -> str:
    """A one-line problem (empty question, no index, …) shown in place of an answer."""
    return f'<div class="ragqa-error">{escape(message)}</div>'


def busy_message(message: str) -> str:
    """The one-line "busy, try again in a moment" shown in place of an answer when the line is full."""
    return f'<div class="ragqa-error ragqa-busy">{escape(message)}</div>'


def waiting_message(ahead: int) -> str:
    """A question waiting for the model: how many questions are ahead of it (updated as the line moves)."""
    who = "1 question" if ahead == 1 else f"{ahead} questions"
    return (f'<div class="ragqa-streaming"><span class="ragqa-wait">Waiting for the model: {who} ahead of yours…'
            '</span><span class="ragqa-cursor">▌</span></div>')


def _answer_text(text: str) -> str:
    body = escape(text)
    return _MARKER.sub(lambda m: f'<span class="ragqa-cite">[{m.group(1)}]</span>', body)


def translating_message(answer: Answer, language: str) -> str:
    """The verified answer (in the sources' language) while it is translated into the question's ``language``."""
    from qa.language import name

    body = escape(REFUSED_TEXT) if answer.refused else _answer_text(answer.text)
    return (f'<div class="ragqa-streaming ragqa-translating">{body}<br><span class="ragqa-wait">Verified; translating '
            f'it into {escape(name(language))}…</span><span class="ragqa-cursor">▌</span></div>')


def _translated(answer: Answer) -> str:
    """A translated answer: the translation with its [n] markers, a "translated" marker, and the verified original
    one click away (collapsed)."""
    from qa.language import name

    source = escape(name(answer.translated_from))
    lang = html.escape(answer.language or "", quote=True)
    original = escape(REFUSED_TEXT) if answer.refused else _answer_text(answer.text)
    text = f'<b>{escape(answer.translation or "")}</b>' if answer.refused else _answer_text(answer.translation or "")
    return (f'<div class="{"ragqa-refused" if answer.refused else "ragqa-text"} ragqa-translated-text" lang="{lang}">'
            f'{text}</div><details class="ragqa-original"><summary><small><span class="ragqa-translated">translated'
            f'</span> from {source} by the model · show the verified original</small></summary>'
            f'<div class="ragqa-original-text" lang="{html.escape(answer.translated_from or "", quote=True)}">'
            f"{original}</div></details>")


def _timings(timings: dict[str, float]) -> str:
    parts = []
    for key, label in (("retrieve", "retrieval"), ("first_token", "first token"), ("total", "total"),
                       ("translate", "of which translation")):
        if key in timings:
            parts.append(f"{label} {timings[key]:.2f} s")
    return f'<div class="ragqa-timings"><small>{" · ".join(parts)}</small></div>' if parts else ""


def _window(passage: Passage, text_of: TextOf | None) -> tuple[str, int]:
    """The passage with up to CONTEXT_CHARS of its source around it, and the passage's offset in it."""
    full = _full_text(passage.source, text_of)
    if full is not None and full[passage.start : passage.end] == passage.text:
        lo = max(0, passage.start - CONTEXT_CHARS)
        hi = min(len(full), passage.end + CONTEXT_CHARS)
        if lo > 0:  # start and end on word boundaries
            space = full.find(" ", lo, passage.start)
            lo = space + 1 if space != -1 else lo
        if hi < len(full):
            space = full.rfind(" ", passage.end, hi)
            hi = space if space != -1 else hi
        return full[lo:hi], passage.start - lo
    return passage.text, 0


def _highlighted(body: str, base: int, spans: list[tuple[int, int]], paragraphs: bool = False) -> str:
    """``body`` (the source text from offset ``base``) as HTML, the ``spans`` (source offsets) in ``<mark>``."""
    cuts = sorted((max(s - base, 0), min(e - base, len(body))) for s, e in spans)
    out, pos = [], 0
    for s, e in cuts:
        if s < pos or s >= e:
            continue
        out.append(escape(body[pos:s], paragraphs)
                   + f'<mark class="ragqa-span">{escape(body[s:e], paragraphs)}</mark>')
        pos = e
    out.append(escape(body[pos:], paragraphs))
    return "".join(out)


def doc_window(length: int, start: int, end: int, limit: int = DOC_CHARS) -> tuple[int, int]:
    """The ``[lo, hi)`` part of a ``length``-character document shown around the span ``[start, end)``: all of
    it when it fits in ``limit`` characters, otherwise ``limit`` characters centred on the span."""
    if length <= limit:
        return 0, length
    lo = max(0, (start + end) // 2 - limit // 2)
    hi = min(length, lo + limit)
    lo = max(0, min(hi - limit, start))
    return lo, hi


def _whole_document(full: str, start: int, end: int) -> str:
    """A collapsed viewer of the source's whole text (or a DOC_CHARS window of it), the span ``[start, end)`` marked;
    a global script scrolls the mark into view when it is opened (see ``ui.app.SCRIPT``)."""
    lo, hi = doc_window(len(full), start, end)
    if lo > 0:  # cut on whitespace, never inside a word
        space = full.find(" ", lo, start)
        lo = space + 1 if space != -1 else lo
    if hi < len(full):
        space = full.rfind(" ", end, hi)
        hi = space if space != -1 else hi
    cut = ""
    if (lo, hi) != (0, len(full)):
        cut = (f'<div class="ragqa-doc-cut"><small>characters {lo + 1:,}–{hi:,} of {len(full):,}'
               "</small></div>")
    text = _highlighted(full[lo:hi], lo, [(start, end)], paragraphs=True)
    return (f'<details class="ragqa-doc"><summary><small>Open the whole document</small></summary>{cut}'
            f'<div class="ragqa-doc-text">{"…" if lo > 0 else ""}{text}{"…" if hi < len(full) else ""}</div>'
            "</details>")


def _full_text(source: str, text_of: TextOf | None) -> str | None:
    if text_of is None:
        return None
    try:
        return text_of(source)
    except Exception:  # the source may have changed or gone since it was indexed
        return None


def _context_html(window: str, offset: int, passage: Passage, spans: list[tuple[int, int]]) -> str:
    """Surrounding text dimmed, the passage normal, the cited span highlighted."""
    plen = len(passage.text)
    head, body, tail = window[:offset], window[offset : offset + plen], window[offset + plen :]
    inner = _highlighted(body, passage.start, spans)
    parts = []
    if head:
        parts.append(f'<span class="ragqa-context">…{escape(head)}</span>')
    parts.append(f'<span class="ragqa-passage-text">{inner}</span>')
    if tail:
        parts.append(f'<span class="ragqa-context">{escape(tail)}…</span>')
    return "".join(parts)


def _score(passage: Passage, show_scores: bool) -> str:
    return f' <small class="ragqa-score">score {passage.score:.3f}</small>' if show_scores else ""


def _citation_block(c: Citation, passage: Passage | None, show_scores: bool, text_of: TextOf | None,
                    open_: bool) -> str:
    title = html.escape(c.source, quote=True)
    summary = (f'<summary><span class="ragqa-cite">[{c.n}]</span> <b title="{title}">{escape(source_name(c.source))}</b>'
               f'{_where(c.where)}{_score(passage, show_scores) if passage else ""} — <q>{escape(short(c.quote))}</q>'
               "</summary>")
    if passage is None or not (passage.start <= c.start and c.end <= passage.end):
        body = f'<mark class="ragqa-span">{escape(c.quote)}</mark>'
    else:
        window, offset = _window(passage, text_of)
        body = _context_html(window, offset, passage, [(c.start, c.end)])
    full = _full_text(c.source, text_of)
    doc = _whole_document(full, c.start, c.end) if full is not None and full[c.start : c.end] == c.quote else ""
    return (f'<details class="ragqa-source"{" open" if open_ else ""}>{summary}'
            f'<div class="ragqa-passage">{body}</div>{doc}</details>')


def _passage_block(i: int, p: Passage, show_scores: bool, text_of: TextOf | None,
                   kind: str = "ragqa-source ragqa-closest") -> str:
    title = html.escape(p.source, quote=True)
    window, offset = _window(p, text_of)
    summary = (f'<summary>{i}. <b title="{title}">{escape(source_name(p.source))}</b>{_where(p.where)}'
               f'{_score(p, show_scores)} — <q>{escape(short(p.text))}</q></summary>')
    return (f'<details class="{kind}">{summary}'
            f'<div class="ragqa-passage">{_context_html(window, offset, p, [])}</div></details>')


def answer_message(answer: Answer, *, show_scores: bool = False, text_of: TextOf | None = None) -> str:
    """A verified answer as chat HTML: text with ``[n]``, rewritten question, sources, notes, timings."""
    parts = ['<div class="ragqa-answer">']
    if answer.translation:  # asked in another language: the translation, the verified original one click away
        parts.append(_translated(answer))
    if answer.refused:
        if not answer.translation:
            parts.append(f'<div class="ragqa-refused"><b>{REFUSED_TEXT}</b></div>')
        if answer.rejected and answer.raw.strip():
            # what the model wrote was rejected: shown collapsed, as the model's unverified text, never as an answer
            parts.append('<details class="ragqa-rejected"><summary><small>The model\'s answer could not be verified'
                         f' ({escape(answer.rejected)})</small></summary><div class="ragqa-model-said"><small>'
                         f"{escape(MARKER_RUN.sub('', answer.raw).strip())}</small></div></details>")
    elif not answer.translation:
        parts.append(f'<div class="ragqa-text">{_answer_text(answer.text)}</div>')
    if answer.standalone_question:
        parts.append(f'<div class="ragqa-rewritten"><small>Searched for: <i>{escape(answer.standalone_question)}</i>'
                     "</small></div>")
    if answer.citations and not answer.refused:
        parts.append('<div class="ragqa-sources"><div class="ragqa-sources-title"><small>Sources</small></div>')
        for c in answer.citations:
            passage = answer.passages[c.passage] if 0 <= c.passage < len(answer.passages) else None
            parts.append(_citation_block(c, passage, show_scores, text_of, open_=False))
        cited = {c.passage for c in answer.citations}
        others = [(i, p) for i, p in enumerate(answer.passages, 1) if i - 1 not in cited]
        if others:  # what else the model read: available, but not presented as support
            parts.append(f'<details class="ragqa-also"><summary><small>Also retrieved ({len(others)})</small></summary>'
                         + "".join(_passage_block(i, p, show_scores, text_of, "ragqa-retrieved") for i, p in others)
                         + "</details>")
        parts.append("</div>")
    elif answer.passages:
        parts.append('<div class="ragqa-sources"><div class="ragqa-sources-title"><small>Closest passages looked at'
                     "</small></div>")
        for i, p in enumerate(answer.passages[:CLOSEST_SHOWN], 1):
            parts.append(_passage_block(i, p, show_scores, text_of))
        parts.append("</div>")
    for note in answer.notes:
        parts.append(f'<div class="ragqa-note"><small>Note: {escape(note)}</small></div>')
    parts.append(_timings(answer.timings))
    parts.append("</div>")
    return "".join(parts)


def answer_text(answer: Answer) -> str:
    """A verified answer as plain text for the API: the answer with ``[n]``, then one line per citation."""
    if answer.refused:
        head = answer.text.strip() or REFUSED_TEXT
    else:
        head = answer.text.strip()
    lines = [head]
    if answer.translation:
        from qa.language import name

        lines = [answer.translation.strip(), "", f"(translated from {name(answer.translated_from)}; the verified "
                 f"original: {head})"]
    if answer.citations and not answer.refused:
        lines.append("")
        lines.append("Sources:")
        for c in answer.citations:
            place = f" ({c.where})" if c.where else ""
            lines.append(f'[{c.n}] {source_name(c.source)}{place}: "{" ".join(c.quote.split())}"')
    return "\n".join(lines)


def shown_path(source: str, roots: list[str]) -> str:
    """A source as the sources table and the "Answer from" list show it: relative to the first root it is under."""
    p = Path(source)
    for root in roots:
        try:
            shown = p.resolve().relative_to(Path(root).resolve())
        except ValueError:
            continue
        return str(shown) if shown.parts else p.name  # a file given as a source itself: its name
    return source


SOURCES_HEADERS = ["source", "chunks", "pages", "size", "indexed"]
SKIPPED_HEADERS = ["skipped file", "reason"]


def sources_rows(described: list[dict], roots: list[str]) -> list[list]:
    """Rows (source, chunks, pages, size, indexed) for the indexed-sources table from :meth:`index.Index.describe`
    rows, paths shown relative to their root."""
    return [[shown_path(r["source"], roots), r["chunks"], r.get("pages"), size_text(r.get("bytes")),
             time_text(r.get("indexed"))] for r in described]


def skipped_rows(skipped: list[dict], roots: list[str]) -> list[list]:
    """Rows (file, one-line reason) for the files the last build skipped."""
    return [[shown_path(s["source"], roots), " ".join(str(s["reason"]).split())] for s in skipped]
