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
from collections.abc import Iterable
from pathlib import Path

from .settings import SUPPORTED_SUFFIXES
from .types import Document, Skipped


class SourceError(Exception):
    """A source file that cannot be indexed; the message is the one-line reason."""


def discover(paths: Iterable[str]) -> tuple[list[str], list[Skipped]]:
    """Expand files and folders into supported source files, sorted, each once.

    Folders are walked recursively without following symlinked folders (no loops);
    hidden files and folders are ignored. Returns the files and the paths skipped.
    """
    found: dict[str, str] = {}
    skipped: list[Skipped] = []
    for given in paths:
        p = Path(given)
        if not p.exists():
            skipped.append(Skipped(str(given), "does not exist"))
            continue
        if p.is_file():
            if p.suffix.lower() in SUPPORTED_SUFFIXES:
                found.setdefault(os.path.realpath(p), str(p))
            else:
                skipped.append(Skipped(str(p), f"unsupported file type '{p.suffix}'"))
            continue
        for root, dirs, files in os.walk(p, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
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
                found.setdefault(real, str(f))
    return sorted(found.values()), skipped


def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def decode_text(raw: bytes) -> tuple[str, str]:
    """Decode bytes of a text file; returns ``(text, encoding)``. Raises SourceError if binary."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        enc = "utf-16"
    else:
        if b"\x00" in raw[:8192]:
            raise SourceError("binary file (NUL bytes), not text")
        try:
            raw.decode("utf-8")
            enc = "utf-8"
        except UnicodeDecodeError:
            enc = "cp1252"
    try:
        text = raw.decode(enc)
    except UnicodeDecodeError:
        enc = "latin-1"
        text = raw.decode(enc)
    sample = text[:8192]
    if sample:
        bad = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f\v")
        if bad / len(sample) > 0.05:
            raise SourceError("binary file (control characters), not text")
    # universal newlines, exactly as open().read() does
    return text.replace("\r\n", "\n").replace("\r", "\n"), enc


def _html_text(raw: bytes) -> str:
    import trafilatura

    html, _ = decode_text(raw)
    text = trafilatura.extract(html, include_comments=False, include_tables=True, favor_recall=True)
    if not text:
        raise SourceError("HTML page without extractable text")
    return text


def _pdf_text(path: str) -> str:
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(path)
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise SourceError(f"broken PDF ({type(exc).__name__})") from exc
    text = "\n\n".join(p for p in pages if p)
    if not text.strip():
        raise SourceError("PDF has no text layer (scanned?); run OCR first")
    return text


def read_document(path: str, max_bytes: int = 64 * 1024 * 1024) -> Document:
    """Read one source file. Raises :class:`SourceError` with the reason when it cannot."""
    try:
        size = os.path.getsize(path)
        if size > max_bytes:
            raise SourceError(f"larger than the {max_bytes // (1024 * 1024)} MB limit")
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
        return Document(path, _html_text(raw), sha, kind="html")
    if suffix == ".pdf":
        return Document(path, _pdf_text(path), sha, kind="pdf")
    text, enc = decode_text(raw)
    if not text.strip():
        raise SourceError("empty file")
    return Document(path, text, sha, kind="text", encoding=enc)
