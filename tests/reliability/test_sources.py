"""Bad sources are indexed correctly or skipped with a one-line reason; the build never dies half-way."""

from __future__ import annotations

import builtins
import os
import random
from pathlib import Path

import pytest

import index
from index.sources import read_document

from .conftest import GOOD, build_module, by_name, make_sources
from .pdfs import image_only_pdf, text_pdf

LATIN1 = "Le musée de Zürich présente la crème brûlée de Genève, créée en 1846 à Montréal."
UTF16 = "Der Bäcker in Köln verkauft Brezeln seit 1923. Ωμέγα ist der letzte Buchstabe."
PDF_TEXT = "The glacier museum in Fjaerland opened in 1991."


def _bad_sources() -> dict[str, str | bytes]:
    rng = random.Random(5)
    return {
        "empty.txt": b"",
        "blank.txt": b"   \n\n\t \n",
        "image.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(rng.randrange(256) for _ in range(3000)),
        "noise.txt": bytes(rng.randrange(1, 32) for _ in range(3000)),
        "latin1.txt": LATIN1.encode("latin-1"),
        "utf16le.txt": UTF16.encode("utf-16"),  # with BOM
        "utf16be.md": b"\xfe\xff" + UTF16.encode("utf-16-be"),
        "scan.pdf": image_only_pdf(),
        "broken.pdf": text_pdf(PDF_TEXT)[:150],
        "garbage.pdf": b"%PDF-1.7\n" + bytes(rng.randrange(256) for _ in range(2000)),
        "glacier.pdf": text_pdf(PDF_TEXT),
        "copy of otters.txt": GOOD["otters.txt"],
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One build over good and bad sources, symlink loops included (real embedder)."""
    tmp = tmp_path_factory.mktemp("bad-sources")
    src, settings = make_sources(tmp, _bad_sources())
    os.symlink("loop-b.txt", src / "loop-a.txt")
    os.symlink("loop-a.txt", src / "loop-b.txt")
    os.symlink(".", src / "again")  # a folder that contains itself
    (src / "sub").mkdir()
    os.symlink("../..", src / "sub" / "up")  # a link to an ancestor folder
    (src / "sub" / "inner.txt").write_text("The inner folder holds a note about lighthouses on Skye.", encoding="utf-8")
    os.mkfifo(src / "pipe.txt")  # reading it would block forever
    report = index.build(settings=settings)
    return src, settings, report, index.load(settings)


def _skipped(report) -> dict[str, str]:
    return {Path(s.source).name: s.reason for s in report.skipped}


def test_good_sources_survive_and_build_completes(built):
    src, settings, report, idx = built
    names = set(by_name(idx.sources))
    assert names & {"otters.txt", "copy of otters.txt"}
    assert {"bakery.md", "inner.txt", "glacier.pdf", "latin1.txt", "utf16le.txt", "utf16be.md"} <= names
    for reason in _skipped(report).values():
        assert reason and "\n" not in reason and len(reason) < 300
    assert set(_skipped(report)) & names == set()  # nothing both skipped and indexed


@pytest.mark.parametrize("name, reason", [
    ("empty.txt", "empty file"),
    ("blank.txt", "empty file"),
    ("image.txt", "binary file"),
    ("noise.txt", "binary file"),
    ("scan.pdf", "no text layer"),
    ("broken.pdf", "broken PDF"),
    ("garbage.pdf", "broken PDF"),
    ("loop-a.txt", "looping symlink"),
    ("loop-b.txt", "looping symlink"),
    ("again", "symlink loop"),
    ("up", "symlink loop"),
    ("pipe.txt", "not a regular file"),
])
def test_bad_source_is_skipped_with_reason(built, name, reason):
    report = built[2]
    assert reason in _skipped(report).get(name, ""), _skipped(report)


def test_duplicate_under_two_names_is_indexed_once(built):
    src, settings, report, idx = built
    names = by_name(idx.sources)
    assert ("otters.txt" in names) != ("copy of otters.txt" in names)
    kept = "otters.txt" if "otters.txt" in names else "copy of otters.txt"
    other = "copy of otters.txt" if kept == "otters.txt" else "otters.txt"
    assert _skipped(report)[other] == f"duplicate of {src / kept}"
    assert sum("42 otters" in c.text for c in idx.chunks) == 1


@pytest.mark.parametrize("name, text", [("latin1.txt", LATIN1), ("utf16le.txt", UTF16), ("utf16be.md", UTF16)])
def test_non_utf8_text_is_decoded_and_offsets_hold(built, name, text):
    src, settings, report, idx = built
    chunks = [c for c in idx.chunks if Path(c.source).name == name]
    assert chunks and text.split(".")[0] in " ".join(c.text for c in chunks)
    for c in chunks:
        assert idx.text_of(c.source)[c.start : c.end] == c.text
    word = "Zürich" if name == "latin1.txt" else "Brezeln"
    assert any(Path(c.source).name == name for c, _ in idx.lexical(word, 3))


def test_pdf_with_text_layer_is_indexed(built):
    idx = built[3]
    hits = [c for c, _ in idx.lexical("glacier museum Fjaerland", 3)]
    assert hits and Path(hits[0].source).name == "glacier.pdf" and "1991" in hits[0].text
    assert idx.text_of(hits[0].source)[hits[0].start : hits[0].end] == hits[0].text


def test_unchanged_bad_sources_do_not_force_work_and_fixed_ones_are_picked_up(built, tmp_path):
    src, settings, report, idx = built
    again = index.build(settings=settings)
    assert again.embedded == 0 and _skipped(again) == _skipped(report)
    (src / "empty.txt").write_text("The empty file now says that puffins nest on Runde island.", encoding="utf-8")
    fixed = index.build(settings=settings)
    assert [Path(s).name for s in fixed.added] == ["empty.txt"] and "empty.txt" not in _skipped(fixed)
    (src / "empty.txt").write_bytes(b"")  # leave the module's folder as it was


def test_unreadable_file_is_skipped_simulated(tmp_path, monkeypatch):
    """Tests run as root, where chmod 000 does not stop reading: opening the file raises PermissionError instead."""
    src, settings = make_sources(tmp_path, {"secret.txt": "Nobody may read this note about the vault."})
    real_open = builtins.open

    def guarded(file, *args, **kwargs):
        if str(file).endswith("secret.txt"):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)
    report = index.build(settings=settings)
    monkeypatch.undo()
    assert _skipped(report) == {"secret.txt": "permission denied"}
    assert set(by_name(index.load(settings).sources)) == set(GOOD)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions (see the simulated test)")
def test_unreadable_file_is_skipped_chmod(tmp_path):
    src, settings = make_sources(tmp_path, {"secret.txt": "Nobody may read this note about the vault."})
    (src / "secret.txt").chmod(0)
    try:
        report = index.build(settings=settings)
    finally:
        (src / "secret.txt").chmod(0o644)
    assert _skipped(report) == {"secret.txt": "permission denied"}
    assert set(by_name(index.load(settings).sources)) == set(GOOD)


def test_unexpected_error_in_one_file_skips_only_that_file(tmp_path, monkeypatch):
    src, settings = make_sources(tmp_path, {"cursed.txt": "This file makes the chunker fail in this test."})
    mod = build_module()
    real = mod.chunk_document

    def chunk(doc, *a, **k):
        if doc.source.endswith("cursed.txt"):
            raise RuntimeError("chunker exploded\non two lines")
        return real(doc, *a, **k)

    monkeypatch.setattr(mod, "chunk_document", chunk)
    report = index.build(settings=settings)
    assert _skipped(report) == {"cursed.txt": "could not be indexed (RuntimeError: chunker exploded on two lines)"}
    idx = index.load(settings)
    assert set(by_name(idx.sources)) == set(GOOD) and idx.store.count() == len(idx.chunks)


def test_file_over_the_size_limit_is_skipped(tmp_path):
    src, settings = make_sources(tmp_path, {"big.txt": "A large file about sea shanties. " * 2000})
    settings.max_file_bytes = 10_000
    report = index.build(settings=settings)
    assert "larger than" in _skipped(report)["big.txt"] and "max_file_bytes" in _skipped(report)["big.txt"]
    assert set(by_name(index.load(settings).sources)) == set(GOOD)


def test_read_document_reasons_are_one_line(tmp_path):
    for name, data in _bad_sources().items():
        p = tmp_path / name
        p.write_bytes(data if isinstance(data, bytes) else data.encode())
        try:
            read_document(str(p))
        except index.sources.SourceError as exc:  # type: ignore[attr-defined]
            assert "\n" not in str(exc) and str(exc)
