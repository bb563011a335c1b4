"""Milvus backend (pymilvus): the vectors in a Milvus collection, local (Milvus Lite) or on a cluster.

Where the vectors live (``RAGQA_MILVUS_URI``):

- unset (the default): Milvus Lite, embedded, in ``milvus.db/`` inside each index generation folder,
  so a generation is self-contained like a FAISS one and disappears with it;
- ``http://host:19530`` (a Milvus server or cluster; ``RAGQA_MILVUS_TOKEN`` holds ``user:password``
  or an API key when it asks for one), or a path ending in ``.db`` (one shared Milvus Lite folder):
  one collection per generation, named ``ragqa_<hash of the index folder>_<time>``. Collections of
  generations that are gone are dropped by the next save.

Builds never change a saved collection: adds and deletes are kept in memory and :meth:`MilvusStore.save`
writes a new collection (the old vectors are copied, not re-embedded), so the previous generation stays
searchable until the ``current`` switch, as with FAISS. The generation records where its vectors are in
``milvus.json``.
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
from pathlib import Path

import numpy as np

from .base import VectorStore

FILE = "milvus.json"
LOCAL_DB = "milvus.db"
COLLECTION = "ragqa"
ID, VECTOR = "id", "vector"
#: Rows per insert or per page when copying a collection.
BATCH = 1000
#: Seconds a call to a Milvus server may take.
TIMEOUT = 60.0
#: Milvus's upper bound on a search's ``limit``.
MAX_TOPK = 16384


class MilvusUnavailableError(RuntimeError):
    """Milvus could not be reached or refused the request."""


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
        raise MilvusUnavailableError(f"cannot connect to Milvus at {uri}: {' '.join(str(exc).split())[:300]}") from exc


class MilvusStore(VectorStore):
    """Vectors in a Milvus collection keyed by int64 chunk ids, with inner-product (cosine) search.

    ``source`` is the saved ``(uri, collection)`` the store starts from (None: empty). Adds and
    deletes are pending until :meth:`save`; searches and counts see them.
    """

    name = "milvus"

    def __init__(self, dim: int, source: tuple[str, str] | None = None):
        self.dim = dim
        self.source = source
        self._client = None
        self._source_count: int | None = 0 if source is None else None
        self._added: dict[int, np.ndarray] = {}
        self._deleted: set[int] = set()
        self._finalizer = None
        self.saved_as: dict | None = None
        """Where :meth:`save` last wrote the collection (``milvus.json``'s content)."""

    @classmethod
    def create(cls, dim: int) -> MilvusStore:
        return cls(dim)

    # -- the saved collection ----------------------------------------------------------------
    @property
    def client(self):
        """The client of the saved collection (connected on first use)."""
        if self._client is None:
            assert self.source is not None
            uri, collection = self.source
            if _is_local(uri):
                _lite_acquire(uri)
            try:
                client = _connect(uri)
                if not client.has_collection(collection):
                    raise MilvusUnavailableError(f"Milvus at {uri} has no collection {collection!r}")
                client.load_collection(collection)
            except Exception:
                if _is_local(uri):
                    _lite_release(uri)
                raise
            self._client = client
            self._finalizer = weakref.finalize(self, _close, client, uri)
        return self._client

    def describe(self) -> str:
        """Where the vectors are kept, e.g. ``milvus-lite FLAT`` or ``AUTOINDEX ragqa_…@http://host:19530``."""
        meta = self.saved_as
        if meta is None and self.source is None:
            return "unsaved"
        uri, collection = (meta["uri"], meta["collection"]) if meta else self.source
        return "milvus-lite FLAT" if _is_local(uri) and collection == COLLECTION else f"{collection}@{uri}"

    def close(self) -> None:
        """Disconnect (and stop the embedded Milvus Lite server once no store uses it)."""
        if self._finalizer is not None:
            self._finalizer()
        self._client = self._finalizer = None

    def _saved_count(self) -> int:
        if self._source_count is None:
            rows = self.client.query(self.source[1], filter="", output_fields=["count(*)"])
            self._source_count = int(rows[0]["count(*)"])
        return self._source_count

    def _existing(self, ids: list[int]) -> list[int]:
        """Those of ``ids`` that are in the saved collection."""
        if self.source is None or not ids:
            return []
        found: list[int] = []
        for i in range(0, len(ids), BATCH):
            rows = self.client.get(self.source[1], ids=ids[i : i + BATCH], output_fields=[ID])
            found.extend(int(r[ID]) for r in rows)
        return found

    # -- the interface -----------------------------------------------------------------------
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        for i, v in zip(np.asarray(ids, dtype=np.int64).tolist(), vectors):
            self._added[int(i)] = v.copy()

    def delete(self, ids: np.ndarray) -> None:
        rest = [i for i in np.asarray(ids, dtype=np.int64).tolist() if self._added.pop(int(i), None) is None]
        self._deleted.update(self._existing([i for i in rest if i not in self._deleted]))

    def count(self) -> int:
        return (self._saved_count() if self.source else 0) - len(self._deleted) + len(self._added)

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        hits: list[tuple[int, float]] = []
        keep = None if allowed is None else {int(i) for i in allowed}
        if self.source is not None and k > 0 and (keep is None or keep):
            limit = min(k + len(self._deleted), MAX_TOPK)
            extra = {"filter": f"{ID} in {sorted(keep)}"} if keep is not None else {}
            res = self.client.search(self.source[1], data=[q.tolist()], limit=limit, anns_field=VECTOR,
                                     search_params={"metric_type": "IP"}, output_fields=[ID], **extra)
            hits = [(int(h["id"]), float(h["distance"])) for h in res[0] if int(h["id"]) not in self._deleted]
        if self._added and k > 0:
            ids = np.fromiter(self._added, dtype=np.int64, count=len(self._added))
            scores = np.stack(list(self._added.values())) @ q
            if keep is not None:
                mask = np.array([int(i) in keep for i in ids], dtype=bool)
                ids, scores = ids[mask], scores[mask]
            hits.extend(zip(ids.tolist(), scores.tolist()))
        hits.sort(key=lambda h: -h[1])
        hits = hits[: max(k, 0)]
        return np.array([h[0] for h in hits], dtype=np.int64), np.array([h[1] for h in hits], dtype=np.float32)

    def vectors(self, ids: list[int]) -> np.ndarray:
        """The stored vectors of these ids (KeyError for an unknown id)."""
        out: dict[int, np.ndarray] = {i: self._added[i] for i in ids if i in self._added}
        saved = [i for i in ids if i not in out and i not in self._deleted]
        if saved and self.source is not None:
            for i in range(0, len(saved), BATCH):
                for r in self.client.get(self.source[1], ids=saved[i : i + BATCH], output_fields=[ID, VECTOR]):
                    out[int(r[ID])] = np.asarray(r[VECTOR], dtype=np.float32)
        missing = [i for i in ids if i not in out]
        if missing:
            raise KeyError(f"no vectors for ids {missing[:5]}")
        return np.stack([out[i] for i in ids]) if ids else np.zeros((0, self.dim), np.float32)

    # -- saving: a new collection per generation -----------------------------------------------
    def save(self, directory: Path) -> None:
        """Write the vectors (saved, minus deleted, plus added) into a new collection for ``directory``."""
        directory = Path(directory)
        target = configured_uri()
        if target is None:
            uri, collection = str(directory / LOCAL_DB), COLLECTION
        else:
            uri, collection = target, f"ragqa_{_index_key(directory.parent)}_{time.time_ns()}"
        expected = self.count()
        copied = False
        if target is None and self.source is not None and _is_local(self.source[0]):
            # the saved Milvus Lite folder is copied as files (works while another process has it open)
            shutil.copytree(self.source[0], uri, ignore=shutil.ignore_patterns("LOCK"))
            copied = True
        if _is_local(uri):
            _lite_acquire(uri)
        try:
            client = _connect(uri)
            try:
                if copied:
                    client.load_collection(collection)
                    if self._deleted:
                        ids = sorted(self._deleted)
                        for i in range(0, len(ids), BATCH):
                            client.delete(collection, ids=ids[i : i + BATCH])
                else:
                    _create_collection(client, collection, self.dim, exact=_is_local(uri))
                    if self.source is not None:
                        self._copy_into(client, collection)
                items = list(self._added.items())
                for i in range(0, len(items), BATCH):
                    client.insert(collection, [{ID: k, VECTOR: v.tolist()} for k, v in items[i : i + BATCH]])
                client.flush(collection)
                got = int(client.query(collection, filter="", output_fields=["count(*)"])[0]["count(*)"])
                if got != expected:
                    raise MilvusUnavailableError(f"Milvus at {uri} holds {got} vectors in {collection}, expected {expected}")
                if target is not None:
                    _drop_stale(client, directory.parent, keep={collection})
            finally:
                client.close()
        finally:
            if _is_local(uri):
                _lite_release(uri)
        meta = {"uri": LOCAL_DB if target is None else target, "collection": collection, "dim": self.dim, "count": expected}
        (directory / FILE).write_text(json.dumps(meta, indent=1))
        self.saved_as = meta

    def _copy_into(self, client, collection: str) -> None:
        """Copy the saved vectors, less the deleted, into ``collection`` of ``client``."""
        it = self.client.query_iterator(self.source[1], batch_size=BATCH, filter="", output_fields=[ID, VECTOR])
        try:
            while rows := it.next():
                rows = [{ID: int(r[ID]), VECTOR: list(r[VECTOR])} for r in rows if int(r[ID]) not in self._deleted]
                if rows:
                    client.insert(collection, rows)
        finally:
            it.close()

    @classmethod
    def load(cls, directory: Path) -> MilvusStore:
        directory = Path(directory)
        meta = json.loads((directory / FILE).read_text())
        uri = meta["uri"]
        if _is_local(uri) and not os.path.isabs(uri):
            uri = str(directory / uri)
            if not os.path.isdir(uri):
                raise FileNotFoundError(f"{uri} is missing")
        store = cls(int(meta["dim"]), (uri, meta["collection"]))
        store.client  # noqa: B018  (connect now: a missing collection or an unreachable server shows at load)
        return store


def _close(client, uri: str) -> None:
    try:
        client.close()
    finally:
        if _is_local(uri):
            _lite_release(uri)


def _create_collection(client, collection: str, dim: int, exact: bool) -> None:
    from pymilvus import DataType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field(ID, DataType.INT64, is_primary=True)
    schema.add_field(VECTOR, DataType.FLOAT_VECTOR, dim=dim)
    params = client.prepare_index_params()
    # exact search, like FAISS below its HNSW threshold; on a cluster AUTOINDEX lets Milvus choose
    params.add_index(field_name=VECTOR, index_type="FLAT" if exact else "AUTOINDEX", metric_type="IP")
    client.create_collection(collection, schema=schema, index_params=params)


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
        if name.startswith(prefix) and name not in keep and re.fullmatch(r"ragqa_\w+_\d+", name):
            client.drop_collection(name)
