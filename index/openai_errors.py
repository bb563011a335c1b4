"""One-line descriptions of the ``openai`` client's errors, shared by the embeddings server client
(:mod:`index.embed_openai`) and the model server client (:mod:`qa.llm.openai`)."""

from __future__ import annotations


def reason(exc: BaseException) -> str:
    """``Type: message`` of an error, one line; for the client's connection errors, of the I/O error beneath."""
    import openai

    if isinstance(exc, openai.APIConnectionError) and exc.__cause__ is not None:
        exc = exc.__cause__
    text = " ".join(str(getattr(exc, "message", None) or exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def status_message(exc) -> str:
    """The server's own words from an HTTP error (``{"error": {"message": …}}`` or the body's text)."""
    body = exc.body
    message = body.get("message", body) if isinstance(body, dict) else body
    if message is None:
        message = exc.response.text or "(no body)"
    return " ".join(str(message).split())[:300]
