"""Build or incrementally update the index, safely.

Under a lock, compare the files on disk with the manifest, read, clean, chunk and embed only
what was added or changed, drop what was removed, and write the new index into a fresh
generation folder beside the current one. Only when it is complete does the ``current``
symlink switch to it (an atomic rename), so a crash at any point leaves the previous index
loadable and the next build starts over cleanly.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import closing, suppress
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout

from .chunk import chunk_document
from .embed import get_embedder
from .embed_openai import EmbedServerError
from .layout import CHUNKS, CURRENT, TEXTS, current_generation, gc_generations, read_chunks
from .lexical import BM25Index
from .manifest import FILE as MANIFEST
from .manifest import Manifest, checksum_files, plan
from .outline import Outline
from .reader import FIX, IndexCorruptError, verify_generation
from .settings import IndexSettings
from .sources import SourceError, detect_encoding, discover, file_sha256, read_document, text_outline, text_windows
from .store import load_store, new_store, reusable
from .types import BuildReport, Chunk, Document, Skipped

Progress = Callable[[str, int, int], None]

#: Text files larger than this are read, chunked and embedded window by window (bounded memory).
STREAM_BYTES = 4 * 1024 * 1024
#: Characters of text per window when streaming a large file.
WINDOW_CHARS = 1 << 20


class IndexLockedError(RuntimeError):
    """Another build holds the index lock."""


def _tqdm_progress() -> Progress:
    from tqdm.auto import tqdm

    bars: dict[str, tqdm] = {}

    def report(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="", leave=True)
        bar.total = total
        bar.n = done
        bar.refresh()

    def close() -> None:
        for bar in bars.values():
            bar.close()

    report.close = close  # type: ignore[attr-defined]
    return report


def _abs_roots(paths: list[str]) -> list[str]:
    seen: list[str] = []
    for p in paths:
        a = os.path.abspath(os.path.expanduser(p))
        if a not in seen:
            seen.append(a)
    return seen


def build(
    settings: IndexSettings,
    sources: list[str] | None = None,
    full: bool = False,
    progress: bool | Progress = False,
    lock_timeout: float = 600.0,
    remove: list[str] | None = None,
) -> BuildReport:
    """Bring the index in ``settings.index_dir`` up to date with its sources.

    ``sources`` adds files or folders to the ones the index already covers (remembered in
    the manifest) and to ``settings.sources``. ``full`` re-reads and re-embeds everything.
    ``progress`` is True for terminal progress bars, or a callback ``(stage, done, total)``:
    stage ``reading`` counts files, ``embedding`` counts chunks (its total grows as files are read).
    ``remove`` takes files or folders out of the index and keeps them out of later builds (they are
    remembered in the manifest as excluded until they are added again with ``sources``); each must
    select an indexed source (ValueError otherwise). Files on disk are never touched.

    A file that cannot be read is skipped with a one-line reason in ``BuildReport.skipped``;
    the build goes on with the others. Raises :class:`IndexLockedError` when another build
    holds the lock past ``lock_timeout`` seconds, and ``IndexCorruptError`` when an incremental
    build finds the current index damaged (``full=True`` rebuilds it from the sources).
    """
    t0 = time.perf_counter()
    report_progress: Progress | None = _tqdm_progress() if progress is True else (progress or None)
    root = Path(settings.index_dir)
    root.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(root / ".lock"))
    try:
        lock.acquire(timeout=lock_timeout)
    except Timeout as exc:
        raise IndexLockedError(
            f"another build is running on {root} (lock {root / '.lock'}); wait for it to finish"
        ) from exc
    try:
        return _build_locked(settings, root, sources or [], full, report_progress, t0, remove or [])
    finally:
        lock.release()
        if hasattr(report_progress, "close"):
            report_progress.close()


def _under(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip(os.sep) + os.sep)


def removal_targets(paths: list[str], manifest: Manifest) -> list[str]:
    """The absolute paths that ``paths`` name among an index's sources and roots (a file, a folder, or the
    bare name of one indexed file). Raises ValueError naming each path that selects nothing."""
    sources = {os.path.abspath(s): s for s in manifest.files}
    targets, unknown = [], []
    for p in paths:
        a = os.path.abspath(os.path.expanduser(p))
        if any(_under(s, a) for s in sources) or a in manifest.roots:
            targets.append(a)
            continue
        named = [s for s in sources if os.path.basename(s) == p]
        if os.sep not in p and len(named) == 1:
            targets.append(named[0])
        else:
            unknown.append(p)
    if unknown:
        raise ValueError(f"not in the index: {', '.join(map(repr, unknown))}; list the indexed sources with "
                         "`ragqa sources`")
    return targets


def _build_locked(settings, root, extra, full, progress, t0, remove) -> BuildReport:
    report = BuildReport(index_dir=str(root))
    gc_generations(root)
    embedder = get_embedder(settings.embedder)
    chunk_cfg = settings.chunk.as_dict()
    chunk_cfg["max_tokens"] = min(settings.chunk.max_tokens, embedder.max_tokens - 2)

    old_dir = current_generation(root)
    old: Manifest | None = None
    if old_dir is not None:
        try:
            old = Manifest.load(old_dir)
        except (OSError, ValueError, TypeError):
            old = None  # unreadable: rebuild from scratch
    roots = _abs_roots(list(settings.sources) + (old.roots if old else []) + extra)
    added_again = _abs_roots(extra)  # naming a removed path again brings it back
    excluded = [e for e in (old.excluded if old else []) if not any(_under(e, a) for a in added_again)]
    if remove:
        if old is None:
            raise ValueError("there is no index to remove sources from")
        targets = removal_targets(remove, old)
        roots = [r for r in roots if not any(_under(r, t) for t in targets)]
        excluded = sorted(set(excluded) | set(targets))
    if old is not None and (full or not old.compatible(embedder.id, embedder.dim, chunk_cfg, settings.store)
                            or not reusable(old.store, old_dir)):
        full = True
    if old_dir is not None and not full:
        problem = "its manifest is unreadable" if old is None else verify_generation(old_dir, old)
        if problem:
            raise IndexCorruptError(f"the index at {old_dir} is damaged ({problem}); {FIX}")
    report.full = full or old is None

    files, skipped = discover(roots)
    own = os.path.realpath(root)  # the index folder may sit inside a source folder: its files are no sources
    files = [f for f in files if not _under(os.path.realpath(f), own)]
    if excluded:
        files = [f for f in files if not any(_under(os.path.abspath(f), e) for e in excluded)]
        skipped = [s for s in skipped if not any(_under(os.path.abspath(s.source), e) for e in excluded)]
    roots = [r for r in roots if os.path.exists(r)]
    current: dict[str, str] = {}
    first_with_sha: dict[str, str] = {}
    for f in files:
        try:
            if os.path.getsize(f) == 0:
                skipped.append(Skipped(f, "empty file"))
                continue
            sha = file_sha256(f)
        except PermissionError:
            skipped.append(Skipped(f, "permission denied"))
            continue
        except OSError as exc:
            skipped.append(Skipped(f, f"cannot read ({exc.strerror or exc})"))
            continue
        if sha in first_with_sha:
            skipped.append(Skipped(f, f"duplicate of {first_with_sha[sha]}"))
            continue
        first_with_sha[sha] = f
        current[f] = sha

    p = plan(None if report.full else old, current)
    report.added, report.changed, report.removed, report.unchanged = p.added, p.changed, p.removed, p.unchanged
    old_skipped = {(s["source"], s["reason"]) for s in (old.skipped if old else [])}
    if (
        not report.full
        and not (p.added or p.changed or p.removed)
        and old_skipped == {(s.source, s.reason) for s in skipped}
        and old.roots == roots
        and old.excluded == excluded
    ):
        report.skipped = skipped
        report.chunks = sum(len(e["chunks"]) for e in old.files.values())
        report.seconds = time.perf_counter() - t0
        return report

    # Start from the old index, minus what changed or went away.
    if report.full or old_dir is None:
        chunks: list[Chunk] = []
        store = new_store(settings.store, embedder.dim)
        files_meta: dict[str, dict] = {}
        next_id = 0
    else:
        store = load_store(old.store, old_dir)
        chunks = [] if store.holds_chunks else read_chunks(old_dir)  # a corpus store keeps the chunks itself
        files_meta = {s: dict(e) for s, e in old.files.items()}
        next_id = old.next_id
        renamed_old = set(p.renamed.values())
        gone: set[int] = set()
        for s in p.changed + p.removed:
            if s not in renamed_old:
                gone.update(files_meta.pop(s)["chunks"])
        store.delete(np.fromiter(gone, dtype=np.int64, count=len(gone)))
        chunks = [c for c in chunks if c.id not in gone]
        for new_src, old_src in p.renamed.items():
            files_meta[new_src] = files_meta.pop(old_src)
            if store.holds_chunks:
                store.rename(old_src, new_src)
            for c in chunks:
                if c.source == old_src:
                    c.source = new_src

    texts_to_keep: dict[str, str] = {}  # sha -> extracted text for html/pdf
    new_chunks: list[Chunk] = []
    todo = [s for s in p.added if s not in p.renamed] + p.changed
    chunk_settings = settings.chunk.__class__(**chunk_cfg)
    # Files are read and chunked in a worker thread while this one embeds the previous ones.
    stream = _ahead(_chunked(todo, current, settings.max_file_bytes, chunk_settings, embedder.count_tokens))
    with closing(stream):
        for i, source in enumerate(todo):
            if progress:
                progress("reading", i, len(todo))
            ids: list[int] = []
            outline = Outline()
            pieces = _pieces_of_one(stream)
            try:
                kind, sha = "text", current[source]
                for doc, offset, doc_chunks in pieces:
                    kind, sha = doc.kind, doc.sha256
                    outline.extend(doc.outline.shifted(offset))
                    for c in doc_chunks:
                        c.id, c.start, c.end = next_id, c.start + offset, c.end + offset
                        c.page, c.section = outline.locate(c.start)
                        next_id += 1
                        ids.append(c.id)
                    _embed_into(store, embedder, doc_chunks, settings.batch_size)
                    new_chunks.extend(doc_chunks)
                    if progress:
                        progress("embedding", len(new_chunks), len(new_chunks))
                    if store.holds_chunks:  # the store keeps every document's text, which offsets refer to
                        store.add_text(sha, offset, doc.text)
                    elif not doc.offsets_in_file:
                        texts_to_keep[sha] = doc.text
            except EmbedServerError:  # the embedding server, not this file: stop, the current index stays as it is
                raise
            except Exception as exc:  # one bad file never stops the build
                with suppress(Exception):  # when embedding failed: the file's pieces still in the stream
                    for _ in pieces:
                        pass
                store.delete(np.array(ids, dtype=np.int64))
                gone = set(ids)
                new_chunks = [c for c in new_chunks if c.id not in gone]
                texts_to_keep.pop(sha, None)
                reason = str(exc) if isinstance(exc, SourceError) else f"could not be indexed ({type(exc).__name__}: {exc})"
                skipped.append(Skipped(source, " ".join(reason.split())[:300]))
                continue
            if not ids:
                skipped.append(Skipped(source, "no text left after cleaning"))
                continue
            files_meta[source] = {"sha256": sha, "kind": kind, "chunks": ids, "indexed": round(time.time()),
                                  "bytes": _size(source)}
            if outline.pages or outline.sections:
                files_meta[source]["outline"] = outline.to_json()
    if progress and todo:
        progress("reading", len(todo), len(todo))
    ok_sources = set(files_meta)
    report.added = [s for s in report.added if s in ok_sources]
    report.changed = [s for s in report.changed if s in ok_sources]

    chunks.extend(new_chunks)
    order = {s: i for i, s in enumerate(sorted(files_meta))}
    chunks.sort(key=lambda c: (order.get(c.source, 0), c.start, c.id))

    manifest = Manifest(
        embedder=embedder.id,
        dim=embedder.dim,
        chunk=chunk_cfg,
        store=settings.store,
        files=files_meta,
        next_id=next_id,
        skipped=[{"source": s.source, "reason": s.reason} for s in skipped],
        roots=roots,
        excluded=excluded,
    )
    _write_generation(root, old_dir, manifest, chunks, store, texts_to_keep)
    report.skipped = skipped
    report.chunks = store.count() if store.holds_chunks else len(chunks)
    report.embedded = len(new_chunks)
    report.seconds = time.perf_counter() - t0
    return report


def _chunked(todo: list[str], current: dict[str, str], max_bytes: int, chunk_settings, counts) -> Iterator:
    """For each source of ``todo`` in turn: its pieces read and chunked, ``(document, offset, chunks)``, then
    ``None``, or the exception that stopped its reading or chunking."""
    for source in todo:
        try:
            for doc, offset in _documents(source, current[source], max_bytes):
                yield doc, offset, chunk_document(doc, chunk_settings, counts)
        except Exception as exc:
            yield exc
        else:
            yield None


def _pieces_of_one(stream: Iterator) -> Iterator:
    """The next source's pieces from a :func:`_chunked` stream; raises the exception that ended them."""
    for item in stream:
        if item is None:
            return
        if isinstance(item, Exception):
            raise item
        yield item


def _ahead(items: Iterator) -> Generator:
    """``items`` in order, each computed in a worker thread while the caller works on the previous one.

    One item ahead is enough: reading and chunking COVID-QA takes about 4.5 CPU s against about 70 s to embed it
    (2026-12-02), and a streamed large file keeps at most two windows in memory beside the one being embedded.
    Closing the generator (or leaving it unfinished, when it is collected) stops the worker after its current item.
    """
    box: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()
    done = object()

    def work() -> None:  # after stop is set, it puts at most one more entry
        try:
            for item in items:
                box.put((item, None))
                if stop.is_set():
                    return
            box.put((done, None))
        except BaseException as exc:  # handed to the caller
            box.put((done, exc))

    worker = threading.Thread(target=work, name="ragqa-chunking", daemon=True)
    worker.start()
    try:
        while True:
            item, error = box.get()
            if error is not None:
                raise error
            if item is done:
                return
            yield item
    finally:
        stop.set()
        with suppress(queue.Empty):  # room for the entry the worker may still put
            box.get_nowait()
        worker.join()


def _documents(source: str, sha: str, max_bytes: int):
    """``(document, offset)`` pieces of one source: the whole document, or windows of a large text file."""
    suffix = Path(source).suffix.lower()
    size = os.path.getsize(source)
    if size <= STREAM_BYTES or suffix in (".html", ".htm", ".pdf"):
        doc = read_document(source, max_bytes)
        yield doc, 0
        return
    if size > max_bytes:
        raise SourceError(f"{size / 2**20:.0f} MB, larger than the {max_bytes / 2**20:g} MB limit (max_file_bytes)")
    try:
        file_sha, encoding = detect_encoding(source)
    except PermissionError as exc:
        raise SourceError("permission denied") from exc
    if file_sha != sha:
        raise SourceError("changed while being indexed; index again")
    empty = True
    for offset, piece in text_windows(source, encoding, WINDOW_CHARS):
        if piece.strip():
            empty = False
            yield Document(source, piece, sha, kind="text", encoding=encoding,
                           outline=text_outline(piece, suffix)), offset
    if empty:
        raise SourceError("empty file")


def _size(path: str) -> int | None:
    try:
        return os.path.getsize(path)
    except OSError:
        return None


def _embed_into(store, embedder, chunks: list[Chunk], batch_size: int) -> None:
    """Embed ``chunks`` a few batches at a time and add each part to ``store`` at once."""
    step = max(batch_size * 8, 64)
    for i in range(0, len(chunks), step):
        part = chunks[i : i + step]
        vectors = embedder.encode([c.text for c in part], batch_size=batch_size)
        if store.holds_chunks:
            store.add_chunks(part, vectors)
        else:
            store.add(np.array([c.id for c in part], dtype=np.int64), vectors)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_generation(root: Path, old_dir: Path | None, manifest: Manifest, chunks, store, texts) -> None:
    tmp = root / f"tmp-{time.time_ns()}-{os.getpid()}"
    tmp.mkdir()
    if store.holds_chunks:  # chunks, BM25 and texts live in the store: the folder holds the manifest and milvus.json
        store.keep_texts({e["sha256"] for e in manifest.files.values()})
        store.save(tmp)
        manifest.store_index = store.describe()
    else:
        _write_local(tmp, old_dir, manifest, chunks, store, texts)
    manifest.checksums = checksum_files(tmp)
    for f in sorted(tmp.rglob("*"), reverse=True):  # files first, then their folders
        if f.is_file():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        elif f.is_dir():
            _fsync_dir(f)
    manifest.save(tmp)  # written last: a generation without a manifest is incomplete
    with open(tmp / MANIFEST, "rb") as fh:
        os.fsync(fh.fileno())
    _fsync_dir(tmp)
    gen = root / f"gen-{time.time_ns()}"
    os.rename(tmp, gen)
    link = root / f".current-{os.getpid()}"
    if link.is_symlink() or link.exists():
        link.unlink()
    os.symlink(gen.name, link)
    os.replace(link, root / CURRENT)  # the atomic switch
    _fsync_dir(root)
    gc_generations(root)


def _write_local(tmp: Path, old_dir: Path | None, manifest: Manifest, chunks, store, texts) -> None:
    """Chunks, BM25, the vector store and the extracted texts into the generation folder ``tmp``."""
    with open(tmp / CHUNKS, "w", encoding="utf-8") as f:
        for c in chunks:
            row = {"id": c.id, "source": c.source, "start": c.start, "end": c.end, "text": c.text}
            if c.page is not None:
                row["page"] = c.page
            if c.section is not None:
                row["section"] = c.section
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    # BM25 first: its build is the memory peak, and the vector store is smaller before save() settles its type.
    BM25Index.build([c.text for c in chunks]).save(tmp / "bm25")
    store.save(tmp)
    manifest.store_index = store.describe()
    (tmp / TEXTS).mkdir()
    needed = {e["sha256"] for e in manifest.files.values() if e["kind"] != "text"}
    for sha in needed:
        if sha in texts:
            (tmp / TEXTS / f"{sha}.txt").write_text(texts[sha], encoding="utf-8")
        elif old_dir is not None and (old_dir / TEXTS / f"{sha}.txt").exists():
            shutil.copyfile(old_dir / TEXTS / f"{sha}.txt", tmp / TEXTS / f"{sha}.txt")
