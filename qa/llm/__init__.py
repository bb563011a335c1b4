"""Generation backends behind one small interface (:class:`~qa.llm.base.LLM`)."""

from __future__ import annotations

from ..config import LLMSettings
from .base import LLM, Message

__all__ = ["LLM", "Message", "load_llm", "BACKENDS"]

BACKENDS = ("llama_cpp", "transformers", "openai")


def load_llm(settings: LLMSettings) -> LLM:
    """Create the backend named by ``settings.backend`` (a local model file is verified first)."""
    from pathlib import Path

    from ..models import ModelFileError, packaged_gguf

    if settings.backend == "openai":  # the model runs on a server: ``settings.model`` is its name there
        from .openai import OpenAILLM, api_key

        return OpenAILLM(settings.base_url, settings.model, api_key=api_key(settings.api_key_env),
                         timeout=settings.timeout, retries=settings.retries, n_ctx=settings.n_ctx,
                         extra_body=settings.extra_body)
    model = settings.model
    if model is None:
        model = str(packaged_gguf(settings.cache_dir))
    elif not Path(model).exists():
        raise ModelFileError(f"model {model} does not exist")
    if settings.backend == "llama_cpp":
        from ..prompt import SYSTEM
        from .llama_cpp import LlamaCppLLM

        llm = LlamaCppLLM(model, n_ctx=settings.n_ctx, threads=settings.threads,
                          state_dir=Path(settings.cache_dir) / "models")
        llm.prime(SYSTEM)
        return llm
    if settings.backend == "transformers":
        from .transformers import TransformersLLM

        return TransformersLLM(model, n_ctx=settings.n_ctx, threads=settings.threads)
    raise ValueError(f"unknown LLM backend {settings.backend!r}; choose one of {', '.join(BACKENDS)}")
