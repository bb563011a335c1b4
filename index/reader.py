"""A loaded, read-only index: chunks, vectors, BM25 and the manifest of one generation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .layout import TEXTS, current_generation, read_chunks
from .lexical import BM25Index
from .manifest import Manifest, check_files
from .outline import Outline
from .store import load_store
from .types import Chunk


class IndexNotFoundError(RuntimeError):
    """No index has been built yet."""


class IndexCorruptError(RuntimeError):
    """An index file is missing, truncated or unreadable."""


FIX = "rebuild it with `ragqa index --full`"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def verify_generation(directory: Path, manifest: Manifest, hashes: bool = True) -> str | None:
    """What is damaged in a generation folder (missing, truncated or altered files), or None."""
    return check_files(directory, manifest.checksums, hashes=hashes) if manifest.checksums else None


def describe(manifest: Manifest) -> tuple[list[dict], list[dict]]:
    """An index's sources as ``{source, kind, chunks, pages, bytes, indexed}`` rows (``pages`` None unless paged;
    ``bytes``/``indexed`` None for indexes built before they were recorded), and the files its build skipped as
    ``{source, reason}``. Reads the manifest only."""
    rows = []
    for source, entry in sorted(manifest.files.items()):
        pages = Outline.from_json(entry.get("outline")).pages
        rows.append({"source": source, "kind": entry.get("kind", "text"), "chunks": len(entry["chunks"]),
                     "pages": pages[-1][1] if pages else None, "bytes": entry.get("bytes"),
                     "indexed": entry.get("indexed")})
    return rows, [dict(s) for s in manifest.skipped]


class Index:
    """Everything needed to search one generation of the index, held in memory.

    Loading checks every index file against the sizes and SHA-256 sums in the manifest, so a
    truncated or altered file gives :class:`IndexCorruptError` (naming the fix), never a crash
    or silently wrong answers.
    """

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        try:
            self.manifest = Manifest.load(self.directory)
        except FileNotFoundError as exc:
            raise IndexCorruptError(f"the index at {self.directory} has no manifest.json; {FIX}") from exc
        except Exception as exc:
            raise IndexCorruptError(f"the index at {self.directory} is damaged (manifest.json: {_one_line(exc)}); "
                                    f"{FIX}") from exc
        problem = verify_generation(self.directory, self.manifest)
        if problem:
            raise IndexCorruptError(f"the index at {self.directory} is damaged ({problem}); {FIX}")
        try:
            self.chunks: list[Chunk] = read_chunks(self.directory)
            self.store = load_store(self.manifest.store, self.directory)
            self.bm25 = BM25Index.load(self.directory / "bm25", len(self.chunks))
        except Exception as exc:  # any unreadable part means the same fix
            raise IndexCorruptError(f"the index at {self.directory} is damaged ({_one_line(exc)}); {FIX}") from exc
        self.by_id = {c.id: i for i, c in enumerate(self.chunks)}
        if self.store.count() != len(self.chunks) or len(self.by_id) != len(self.chunks):
            raise IndexCorruptError(
                f"the index at {self.directory} is inconsistent ({self.store.count()} vectors, "
                f"{len(self.chunks)} chunks); {FIX}"
            )
        self._texts: dict[str, str] = {}
        self._outlines: dict[str, Outline] = {}

    @classmethod
    def open(cls, index_dir: str | Path) -> Index:
        """Load the current generation of ``index_dir``.

        Raises IndexNotFoundError when none was built and IndexCorruptError when it is damaged;
        a build that switches ``current`` while this loads is retried once on the new generation.
        """
        gen = current_generation(Path(index_dir))
        if gen is None:
            raise IndexNotFoundError(f"no index in {index_dir}; build one with `ragqa index`")
        try:
            return cls(gen)
        except IndexCorruptError:
            newer = current_generation(Path(index_dir))
            if newer is None or newer == gen:
                raise
            return cls(newer)

    @property
    def sources(self) -> dict[str, int]:
        """Indexed source -> number of chunks."""
        return {s: len(e["chunks"]) for s, e in sorted(self.manifest.files.items())}

    def describe(self) -> tuple[list[dict], list[dict]]:
        """The indexed sources and the files the last build skipped (see :func:`describe`)."""
        return describe(self.manifest)

    def locate(self, source: str, offset: int) -> tuple[int | None, str | None]:
        """``(page, section)`` of an offset of a source: its 1-based page (PDF) and the heading above it."""
        if source not in self._outlines:
            entry = self.manifest.files.get(source) or {}
            self._outlines[source] = Outline.from_json(entry.get("outline"))
        return self._outlines[source].locate(offset)

    def rows_where(self, keep: Callable[[str], bool]) -> np.ndarray:
        """Positions (in :attr:`chunks`) of the chunks whose source ``keep`` accepts."""
        verdict: dict[str, bool] = {}
        return np.array([i for i, c in enumerate(self.chunks)
                         if verdict.setdefault(c.source, bool(keep(c.source)))], dtype=np.int64)

    def dense(self, vector: np.ndarray, k: int, rows: np.ndarray | None = None) -> list[tuple[Chunk, float]]:
        """Top ``k`` chunks by vector similarity; ``rows`` (from :meth:`rows_where`) restricts the search."""
        allowed = None if rows is None else np.array([self.chunks[int(r)].id for r in rows], dtype=np.int64)
        ids, scores = self.store.search(vector, k, allowed)
        return [(self.chunks[self.by_id[int(i)]], float(s)) for i, s in zip(ids, scores)]

    def lexical(self, query: str, k: int, rows: np.ndarray | None = None) -> list[tuple[Chunk, float]]:
        """Top ``k`` chunks by BM25; ``rows`` (from :meth:`rows_where`) restricts the ranking."""
        found, scores = self.bm25.search(query, k, rows)
        return [(self.chunks[int(r)], float(s)) for r, s in zip(found, scores)]

    def vectors(self, chunk_ids: list[int]) -> np.ndarray:
        """Stored embeddings of these chunks."""
        if not chunk_ids:
            return np.zeros((0, self.manifest.dim), np.float32)
        return self.store.vectors(chunk_ids)

    def text_of(self, source: str) -> str:
        """The full text that a source's offsets refer to."""
        if source not in self._texts:
            entry = self.manifest.files.get(source)
            if entry and entry["kind"] != "text":
                name = f"{entry['sha256']}.txt"
                path = self.directory / TEXTS / name
                if not path.exists():  # this generation was collected; the current one has the same text
                    live = current_generation(self.directory.parent)
                    path = (live / TEXTS / name) if live is not None else path
                self._texts[source] = path.read_text(encoding="utf-8")
            else:
                from .sources import read_document

                self._texts[source] = read_document(source).text
        return self._texts[source]
