"""Save files that users upload into the sources folder, safely.

Only a plain, safe base name is kept (no folders, no ``..``, no control characters), only
supported types up to a size limit are accepted, and a file whose content is already among
the sources is reported as a duplicate instead of being saved twice. Nothing is ever written
outside ``sources_dir``.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .settings import SUPPORTED_SUFFIXES, IndexSettings

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def uploads_dir(settings: IndexSettings) -> Path:
    """The project's sources folder, where uploads are saved: the first configured source folder (a folder
    beside the index otherwise)."""
    for source in settings.sources:
        p = Path(source).expanduser()
        if p.is_dir() or (not p.exists() and not p.suffix):
            return p
    return Path(settings.index_dir).expanduser().resolve().parent / "uploads"


def deletable(path: str | Path, settings: IndexSettings) -> bool:
    """Whether ``path`` is a file inside the project's sources folder (:func:`uploads_dir`), the only
    files ragqa ever deletes (``ragqa remove --delete-file``, the UI's remove action)."""
    folder = os.path.realpath(uploads_dir(settings))
    real = os.path.realpath(path)
    return os.path.isfile(real) and real.startswith(folder.rstrip(os.sep) + os.sep)


def delete_source_file(path: str | Path, settings: IndexSettings) -> None:
    """Delete a source file inside the project's sources folder; ValueError for any other file."""
    if not deletable(path, settings):
        raise ValueError(f"{path} is not a file inside the project's sources folder {uploads_dir(settings)}; "
                         "ragqa deletes nothing else")
    os.remove(os.path.realpath(path))


class UploadError(ValueError):
    """An upload that was refused; the message says why in one line."""


@dataclass
class Saved:
    """Result of :func:`save_upload`: where the file went, or which existing file it duplicates."""

    path: Path
    duplicate_of: Path | None = None


def safe_name(name: str) -> str:
    """A safe base name for ``name``: no directories, control characters or leading dots."""
    if not isinstance(name, str):
        raise UploadError("the file name is not text")
    base = re.split(r"[\\/]", name)[-1]  # drop any folder part, Windows or POSIX
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*')
    base = re.sub(r"\s+", " ", base).strip().lstrip(".").strip()
    stem, suffix = os.path.splitext(base)
    stem = re.sub(r"[^\w\- .()]+", "_", stem).strip(" ._")[:100]
    if not stem:
        raise UploadError(f"the file name {name!r} has no usable characters")
    return stem + suffix.lower()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save_upload(name: str, data: bytes, sources_dir: str | Path, max_bytes: int = MAX_UPLOAD_BYTES) -> Saved:
    """Save ``data`` as a new source called (a safe version of) ``name`` inside ``sources_dir``.

    Raises :class:`UploadError` for an unsupported type, an empty or oversized file, or a bad
    name. A file whose bytes equal an existing source is not written again: the result names
    the existing file in ``duplicate_of``. A name already taken by different content gets a
    numbered suffix (``report (2).txt``); nothing is overwritten.
    """
    base = safe_name(name)
    suffix = os.path.splitext(base)[1]
    if suffix not in SUPPORTED_SUFFIXES:
        allowed = ", ".join(SUPPORTED_SUFFIXES)
        raise UploadError(f"{base}: unsupported file type '{suffix or '(none)'}' (supported: {allowed})")
    if not data:
        raise UploadError(f"{base}: the file is empty")
    if len(data) > max_bytes:
        raise UploadError(f"{base}: {len(data) / 2**20:.1f} MB is over the {max_bytes / 2**20:.0f} MB upload limit")
    root = Path(sources_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    digest = _sha256(data)
    for existing in sorted(root.rglob("*")):
        if existing.is_file() and not existing.is_symlink() and existing.stat().st_size == len(data):
            if _sha256(existing.read_bytes()) == digest:
                return Saved(existing, duplicate_of=existing)
    stem, _ = os.path.splitext(base)
    target = root / base
    n = 2
    while target.exists():
        target = root / f"{stem} ({n}){suffix}"
        n += 1
    if target.resolve().parent != root:  # belt and braces: never outside the folder
        raise UploadError(f"{name!r}: refusing to write outside {root}")
    tmp = root / f".{target.name}.{os.getpid()}.upload"
    with open(tmp, "xb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)
    return Saved(target)
