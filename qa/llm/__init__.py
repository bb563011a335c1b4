"""Generation backends behind one small interface (:class:`~qa.llm.base.LLM`)."""

from __future__ import annotations

from ..config import LLMSettings
from .base import LLM, Message

__all__ = ["LLM", "Message", "load_llm", "BACKENDS"]

BACKENDS = ("llama_cpp", "transformers")


def load_llm(settings: LLMSettings) -> LLM:
    """Create the backend named by ``settings.backend`` (the model is verified first)."""
    from pathlib import Path

    from ..models import ModelFileError, packaged_gguf

    model = settings.model
    if model is None:
        model = str(packaged_gguf(settings.cache_dir))
    elif not Path(model).exists():
        raise ModelFileError(f"model {model} does not exist")
    if settings.backend == "llama_cpp":
        from .llama_cpp import LlamaCppLLM

        return LlamaCppLLM(model, n_ctx=settings.n_ctx, threads=settings.threads)
    if settings.backend == "transformers":
        from .transformers import TransformersLLM

        return TransformersLLM(model, n_ctx=settings.n_ctx, threads=settings.threads)
    raise ValueError(f"unknown LLM backend {settings.backend!r}; choose one of {', '.join(BACKENDS)}")
