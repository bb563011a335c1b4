"""Milvus backend (pymilvus): the whole index in Milvus, local (Milvus Lite) or on a server or cluster.

What Milvus holds (:mod:`.milvus_schema`): every chunk with its vector, text, source, offsets, page and section;
the BM25 side (a BM25 function over an analysed field: Milvus's own full-text search); and the documents' text
that offsets refer to. Dense, lexical and hybrid search (``hybrid_search`` with an RRF or weighted ranker) run
in Milvus. The index folder keeps only the manifest and ``milvus.json`` (where the collections are), so any
process given the folder and the URI serves the index, and several can serve one collection at once.

Where the collections live (``RAGQA_MILVUS_URI``):

- unset (the default): Milvus Lite, embedded, in ``milvus.db/`` inside each index generation folder,
  so a generation is self-contained like a FAISS one and disappears with it;
- ``http://host:19530`` (a Milvus server or cluster; ``RAGQA_MILVUS_TOKEN`` holds ``user:password``
  or an API key when it asks for one), or a path ending in ``.db`` (one shared Milvus Lite folder).

Each generation writes two new collections, ``ragqa_<hash of the index folder>_<time>`` and ``…_texts``; builds
never change a saved collection. Adds, deletes and renames are kept in memory and :meth:`MilvusStore.save`
copies the previous generation's rows (less the deleted; vectors are copied, not re-embedded) and inserts the
new ones, so the previous generation serves until the ``current`` switch, and a build that crashes leaves it
serving. Collections of generations that are gone are dropped by the next save.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
import time
import weakref
from functools import wraps
from pathlib import Path

import numpy as np

from ..types import Chunk
from .base import CorpusStore, StoreUnavailableError
from .milvus_schema import (
    CHUNK_FIELDS,
    COPY_FIELDS,
    END,
    ID,
    PIECE_CHARS,
    SHA,
    SLOT,
    SLOT_VECTOR,
    SOURCE,
    SPARSE,
    START,
    TEXT,
    TEXTS_SUFFIX,
    VECTOR,
    chunk_row,
    create_collections,
    id_filter,
    text_filter,
    text_rows,
    to_chunk,
)

FILE = "milvus.json"
LOCAL_DB = "milvus.db"
#: 2: the collections hold the whole index. 1 (no ``layout`` in ``milvus.json``): one collection of vectors, with
#: chunks and BM25 in the generation folder; such an index is rebuilt in full by the next build.
LAYOUT = 2
#: Rows per insert or per page when copying a collection.
BATCH = 1000
#: Seconds a call to a Milvus server may take.
TIMEOUT = 60.0
#: Milvus's upper bound on a search's ``limit``.
MAX_TOPK = 16384


class MilvusUnavailableError(StoreUnavailableError):
    """Milvus could not be reached or refused the request."""


def _reaching(method):
    """Say which Milvus failed, in one line, when a reading call does."""

    @wraps(method)
    def call(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (MilvusUnavailableError, KeyError, ValueError):
            raise
        except Exception as exc:
            uri = self.source[0] if self.source else "?"
            raise MilvusUnavailableError(f"Milvus at {uri} failed: {' '.join(str(exc).split())[:300]}") from exc

    return call


def configured_uri() -> str | None:
    """The Milvus URI from ``RAGQA_MILVUS_URI`` (None: Milvus Lite inside each generation)."""
    return os.environ.get("RAGQA_MILVUS_URI") or None


def _is_local(uri: str) -> bool:
    return uri.endswith(".db") and "://" not in uri


# -- Milvus Lite servers: one per local folder and process, released when no store uses it ------------
_lite_lock = threading.Lock()
_lite_users: dict[str, int] = {}


def _lite_acquire(path: str) -> None:
    with _lite_lock:
        _lite_users[path] = _lite_users.get(path, 0) + 1


def _lite_release(path: str) -> None:
    with _lite_lock:
        n = _lite_users.get(path, 0) - 1
        if n > 0:
            _lite_users[path] = n
            return
        _lite_users.pop(path, None)
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_server(path)


def _connect(uri: str):
    """A ``MilvusClient`` for ``uri`` (a Milvus Lite ``.db`` folder or a server URL)."""
    from pymilvus import MilvusClient

    try:
        return MilvusClient(uri=uri, token=os.environ.get("RAGQA_MILVUS_TOKEN", ""), timeout=TIMEOUT)
    except Exception as exc:
        hint = ""
        if _is_local(uri):  # Milvus Lite locks its folder: one process at a time
            hint = (
                "; a Milvus Lite folder is opened by one process at a time: to serve one index from several "
                "processes, use a Milvus server (RAGQA_MILVUS_URI=http://host:19530)"
            )
        raise MilvusUnavailableError(f"cannot connect to Milvus at {uri}: {' '.join(str(exc).split())[:300]}{hint}") from exc


def _rows_of(client, collection: str, fields: list[str], end: int):
    """Every row of ``collection`` (these fields) whose id is below ``end``, by id, :data:`BATCH` ids at a time.

    By id ranges rather than with ``query_iterator``, which Milvus Lite does not fully serve (it logs an error for
    each iterator) and which needs results in id order; a range query returns all its rows in any order.
    """
    for lo in range(0, end, BATCH):
        rows = client.query(collection, filter=f"{ID} >= {lo} and {ID} < {lo + BATCH}", output_fields=fields, limit=BATCH)
        yield from sorted(rows, key=lambda r: int(r[ID]))


def _count(client, collection: str) -> int:
    """Rows in ``collection``, counted after every write so far (strong consistency on a cluster)."""
    rows = client.query(collection, filter="", output_fields=["count(*)"], consistency_level="Strong")
    return int(rows[0]["count(*)"])


class MilvusStore(CorpusStore):
    """The index in two Milvus collections (chunks, documents' text); inner-product (cosine) and BM25 search.

    ``source`` is the saved ``(uri, collection)`` the store starts from (None: empty) and ``saved`` its
    ``milvus.json`` (``count`` chunks with ids below ``next_id``, ``texts`` pieces of text with ids below that).
    Adds, deletes, renames and texts are pending until :meth:`save`; the reading methods see the saved
    collections (:meth:`search`, :meth:`count` and :meth:`vectors` also see what is pending).
    """

    name = "milvus"

    def __init__(self, dim: int, source: tuple[str, str] | None = None, saved: dict | None = None):
        self.dim = dim
        self.source = source
        self._client = None
        self._finalizer = None
        self._saved = {"count": 0, "next_id": 0, "texts": 0, **((saved or {}) if source is not None else {})}
        self._added: dict[int, tuple[Chunk, np.ndarray]] = {}
        self._deleted: set[int] = set()
        self._renamed: dict[str, str] = {}
        self._texts: dict[str, list[tuple[int, str]]] = {}
        self._keep: set[str] | None = None
        self.saved_as: dict | None = None
        """Where :meth:`save` last wrote the collections (``milvus.json``'s content)."""

    @classmethod
    def create(cls, dim: int) -> MilvusStore:
        return cls(dim)

    # -- the saved collections -----------------------------------------------------------------------------
    @property
    def collection(self) -> str:
        assert self.source is not None
        return self.source[1]

    @property
    def client(self):
        """The client of the saved collections (connected, and both loaded, on first use)."""
        if self._client is None:
            assert self.source is not None
            uri, collection = self.source
            if _is_local(uri):
                _lite_acquire(uri)
            try:
                client = _connect(uri)
                for name in (collection, collection + TEXTS_SUFFIX):
                    if not client.has_collection(name):
                        raise MilvusUnavailableError(f"Milvus at {uri} has no collection {name!r}")
                    client.load_collection(name)
            except Exception:
                if _is_local(uri):
                    _lite_release(uri)
                raise
            self._client = client
            self._finalizer = weakref.finalize(self, _close, client, uri)
        return self._client

    def describe(self) -> str:
        """Where the index is kept, e.g. ``milvus-lite FLAT`` or ``ragqa_…@http://host:19530``."""
        meta = self.saved_as
        if meta is None and self.source is None:
            return "unsaved"
        uri, collection = (meta["uri"], meta["collection"]) if meta else self.source
        return "milvus-lite FLAT" if uri == LOCAL_DB or uri.endswith("/" + LOCAL_DB) else f"{collection}@{uri}"

    def close(self) -> None:
        """Disconnect (and stop the embedded Milvus Lite server once no store uses it)."""
        if self._finalizer is not None:
            self._finalizer()
        self._client = self._finalizer = None

    # -- building --------------------------------------------------------------------------------------------
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        raise TypeError("the Milvus store keeps chunks with their vectors: use add_chunks()")

    def add_chunks(self, chunks: list[Chunk], vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        for c, v in zip(chunks, vectors):
            self._added[int(c.id)] = (c, v.copy())

    def delete(self, ids: np.ndarray) -> None:
        """Remove these chunks (ids that are neither pending nor saved are ignored when saving)."""
        for i in np.asarray(ids, dtype=np.int64).tolist():
            if self._added.pop(int(i), None) is None:
                self._deleted.add(int(i))

    def rename(self, old: str, new: str) -> None:
        self._renamed[old] = new

    def add_text(self, sha: str, offset: int, text: str) -> None:
        self._texts.setdefault(sha, []).append((offset, text))

    def keep_texts(self, shas: set[str]) -> None:
        self._keep = set(shas)
        for sha in [s for s in self._texts if s not in self._keep]:
            del self._texts[sha]

    def count(self) -> int:
        """Chunks in the store: those saved (as ``milvus.json`` counts them), less deleted, plus added."""
        return int(self._saved["count"]) - len(self._deleted) + len(self._added)

    @_reaching
    def rows(self) -> int:
        """Chunks in the saved collection, as Milvus counts them (0 when nothing is saved)."""
        return _count(self.client, self.collection) if self.source is not None else 0

    # -- saving: new collections per generation -----------------------------------------------------------
    def save(self, directory: Path) -> None:
        """Write the chunks (saved less deleted, renamed, plus added) and the kept texts into new collections."""
        directory = Path(directory)
        target = configured_uri()
        uri = str(directory / LOCAL_DB) if target is None else target
        name = f"ragqa_{_index_key(directory.parent)}_{time.time_ns()}"
        copied = False
        if target is None and self.source is not None and _is_local(self.source[0]):
            # the previous generation's Milvus Lite folder is copied as files (works while another process has
            # it open) and read here; its collections are dropped from the copy once their rows are moved
            shutil.copytree(self.source[0], uri, ignore=shutil.ignore_patterns("LOCK"))
            copied = True
        if _is_local(uri):
            _lite_acquire(uri)
        try:
            client = _connect(uri)
            try:
                create_collections(client, name, self.dim, exact=_is_local(uri))
                chunks = texts = next_id = 0
                if self.source is not None:
                    old = self.source[1]
                    reader = client if copied else self.client
                    if copied:
                        for n in (old, old + TEXTS_SUFFIX):
                            client.load_collection(n)
                    chunks, next_id = self._copy_chunks(reader, old, client, name)
                    texts = self._copy_texts(reader, old + TEXTS_SUFFIX, client, name + TEXTS_SUFFIX)
                    if copied:
                        for n in (old, old + TEXTS_SUFFIX):
                            client.drop_collection(n)
                chunks += self._insert_added(client, name)
                next_id = max([next_id, *(i + 1 for i in self._added)])
                texts += self._insert_texts(client, name + TEXTS_SUFFIX, first_id=texts)
                for n in (name, name + TEXTS_SUFFIX):
                    client.flush(n)
                for n, expected in ((name, chunks), (name + TEXTS_SUFFIX, texts)):
                    got = _count(client, n)
                    if got != expected:
                        raise MilvusUnavailableError(f"Milvus at {uri} holds {got} rows in {n}, expected {expected}")
                if target is not None:
                    _drop_stale(client, directory.parent, keep={name})
            finally:
                client.close()
        finally:
            if _is_local(uri):
                _lite_release(uri)
        meta = {
            "uri": LOCAL_DB if target is None else target,
            "collection": name,
            "dim": self.dim,
            "count": chunks,
            "next_id": next_id,
            "texts": texts,
            "layout": LAYOUT,
        }
        (directory / FILE).write_text(json.dumps(meta, indent=1))
        self.saved_as = meta

    def _copy_chunks(self, reader, old: str, client, name: str) -> tuple[int, int]:
        """Copy the saved chunks, less the deleted and with renamed sources, into ``name``; how many, and the id
        after the last."""
        n, batch, next_id = 0, [], 0
        for row in _rows_of(reader, old, COPY_FIELDS, int(self._saved["next_id"])):
            if int(row[ID]) in self._deleted or int(row[ID]) in self._added:
                continue
            next_id = int(row[ID]) + 1
            row = {f: row[f] for f in COPY_FIELDS}
            row[VECTOR] = list(row[VECTOR])
            row[SOURCE] = self._renamed.get(row[SOURCE], row[SOURCE])
            batch.append(row)
            if len(batch) >= BATCH:
                client.insert(name, batch)
                n, batch = n + len(batch), []
        if batch:
            client.insert(name, batch)
        return n + len(batch), next_id

    def _copy_texts(self, reader, old: str, client, name: str) -> int:
        """Copy the saved documents' text that is kept and not written again; how many pieces."""
        n, batch = 0, []
        for row in _rows_of(reader, old, [ID, SHA, START, END, TEXT], int(self._saved["texts"])):
            if (self._keep is not None and row[SHA] not in self._keep) or row[SHA] in self._texts:
                continue
            batch.append({**{f: row[f] for f in (SHA, START, END, TEXT)}, ID: n + len(batch), SLOT: SLOT_VECTOR})
            if len(batch) >= BATCH:
                client.insert(name, batch)
                n, batch = n + len(batch), []
        if batch:
            client.insert(name, batch)
        return n + len(batch)

    def _insert_added(self, client, name: str) -> int:
        from ..lexical import terms

        items = list(self._added.values())
        for i in range(0, len(items), BATCH):
            part = items[i : i + BATCH]
            client.insert(name, [chunk_row(c, v, t) for (c, v), t in zip(part, terms([c.text for c, _ in part]))])
        return len(items)

    def _insert_texts(self, client, name: str, first_id: int) -> int:
        rows = [row for sha, pieces in self._texts.items() for offset, text in pieces for row in text_rows(sha, offset, text)]
        for i, row in enumerate(rows):
            row[ID] = first_id + i
        for i in range(0, len(rows), BATCH):
            client.insert(name, rows[i : i + BATCH])
        return len(rows)

    @classmethod
    def load(cls, directory: Path) -> MilvusStore:
        """The store saved in generation folder ``directory`` (connects on first use)."""
        directory = Path(directory)
        meta = json.loads((directory / FILE).read_text())
        if meta.get("layout") != LAYOUT:
            raise ValueError(f"{directory / FILE} is of an older layout (Milvus held only the vectors)")
        uri = meta["uri"]
        if _is_local(uri) and not os.path.isabs(uri):
            uri = str(directory / uri)
            if not os.path.isdir(uri):
                raise FileNotFoundError(f"{uri} is missing")
        return cls(int(meta["dim"]), (uri, meta["collection"]), meta)

    @classmethod
    def reusable(cls, directory: Path) -> bool:
        """Whether a build can start from the store saved in ``directory`` (else it rebuilds in full)."""
        try:
            return json.loads((Path(directory) / FILE).read_text()).get("layout") == LAYOUT
        except (OSError, ValueError):
            return False

    # -- reading ---------------------------------------------------------------------------------------------
    def _hits(self, result, bm25: bool = False) -> list[tuple[Chunk, float]]:
        # Milvus Lite gives a BM25 hit's distance as minus its score; a server gives the score
        return [(to_chunk(h["entity"]), abs(float(h["distance"])) if bm25 else float(h["distance"])) for h in result[0]]

    @_reaching
    def dense(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[Chunk, float]]:
        if k <= 0 or (allowed is not None and len(allowed) == 0):
            return []
        res = self.client.search(
            self.collection,
            data=[np.asarray(vector, np.float32).ravel().tolist()],
            anns_field=VECTOR,
            limit=min(k, MAX_TOPK),
            search_params={"metric_type": "IP"},
            filter=id_filter(allowed),
            output_fields=CHUNK_FIELDS,
        )
        return self._hits(res)

    @_reaching
    def lexical(self, terms: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[Chunk, float]]:
        if k <= 0 or not terms.strip() or (allowed is not None and len(allowed) == 0):
            return []
        res = self.client.search(
            self.collection,
            data=[terms],
            anns_field=SPARSE,
            limit=min(k, MAX_TOPK),
            search_params={"metric_type": "BM25"},
            filter=id_filter(allowed),
            output_fields=CHUNK_FIELDS,
        )
        return [(c, s) for c, s in self._hits(res, bm25=True) if s > 0]

    @_reaching
    def hybrid(
        self,
        vector: np.ndarray,
        terms: str,
        k: int,
        allowed: np.ndarray | None,
        fusion: str,
        weights: tuple[float, float],
        rrf_k: int,
    ) -> list[tuple[Chunk, float]]:
        from pymilvus import AnnSearchRequest, RRFRanker, WeightedRanker

        if k <= 0 or (allowed is not None and len(allowed) == 0):
            return []
        k = min(k, MAX_TOPK)
        expr = id_filter(allowed) or None
        reqs = [
            AnnSearchRequest([np.asarray(vector, np.float32).ravel().tolist()], VECTOR, {"metric_type": "IP"}, limit=k, expr=expr)
        ]
        if terms.strip():
            reqs.append(AnnSearchRequest([terms], SPARSE, {"metric_type": "BM25"}, limit=k, expr=expr))
        if fusion == "rrf":
            ranker = RRFRanker(rrf_k)
        elif fusion == "score":
            ranker = WeightedRanker(*[float(w) for w in weights[: len(reqs)]])
        else:
            raise ValueError(f"unknown fusion {fusion!r}: use 'score' or 'rrf'")
        res = self.client.hybrid_search(self.collection, reqs, ranker, limit=k, output_fields=CHUNK_FIELDS)
        hits = self._hits(res)
        hits.sort(key=lambda h: (-h[1], h[0].id))  # equal scores in id order, as qa.retrieve.fuse orders them
        return hits

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        keep = None if allowed is None else {int(i) for i in allowed}
        hits: list[tuple[int, float]] = []
        if self.source is not None and k > 0:
            found = self.dense(q, k + len(self._deleted), allowed)
            hits = [(c.id, s) for c, s in found if c.id not in self._deleted and c.id not in self._added]
        for i, (_, v) in self._added.items():
            if keep is None or i in keep:
                hits.append((i, float(v @ q)))
        hits.sort(key=lambda h: -h[1])
        hits = hits[: max(k, 0)]
        return np.array([h[0] for h in hits], dtype=np.int64), np.array([h[1] for h in hits], dtype=np.float32)

    @_reaching
    def chunks(self, ids: list[int]) -> list[Chunk]:
        found: dict[int, Chunk] = {}
        for i in range(0, len(ids), BATCH):
            for row in self.client.get(self.collection, ids=[int(x) for x in ids[i : i + BATCH]], output_fields=CHUNK_FIELDS):
                found[int(row[ID])] = to_chunk(row)
        return [found[int(i)] for i in ids if int(i) in found]

    @_reaching
    def all_chunks(self) -> list[Chunk]:
        return [to_chunk(row) for row in _rows_of(self.client, self.collection, CHUNK_FIELDS, int(self._saved["next_id"]))]

    def vectors(self, ids: list[int]) -> np.ndarray:
        """The stored vectors of these ids (KeyError for an unknown id)."""
        out: dict[int, np.ndarray] = {i: self._added[i][1] for i in ids if i in self._added}
        saved = [i for i in ids if i not in out and i not in self._deleted]
        if saved and self.source is not None:
            for i in range(0, len(saved), BATCH):
                for r in self.client.get(self.collection, ids=saved[i : i + BATCH], output_fields=[ID, VECTOR]):
                    out[int(r[ID])] = np.asarray(r[VECTOR], dtype=np.float32)
        missing = [i for i in ids if i not in out]
        if missing:
            raise KeyError(f"no vectors for ids {missing[:5]}")
        return np.stack([out[i] for i in ids]) if ids else np.zeros((0, self.dim), np.float32)

    @_reaching
    def text(self, sha: str, start: int = 0, end: int | None = None) -> str:
        if not re.fullmatch(r"[0-9a-f]{1,64}", sha):
            raise KeyError(f"not a content hash: {sha!r}")
        if end is not None and end <= start:
            return ""
        pieces = MAX_TOPK if end is None else (end - start) // PIECE_CHARS + 3  # a limit, as a server may want one
        rows = self.client.query(
            self.collection + TEXTS_SUFFIX,
            filter=text_filter(sha, start, end),
            output_fields=[START, END, TEXT],
            limit=pieces,
        )
        rows = sorted(rows, key=lambda r: int(r[START]))
        if (
            not rows
            or int(rows[0][START]) > start
            or any(int(a[END]) != int(b[START]) for a, b in zip(rows, rows[1:]))
            or (end is not None and int(rows[-1][END]) < end)
        ):
            raise KeyError(f"Milvus holds no text of document {sha} for offsets {start}:{end}")
        joined = "".join(r[TEXT] for r in rows)
        first = int(rows[0][START])
        return joined[start - first : None if end is None else end - first]


def _close(client, uri: str) -> None:
    try:
        client.close()
    finally:
        if _is_local(uri):
            _lite_release(uri)


def _index_key(root: Path) -> str:
    return hashlib.sha256(str(Path(root).resolve()).encode()).hexdigest()[:10]


def _drop_stale(client, root: Path, keep: set[str]) -> None:
    """Drop this index's collections that no generation folder under ``root`` refers to any more."""
    prefix = f"ragqa_{_index_key(root)}_"
    for meta in Path(root).glob("gen-*/" + FILE):
        try:
            keep.add(json.loads(meta.read_text())["collection"])
        except (OSError, ValueError, KeyError):
            continue
    for name in client.list_collections():
        base = name[: -len(TEXTS_SUFFIX)] if name.endswith(TEXTS_SUFFIX) else name
        if name.startswith(prefix) and base not in keep and re.fullmatch(r"ragqa_\w+_\d+", base):
            client.drop_collection(name)
