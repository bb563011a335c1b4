"""Find source files and read them into :class:`~index.types.Document` objects.

Plain text (``.txt``, ``.md``) is decoded as UTF-8 when it is UTF-8, from UTF-16 when it
carries a BOM, and as Windows-1252/Latin-1 otherwise; newlines are translated exactly as
Python's ``open()`` does, so offsets match ``open(source).read()`` for UTF-8 files. HTML goes
through trafilatura (main text only), PDF through pypdf. Anything unreadable raises
:class:`SourceError` with a one-line reason, which the build reports and skips.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from .outline import Outline, html_headings, markdown_headings, paged, pdf_headings, plain_headings
from .settings import SUPPORTED_SUFFIXES
from .types import Document, Skipped


class SourceError(Exception):
    """A source file that cannot be indexed; the message is the one-line reason."""


def discover(paths: Iterable[str]) -> tuple[list[str], list[Skipped]]:
    """Expand files and folders into supported source files, sorted, each once.

    Folders are walked recursively; a symlinked folder is followed unless it leads back to a
    folder already walked (a loop), which is reported. Hidden files and folders are ignored.
    A file reached twice (through symlinks) is listed once. Returns the files and the paths skipped.
    """
    found: dict[str, str] = {}
    skipped: list[Skipped] = []
    for given in paths:
        p = Path(given)
        if not p.exists():
            reason = "broken or looping symlink" if p.is_symlink() else "does not exist"
            skipped.append(Skipped(str(given), reason))
            continue
        if p.is_file():
            if p.suffix.lower() in SUPPORTED_SUFFIXES:
                found.setdefault(os.path.realpath(p), str(p))
            else:
                skipped.append(Skipped(str(p), f"unsupported file type '{p.suffix}'"))
            continue
        if not p.is_dir():
            skipped.append(Skipped(str(p), "not a regular file or folder"))
            continue
        _walk(p, found, skipped)
    return sorted(found.values()), skipped


def _walk(top: Path, found: dict[str, str], skipped: list[Skipped]) -> None:
    walked: set[str] = set()
    for root, dirs, files in os.walk(top, followlinks=True, onerror=lambda e: skipped.append(
            Skipped(str(e.filename), f"cannot list folder ({e.strerror or e})"))):
        here = os.path.realpath(root)
        walked.add(here)
        keep = []
        for d in sorted(dirs):
            if d.startswith("."):
                continue
            sub = os.path.join(root, d)
            try:
                real = os.path.realpath(sub, strict=True)
            except (OSError, RuntimeError):
                skipped.append(Skipped(sub, "broken or looping symlink"))
                continue
            if real in walked or here == real or here.startswith(real + os.sep):
                skipped.append(Skipped(sub, "symlink loop (folder already indexed), not followed"))
                continue
            keep.append(d)
        dirs[:] = keep
        for name in sorted(files):
            if name.startswith("."):
                continue
            f = Path(root) / name
            if f.suffix.lower() not in SUPPORTED_SUFFIXES:
                continue
            try:
                real = os.path.realpath(f, strict=True)
            except (OSError, RuntimeError):
                skipped.append(Skipped(str(f), "broken or looping symlink"))
                continue
            if not os.path.isfile(real):
                skipped.append(Skipped(str(f), "not a regular file"))
                continue
            found.setdefault(real, str(f))


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in blocks."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _sniff(head: bytes) -> str | None:
    """The encoding announced by a BOM, or None. Raises SourceError for binary data."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if b"\x00" in head[:8192]:
        raise SourceError("binary file (NUL bytes), not text")
    return None


def _check_text(sample: str) -> None:
    if sample:
        bad = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f\v")
        if bad / len(sample) > 0.05:
            raise SourceError("binary file (control characters), not text")


def decode_text(raw: bytes) -> tuple[str, str]:
    """Decode bytes of a text file; returns ``(text, encoding)``. Raises SourceError if binary."""
    enc = _sniff(raw)
    text = None
    for candidate in ([enc] if enc else ["utf-8", "cp1252"]) + ["latin-1"]:
        try:
            text = raw.decode(candidate)
            enc = candidate
            break
        except UnicodeDecodeError:
            continue
    assert text is not None  # latin-1 decodes anything
    _check_text(text[:8192])
    # universal newlines, exactly as open().read() does
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, enc


def detect_encoding(path: str) -> tuple[str, str]:
    """``(sha256, encoding)`` of a text file, read in blocks (never whole). Raises SourceError."""
    import codecs

    h = hashlib.sha256()
    with open(path, "rb") as f:
        head = f.read(1 << 20)
        enc = _sniff(head)
        utf8 = codecs.getincrementaldecoder("utf-8")() if enc is None else None
        block = head
        while block:
            h.update(block)
            if utf8 is not None:
                try:
                    utf8.decode(block)
                except UnicodeDecodeError:
                    utf8 = None
            block = f.read(1 << 20)
        if utf8 is not None:
            try:
                utf8.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = None
    if enc is None:
        enc = "utf-8" if utf8 is not None else _single_byte(path)
    try:
        _check_text(head.decode(enc, errors="replace")[:8192])
    except LookupError as exc:  # pragma: no cover - the encodings above always exist
        raise SourceError(f"unknown encoding {enc}") from exc
    return h.hexdigest(), enc


def _single_byte(path: str) -> str:
    """cp1252 when every byte of the file is defined in it, else latin-1."""
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            try:
                block.decode("cp1252")
            except UnicodeDecodeError:
                return "latin-1"
    return "cp1252"


def text_windows(path: str, encoding: str, window_chars: int = 1 << 20) -> Iterator[tuple[int, str]]:
    """The decoded text of a file as ``(offset, piece)`` windows cut at paragraph breaks.

    Joined, the pieces are exactly ``open(path, encoding=encoding).read()`` (same newline
    translation); ``offset`` is the position of ``piece`` in that text. Memory holds one
    window at a time, so files of any size can be chunked and embedded as a stream.
    """
    offset = 0
    carry = ""
    with open(path, encoding=encoding, newline=None) as f:
        while True:
            block = f.read(window_chars)
            text = carry + block
            if not block:
                if text:
                    yield offset, text
                return
            cut = text.rfind("\n\n")
            if cut < len(text) // 4:
                cut = text.rfind("\n")
            if cut < len(text) // 4:
                cut = max(text.rfind(" "), len(text) // 2)
            cut += 1
            yield offset, text[:cut]
            offset += cut
            carry = text[cut:]


def _html_text(raw: bytes) -> tuple[str, Outline]:
    import trafilatura

    html, _ = decode_text(raw)
    text = trafilatura.extract(html, include_comments=False, include_tables=True, favor_recall=True)
    if not text:
        raise SourceError("HTML page without extractable text")
    return text, Outline(sections=html_headings(html, text))


def text_outline(text: str, suffix: str) -> Outline:
    """The section headings of a plain-text or Markdown document (no pages)."""
    if suffix.lower() in (".md", ".markdown"):
        return Outline(sections=markdown_headings(text))
    return Outline(sections=plain_headings(text))


def _pdf_text(path: str) -> tuple[str, Outline]:
    import logging

    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise SourceError("encrypted PDF; decrypt it first")
        pages = [(n, (page.extract_text() or "").strip()) for n, page in enumerate(reader.pages, 1)]
    except SourceError:
        raise
    except RecursionError as exc:
        raise SourceError("broken PDF (RecursionError)") from exc
    except Exception as exc:  # pypdf raises many kinds of errors on damaged files
        raise SourceError(f"broken PDF ({type(exc).__name__})") from exc
    text, starts = paged([(n, p) for n, p in pages if p])
    if not text.strip():
        raise SourceError("PDF has no text layer (scanned?); run OCR first")
    return text, Outline(pages=starts, sections=pdf_headings(text))


def read_document(path: str, max_bytes: int = 64 * 1024 * 1024) -> Document:
    """Read one source file. Raises :class:`SourceError` with the reason when it cannot."""
    try:
        size = os.path.getsize(path)
        if size > max_bytes:
            raise SourceError(f"{size / 2**20:.0f} MB, larger than the {max_bytes / 2**20:g} MB limit (max_file_bytes)")
        with open(path, "rb") as f:
            raw = f.read()
    except PermissionError as exc:
        raise SourceError("permission denied") from exc
    except OSError as exc:
        raise SourceError(f"cannot read ({exc.strerror or exc})") from exc
    if not raw.strip():
        raise SourceError("empty file")
    sha = hashlib.sha256(raw).hexdigest()
    suffix = Path(path).suffix.lower()
    if suffix in (".html", ".htm"):
        text, outline = _html_text(raw)
        return Document(path, text, sha, kind="html", outline=outline)
    if suffix == ".pdf":
        del raw
        text, outline = _pdf_text(path)
        return Document(path, text, sha, kind="pdf", outline=outline)
    text, enc = decode_text(raw)
    del raw
    if not text.strip():
        raise SourceError("empty file")
    return Document(path, text, sha, kind="text", encoding=enc, outline=text_outline(text, suffix))
