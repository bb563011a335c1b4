"""Incremental, atomic index builds: add, change, delete; settings changes; interrupted builds."""

from __future__ import annotations

import pytest

import index
from index.lexical import BM25Index
from index.settings import ChunkSettings

DOCS = {
    "alpha.txt": "The alpha project studies river otters in Norway. Its team counted 42 otters last spring.",
    "beta.md": "# Beta\n\nBeta is a bakery in Lyon that sells sourdough bread. It opened in 1998.",
    "gamma.txt": "Gamma rays are photons of very high energy. They come from radioactive decay.",
}


def make(tmp_path, docs=DOCS):
    src = tmp_path / "src"
    src.mkdir()
    for name, text in docs.items():
        (src / name).write_text(text, encoding="utf-8")
    settings = index.IndexSettings(sources=[str(src)], index_dir=str(tmp_path / "idx"))
    return src, settings


def names(paths):
    return sorted(p.rsplit("/", 1)[-1] for p in paths)


def test_first_build_then_noop(tmp_path):
    src, settings = make(tmp_path)
    r = index.build(settings=settings)
    assert names(r.added) == ["alpha.txt", "beta.md", "gamma.txt"] and r.embedded == r.chunks > 0
    r2 = index.build(settings=settings)
    assert names(r2.unchanged) == ["alpha.txt", "beta.md", "gamma.txt"]
    assert r2.embedded == 0 and r2.chunks == r.chunks
    idx = index.load(settings)
    for c in idx.chunks:
        assert open(c.source, encoding="utf-8").read()[c.start : c.end] == c.text


def test_add_change_delete_re_embed_only_what_changed(tmp_path):
    src, settings = make(tmp_path)
    first = index.build(settings=settings)
    (src / "delta.txt").write_text("Delta airlines flies to Atlanta. It was founded in 1925.", encoding="utf-8")
    (src / "alpha.txt").write_text(DOCS["alpha.txt"] + " This year they counted 57.", encoding="utf-8")
    (src / "gamma.txt").unlink()
    r = index.build(settings=settings)
    assert names(r.added) == ["delta.txt"]
    assert names(r.changed) == ["alpha.txt"]
    assert names(r.removed) == ["gamma.txt"]
    assert names(r.unchanged) == ["beta.md"]
    assert 0 < r.embedded < first.chunks + 2
    idx = index.load(settings)
    assert names(idx.sources) == ["alpha.txt", "beta.md", "delta.txt"]
    hits = [c.source for c, _ in idx.lexical("radioactive photons", 5)]
    assert not any(h.endswith("gamma.txt") for h in hits)
    hits = [c.text for c, _ in idx.lexical("otters counted 57", 1)]
    assert "57" in hits[0]


def test_extra_paths_are_remembered(tmp_path):
    src, settings = make(tmp_path)
    index.build(settings=settings)
    extra = tmp_path / "more"
    extra.mkdir()
    (extra / "epsilon.txt").write_text("Epsilon is a small positive number in calculus proofs.", encoding="utf-8")
    r = index.build(sources=[str(extra)], settings=settings)
    assert names(r.added) == ["epsilon.txt"]
    r2 = index.build(settings=settings)  # without naming it again: still indexed
    assert "epsilon.txt" in names(r2.unchanged)


def test_changed_chunk_settings_force_full_rebuild(tmp_path):
    src, settings = make(tmp_path)
    index.build(settings=settings)
    settings.chunk = ChunkSettings(max_tokens=64, overlap_tokens=8)
    r = index.build(settings=settings)
    assert r.full and r.embedded == r.chunks


def test_full_flag(tmp_path):
    src, settings = make(tmp_path)
    index.build(settings=settings)
    r = index.build(settings=settings, full=True)
    assert r.full and r.embedded == r.chunks


def test_crash_while_writing_leaves_old_index(tmp_path, monkeypatch):
    src, settings = make(tmp_path)
    index.build(settings=settings)
    before = index.load(settings).sources
    (src / "delta.txt").write_text("Delta airlines flies to Atlanta.", encoding="utf-8")

    def boom(*a, **k):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(BM25Index, "save", boom)
    with pytest.raises(OSError, match="simulated"):
        index.build(settings=settings)
    monkeypatch.undo()
    assert index.load(settings).sources == before  # the old index, intact and loadable
    r = index.build(settings=settings)  # and the next build completes
    assert names(r.added) == ["delta.txt"]


def test_missing_index_is_a_clear_error(tmp_path):
    settings = index.IndexSettings(sources=[str(tmp_path)], index_dir=str(tmp_path / "none"))
    with pytest.raises(index.IndexNotFoundError, match="ragqa index"):
        index.load(settings)
