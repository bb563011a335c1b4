"""The sources panels: add uploads to the index, list what is indexed and what was skipped, take sources out.

Saving is :func:`index.uploads.save_upload` (safe names, size limit, duplicates by content
hash); indexing is :func:`index.build` and :func:`index.remove` (incremental, locked, atomic
swap). The chat's pipeline notices the new index generation by itself. Deleting a file is
:func:`index.uploads.delete_source_file`: only files inside the project's sources folder.

These are plain functions of the index settings (no Gradio events), wired up in :mod:`ui.app`.
"""

from __future__ import annotations

import html
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

import index
from index import IndexSettings
from index.layout import current_generation
from index.manifest import Manifest
from index.reader import describe as describe_manifest
from index.uploads import MAX_UPLOAD_BYTES, UploadError, deletable, delete_source_file, save_upload, uploads_dir

from . import render

ProgressFn = Callable[..., object]
"""A ``gr.Progress``-like callable: ``progress((done, total), desc=...)``."""

STAGES = {"reading": "Reading and chunking new sources", "embedding": "Embedding new passages"}


@dataclass(frozen=True)
class Described:
    """What one index generation holds: :meth:`index.Index.describe` and the paths kept out by removals."""

    rows: list[dict]
    skipped: list[dict]
    excluded: list[str]


_cache: dict[str, tuple[str, Described]] = {}
_cache_lock = threading.Lock()


def describe(settings: IndexSettings) -> Described:
    """The current index's sources, skipped files and excluded paths (all empty when there is no index).

    Cached per index generation (a generation never changes once built), so that refreshing the table,
    the skipped list and the "Answer from" choices loads the index once, not once each.
    """
    key = os.path.abspath(os.path.expanduser(settings.index_dir))
    gen = current_generation(Path(key))
    if gen is None:
        return Described([], [], [])
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and hit[0] == str(gen):
        return hit[1]
    try:  # the manifest alone: the table needs no vectors or BM25
        manifest = Manifest.load(gen)
    except (OSError, ValueError, TypeError):
        return Described([], [], [])
    rows, skipped = describe_manifest(manifest)
    described = Described(rows, skipped, list(manifest.excluded))
    with _cache_lock:
        _cache[key] = (str(gen), described)
    return described


def roots(settings: IndexSettings) -> list[str]:
    """The folders that paths are shown relative to: the sources folder first, then the configured sources."""
    return [str(uploads_dir(settings)), *settings.sources]


def indexed_rows(settings: IndexSettings) -> list[list]:
    """The indexed sources as table rows (source, chunks, pages, size, indexed); empty when there is no index yet."""
    return render.sources_rows(describe(settings).rows, roots(settings))


def skipped_rows(settings: IndexSettings) -> list[list]:
    """The files the last build skipped, as rows (file, reason)."""
    return render.skipped_rows(describe(settings).skipped, roots(settings))


def skipped_update(settings: IndexSettings) -> dict:
    """The skipped-files table: its rows, shown only when there are any."""
    rows = skipped_rows(settings)
    return gr.update(value=rows, visible=bool(rows))


def scope_choices(settings: IndexSettings) -> list[tuple[str, str]]:
    """The "Answer from" choices: (path as the sources table shows it, source path), by shown path."""
    shown = roots(settings)
    return sorted(((render.shown_path(r["source"], shown), r["source"]) for r in describe(settings).rows),
                  key=lambda c: c[0].lower())


def scope_update(settings: IndexSettings, current: list[str] | None) -> dict:
    """The "Answer from" dropdown with fresh choices, keeping what is still indexed of the ``current`` selection."""
    choices = scope_choices(settings)
    indexed = {value for _, value in choices}
    return gr.update(choices=choices, value=[v for v in (current or []) if v in indexed])


def panel(settings: IndexSettings, current_scope: list[str] | None) -> tuple[list[list], dict, dict]:
    """Everything that shows the index: (sources table rows, skipped-files table, "Answer from" dropdown)."""
    return indexed_rows(settings), skipped_update(settings), scope_update(settings, current_scope)


@dataclass(frozen=True)
class Selection:
    """A row picked for removal: the source, the question to confirm, whether its file may be deleted too."""

    source: str | None
    prompt: str
    deletable: bool


def select_row(settings: IndexSettings, shown: object = None, row: int | None = None) -> Selection:
    """The source behind a clicked row of the sources table: by its shown path (``shown``), else by position.

    ``source`` is None (and ``prompt`` says why) when the row is no longer in the index.
    """
    rows = describe(settings).rows
    where = roots(settings)
    source = None
    if shown is not None:
        source = next((r["source"] for r in rows if render.shown_path(r["source"], where) == str(shown)), None)
    if source is None and shown is None and row is not None and 0 <= row < len(rows):
        source = rows[row]["source"]
    if source is None:
        return Selection(None, '<div class="ragqa-confirm">That source is no longer in the index.</div>', False)
    name = render.shown_path(source, where)
    prompt = (f'<div class="ragqa-confirm">Remove <b title="{html.escape(source, quote=True)}">{render.escape(name)}</b> '
              "from the index?</div>")
    return Selection(source, prompt, deletable(source, settings))


def remove_source(settings: IndexSettings, source: str | None, delete_file: bool = False) -> str:
    """Take ``source`` out of the index (:func:`index.remove`); with ``delete_file``, also delete its file when it
    lies inside the project's sources folder (any other file is kept). Returns status lines."""
    if not source:
        return "nothing to remove: click a row of the sources table first"
    name = render.shown_path(source, roots(settings))
    try:
        report = index.remove([source], settings=settings)
    except ValueError as exc:  # no index, or no longer in it
        return f"not removed: {exc}"
    except Exception as exc:  # the previous index stays in place: say why
        return f"removing failed: {type(exc).__name__}: {exc}"
    lines = [f"removed from the index: {name} ({report.summary()})"]
    for removed in report.removed or [source]:
        shown = render.shown_path(removed, roots(settings))
        if not delete_file:
            lines.append(f"the file was kept: {removed}")
        elif not deletable(removed, settings):
            lines.append(f"the file was kept: {removed} is not inside the sources folder {uploads_dir(settings)}")
        else:
            try:
                delete_source_file(removed, settings)
            except (OSError, ValueError) as exc:
                lines.append(f"the file could not be deleted: {exc}")
            else:
                lines.append(f"deleted the file: {shown}")
    return "\n".join(lines)


def _read_upload(path: str, limit: int) -> bytes:
    size = os.path.getsize(path)
    if size > limit:
        raise UploadError(f"{render.source_name(path)}: {size / 2**20:.1f} MB is over the {limit / 2**20:.0f} MB upload limit")
    with open(path, "rb") as f:
        return f.read()


def _excluded(path: Path, excluded: list[str]) -> bool:
    """Whether ``path`` lies in what a removal keeps out of the index."""
    a = os.path.abspath(path)
    return any(a == e or a.startswith(e.rstrip(os.sep) + os.sep) for e in excluded)


def add_files(paths: list[str] | None, settings: IndexSettings, progress: ProgressFn | None = None,
              max_bytes: int = MAX_UPLOAD_BYTES) -> tuple[str, list[list]]:
    """Save the uploaded files (temporary paths) as sources, update the index; returns (status lines, table rows).

    Each file is saved under a safe name inside :func:`uploads_dir`, reported as a duplicate, or
    refused with its reason. When anything new was saved, the index is updated incrementally. A file
    that was taken out of the index (:func:`remove_source`) and is uploaded again is indexed again.
    """
    folder = uploads_dir(settings)
    excluded = describe(settings).excluded
    lines: list[str] = []
    saved_any = False
    again: list[str] = []  # removed earlier: naming them to the build brings them back
    for path in paths or []:
        name = Path(str(path)).name
        try:
            saved = save_upload(name, _read_upload(str(path), max_bytes), folder, max_bytes=max_bytes)
        except (UploadError, OSError) as exc:
            lines.append(f"refused: {exc}")
            continue
        if saved.duplicate_of is not None and _excluded(saved.duplicate_of, excluded):
            lines.append(f"duplicate: {name} has the same content as {saved.duplicate_of.name}, which was removed "
                         "from the index; adding it again")
            again.append(str(saved.duplicate_of))
            saved_any = True
        elif saved.duplicate_of is not None:
            lines.append(f"duplicate: {name} has the same content as {saved.duplicate_of.name}; not added again")
        else:
            lines.append(f"saved: {saved.path.name}")
            saved_any = True
            if _excluded(saved.path, excluded):
                again.append(str(saved.path))
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
            result = index.build(sources=(extra + again) or None, settings=settings, progress=report)
        except Exception as exc:  # the previous index stays in place: say why this one failed
            lines.append(f"indexing failed: {type(exc).__name__}: {exc}")
        else:
            lines.append(f"index updated: {result.summary()}")
            lines.extend(f"skipped: {render.source_name(s.source)}: {s.reason}" for s in result.skipped)
    return "\n".join(lines), indexed_rows(settings)
