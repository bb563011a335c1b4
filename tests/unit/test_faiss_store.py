"""FaissStore: exact below the HNSW threshold, HNSW above, same add/delete/search-by-id semantics."""

from __future__ import annotations

import numpy as np
import pytest

from index.store.faiss import FaissStore


def _unit(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def threshold(monkeypatch):
    """Set the HNSW threshold for the stores a test creates or loads."""
    return lambda n: monkeypatch.setenv("RAGQA_HNSW_MIN", str(n))


def _store(n: int) -> tuple[FaissStore, np.ndarray, np.ndarray]:
    vecs = _unit(n)
    ids = np.arange(n, dtype=np.int64) * 3 + 7  # ids that are not row numbers
    store = FaissStore.create(16)
    store.add(ids, vecs)
    return store, ids, vecs


@pytest.mark.parametrize("min_hnsw,kind", [(10_000, "flat"), (100, "hnsw")])
def test_type_follows_size_and_search_finds_ids(tmp_path, threshold, min_hnsw, kind):
    threshold(min_hnsw)
    store, ids, vecs = _store(400)
    assert store.kind == "flat"  # settled on save, not on every add
    store.save(tmp_path)
    assert store.kind == kind
    loaded = FaissStore.load(tmp_path)
    assert loaded.kind == kind and loaded.count() == 400
    assert loaded.describe().startswith(kind)
    for row in (0, 123, 399):
        found, scores = loaded.search(vecs[row], 5)
        assert found[0] == ids[row] and scores[0] == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(loaded.vectors([int(ids[5])])[0], vecs[5], atol=1e-6)


def test_hnsw_delete_marks_dead_persists_and_compacts(tmp_path, threshold):
    threshold(100)
    store, ids, vecs = _store(400)
    store.save(tmp_path)
    assert store.kind == "hnsw"
    store.delete(np.array([ids[0], ids[1], 999_999], dtype=np.int64))  # an unknown id is ignored
    assert store.count() == 398
    found, _ = store.search(vecs[0], 10)
    assert ids[0] not in found and ids[1] not in found and len(found) == 10
    with pytest.raises(RuntimeError):
        store.vectors([int(ids[0])])
    (tmp_path / "a").mkdir()
    store.save(tmp_path / "a")
    again = FaissStore.load(tmp_path / "a")
    assert again.count() == 398 and again.index.ntotal == 400  # dead kept until there are many
    assert ids[0] not in again.search(vecs[0], 10)[0]
    again.delete(ids[2:100])
    again.add(np.array([5_000], dtype=np.int64), vecs[:1])
    assert again.optimize().startswith("hnsw")
    assert again.index.ntotal == again.count() == 301  # compacted: the dead are gone
    assert again.search(vecs[0], 1)[0][0] == 5_000
    assert again.search(vecs[200], 1)[0][0] == ids[200]


def test_hnsw_falls_back_to_flat_when_small(tmp_path, threshold):
    threshold(300)
    store, ids, _ = _store(400)
    store.save(tmp_path)
    assert store.kind == "hnsw"
    store.delete(ids[:300])
    store.save(tmp_path)
    assert store.kind == "flat" and store.count() == 100
    assert set(store.search(_unit(1, seed=5)[0], 200)[0]) == set(ids[300:])


def test_build_switches_to_hnsw_records_it_and_updates_incrementally(tmp_path, threshold):
    """Through index.build: the manifest names the index type; deletes and adds work on HNSW."""
    import index

    threshold(4)
    src = tmp_path / "src"
    src.mkdir()
    for i, topic in enumerate(["river otters in Norway", "sourdough bread in Lyon", "gamma rays and photons",
                               "glaciers of Iceland", "violin making in Cremona"]):
        (src / f"doc{i}.txt").write_text(f"This text is about {topic}. It has one fact: the number is {i * 7}.")
    settings = index.IndexSettings(sources=[str(src)], index_dir=str(tmp_path / "idx"))
    index.build(settings=settings)
    loaded = index.load(settings)
    assert loaded.manifest.store_index.startswith("hnsw") and loaded.store.kind == "hnsw"
    (src / "doc1.txt").unlink()
    (src / "doc2.txt").write_text("This text is about the planet Mars and its two moons.")
    r = index.build(settings=settings)
    assert r.removed and r.changed and not r.full
    loaded = index.load(settings)
    assert loaded.store.count() == len(loaded.chunks)
    hits = loaded.dense(index.embed.get_embedder(settings.embedder).encode(["moons of Mars"])[0], 3)
    assert hits[0][0].source.endswith("doc2.txt")
    assert all(not c.source.endswith("doc1.txt") for c, _ in hits)


@pytest.mark.parametrize("min_hnsw", [10_000, 100])
def test_search_restricted_to_allowed_ids_inside_the_index(tmp_path, threshold, min_hnsw):
    """A search limited to some ids returns only those, and the best of them (flat and HNSW, with dead ids)."""
    threshold(min_hnsw)
    store, ids, vecs = _store(400)
    store.save(tmp_path)
    store = FaissStore.load(tmp_path)
    store.delete(ids[:5])
    allowed = ids[100:200]
    found, scores = store.search(vecs[150], 10, allowed)
    assert len(found) == 10 and set(found) <= set(allowed.tolist())
    assert found[0] == ids[150]
    exact = sorted(allowed.tolist(), key=lambda i: -float(vecs[(i - 7) // 3] @ vecs[150]))[:10]
    assert set(found) == set(exact) or min_hnsw == 100  # HNSW is approximate; flat is exact
    assert len(store.search(vecs[0], 10, np.array([], dtype=np.int64))[0]) == 0
