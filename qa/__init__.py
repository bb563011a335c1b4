"""Question → answer, with every claim cited to the passage it came from.

>>> import qa
>>> a = qa.answer("Who founded the search engine Sogou?")
>>> a.text, a.citations[0].source, a.refused

``answer``, ``stream`` and ``retrieve`` use one process-wide :class:`Pipeline` built from
:class:`Config` defaults (environment variables included); ``configure`` replaces it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import index as _index  # noqa: F401  (sets the offline environment first)

from .config import Config, LLMSettings, RetrievalSettings
from .events import Event, Retrieved, Token, Translating, Verified
from .export import ExportFormat, export
from .pipeline import Pipeline
from .scope import SourceNotFoundError
from .types import Answer, Citation, Passage, Sentence

__all__ = [
    "answer", "stream", "retrieve", "configure", "pipeline", "reload",
    "Answer", "Citation", "Passage", "Sentence", "Config", "LLMSettings", "RetrievalSettings", "Pipeline",
    "SourceNotFoundError", "export", "ExportFormat", "Event", "Retrieved", "Token", "Translating", "Verified",
]

_default: Pipeline | None = None
_lock = threading.Lock()


def pipeline() -> Pipeline:
    """The process-wide pipeline (created on first use)."""
    global _default
    with _lock:
        if _default is None:
            _default = Pipeline(Config())
        return _default


def configure(config: Config | None = None) -> Pipeline:
    """Replace the process-wide pipeline with one built from ``config``."""
    global _default
    with _lock:
        _default = Pipeline(config or Config())
        return _default


def reload() -> None:
    """Re-open the index on the next question (after an external rebuild)."""
    pipeline().reload()


def answer(question: str, *, top_k: int = 5, history: list[tuple[str, str]] | None = None,
           sources: Sequence[str] | None = None) -> Answer:
    """Answer ``question`` from the indexed sources with verified citations.

    ``history`` is the conversation so far as (question, answer) pairs: a follow-up is
    rewritten into a standalone question before retrieval. ``sources`` limits the answer to
    some sources: file names, glob patterns (``"*.pdf"``) or folders. Raises ``ValueError`` for
    an empty question, :class:`SourceNotFoundError` (a ValueError) when a ``sources`` pattern
    matches no indexed source, and ``index.IndexNotFoundError`` when no index was built.
    """
    return pipeline().answer(question, top_k=top_k, history=history, sources=sources)


def stream(question: str, *, top_k: int = 5, history: list[tuple[str, str]] | None = None,
           sources: Sequence[str] | None = None) -> Iterator[Event]:
    """Like :func:`answer`, as typed events: :class:`Retrieved` (the passages, before the model reads them),
    :class:`Token` (each piece of the model's unverified text), then :class:`Verified` (the Answer)."""
    return pipeline().stream(question, top_k=top_k, history=history, sources=sources)


def retrieve(question: str, top_k: int = 5, sources: Sequence[str] | None = None) -> list[Passage]:
    """The ``top_k`` passages for ``question`` (hybrid dense + BM25), only from ``sources`` when given."""
    return pipeline().retrieve(question, top_k, sources=sources)
