"""Embeddings from an OpenAI-compatible ``/v1/embeddings`` server, through the ``openai`` client.

``RAGQA_EMBEDDER=openai:<model>`` (or a bare ``openai``: the first model the server lists) with
``RAGQA_EMBED_BASE_URL`` selects it; the rest of its settings are
:class:`index.settings.EmbedServerSettings`. Any server speaking the OpenAI embeddings API works:
Infinity, Hugging Face TEI, vLLM, Ollama, llama.cpp's server.

- **Identity.** The embedder's id is ``openai:<model>:<dim>:<window>``, recorded in the manifest like any
  embedder's: a different model (or dimension, or window) forces a full rebuild, and questions are
  embedded by the model the index was built with. The base URL is not part of it: moving the server
  rebuilds nothing. Vectors of the same model from a server and in process are the same vectors, but
  switching between them rebuilds all the same (the ids differ), which keeps the rule simple.
- **Tokens.** Chunks are sized in the embedder's tokens, and the API has no tokenizer, so a local one
  counts them: ``RAGQA_EMBED_TOKENIZER`` (default ``minilm``: the packaged all-MiniLM-L6-v2's own, exact
  when that model is served; else a local tokenizer folder of the served model). With another model's
  tokenizer the counts are an approximation, which the default 128-token chunks far inside a 256- or
  512-token window absorb. Texts longer than the window are cut client-side at a token boundary (what
  sentence-transformers does in process, and what TEI or vLLM would otherwise refuse).
- **Requests.** ``batch_size`` texts per request (``IndexSettings.batch_size``, 32: TEI's default
  client batch limit), up to ``RAGQA_EMBED_CONCURRENCY`` requests in flight while indexing; the client
  retries connection errors, timeouts, 408/409/429 and 5xx with backoff (``RAGQA_EMBED_RETRIES``). Vectors
  are L2-normalised here, whatever the server does. Errors become :class:`EmbedServerError`, one line
  naming the server's URL.
"""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np

from .openai_errors import reason as _reason
from .openai_errors import status_message as _status_message
from .settings import EmbedServerSettings

#: Environment variable tried for the API key after ``EmbedServerSettings.api_key_env``.
FALLBACK_KEY_ENV = "OPENAI_API_KEY"
#: Text embedded once when the embedder is made, to learn the vector dimension (and that the server answers).
PROBE = "dimension probe"


class EmbedServerError(RuntimeError):
    """The embedding server is down, refused a request or answered something unusable."""


def load_tokenizer(spec: str):
    """``(tokenizer, window)`` of a packaged embedder's short name or a local tokenizer folder; the window is
    the model's input length in tokens, special tokens included (``max_seq_length``, else the tokenizer's)."""
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    from .embed import resolve_model_path

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    folder = Path(resolve_model_path(spec))
    if not folder.is_dir():
        raise ValueError(f"RAGQA_EMBED_TOKENIZER={spec!r} is neither a packaged embedder (minilm) nor a folder")
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    config = folder / "sentence_bert_config.json"
    window = json.loads(config.read_text()).get("max_seq_length") if config.exists() else None
    if not window:
        window = tokenizer.model_max_length if 0 < tokenizer.model_max_length < 1_000_000 else 512
    return tokenizer, int(window)


class OpenAIEmbedder:
    """Unit vectors from a model behind an OpenAI-compatible embeddings endpoint (the :class:`index.embed.Embedder`
    interface: ``name``, ``id``, ``dim``, ``max_tokens``, ``count_tokens``, ``encode``)."""

    def __init__(self, model: str | None = None, server: EmbedServerSettings | None = None):
        from openai import OpenAI, Timeout, omit

        server = server or EmbedServerSettings()
        self.server = server
        self.base_url = server.base_url.rstrip("/")
        self.retries = max(0, server.retries)
        self.timeout = server.timeout
        self.concurrency = max(1, server.concurrency)
        key = next((os.environ[n] for n in (server.api_key_env, FALLBACK_KEY_ENV) if os.environ.get(n)), None)
        # the client insists on a key: a keyless server gets a placeholder, and requests leave out the header
        self._headers = None if key else {"Authorization": omit}
        self.client = OpenAI(
            base_url=self.base_url,
            api_key=key or "none",
            max_retries=self.retries,
            timeout=Timeout(server.timeout, connect=min(server.timeout, 10.0)),
        )
        self.tokenizer, window = load_tokenizer(server.tokenizer)
        self.max_tokens = server.max_tokens or window
        self._specials = len(self.tokenizer("")["input_ids"])  # [CLS] and [SEP] for BERT-style tokenizers
        self._lock = threading.Lock()  # the fast tokenizer's state is not thread-safe
        self.model = model or self._first_model()
        self.name = f"openai:{self.model}"
        self.dim = 0
        self.dim = int(self._request([PROBE]).shape[1])

    @property
    def id(self) -> str:
        """Identifies the embedder in the manifest (``openai:<model>:<dim>:<window>``; no URL)."""
        return f"{self.name}:{self.dim}:{self.max_tokens}"

    # -- the server ------------------------------------------------------------------------
    @contextmanager
    def _errors(self):
        import openai

        attempts = f"after {self.retries + 1} attempt(s)"
        try:
            yield
        except openai.APITimeoutError as exc:
            raise EmbedServerError(
                f"the embedding server at {self.base_url} did not answer within {self.timeout:g} s ({_reason(exc)}) "
                f"{attempts}; check it or raise RAGQA_EMBED_TIMEOUT"
            ) from exc
        except openai.APIConnectionError as exc:
            raise EmbedServerError(
                f"the embedding server at {self.base_url} is not reachable ({_reason(exc)}) {attempts}; "
                "start it or set RAGQA_EMBED_BASE_URL"
            ) from exc
        except openai.APIStatusError as exc:
            raise EmbedServerError(
                f"the embedding server at {exc.request.url} answered HTTP {exc.status_code}: {_status_message(exc)}"
            ) from exc

    def _first_model(self) -> str:
        with self._errors():
            models = [m.id for m in self.client.models.list(extra_headers=self._headers).data if getattr(m, "id", None)]
        if not models:
            raise EmbedServerError(f"the embedding server at {self.base_url} lists no models; set RAGQA_EMBEDDER=openai:<model>")
        return models[0]

    def _request(self, texts: list[str]) -> np.ndarray:
        """One request: ``(len(texts), dim)`` unit vectors, in the order of ``texts``."""
        with self._errors():
            reply = self.client.embeddings.create(
                model=self.model, input=texts, encoding_format="float", extra_headers=self._headers
            )
        rows = sorted(reply.data or [], key=lambda d: d.index)
        if len(rows) != len(texts):
            raise EmbedServerError(f"the embedding server at {self.base_url} returned {len(rows)} vectors for {len(texts)} texts")
        try:
            vecs = np.asarray([r.embedding for r in rows], dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise EmbedServerError(
                f"the embedding server at {self.base_url} returned vectors that are not lists "
                f"of numbers of one length ({type(exc).__name__}; encoding_format=float)"
            ) from exc
        if vecs.ndim != 2 or (self.dim and vecs.shape[1] != self.dim):
            raise EmbedServerError(
                f"the embedding server at {self.base_url} returned vectors of shape "
                f"{vecs.shape}, expected {self.dim or 'one length'}"
            )
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return np.ascontiguousarray(vecs / np.clip(norms, 1e-12, None), dtype=np.float32)

    # -- the embedder interface ----------------------------------------------------------------
    def count_tokens(self, texts: list[str]) -> list[int]:
        """Token counts of each text by the local tokenizer, without the special tokens."""
        if not texts:
            return []
        with self._lock:
            enc = self.tokenizer(texts, add_special_tokens=False, truncation=False)["input_ids"]
        return [len(ids) for ids in enc]

    def fit(self, texts: list[str]) -> list[str]:
        """``texts`` cut to the model's window at a token boundary (as sentence-transformers truncates in
        process); an empty text becomes one space, which servers accept and which embeds as an empty one."""
        limit = max(1, self.max_tokens - self._specials)
        out = [t if t else " " for t in texts]
        long = [i for i, t in enumerate(out) if len(t) > limit]  # a token covers at least one character
        if long:
            with self._lock:
                enc = self.tokenizer(
                    [out[i] for i in long], add_special_tokens=False, truncation=False, return_offsets_mapping=True
                )
            for i, offsets in zip(long, enc["offset_mapping"]):
                if len(offsets) > limit:
                    out[i] = out[i][: offsets[limit - 1][1]]
        return out

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Embed ``texts`` into an ``(n, dim)`` float32 array of unit vectors: ``batch_size`` texts per request,
        up to ``RAGQA_EMBED_CONCURRENCY`` requests at once."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        texts = self.fit(list(texts))
        size = max(1, batch_size)
        batches = [texts[i : i + size] for i in range(0, len(texts), size)]
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(texts), desc="embedding", unit="text")

        def run(batch: list[str]) -> np.ndarray:
            vecs = self._request(batch)
            if bar is not None:
                bar.update(len(batch))
            return vecs

        try:
            if len(batches) == 1 or self.concurrency == 1:
                parts = [run(b) for b in batches]
            else:
                with ThreadPoolExecutor(max_workers=min(self.concurrency, len(batches))) as pool:
                    parts = list(pool.map(run, batches))
        finally:
            if bar is not None:
                bar.close()
        return np.concatenate(parts, axis=0)

    def close(self) -> None:
        """Close the HTTP connections."""
        self.client.close()


@lru_cache(maxsize=8)
def get_server_embedder(model: str | None, server: EmbedServerSettings) -> OpenAIEmbedder:
    """The process-wide embedder for ``model`` on ``server`` (a new one when the settings change)."""
    return OpenAIEmbedder(model, server)
