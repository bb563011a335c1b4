"""The Milvus vector store for real, on Milvus Lite (embedded; the client API a Milvus cluster serves).

Built over the seeds it retrieves what FAISS retrieves; incremental builds add, change, rename and
remove files with the same results as FAISS; switching the store rebuilds in full; the previous
generation stays searchable during a rebuild; a shared Milvus URI keeps one collection per live
generation; and dev questions are answered correctly with ``RAGQA_STORE=milvus``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SEEDS, dev_questions
from tests.integration.test_answer import check_dev_answer

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

pytestmark = [pytest.mark.slow, pytest.mark.integration]

QUERIES = [
    "Who founded the search engine Sogou?",
    "How many research laboratories does Baidu run in the United States?",
    "Which companies are China's AI national champions?",
    "chips bought from abroad",
    "百度 人工智能",
]


def _settings(tmp: Path, store: str, sources: Path):
    import index

    return index.IndexSettings(sources=[str(sources)], index_dir=str(tmp / f"index-{store}"), store=store)


@pytest.fixture(autouse=True)
def local_milvus(monkeypatch):
    """Milvus Lite inside each generation folder unless a test sets a URI."""
    monkeypatch.delenv("RAGQA_MILVUS_URI", raising=False)
    monkeypatch.delenv("RAGQA_STORE", raising=False)


@pytest.fixture(scope="module")
def milvus_seed_index(tmp_path_factory):
    """A Milvus-backed index over a private copy of the seeds."""
    import index

    tmp = tmp_path_factory.mktemp("milvus")
    seeds = tmp / "seeds"
    shutil.copytree(SEEDS, seeds)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("RAGQA_MILVUS_URI", raising=False)
        settings = _settings(tmp, "milvus", seeds)
        index.build(settings=settings)
    return settings


def _key(chunk) -> tuple[str, int, int]:
    return Path(chunk.source).name, chunk.start, chunk.end


def test_build_writes_a_milvus_lite_generation(milvus_seed_index):
    import index
    from index.store.milvus import MilvusStore

    idx = index.load(milvus_seed_index)
    assert idx.manifest.store == "milvus" and isinstance(idx.store, MilvusStore)
    assert (idx.directory / "milvus.db").is_dir()
    meta = json.loads((idx.directory / "milvus.json").read_text())
    assert meta["uri"] == "milvus.db" and meta["count"] == len(idx.chunks) == idx.store.count() > 0
    some = [c.id for c in idx.chunks[:3]]
    vecs = idx.vectors(some)
    assert vecs.shape == (3, idx.manifest.dim)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)


def test_dense_and_hybrid_retrieval_equal_faiss(milvus_seed_index, seed_index):
    import index
    from index.embed import get_embedder
    from qa.config import RetrievalSettings
    from qa.retrieve import retrieve

    milvus, faiss = index.load(milvus_seed_index), index.load(seed_index)
    assert faiss.manifest.store == "faiss"
    embedder = get_embedder()
    for q, vec in zip(QUERIES, embedder.encode(QUERIES)):
        got, want = milvus.dense(vec, 8), faiss.dense(vec, 8)
        assert [_key(c) for c, _ in got] == [_key(c) for c, _ in want], q
        np.testing.assert_allclose([s for _, s in got], [s for _, s in want], atol=1e-4)
        hybrid = retrieve(milvus, embedder, q, 5, RetrievalSettings())
        expected = retrieve(faiss, embedder, q, 5, RetrievalSettings())
        assert [(Path(p.source).name, p.start, p.end) for p in hybrid] == \
               [(Path(p.source).name, p.start, p.end) for p in expected], q


def test_retrieval_scoped_to_sources_equals_faiss(milvus_seed_index, seed_index):
    """A source filter runs inside Milvus (a filter expression) as inside FAISS (an id selector): same passages."""
    import index
    from index.embed import get_embedder
    from qa.config import RetrievalSettings
    from qa.retrieve import retrieve

    milvus, faiss = index.load(milvus_seed_index), index.load(seed_index)
    embedder = get_embedder()
    keep = lambda source: not Path(source).name.startswith("000_")  # noqa: E731
    for q in QUERIES:
        got = retrieve(milvus, embedder, q, 5, RetrievalSettings(), keep=keep)
        want = retrieve(faiss, embedder, q, 5, RetrievalSettings(), keep=keep)
        assert got and all(not Path(p.source).name.startswith("000_") for p in got), q
        assert [(Path(p.source).name, p.start, p.end) for p in got] == \
               [(Path(p.source).name, p.start, p.end) for p in want], q


def _history(tmp: Path, store: str) -> list[dict]:
    """Build, then add, change, rename and remove files; what each build reports and holds."""
    import index
    from index.embed import get_embedder

    sources = tmp / f"src-{store}"
    sources.mkdir()
    files = sorted(SEEDS.glob("*.txt"))[:3]
    for f in files[:2]:
        shutil.copy(f, sources / f.name)
    settings = _settings(tmp, store, sources)
    probe = get_embedder().encode(["Who founded the search engine Sogou?"])[0]
    steps = []

    def step(name: str) -> None:
        report = index.build(settings=settings)
        idx = index.load(settings)
        assert idx.store.count() == len(idx.chunks)
        top = [(Path(c.source).name, c.start) for c, _ in idx.dense(probe, 5)]
        steps.append({"step": name, "full": report.full, "added": len(report.added), "changed": len(report.changed),
                      "removed": len(report.removed), "embedded": report.embedded, "chunks": report.chunks,
                      "count": idx.store.count(), "sources": sorted(Path(s).name for s in idx.sources), "top": top})

    step("first")
    shutil.copy(files[2], sources / files[2].name)
    step("add")
    with open(sources / files[0].name, "a", encoding="utf-8") as f:
        f.write("\nAn added paragraph: the search engine Sogou was founded by Wang Xiaochuan in 2004.\n")
    step("change")
    (sources / files[1].name).rename(sources / ("renamed_" + files[1].name))
    step("rename")
    (sources / files[2].name).unlink()
    step("remove")
    step("nothing")
    return steps


def test_incremental_semantics_match_faiss(tmp_path):
    milvus, faiss = _history(tmp_path, "milvus"), _history(tmp_path, "faiss")
    for m, f in zip(milvus, faiss):
        assert m == {**f, "top": m["top"]} and m["top"] == f["top"], (m, f)
    by = {s["step"]: s for s in milvus}
    assert by["add"]["added"] == 1 and by["add"]["embedded"] == by["add"]["chunks"] - by["first"]["chunks"]
    assert by["change"]["changed"] == 1 and 0 < by["change"]["embedded"] < by["change"]["chunks"]
    assert by["rename"]["embedded"] == 0 and any(s.startswith("renamed_") for s in by["rename"]["sources"])
    assert by["remove"]["removed"] == 1 and by["remove"]["count"] < by["rename"]["count"]
    assert by["nothing"]["embedded"] == 0 and by["nothing"]["count"] == by["remove"]["count"]


def test_switching_store_rebuilds_in_full_and_old_generation_stays_searchable(tmp_path):
    import index
    from index.embed import get_embedder
    from index.reader import Index

    sources = tmp_path / "src"
    sources.mkdir()
    for f in sorted(SEEDS.glob("*.txt"))[:2]:
        shutil.copy(f, sources / f.name)
    faiss_settings = _settings(tmp_path, "faiss", sources)
    index.build(settings=faiss_settings)
    settings = _settings(tmp_path, "milvus", sources)
    settings.index_dir = faiss_settings.index_dir  # same index folder, other store
    report = index.build(settings=settings)
    assert report.full and index.load(settings).manifest.store == "milvus"

    probe = get_embedder().encode(["Baidu research laboratories"])[0]
    before = index.load(settings)
    hits = before.dense(probe, 3)
    shutil.copy(sorted(SEEDS.glob("*.txt"))[2], sources)
    report = index.build(settings=settings)
    assert not report.full and report.added
    assert before.dense(probe, 3) == hits  # the previous generation is untouched by the rebuild
    after = Index.open(settings.index_dir)
    assert after.directory != before.directory and after.store.count() > before.store.count()


def test_shared_milvus_uri_keeps_one_collection_per_live_generation(tmp_path, monkeypatch):
    import index
    from index.store.milvus import _connect

    uri = str(tmp_path / "shared.db")  # one Milvus Lite folder for all generations, as a server would be
    monkeypatch.setenv("RAGQA_MILVUS_URI", uri)
    sources = tmp_path / "src"
    sources.mkdir()
    files = sorted(SEEDS.glob("*.txt"))
    shutil.copy(files[0], sources)
    settings = _settings(tmp_path, "milvus", sources)
    for f in files[1:4]:
        index.build(settings=settings)
        shutil.copy(f, sources)
    index.build(settings=settings)
    idx = index.load(settings)
    meta = json.loads((idx.directory / "milvus.json").read_text())
    assert meta["uri"] == uri and meta["collection"].startswith("ragqa_")
    assert idx.store.count() == len(idx.chunks) and len(idx.sources) == 4
    live = {json.loads(p.read_text())["collection"] for p in Path(settings.index_dir).glob("gen-*/milvus.json")}
    client = _connect(uri)
    try:
        # at most one stale collection (of the generation collected after the last save) is left
        assert live <= set(client.list_collections()) and len(set(client.list_collections()) - live) <= 1
    finally:
        client.close()


@pytest.mark.parametrize("qid", ["dev01", "dev05", "dev12"])
def test_dev_questions_answered_with_milvus(milvus_seed_index, pipeline, qid):
    import qa

    rows = {r["id"]: r for r in dev_questions()}
    if qid not in rows:
        pytest.skip(f"{qid} not in the dev set")
    row = rows[qid]
    milvus_pipeline = qa.Pipeline(qa.Config(index=milvus_seed_index), llm=pipeline.llm)  # the loaded model, reused
    check_dev_answer(milvus_pipeline.answer(row["question"]), row)
