"""Sources → index: read, clean, chunk, embed and store documents.

Public entry points: :func:`build` and :func:`load`.
"""

from . import _offline  # noqa: F401  (must run before any ML library is imported)
from .build import IndexLockedError
from .reader import Index, IndexCorruptError, IndexNotFoundError
from .settings import ChunkSettings, IndexSettings
from .types import BuildReport, Chunk, Document, Skipped

__all__ = [
    "build",
    "remove",
    "load",
    "Index",
    "IndexSettings",
    "ChunkSettings",
    "BuildReport",
    "Chunk",
    "Document",
    "Skipped",
    "IndexCorruptError",
    "IndexNotFoundError",
    "IndexLockedError",
]


def build(sources: list[str] | None = None, full: bool = False, settings: IndexSettings | None = None,
          progress=False) -> BuildReport:
    """Add ``sources`` (files or folders) to the index and bring it up to date.

    Only added or changed files are read and embedded; removed files are dropped; the new
    index replaces the old one atomically. ``full=True`` rebuilds everything. Returns a
    :class:`BuildReport` (added/changed/removed/unchanged/skipped files, chunks, seconds).
    """
    from .build import build as _build

    return _build(settings or IndexSettings(), sources=sources, full=full, progress=progress)


def remove(paths: list[str], settings: IndexSettings | None = None, progress=False) -> BuildReport:
    """Take ``paths`` (indexed files, folders, or the name of one indexed file) out of the index.

    Incremental and atomic like every build; the paths stay out of later builds until they are
    added again with :func:`build`. Files on disk are not touched. Raises ValueError when a path
    is not in the index.
    """
    from .build import build as _build

    return _build(settings or IndexSettings(), remove=list(paths), progress=progress)


def load(settings: IndexSettings | None = None) -> Index:
    """Load the current index from ``settings.index_dir`` (raises IndexNotFoundError)."""
    return Index.open((settings or IndexSettings()).index_dir)
