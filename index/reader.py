"""A loaded, read-only index: chunks, vectors, BM25 and the manifest of one generation.

With FAISS (the default) the chunks, BM25 (bm25s) and the extracted texts are files of the generation folder,
held in memory. With a :class:`~index.store.CorpusStore` (Milvus) the store holds all of that and answers every
question about it (search, neighbouring chunks, documents' text): the folder holds only the manifest and where
the store is, and nothing of the corpus is held in memory.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .layout import TEXTS, current_generation, read_chunks
from .lexical import BM25Index, terms
from .manifest import Manifest, check_files
from .outline import Outline
from .store import load_store
from .store.base import StoreUnavailableError
from .types import Chunk

#: Documents whose whole text an index on a corpus store keeps at hand (the UI's document viewer).
TEXT_CACHE = 8


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


def _spaced(items: list, n: int) -> list:
    """At most ``n`` of ``items``, evenly spaced."""
    if len(items) <= n:
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


class Index:
    """Everything needed to search one generation of the index: held in memory, or in a corpus store.

    Loading checks every index file against the sizes and SHA-256 sums in the manifest, so a
    truncated or altered file gives :class:`IndexCorruptError` (naming the fix), never a crash
    or silently wrong answers; a corpus store must hold as many chunks as the manifest lists.

    Retrieval (:mod:`qa.retrieve`) uses :attr:`size`, :meth:`scope`, :meth:`dense`, :meth:`lexical`,
    :attr:`fuses` and :meth:`hybrid`, :meth:`neighbours`, :meth:`excerpt` and :meth:`locate`, which work the
    same on both. :attr:`chunks` and :attr:`by_id` are the whole list, for tools and tests (with a corpus
    store, read from it on first use).
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
        self._chunks: list[Chunk] | None = None
        self._by_id: dict[int, int] | None = None
        try:
            self.store = load_store(self.manifest.store, self.directory)
            if self.store.holds_chunks:
                self.bm25 = None
                self.size = sum(len(e["chunks"]) for e in self.manifest.files.values())
                held = self.store.rows()  # connects: an unreachable store or a missing collection shows here
            else:
                self._chunks = read_chunks(self.directory)
                self.bm25 = BM25Index.load(self.directory / "bm25", len(self._chunks))
                self.size = len(self._chunks)
                held = self.store.count()
        except StoreUnavailableError:  # the store's server is down: not a damaged index
            raise
        except Exception as exc:  # any unreadable part means the same fix
            raise IndexCorruptError(f"the index at {self.directory} is damaged ({_one_line(exc)}); {FIX}") from exc
        if not self.store.holds_chunks:
            self._by_id = {c.id: i for i, c in enumerate(self._chunks)}
        if held != self.size or (self._by_id is not None and len(self._by_id) != self.size):
            raise IndexCorruptError(
                f"the index at {self.directory} is inconsistent ({held} vectors, {self.size} chunks); {FIX}"
            )
        self._texts: dict[str, str] = OrderedDict()
        self._texts_lock = threading.Lock()
        self._outlines: dict[str, Outline] = {}
        self._order: dict[str, dict[int, int]] = {}

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

    @property
    def chunks(self) -> list[Chunk]:
        """Every chunk, by source and offset (with a corpus store: read from it the first time)."""
        if self._chunks is None:
            order = {s: i for i, s in enumerate(sorted(self.manifest.files))}
            self._chunks = sorted(self.store.all_chunks(), key=lambda c: (order.get(c.source, 0), c.start, c.id))
            self._fill(self._chunks)
        return self._chunks

    @property
    def by_id(self) -> dict[int, int]:
        """Chunk id -> position in :attr:`chunks`."""
        if self._by_id is None:
            self._by_id = {c.id: i for i, c in enumerate(self.chunks)}
        return self._by_id

    @property
    def fuses(self) -> bool:
        """Whether the store ranks dense and lexical together itself (:meth:`hybrid`): a corpus store does."""
        return self.store.holds_chunks

    def rows_where(self, keep: Callable[[str], bool]) -> np.ndarray:
        """Positions (in :attr:`chunks`) of the chunks whose source ``keep`` accepts."""
        verdict: dict[str, bool] = {}
        return np.array([i for i, c in enumerate(self.chunks)
                         if verdict.setdefault(c.source, bool(keep(c.source)))], dtype=np.int64)

    def scope(self, keep: Callable[[str], bool]) -> np.ndarray:
        """What restricts a search to the chunks whose source ``keep`` accepts, for :meth:`dense`, :meth:`lexical`
        and :meth:`hybrid` (empty: none): their positions (:meth:`rows_where`), or with a corpus store their ids
        (from the manifest)."""
        if not self.store.holds_chunks:
            return self.rows_where(keep)
        return np.array([i for s, e in self.manifest.files.items() if keep(s) for i in e["chunks"]], dtype=np.int64)

    def dense(self, vector: np.ndarray, k: int, rows: np.ndarray | None = None) -> list[tuple[Chunk, float]]:
        """Top ``k`` chunks by vector similarity; ``rows`` (from :meth:`scope`) restricts the search."""
        if self.store.holds_chunks:
            return self._fill(self.store.dense(vector, k, rows))
        allowed = None if rows is None else np.array([self.chunks[int(r)].id for r in rows], dtype=np.int64)
        ids, scores = self.store.search(vector, k, allowed)
        return [(self.chunks[self.by_id[int(i)]], float(s)) for i, s in zip(ids, scores)]

    def lexical(self, query: str, k: int, rows: np.ndarray | None = None) -> list[tuple[Chunk, float]]:
        """Top ``k`` chunks by BM25; ``rows`` (from :meth:`scope`) restricts the ranking."""
        if self.store.holds_chunks:
            return self._fill(self.store.lexical(terms([query])[0], k, rows))
        found, scores = self.bm25.search(query, k, rows)
        return [(self.chunks[int(r)], float(s)) for r, s in zip(found, scores)]

    def hybrid(self, query: str, vector: np.ndarray, k: int, rows: np.ndarray | None, fusion: str,
               weights: tuple[float, float], rrf_k: int) -> list[tuple[Chunk, float]] | None:
        """Top ``k`` chunks by dense and BM25 ranking fused in the store (Milvus ``hybrid_search``): ``fusion``
        ``"rrf"`` (reciprocal rank fusion, ``rrf_k``) or ``"score"`` (weighted normalised scores). None when
        the store cannot rank as asked (no corpus store, or RRF with unequal weights: the caller fuses)."""
        if not self.store.holds_chunks or (fusion == "rrf" and weights[0] != weights[1]):
            return None
        found = self.store.hybrid(vector, terms([query])[0], k, rows, fusion, weights, rrf_k)
        if fusion == "rrf":  # Milvus's RRF weighs both lists 1; scaled like qa.retrieve.fuse with equal weights
            found = [(c, s * weights[0]) for c, s in found]
        return self._fill(found)

    def neighbours(self, chunk: Chunk, window: int) -> tuple[list[Chunk], list[Chunk]]:
        """Up to ``window`` chunks before and after ``chunk`` in its source, in order (nearest last, first)."""
        if window <= 0:
            return [], []
        if not self.store.holds_chunks:
            pos = self.by_id[chunk.id]
            return self.chunks[max(0, pos - window) : pos], self.chunks[pos + 1 : pos + 1 + window]
        entry = self.manifest.files.get(chunk.source)
        if entry is None:
            return [], []
        ids = entry["chunks"]  # in the order the chunks were made: by offset
        order = self._order.setdefault(chunk.source, {i: n for n, i in enumerate(ids)})
        pos = order.get(chunk.id)
        if pos is None:
            return [], []
        before, after = ids[max(0, pos - window) : pos], ids[pos + 1 : pos + 1 + window]
        found = {c.id: c for c in self._fill(self.store.chunks(before + after))}
        return [found[i] for i in before if i in found], [found[i] for i in after if i in found]

    def excerpt(self, source: str, start: int, end: int) -> str:
        """``text_of(source)[start:end]`` (with a corpus store, only that part is read from it)."""
        if not self.store.holds_chunks:
            return self.text_of(source)[start:end]
        return self.store.text(self._sha(source), start, end)

    def sample(self, n: int) -> list[Chunk]:
        """At most ``n`` chunks, evenly spaced in :attr:`chunks` (e.g. to tell the sources' language); with a corpus
        store only those are read from it."""
        if n <= 0:
            return []
        if not self.store.holds_chunks:
            return _spaced(self.chunks, n)
        ids = [i for _, e in sorted(self.manifest.files.items()) for i in e["chunks"]]  # the order of chunks
        return self._fill(self.store.chunks(_spaced(ids, n)))

    def _sha(self, source: str) -> str:
        entry = self.manifest.files.get(source)
        if entry is None:
            raise KeyError(f"{source} is not in the index")
        return entry["sha256"]

    def _fill(self, found):
        """Give chunks stored without their text (too long for the store's field) their text from the document."""
        for item in found:
            c = item[0] if isinstance(item, tuple) else item
            if not c.text and c.end > c.start:
                c.text = self.excerpt(c.source, c.start, c.end)
        return found

    def vectors(self, chunk_ids: list[int]) -> np.ndarray:
        """Stored embeddings of these chunks."""
        if not chunk_ids:
            return np.zeros((0, self.manifest.dim), np.float32)
        return self.store.vectors(chunk_ids)

    def text_of(self, source: str) -> str:
        """The full text that a source's offsets refer to."""
        if self.store.holds_chunks:  # from the store; the last few documents are kept at hand
            with self._texts_lock:
                if source in self._texts:
                    self._texts.move_to_end(source)
                    return self._texts[source]
            text = self.store.text(self._sha(source))
            with self._texts_lock:
                self._texts[source] = text
                while len(self._texts) > TEXT_CACHE:
                    self._texts.popitem(last=False)
            return text
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
