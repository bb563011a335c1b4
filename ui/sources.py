"""The "Add sources" panel: save uploads into the sources folder, update the index, list what is indexed.

Saving is :func:`index.uploads.save_upload` (safe names, size limit, duplicates by content
hash); indexing is :func:`index.build` (incremental, locked, atomic swap). The chat's pipeline
notices the new index generation by itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import index
from index import IndexCorruptError, IndexNotFoundError, IndexSettings
from index.uploads import MAX_UPLOAD_BYTES, UploadError, save_upload

from . import render

ProgressFn = Callable[..., object]
"""A ``gr.Progress``-like callable: ``progress((done, total), desc=...)``."""

STAGES = {"reading": "Reading and chunking new sources", "embedding": "Embedding new passages"}


def uploads_dir(settings: IndexSettings) -> Path:
    """Where uploads are saved: the first configured source folder (a folder beside the index otherwise)."""
    for source in settings.sources:
        p = Path(source).expanduser()
        if p.is_dir() or (not p.exists() and not p.suffix):
            return p
    return Path(settings.index_dir).expanduser().resolve().parent / "uploads"


def indexed_rows(settings: IndexSettings) -> list[list]:
    """The indexed sources as table rows (source, chunks); empty when there is no index yet."""
    try:
        sources = index.load(settings).sources
    except (IndexNotFoundError, IndexCorruptError):
        return []
    return render.sources_rows(sources, [str(uploads_dir(settings)), *settings.sources])


def _read_upload(path: str, limit: int) -> bytes:
    size = os.path.getsize(path)
    if size > limit:
        raise UploadError(f"{render.source_name(path)}: {size / 2**20:.1f} MB is over the {limit / 2**20:.0f} MB upload limit")
    with open(path, "rb") as f:
        return f.read()


def add_files(paths: list[str] | None, settings: IndexSettings, progress: ProgressFn | None = None,
              max_bytes: int = MAX_UPLOAD_BYTES) -> tuple[str, list[list]]:
    """Save the uploaded files (temporary paths) as sources, update the index; returns (status lines, table rows).

    Each file is saved under a safe name inside :func:`uploads_dir`, reported as a duplicate, or
    refused with its reason. When anything new was saved, the index is updated incrementally.
    """
    folder = uploads_dir(settings)
    lines: list[str] = []
    saved_any = False
    for path in paths or []:
        name = Path(str(path)).name
        try:
            saved = save_upload(name, _read_upload(str(path), max_bytes), folder, max_bytes=max_bytes)
        except (UploadError, OSError) as exc:
            lines.append(f"refused: {exc}")
            continue
        if saved.duplicate_of is not None:
            lines.append(f"duplicate: {name} has the same content as {saved.duplicate_of.name}; not added again")
        else:
            lines.append(f"saved: {saved.path.name}")
            saved_any = True
    if not paths:
        lines.append("no files: choose .txt, .md, .html or .pdf files first")
    if saved_any:
        extra = [] if any(Path(s).expanduser().resolve() == folder.resolve() for s in settings.sources) else [str(folder)]
        if progress is not None:
            progress(0.0, desc="Updating the index")

        def report(stage: str, done: int, total: int) -> None:
            if progress is not None:
                progress((done, max(total, 1)), desc=STAGES.get(stage, stage))

        try:
            result = index.build(sources=extra or None, settings=settings, progress=report)
        except Exception as exc:  # the previous index stays in place: say why this one failed
            lines.append(f"indexing failed: {type(exc).__name__}: {exc}")
        else:
            lines.append(f"index updated: {result.summary()}")
            lines.extend(f"skipped: {render.source_name(s.source)}: {s.reason}" for s in result.skipped)
    return "\n".join(lines), indexed_rows(settings)
