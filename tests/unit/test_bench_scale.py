"""Smoke test of scripts/bench_scale --quick: it runs, and the product's pick is right for each size."""

from __future__ import annotations

import json

import pytest

from scripts.bench import scale_bench


@pytest.mark.slow
def test_bench_scale_quick_runs_and_reports(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RAGQA_HNSW_MIN", "10000")  # small sizes, so that the test stays short
    out = tmp_path / "scale.json"
    assert scale_bench.main(["--quick", "--sizes", "4000,12000", "--ef", "32,96", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    by_n = {r["n"]: r for r in data["results"]}
    assert set(by_n) == {4_000, 12_000}
    assert by_n[4_000]["product"]["index"] == "flat"
    assert by_n[4_000]["product"]["recall@10"] == 1.0
    assert by_n[12_000]["product"]["index"].startswith("hnsw")
    assert by_n[12_000]["product"]["recall@10"] >= 0.95
    assert 1536 <= by_n[4_000]["product"]["bytes_per_chunk"] < by_n[12_000]["product"]["bytes_per_chunk"]
    assert "Dense retrieval" in capsys.readouterr().out


def test_synthetic_vectors_are_unit_and_clustered():
    vecs, queries = scale_bench.synthetic(2_000, 20, seed=1)
    assert vecs.shape == (2_000, scale_bench.DIM) and queries.shape == (20, scale_bench.DIM)
    norms = (vecs**2).sum(axis=1)
    assert abs(norms - 1).max() < 1e-4
    # chunks of one document are far closer to each other than to a random chunk
    same_doc = (vecs[0] @ vecs[1 : scale_bench.CHUNKS_PER_DOC].T).mean()
    other = (vecs[0] @ vecs[1000:1100].T).mean()
    assert same_doc > other + 0.3
