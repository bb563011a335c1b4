"""The Milvus store for real, on Milvus Lite (embedded, or its gRPC server in another process: the client API a
Milvus cluster serves).

Built over the seeds it retrieves what FAISS + bm25s retrieves (dense, BM25 and hybrid, in Milvus); incremental
builds add, change, rename and remove files with the same results as FAISS; switching the store rebuilds in full;
the previous generation stays searchable during a rebuild and serves on when a build crashes; a shared Milvus URI
keeps one generation's collections per live generation; a new process given only the manifest and the URI answers
with exact offsets (no chunk files, no source files); two processes serve one collection at once; and dev
questions are answered correctly with ``RAGQA_STORE=milvus``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT, SEEDS, dev_questions
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
    from qa.config import RetrievalSettings
    from qa.retrieve import retrieve

    embedder = get_embedder()
    probe = embedder.encode(["Who founded the search engine Sogou?"])[0]
    steps = []

    def step(name: str) -> None:
        report = index.build(settings=settings)
        idx = index.load(settings)
        assert idx.store.count() == len(idx.chunks)
        top = [(Path(c.source).name, c.start) for c, _ in idx.dense(probe, 5)]
        passages = retrieve(idx, embedder, "search engine Sogou founded by Wang Xiaochuan", 3, RetrievalSettings(window=1))
        hybrid = [(Path(p.source).name, p.start, p.end, idx.text_of(p.source)[p.start : p.end] == p.text) for p in passages]
        steps.append({"step": name, "full": report.full, "added": len(report.added), "changed": len(report.changed),
                      "removed": len(report.removed), "embedded": report.embedded, "chunks": report.chunks,
                      "count": idx.store.count(), "sources": sorted(Path(s).name for s in idx.sources), "top": top,
                      "hybrid": hybrid})

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
    live |= {name + "_texts" for name in live}  # each generation: its chunks and its documents' text
    client = _connect(uri)
    try:
        # at most one stale generation's collections (of the generation collected after the last save) are left
        assert live <= set(client.list_collections()) and len(set(client.list_collections()) - live) <= 2
    finally:
        client.close()


def test_the_generation_folder_holds_only_the_manifest_and_where_the_collections_are(milvus_seed_index):
    """Chunks, BM25 and the documents' text are in Milvus: no chunks.jsonl, bm25/ or texts/ beside the manifest."""
    import index

    idx = index.load(milvus_seed_index)
    assert sorted(p.name for p in idx.directory.iterdir()) == ["manifest.json", "milvus.db", "milvus.json"]
    assert idx.bm25 is None and idx.fuses
    for source in idx.sources:  # the documents' text comes back exactly from Milvus
        assert idx.text_of(source) == Path(source).read_text(encoding="utf-8")


def test_a_crashed_build_leaves_the_last_generation_serving(tmp_path, monkeypatch):
    import index
    from index.embed import get_embedder
    from index.reader import Index
    from index.store.milvus import MilvusStore, _connect
    from qa.config import RetrievalSettings
    from qa.retrieve import retrieve

    uri = str(tmp_path / "shared.db")
    monkeypatch.setenv("RAGQA_MILVUS_URI", uri)
    sources = tmp_path / "src"
    sources.mkdir()
    files = sorted(SEEDS.glob("*.txt"))
    for f in files[:2]:
        shutil.copy(f, sources)
    settings = _settings(tmp_path, "milvus", sources)
    index.build(settings=settings)
    before = Index.open(settings.index_dir)
    question = "How many research laboratories does Baidu run in the United States?"
    want = [(p.source, p.start, p.end) for p in retrieve(before, get_embedder(), question, 3, RetrievalSettings())]

    def crash(self, *args, **kwargs):
        raise RuntimeError("the build died while writing the new collections")

    shutil.copy(files[2], sources)
    with monkeypatch.context() as mp:
        mp.setattr(MilvusStore, "_insert_texts", crash)
        with pytest.raises(RuntimeError, match="died"):
            index.build(settings=settings)
    after = Index.open(settings.index_dir)
    assert after.directory == before.directory and len(after.sources) == 2  # the last generation serves on
    assert [(p.source, p.start, p.end) for p in retrieve(after, get_embedder(), question, 3, RetrievalSettings())] == want

    report = index.build(settings=settings)  # the next build succeeds and drops the crashed build's collections
    assert report.added and len(Index.open(settings.index_dir).sources) == 3
    live = {json.loads(p.read_text())["collection"] for p in Path(settings.index_dir).glob("gen-*/milvus.json")}
    client = _connect(uri)
    try:
        assert {name.removesuffix("_texts") for name in client.list_collections()} == live
    finally:
        client.close()


def test_an_index_whose_milvus_held_only_vectors_is_rebuilt_in_full(tmp_path):
    """The layout before (vectors in Milvus, chunks and BM25 in the folder) is not read as this one: loading it says
    to rebuild, and the next build rebuilds in full."""
    import index
    from index.manifest import Manifest
    from index.reader import IndexCorruptError
    from index.sources import file_sha256

    sources = tmp_path / "src"
    sources.mkdir()
    shutil.copy(sorted(SEEDS.glob("*.txt"))[0], sources)
    settings = _settings(tmp_path, "milvus", sources)
    index.build(settings=settings)
    gen = index.load(settings).directory
    meta = json.loads((gen / "milvus.json").read_text())
    del meta["layout"]
    (gen / "milvus.json").write_text(json.dumps(meta))
    manifest = Manifest.load(gen)
    manifest.checksums["milvus.json"] = [(gen / "milvus.json").stat().st_size, file_sha256(gen / "milvus.json")]
    manifest.save(gen)
    with pytest.raises(IndexCorruptError, match="older layout"):
        index.load(settings)
    report = index.build(settings=settings)
    assert report.full and report.embedded == report.chunks > 0
    assert index.load(settings).size == report.chunks


# -- processes that hold only the manifest and the URI, over a Milvus server --------------------------------------
SOGOU = "Who founded the search engine Sogou?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def milvus_server(tmp_path_factory):
    """A Milvus server in a process of its own (Milvus Lite's gRPC server), reached by URL as a cluster would be."""
    port = _free_port()
    data = tmp_path_factory.mktemp("milvus-server") / "data"
    log = open(data.parent / "server.log", "w+")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen([sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data),
                             "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                log.seek(0)
                pytest.fail(f"the Milvus Lite server did not start: {log.read()[-2000:]}")
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def served_index(milvus_server, tmp_path_factory):
    """The seeds indexed into the Milvus server: (index settings, the sources folder)."""
    import index

    tmp = tmp_path_factory.mktemp("served")
    seeds = tmp / "seeds"
    shutil.copytree(SEEDS, seeds)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAGQA_MILVUS_URI", milvus_server)
        settings = _settings(tmp, "milvus", seeds)
        index.build(settings=settings)
    return settings, seeds


def _replica(settings, folder: Path) -> Path:
    """An index folder holding only the current generation's manifest and milvus.json (which names the URI)."""
    from index.layout import current_generation

    gen = current_generation(Path(settings.index_dir))
    assert sorted(p.name for p in gen.iterdir()) == ["manifest.json", "milvus.json"]  # no chunks, BM25 or texts
    (folder / gen.name).mkdir(parents=True)
    for name in ("manifest.json", "milvus.json"):
        shutil.copy(gen / name, folder / gen.name / name)
    os.symlink(gen.name, folder / "current")
    return folder


def _answer_in_processes(replica: Path, uri: str, questions: list[str], processes: int = 1, rounds: int = 1):
    """Start ``processes`` app processes over ``replica`` at once; each one's answers and answering time span."""
    env = {**os.environ, "RAGQA_INDEX_DIR": str(replica), "RAGQA_STORE": "milvus", "RAGQA_MILVUS_URI": uri,
           "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "tests.integration.milvus_replica", "--barrier", str(replica.parent / "barrier"),
           "--peers", str(processes), "--rounds", str(rounds), *questions]
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(processes)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
        lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        results.append((lines[:-1], lines[-1]))
    return results


def test_a_new_process_with_only_the_manifest_and_the_uri_answers_with_exact_offsets(served_index, milvus_server,
                                                                                      tmp_path):
    settings, seeds = served_index
    replica = _replica(settings, tmp_path / "replica")
    originals = {p.name: p.read_text(encoding="utf-8") for p in seeds.glob("*.txt")}
    hidden = seeds.with_name("seeds-hidden")
    seeds.rename(hidden)  # the source files are gone too: every text comes from Milvus
    try:
        [(answers, _)] = _answer_in_processes(replica, milvus_server, [SOGOU])
    finally:
        hidden.rename(seeds)
    [answer] = answers
    assert not answer["refused"] and "Wang Xiaochuan" in answer["text"], answer
    assert answer["citations"] and answer["store"].startswith("ragqa_")
    for source, start, end, quote in answer["citations"]:
        assert originals[Path(source).name][start:end] == quote
    for source, start, end, text in answer["passages"]:
        assert originals[Path(source).name][start:end] == text


def test_two_processes_serve_one_collection_at_once(served_index, milvus_server, seed_index, tmp_path):
    import index
    from index.embed import get_embedder
    from qa.config import RetrievalSettings
    from qa.retrieve import retrieve

    settings, _ = served_index
    replica = _replica(settings, tmp_path / "replica")
    questions = [SOGOU, *QUERIES[1:4]]
    (a, span_a), (b, span_b) = _answer_in_processes(replica, milvus_server, questions, processes=2, rounds=3)
    assert max(span_a["start"], span_b["start"]) < min(span_a["end"], span_b["end"])  # they answered at once
    assert len(a) == len(b) == 3 * len(questions)
    key = lambda r: (r["question"], r["refused"], r["text"], r["citations"], r["passages"])  # noqa: E731
    assert [key(r) for r in a] == [key(r) for r in b]  # the same answers, every round, in both processes
    assert [key(r) for r in a] == [key(r) for r in a[: len(questions)]] * 3
    assert not a[0]["refused"] and "Wang Xiaochuan" in a[0]["text"]

    faiss = index.load(seed_index)  # and what they retrieved is what FAISS + bm25s retrieves
    embedder = get_embedder()
    for r in a[: len(questions)]:
        want = {(Path(p.source).name, p.start, p.end) for p in retrieve(faiss, embedder, r["question"], 5,
                                                                         RetrievalSettings())}
        assert {(Path(s).name, start, end) for s, start, end, _ in r["passages"]} <= want, r["question"]


@pytest.mark.parametrize("qid", ["dev01", "dev05", "dev12"])
def test_dev_questions_answered_with_milvus(milvus_seed_index, pipeline, qid):
    import qa

    rows = {r["id"]: r for r in dev_questions()}
    if qid not in rows:
        pytest.skip(f"{qid} not in the dev set")
    row = rows[qid]
    milvus_pipeline = qa.Pipeline(qa.Config(index=milvus_seed_index), llm=pipeline.llm)  # the loaded model, reused
    check_dev_answer(milvus_pipeline.answer(row["question"]), row)
