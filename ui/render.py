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
from qa.types import Answer, Citation, Passage

CONTEXT_CHARS = 200
"""Characters of surrounding text shown on each side of a cited passage."""

SUMMARY_QUOTE_CHARS = 110
CLOSEST_SHOWN = 3
"""Passages shown under a refused answer."""

REFUSED_TEXT = "The sources do not contain the answer to this question."

TextOf = Callable[[str], str]
"""Maps a source path to the full text that passage offsets refer to."""

_MARKER = re.compile(r"\[(\d+)\]")
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")


def escape(text: str) -> str:
    """``text`` as inert HTML: escaped, control characters dropped, line breaks as ``<br>`` (so never a blank line)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch.isprintable() or ch in "\n\t")
    text = _BLANK_LINES.sub("\n", text)
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


def user_message(question: str) -> str:
    """The user's question as it appears in the chat."""
    return f'<div class="ragqa-question">{escape(question)}</div>'


def streaming_message(raw: str) -> str:
    """The model's text while it is still being generated (not yet verified)."""
    body = escape(raw) if raw.strip() else '<span class="ragqa-wait">Searching the sources…</span>'
    return f'<div class="ragqa-streaming">{body}<span class="ragqa-cursor">▌</span></div>'


def error_message(message: str) -> str:
    """A one-line problem (empty question, no index, …) shown in place of an answer."""
    return f'<div class="ragqa-error">{escape(message)}</div>'


def _answer_text(text: str) -> str:
    body = escape(text)
    return _MARKER.sub(lambda m: f'<span class="ragqa-cite">[{m.group(1)}]</span>', body)


def _timings(timings: dict[str, float]) -> str:
    parts = []
    for key, label in (("retrieve", "retrieval"), ("first_token", "first token"), ("total", "total")):
        if key in timings:
            parts.append(f"{label} {timings[key]:.2f} s")
    return f'<div class="ragqa-timings"><small>{" · ".join(parts)}</small></div>' if parts else ""


def _window(passage: Passage, text_of: TextOf | None) -> tuple[str, int]:
    """The passage with up to CONTEXT_CHARS of its source around it, and the passage's offset in it."""
    if text_of is not None:
        try:
            full = text_of(passage.source)
        except Exception:  # the source may have changed or gone since it was indexed
            full = None
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


def _highlighted(body: str, base: int, spans: list[tuple[int, int]]) -> str:
    """``body`` (the source text from offset ``base``) as HTML, the ``spans`` (source offsets) in ``<mark>``."""
    cuts = sorted((max(s - base, 0), min(e - base, len(body))) for s, e in spans)
    out, pos = [], 0
    for s, e in cuts:
        if s < pos or s >= e:
            continue
        out.append(escape(body[pos:s]) + f'<mark class="ragqa-span">{escape(body[s:e])}</mark>')
        pos = e
    out.append(escape(body[pos:]))
    return "".join(out)


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
               f'{_score(passage, show_scores) if passage else ""} — <q>{escape(short(c.quote))}</q></summary>')
    if passage is None or not (passage.start <= c.start and c.end <= passage.end):
        body = f'<mark class="ragqa-span">{escape(c.quote)}</mark>'
    else:
        window, offset = _window(passage, text_of)
        body = _context_html(window, offset, passage, [(c.start, c.end)])
    return (f'<details class="ragqa-source"{" open" if open_ else ""}>{summary}'
            f'<div class="ragqa-passage">{body}</div></details>')


def _passage_block(i: int, p: Passage, show_scores: bool, text_of: TextOf | None) -> str:
    title = html.escape(p.source, quote=True)
    window, offset = _window(p, text_of)
    summary = (f'<summary>{i}. <b title="{title}">{escape(source_name(p.source))}</b>{_score(p, show_scores)}'
               f' — <q>{escape(short(p.text))}</q></summary>')
    return (f'<details class="ragqa-source ragqa-closest">{summary}'
            f'<div class="ragqa-passage">{_context_html(window, offset, p, [])}</div></details>')


def answer_message(answer: Answer, *, show_scores: bool = False, text_of: TextOf | None = None) -> str:
    """A verified answer as chat HTML: text with ``[n]``, rewritten question, sources, notes, timings."""
    parts = ['<div class="ragqa-answer">']
    if answer.refused:
        parts.append(f'<div class="ragqa-refused"><b>{REFUSED_TEXT}</b></div>')
        if answer.rejected and answer.raw.strip():
            # what the model wrote was rejected: shown collapsed, as the model's unverified text, never as an answer
            parts.append('<details class="ragqa-rejected"><summary><small>The model\'s answer could not be verified'
                         f' ({escape(answer.rejected)})</small></summary><div class="ragqa-model-said"><small>'
                         f"{escape(MARKER_RUN.sub('', answer.raw).strip())}</small></div></details>")
    else:
        parts.append(f'<div class="ragqa-text">{_answer_text(answer.text)}</div>')
    if answer.standalone_question:
        parts.append(f'<div class="ragqa-rewritten"><small>Searched for: <i>{escape(answer.standalone_question)}</i>'
                     "</small></div>")
    if answer.citations and not answer.refused:
        parts.append('<div class="ragqa-sources"><div class="ragqa-sources-title"><small>Sources</small></div>')
        for c in answer.citations:
            passage = answer.passages[c.passage] if 0 <= c.passage < len(answer.passages) else None
            parts.append(_citation_block(c, passage, show_scores, text_of, open_=False))
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
    if answer.citations and not answer.refused:
        lines.append("")
        lines.append("Sources:")
        for c in answer.citations:
            lines.append(f'[{c.n}] {source_name(c.source)}: "{" ".join(c.quote.split())}"')
    return "\n".join(lines)


def sources_rows(sources: dict[str, int], roots: list[str]) -> list[list]:
    """Rows (source, chunks) for the indexed-sources table, paths shown relative to their root."""
    rows = []
    resolved = [Path(r).resolve() for r in roots]
    for source, chunks in sources.items():
        shown = source
        p = Path(source)
        for root in resolved:
            try:
                shown = str(p.resolve().relative_to(root))
                break
            except ValueError:
                continue
        rows.append([shown, chunks])
    return rows
