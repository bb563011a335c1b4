"""One settings object for the whole product, with defaults and environment overrides.

Environment variables: ``RAGQA_SOURCES`` (paths joined by ``:``), ``RAGQA_INDEX_DIR``,
``RAGQA_LLM`` (``llama_cpp`` | ``transformers``), ``RAGQA_MODEL`` (a GGUF file or a model
directory; default: the packaged Qwen2.5-Coder-1.5B-Instruct GGUF), ``RAGQA_CTX``,
``RAGQA_THREADS``, ``RAGQA_MAX_TOKENS``, ``RAGQA_TOP_K``, ``RAGQA_CACHE_DIR``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from index.settings import IndexSettings


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    try:
        return int(value) if value else default
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {value!r}") from exc


def _cache_dir() -> str:
    return os.environ.get("RAGQA_CACHE_DIR") or str(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ragqa")


@dataclass
class LLMSettings:
    backend: str = field(default_factory=lambda: os.environ.get("RAGQA_LLM", "llama_cpp"))
    model: str | None = field(default_factory=lambda: os.environ.get("RAGQA_MODEL") or None)
    """A GGUF path (llama_cpp) or model directory (transformers); None: the packaged model."""
    n_ctx: int = field(default_factory=lambda: _env_int("RAGQA_CTX", 4096))
    threads: int = field(default_factory=lambda: _env_int("RAGQA_THREADS", os.cpu_count() or 2))
    max_tokens: int = field(default_factory=lambda: _env_int("RAGQA_MAX_TOKENS", 160))
    temperature: float = 0.0
    cache_dir: str = field(default_factory=_cache_dir)
    base_url: str | None = field(default_factory=lambda: os.environ.get("RAGQA_LLM_BASE_URL") or None)


@dataclass
class RetrievalSettings:
    top_k: int = field(default_factory=lambda: _env_int("RAGQA_TOP_K", 5))
    candidates: int = 50
    """How many hits each retriever contributes before fusion."""
    rrf_k: int = 60
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    context_tokens: int = field(default_factory=lambda: _env_int("RAGQA_CONTEXT_TOKENS", 300))
    """Budget of passage sentences sent to the model (embedder tokens, roughly the model's too)."""


@dataclass
class Config:
    index: IndexSettings = field(default_factory=IndexSettings)
    llm: LLMSettings = field(default_factory=LLMSettings)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
