"""Milvus full-text search (its BM25 function) against the product's bm25s index, on a question set.

For an existing index (``--index``: a generation folder or an index folder with ``current``) and a
SQuAD-style question set with gold spans, it loads the chunk texts into a Milvus Lite collection with
a BM25 function, then measures, per question with a gold span:

- lexical hit@k (k = 1, 5, 20): a top-k chunk overlaps a gold span, bm25s vs Milvus BM25;
- hybrid passage hit@5: the product's retrieval (dense + lexical fused, widened) with bm25s, and
  with Milvus BM25 in place of it;
- the median lexical query time (noisy on a shared machine).

    python -m scripts.bench.milvus_bm25 --index ~/.cache/ragqa/eval/<hash>/index \\
        --questions ../shared/eval/covidqa/covidqa_200423.json [--limit N] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

K_LEXICAL = (1, 5, 20)


def _milvus_bm25(chunks, tmp: Path):
    """A Milvus Lite collection of the chunk texts with a BM25 function; returns ``search(query, k) -> ids, scores``."""
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    client = MilvusClient(uri=str(tmp / "bm25.db"))
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("text", DataType.VARCHAR, max_length=65535, enable_analyzer=True)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"],
                                 output_field_names=["sparse"]))
    params = client.prepare_index_params()
    params.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    client.create_collection("chunks", schema=schema, index_params=params)
    for i in range(0, len(chunks), 1000):
        client.insert("chunks", [{"id": c.id, "text": c.text} for c in chunks[i : i + 1000]])
    client.flush("chunks")
    client.load_collection("chunks")

    def search(query: str, k: int) -> tuple[list[int], list[float]]:
        res = client.search("chunks", data=[query], anns_field="sparse", limit=k, search_params={"metric_type": "BM25"},
                            output_fields=["id"])
        return [int(h["id"]) for h in res[0]], [float(h["distance"]) for h in res[0]]

    return search


def _overlaps(source: str, start: int, end: int, golds) -> bool:
    stem = Path(source).stem
    return any(g.source == stem and start < g.end and g.start < end for g in golds)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--index", required=True)
    p.add_argument("--questions", required=True)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--json", dest="json_out")
    args = p.parse_args(argv)

    from index.embed import get_embedder
    from index.layout import current_generation
    from index.reader import Index
    from qa.config import RetrievalSettings
    from qa.evaluate.questions import load_questions
    from qa.retrieve import retrieve

    root = Path(args.index).expanduser()
    gen = current_generation(root) or root
    with tempfile.TemporaryDirectory() as tmp:
        qset = load_questions(args.questions, cache_dir=Path(tmp) / "contexts")
        questions = [q for q in qset.questions if q.gold][: args.limit]
        idx = Index(gen)
        t0 = time.perf_counter()
        milvus_search = _milvus_bm25(idx.chunks, Path(tmp))
        load_s = time.perf_counter() - t0
        by_id = idx.by_id
        embedder = get_embedder(idx.manifest.embedder_name)
        settings = RetrievalSettings()
        hits = {name: {k: 0 for k in K_LEXICAL} for name in ("bm25s", "milvus")}
        hybrid = {"bm25s": 0, "milvus": 0}
        times: dict[str, list[float]] = {"bm25s": [], "milvus": []}
        bm25s_lexical = idx.lexical

        def milvus_lexical(query: str, k: int):
            ids, scores = milvus_search(query, k)
            return [(idx.chunks[by_id[i]], s) for i, s in zip(ids, scores)]

        for q in questions:
            vec = embedder.encode([q.question])[0]  # once for both lexical sides
            for name, lexical in (("bm25s", bm25s_lexical), ("milvus", milvus_lexical)):
                t = time.perf_counter()
                found = lexical(q.question, max(K_LEXICAL))
                times[name].append(time.perf_counter() - t)
                for k in K_LEXICAL:
                    hits[name][k] += any(_overlaps(c.source, c.start, c.end, q.gold) for c, _ in found[:k])
                idx.lexical = lexical  # the product's hybrid retrieval with this lexical side
                passages = retrieve(idx, embedder, q.question, 5, settings, query_vector=vec)
                hybrid[name] += any(_overlaps(ps.source, ps.start, ps.end, q.gold) for ps in passages)
            idx.lexical = bm25s_lexical
        n = len(questions)
        result = {
            "questions": n, "chunks": len(idx.chunks), "milvus_load_s": round(load_s, 1),
            "lexical_hit": {name: {f"@{k}": round(v / n, 3) for k, v in h.items()} for name, h in hits.items()},
            "hybrid_passage_hit@5": {name: round(v / n, 3) for name, v in hybrid.items()},
            "lexical_median_ms": {name: round(1000 * statistics.median(t), 2) for name, t in times.items()},
            "fusion": settings.fusion,
        }
    print(json.dumps(result, indent=1))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
