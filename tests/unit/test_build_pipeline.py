"""The build's speed-ups keep its output: pysbd's sentences found again exactly as pysbd finds them, and files
read and chunked in a worker thread, one ahead of the embedding, with each file's failure still its own."""

from __future__ import annotations

import importlib
import random
import threading
from pathlib import Path

import numpy as np
import pytest

import index
from index.chunk import _PYSBD_MODULES, _PYSBD_OWN, _CachedRe, _locate, _segmenter, _sentences, chunk_document
from index.sources import read_document

build_module = importlib.import_module("index.build")
SEEDS = Path(__file__).resolve().parents[2] / "seeds"

WORDS = ["Dr.", "dr.", "DR.", "a.", "A.", "no.", "No. 5", "p.", "pp.", "vs.", "et al.", "Fig.", "fig. 2", "St.",
         "Mr.", "Jan.", "approx.", "i.e.", "ı.", "ſt.", "Kg.", "U.S.", "e.g.", "1.", "2.5", "(a)", "a)", '"', "'", "“", "”", "?", "!", "...", ". . .", "…", "Hello",
         "world", "It", "is", "aa.", "(", ")", "'s", "``", "∯", "ȸ", "&ᓴ&", "i.", "ii.", "•", "-", "1)", "A.", ".", "?!",
         "“Hi.”", "'Yes!'", "(see Fig. 1.)", '"Why?" he asked.', "\u00a0", "\t", "\n", "\r", "  "]


def test_sentences_are_pysbds():
    """Random texts of abbreviations, quotes, lists and odd whitespace, including ones where pysbd alters a
    sentence and drops it: the same strings as ``Segmenter.segment``."""
    rng = random.Random(1)
    dropped = 0
    for _ in range(3000):
        text = "".join(rng.choice(WORDS) + rng.choice(["", " ", "\n", "  "]) for _ in range(rng.randint(1, 30)))
        assert _sentences(text) == _segmenter().segment(text), text
        dropped += len(_sentences(text)) < len(_segmenter().processor(text).process())
    assert dropped > 100  # the cases where pysbd's search finds nothing were exercised
    assert _sentences("") == _segmenter().segment("") == []


def test_pysbd_with_cached_patterns_is_pysbd(monkeypatch):
    """pysbd's processing with its patterns' compiling cached, and abbreviations that cannot apply skipped, gives
    what pysbd gives on its own."""
    import re

    from pysbd.abbreviation_replacer import AbbreviationReplacer

    rng = random.Random(3)
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    ascii_words = [w for w in WORDS if w.isascii()]  # pysbd's abbreviations are skipped by another test then
    for words in (WORDS, ascii_words):
        texts += ["".join(rng.choice(words) + rng.choice(["", " ", "\n"]) for _ in range(rng.randint(1, 40)))
                  for _ in range(500)]
    assert sum(t.isascii() for t in texts) > 400
    cached = [_segmenter().processor(t).process() for t in texts]
    assert isinstance(importlib.import_module("pysbd.abbreviation_replacer").re, _CachedRe)
    for name in _PYSBD_MODULES:
        monkeypatch.setattr(importlib.import_module(f"pysbd.{name}"), "re", re)
    monkeypatch.setattr(AbbreviationReplacer, "search_for_abbreviations_in_string", _PYSBD_OWN["search"])
    assert [_segmenter().processor(t).process() for t in texts] == cached
    assert _CachedRe.compile.cache_info().hits > 0


def test_locate_is_pysbds_search():
    """Any sentences, even empty, overlapping or absent ones, in any text: the same as pysbd's regex search."""
    rng = random.Random(2)
    alphabet = ["a", "b", " ", "\n", "\u00a0", "\u2028", "\x1c", ".", "(", "*"]
    segmenter = _segmenter().__class__(language="en", clean=False)  # its own: the search reads original_text

    def piece(most: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, most)))

    for _ in range(20000):
        text, sentences = piece(12), [piece(3) for _ in range(rng.randint(0, 5))]
        segmenter.original_text = text
        assert _locate(text, sentences) == [s.sent for s in segmenter.sentences_with_char_spans(sentences)]


class Embedder:
    """Word-count tokens and constant vectors; ``fail`` names texts whose embedding raises."""

    name, dim, max_tokens = "fake", 8, 256

    def __init__(self, fail: str | None = None):
        self.fail = fail
        self.threads: set[str] = set()

    @property
    def id(self) -> str:
        return f"{self.name}:{self.dim}:{self.max_tokens}"

    def count_tokens(self, texts):
        self.threads.add(threading.current_thread().name)
        return [len(t.split()) for t in texts]

    def encode(self, texts, batch_size: int = 32, progress: bool = False):
        if self.fail and any(self.fail in t for t in texts):
            raise RuntimeError("embedding failed")
        return np.full((len(texts), self.dim), 1 / np.sqrt(self.dim), dtype=np.float32)


def _corpus(tmp_path, n: int = 12):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(n):
        sentences = [f"File {i} sentence {k} says the otters number {i * 100 + k}." for k in range(40)]
        (src / f"f{i:02d}.txt").write_text("\n\n".join(" ".join(sentences[k : k + 4]) for k in range(0, 40, 4)),
                                           encoding="utf-8")
    return src


def _build(tmp_path, monkeypatch, embedder: Embedder, chunk=None):
    monkeypatch.setattr(build_module, "get_embedder", lambda name="x": embedder)
    if chunk is not None:
        monkeypatch.setattr(build_module, "chunk_document", chunk)
    settings = index.IndexSettings(sources=[str(tmp_path / "src")], index_dir=str(tmp_path / "idx"))
    settings.chunk.max_tokens = 40
    return settings, index.build(settings=settings)


def test_chunks_are_those_of_each_file_in_order(tmp_path, monkeypatch):
    src = _corpus(tmp_path)
    embedder = Embedder()
    settings, report = _build(tmp_path, monkeypatch, embedder)
    assert "ragqa-chunking" in embedder.threads  # chunked in the worker thread
    got = [(c.source, c.start, c.end, c.text) for c in index.load(settings).chunks]
    want = []
    for f in sorted(src.iterdir()):
        doc = read_document(str(f), 1 << 20)
        want += [(c.source, c.start, c.end, c.text) for c in chunk_document(doc, settings.chunk, embedder.count_tokens)]
    assert got == want and report.chunks == len(want) > 3 * 12


@pytest.mark.parametrize("stage", ["chunking", "embedding"])
def test_a_failure_skips_only_its_file(tmp_path, monkeypatch, stage):
    """A file that fails in the worker (reading, chunking) or here (embedding) is skipped; the files after it
    get their own chunks."""
    _corpus(tmp_path)
    real = build_module.chunk_document

    def chunk(doc, *a, **k):
        if doc.source.endswith("f05.txt"):
            raise RuntimeError("chunking failed")
        return real(doc, *a, **k)

    embedder = Embedder(fail="File 5 " if stage == "embedding" else None)
    settings, report = _build(tmp_path, monkeypatch, embedder, chunk if stage == "chunking" else None)
    assert [(s.source.rsplit("/", 1)[-1], s.reason) for s in report.skipped] == [
        ("f05.txt", f"could not be indexed (RuntimeError: {stage} failed)")]
    idx = index.load(settings)
    assert len(idx.sources) == 11
    for c in idx.chunks:
        assert f"File {int(c.source[-6:-4])} " in c.text and open(c.source).read()[c.start : c.end] == c.text


def test_ahead_keeps_order_passes_errors_and_stops_its_worker():
    assert list(build_module._ahead(iter(range(50)))) == list(range(50))

    def failing():
        yield 1
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        list(build_module._ahead(failing()))

    made = []

    def endless():
        while True:
            made.append(len(made))
            yield made[-1]

    stream = build_module._ahead(endless())
    assert [next(stream) for _ in range(3)] == [0, 1, 2]
    stream.close()  # the worker stops, at most a couple of items ahead
    assert not any(t.name == "ragqa-chunking" for t in threading.enumerate())
    assert len(made) <= 6
