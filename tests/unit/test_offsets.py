"""Every chunk is an exact slice of its source file, for any chunker settings (property)."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.chunk import chunk_document
from index.embed import get_embedder
from index.settings import ChunkSettings
from index.sources import read_document

SEEDS = sorted((Path(__file__).resolve().parents[2] / "seeds").glob("*.txt"))


@pytest.fixture(scope="module")
def counter():
    return get_embedder().count_tokens


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.name)
def test_default_chunks_round_trip_and_fit_the_window(path, counter):
    doc = read_document(str(path))
    chunks = chunk_document(doc, ChunkSettings(), counter)
    assert chunks, "a seed produced no chunks"
    raw = open(path, encoding="utf-8").read()
    for c in chunks:
        assert raw[c.start : c.end] == c.text
        assert c.text == c.text.strip() and c.text
    # every chunk fits the embedder's 256-token window with room for the special tokens
    assert max(counter([c.text for c in chunks])) <= 254


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    max_tokens=st.integers(min_value=16, max_value=254),
    overlap=st.integers(min_value=0, max_value=120),
    clean=st.booleans(),
    which=st.integers(min_value=0, max_value=len(SEEDS) - 1),
)
def test_offsets_round_trip_for_any_settings(max_tokens, overlap, clean, which, counter):
    path = SEEDS[which]
    doc = read_document(str(path))
    cfg = ChunkSettings(max_tokens=max_tokens, overlap_tokens=min(overlap, max_tokens // 2), clean=clean)
    chunks = chunk_document(doc, cfg, counter)
    raw = open(path, encoding="utf-8").read()
    assert chunks
    for c in chunks:
        assert raw[c.start : c.end] == c.text
    # chunks move forward and stay within the window (one word may exceed a tiny window)
    starts = [c.start for c in chunks]
    assert starts == sorted(starts)
    for c, n in zip(chunks, counter([c.text for c in chunks])):
        assert n <= max_tokens or len(c.text.split()) == 1
