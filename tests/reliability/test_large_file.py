"""Large text files are read, chunked and embedded as a stream, in batches, with bounded memory.

The real MiniLM embeds ~100 chunks/s on 2 cores, so the 50 MB file (~140k chunks) would take
~25 minutes; these tests inject :class:`FastEmbedder` (same interface) to test the streaming,
batching and memory behaviour of the build itself.
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

import index

from .bigtext import write_big_text
from .conftest import build_module

NEEDLE = "The lighthouse keeper Ingrid Solberg painted the Hestskjaer tower blue in 1957."


def _status(key: str) -> int:
    """A memory figure of this process from /proc/self/status, in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def _record_windows(monkeypatch) -> list[int]:
    """Record the length of every document text the build chunks."""
    mod = build_module()
    real = mod.chunk_document
    sizes: list[int] = []

    def chunk(doc, *a, **k):
        sizes.append(len(doc.text))
        return real(doc, *a, **k)

    monkeypatch.setattr(mod, "chunk_document", chunk)
    return sizes


@pytest.mark.parametrize("encoding, newline", [("utf-8", "\n"), ("utf-8", "\r\n"), ("latin-1", "\r"), ("utf-16", "\n")])
def test_streamed_file_has_exact_offsets(tmp_path, monkeypatch, fast_embedder, encoding, newline):
    mod = build_module()
    monkeypatch.setattr(mod, "STREAM_BYTES", 50_000)
    monkeypatch.setattr(mod, "WINDOW_CHARS", 16_384)
    sizes = _record_windows(monkeypatch)
    src = tmp_path / "src"
    src.mkdir()
    plain = tmp_path / "plain.txt"
    write_big_text(plain, 200_000, needle="Le phare de Zürich fut peint en bleu en 1957.")
    text = plain.read_text(encoding="utf-8")
    (src / "big.txt").write_bytes(text.replace("\n", newline).encode(encoding))
    settings = index.IndexSettings(sources=[str(src)], index_dir=str(tmp_path / "idx"))
    report = index.build(settings=settings)
    assert not report.skipped and report.chunks > 100
    assert len(sizes) > 5 and max(sizes) <= 2 * 16_384  # chunked window by window
    idx = index.load(settings)
    full = open(src / "big.txt", encoding=encoding).read()
    assert full == text  # what the offsets refer to (newlines translated as open() does)
    for c in idx.chunks:
        assert full[c.start : c.end] == c.text
    assert idx.text_of(idx.chunks[0].source) == full
    hit = idx.lexical("phare Zürich peint bleu", 1)[0][0]
    assert "Zürich" in hit.text


@pytest.mark.slow
def test_50mb_file_streams_in_batches_with_bounded_memory(tmp_path, monkeypatch, fast_embedder):
    src = tmp_path / "src"
    src.mkdir()
    size = write_big_text(src / "big.txt", 50 * 2**20, needle=NEEDLE)
    mod = build_module()
    sizes = _record_windows(monkeypatch)
    adds: list[int] = []
    real_embed_into = mod._embed_into

    def embed_into(store, embedder, chunks, batch_size):
        adds.append(len(chunks))
        return real_embed_into(store, embedder, chunks, batch_size)

    monkeypatch.setattr(mod, "_embed_into", embed_into)
    settings = index.IndexSettings(sources=[str(src)], index_dir=str(tmp_path / "idx"))
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset this process's peak RSS (VmHWM)
    base = _status("VmRSS:")
    report = index.build(settings=settings)
    growth = _status("VmHWM:") - base
    print(f"\n50 MB file: {report.chunks} chunks, peak RSS growth {growth / 2**20:.0f} MB "
          f"({growth / size:.1f}x the file), {len(fast_embedder.calls)} embedding calls, {report.seconds:.0f}s")
    assert not report.skipped and report.chunks > 100_000
    assert max(sizes) <= 2 * mod.WINDOW_CHARS and len(sizes) >= 40  # never the whole file at once
    assert max(fast_embedder.calls) <= max(settings.batch_size * 8, 64) and len(fast_embedder.calls) > 100
    assert sum(adds) == report.chunks
    # Linear in the file with a small factor. Measured (50 MB, 143k chunks): chunks and vectors
    # ~3x the file before the index is written, the BM25 build ~9x at its peak (18 M word and bigram tokens as int32 ids, a
    # 570k-entry vocabulary, then bm25s's score arrays for 12.8 M postings), ~16-17x in all. A build
    # that held the text, the token strings or the vectors several times over would exceed it.
    assert growth < 20 * size, f"peak RSS grew by {growth / 2**20:.0f} MB for a {size / 2**20:.0f} MB file"
    idx = index.load(settings)
    hit = idx.lexical("lighthouse keeper Ingrid Solberg Hestskjaer", 1)[0][0]
    assert NEEDLE in hit.text
    with open(src / "big.txt", encoding="utf-8") as f:
        full = f.read()
    assert full[hit.start : hit.end] == hit.text
    del full


def test_file_over_limit_is_skipped_without_reading(tmp_path, monkeypatch, fast_embedder):
    mod = build_module()
    monkeypatch.setattr(mod, "STREAM_BYTES", 10_000)
    src = tmp_path / "src"
    src.mkdir()
    write_big_text(src / "big.txt", 60_000)
    (src / "small.txt").write_text("Small files are still indexed when a big one is refused.", encoding="utf-8")
    settings = index.IndexSettings(sources=[str(src)], index_dir=str(tmp_path / "idx"), max_file_bytes=50_000)
    report = index.build(settings=settings)
    assert [(Path(s.source).name, "larger than" in s.reason) for s in report.skipped] == [("big.txt", True)]
    assert [Path(s).name for s in index.load(settings).sources] == ["small.txt"]
