"""Drop page furniture from a document while keeping exact offsets.

Cleaning never rewrites text: it only decides which lines to keep. The result is a list of
*blocks*, ``(start, end)`` spans of the original text made of consecutive kept lines with
nothing dropped between them, so that any span inside a block is a verbatim slice of the
source. The rules are general (no matching of particular files):

* boilerplate phrases: share/follow widgets, "Continue Reading", newsletter, app-store and
  cookie buttons, timestamps and media-player counters;
* tiny lines (up to 4 words) that are not sentences: site names, menu items, tag labels;
* runs of three or more consecutive non-sentence lines: lists of unrelated headlines and tags
  after an article;
* a short line stranded between dropped lines (a headline that happens to end with "?");
* a line repeated verbatim (a title shown twice) is kept once.

Hard-wrapped text (most lines cut near one width, as in text extracted from PDFs or papers)
is first unwrapped: the lines of one paragraph count as one line, so their fragments are not
mistaken for headline lists.
"""

from __future__ import annotations

import re

_TERMINAL = tuple('.!?;:"”’\')…»」。！？')

_BOILERPLATE = re.compile(
    r"""(
      \bcontinue\s+reading\b | \bread\s+more\b | \bsign\s+up\b | \bsubscribe\b | \bnewsletter\b
    | \bapp\s*store\b | \bgoogle\s+play\b | \bget\s+the\s+\w+\s+app\b | \bdownload\s+(on|the)\b
    | \bshare\s+(on|this|via)\b | \bfollow\s+us\b | \bconnect\s+with\s+us\b | \bcookies?\b.*\baccept\b
    | \bget\s+short\s+url\b | \blisten\s+live\b | \brelated\s+articles\b | \badvertisement\b
    | \ball\s+rights\s+reserved\b | ^\s*©
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_CLOCK = re.compile(r"^[\d:\s./,\-APMGTUCapmgtuc]*$")


def _is_sentence(line: str) -> bool:
    return line.rstrip().endswith(_TERMINAL)


def _is_furniture(line: str) -> bool:
    words = line.split()
    if _CLOCK.match(line) or not any(ch.isalpha() for ch in line):
        return True
    if len(words) <= 12 and _BOILERPLATE.search(line):
        return True
    if line.lower().startswith(("a button that says", "click here", "tap here")):
        return True
    return len(words) <= 4 and not _is_sentence(line)


def _lines(text: str) -> list[tuple[int, int]]:
    """Spans of the non-blank lines of ``text``, stripped of surrounding whitespace."""
    spans = []
    for m in re.finditer(r"[^\n]+", text):
        seg = m.group(0)
        lead = len(seg) - len(seg.lstrip())
        trail = len(seg.rstrip())
        if trail > lead:
            spans.append((m.start() + lead, m.start() + trail))
    return spans


def _wrap_width(text: str) -> int | None:
    """The line width of a hard-wrapped text, or None when its lines are whole paragraphs."""
    lengths = sorted(len(line.strip()) for line in text.split("\n") if len(line.strip()) >= 20)
    if len(lengths) < 10:
        return None
    width = lengths[int(0.8 * (len(lengths) - 1))]
    near = sum(1 for n in lengths if 0.75 * width <= n <= width) / len(lengths)
    return width if width <= 120 and near >= 0.45 else None


def _paragraphs(text: str, lines: list[tuple[int, int]], width: int | None) -> list[tuple[int, int]]:
    """Join the wrapped lines of one paragraph (no blank line between, the first near full width)."""
    if width is None or not lines:
        return lines
    out = [lines[0]]
    for s, e in lines[1:]:
        ps, pe = out[-1]
        last = text.rfind("\n", ps, pe) + 1 or ps  # the previous paragraph's last physical line
        if text.count("\n", pe, s) == 1 and pe - last >= 0.6 * width:
            out[-1] = (ps, e)
        else:
            out.append((s, e))
    return out


def clean_blocks(text: str, enabled: bool = True) -> list[tuple[int, int]]:
    """Return the kept blocks of ``text`` as ``(start, end)`` spans, in order."""
    lines = _paragraphs(text, _lines(text), _wrap_width(text))
    if not enabled:
        return _merge(lines, [True] * len(lines), text)
    keep = [not _is_furniture(text[s:e]) for s, e in lines]

    # Runs of >= 3 consecutive non-sentence lines are link or tag lists.
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and not _is_sentence(text[lines[j][0] : lines[j][1]]):
            j += 1
        if j - i >= 3:
            for k in range(i, j):
                keep[k] = False
        i = max(j, i + 1)

    # A short line stranded between dropped lines is part of the same furniture.
    for k in range(len(lines)):
        before = k == 0 or not keep[k - 1]
        after = k == len(lines) - 1 or not keep[k + 1]
        if keep[k] and before and after and len(text[lines[k][0] : lines[k][1]].split()) <= 15 and len(lines) > 1:
            keep[k] = False

    seen: set[str] = set()
    for k, (s, e) in enumerate(lines):
        if not keep[k]:
            continue
        key = " ".join(text[s:e].split()).lower()
        if key in seen and len(key) < 300:
            keep[k] = False
        seen.add(key)

    if not any(keep):  # never clean a document away entirely
        keep = [True] * len(lines)
    return _merge(lines, keep, text)


def _merge(lines: list[tuple[int, int]], keep: list[bool], text: str) -> list[tuple[int, int]]:
    blocks: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    for (s, e), k in zip(lines, keep):
        if not k:
            if current:
                blocks.append(current)
            current = None
            continue
        current = (current[0], e) if current else (s, e)
    if current:
        blocks.append(current)
    return blocks


def block_lines(text: str, block: tuple[int, int]) -> list[tuple[int, int]]:
    """The non-blank lines (paragraphs) inside one block."""
    s0, e0 = block
    return _paragraphs(text, [(s0 + s, s0 + e) for s, e in _lines(text[s0:e0])], _wrap_width(text))
