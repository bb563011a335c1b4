"""The chat handlers: stream a question through :meth:`qa.Pipeline.stream` into the chat, keep the conversation.

No retrieval or answering happens here: these functions only feed the pipeline the question,
the conversation so far and the chosen top-k, and render what it yields.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import gradio as gr

from index import IndexCorruptError, IndexNotFoundError
from qa import Answer, Event, Pipeline, Retrieved, Token, Translating, Verified

from . import render
from .gate import BUSY_MESSAGE, Gate, Ticket

log = logging.getLogger("ragqa.ui")

HISTORY_TURNS = 3
"""How many earlier (question, answer) pairs a follow-up is condensed with."""

WAIT_POLL = 1.0
"""Seconds between looks at a waiting question's place in the line (the chat shows it as it moves)."""


@dataclass
class Turn:
    """One exchange of a session's conversation: the question and its verified answer (or a problem)."""

    question: str
    answer: Answer | None = None
    error: str | None = None


def _history(turns: list[Turn]) -> list[tuple[str, str]]:
    return [(t.question, t.answer.text) for t in turns if t.answer is not None][-HISTORY_TURNS:]


def _text_of(pipeline: Pipeline):
    def text_of(source: str) -> str:
        return pipeline.index.text_of(source)

    return text_of


def _problem(exc: Exception) -> str:
    """A one-line message for what went wrong while answering."""
    if isinstance(exc, ValueError | TypeError):
        return str(exc)
    if isinstance(exc, IndexNotFoundError | IndexCorruptError):
        return str(exc)
    log.exception("answering failed")
    return f"Something went wrong while answering ({type(exc).__name__}: {exc}). The server is still running; try again."


def _scope(sources: list[str] | str | None) -> list[str] | None:
    """The sources a question is limited to (names, globs, folders, paths), or None for all of them."""
    if isinstance(sources, str):
        sources = [sources]
    chosen = [s for s in (sources or []) if isinstance(s, str) and s.strip()]
    return chosen or None


def ask(pipeline: Pipeline, question: str, turns: list[Turn], top_k: int | None = None,
        sources: list[str] | None = None) -> Iterator[Event]:
    """Run one question through the pipeline with the conversation so far, answered only from ``sources``
    (None or empty: all): the pipeline's events (passages, text pieces, the verified Answer)."""
    history = _history(turns)
    return pipeline.stream(question, top_k=top_k, history=history or None, sources=_scope(sources))


def _enter(gate: Gate | None, message: str) -> tuple[bool, Ticket | None]:
    """Take a place in the model's line: (admitted, ticket). Without a gate, or for a question with nothing to
    ask (the pipeline refuses it at once), no place is needed: (True, None)."""
    if gate is None or not any(ch.isalnum() for ch in message):
        return True, None
    ticket = gate.enter()
    return ticket is not None, ticket


def render_turns(turns: list[Turn], pipeline: Pipeline, show_scores: bool) -> list[dict]:
    """The whole conversation as chat messages (used when the display settings change)."""
    text_of = _text_of(pipeline)
    messages: list[dict] = []
    for t in turns:
        messages.append({"role": "user", "content": render.user_message(t.question)})
        if t.answer is not None:
            content = render.answer_message(t.answer, show_scores=show_scores, text_of=text_of)
        else:
            content = render.error_message(t.error or "no answer")
        messages.append({"role": "assistant", "content": content})
    return messages


def respond(pipeline: Pipeline, message: str, chat: list[dict] | None, turns: list[Turn] | None, top_k: float,
            show_scores: bool, sources: list[str] | None = None,
            gate: Gate | None = None) -> Iterator[tuple[list[dict], list[Turn], str]]:
    """The chat's submit handler: yields (chat messages, conversation, cleared input) as the answer streams.

    ``sources`` is the "Answer from" selection (source paths; empty: all sources). With a ``gate``, the
    question first takes its place in the model's line (the chat shows how many are ahead of it); when the
    line is full it gets :data:`ui.gate.BUSY_MESSAGE` at once and stays in the input box, to ask again.
    """
    message = message or ""
    chat = list(chat or [])
    turns = list(turns or [])
    chat.append({"role": "user", "content": render.user_message(message)})
    admitted, ticket = _enter(gate, message)
    if not admitted:
        turns.append(Turn(message, error=BUSY_MESSAGE))
        chat.append({"role": "assistant", "content": render.busy_message(BUSY_MESSAGE)})
        yield list(chat), turns, message
        return
    try:
        yield from _respond(pipeline, message, chat, turns, top_k, show_scores, sources, gate, ticket)
    finally:
        if ticket is not None:
            gate.leave(ticket)


def _respond(pipeline: Pipeline, message: str, chat: list[dict], turns: list[Turn], top_k: float, show_scores: bool,
             sources: list[str] | None, gate: Gate | None,
             ticket: Ticket | None) -> Iterator[tuple[list[dict], list[Turn], str]]:
    ahead = gate.ahead(ticket) if ticket is not None else 0
    chat.append({"role": "assistant",
                 "content": render.waiting_message(ahead) if ahead else render.streaming_message("")})
    yield list(chat), turns, ""
    while ahead:
        now = gate.wait(ticket, WAIT_POLL)
        if now != ahead:
            ahead = now
            chat[-1] = {"role": "assistant",
                        "content": render.waiting_message(ahead) if ahead else render.streaming_message("")}
        yield list(chat), turns, ""  # also while nothing moved: Gradio stops a handler whose client has gone
    raw = ""
    passages: list = []
    answer: Answer | None = None
    try:
        for event in ask(pipeline, message, turns, int(top_k), sources):
            if isinstance(event, Verified):
                answer = event.answer
            elif isinstance(event, Retrieved):
                passages = event.passages
                chat[-1] = {"role": "assistant", "content": render.streaming_message(raw, passages)}
                yield list(chat), turns, ""
            elif isinstance(event, Translating):  # verified; being translated into the question's language
                chat[-1] = {"role": "assistant", "content": render.translating_message(event.answer, event.language)}
                yield list(chat), turns, ""
            else:
                raw += event.text
                chat[-1] = {"role": "assistant", "content": render.streaming_message(raw, passages)}
                yield list(chat), turns, ""
    except Exception as exc:  # every problem becomes a message in the chat, never a dead session
        problem = _problem(exc)
        turns.append(Turn(message, error=problem))
        chat[-1] = {"role": "assistant", "content": render.error_message(problem)}
        yield list(chat), turns, ""
        return
    assert answer is not None
    turns.append(Turn(message, answer))
    chat[-1] = {"role": "assistant",
                "content": render.answer_message(answer, show_scores=bool(show_scores), text_of=_text_of(pipeline))}
    yield list(chat), turns, ""


def api_chat(pipeline: Pipeline, message: str, turns: list[Turn] | None, sources: list[str] | None = None,
             gate: Gate | None = None) -> Iterator[tuple[str, list[Turn]]]:
    """The ``/chat`` API endpoint: streams the model's text, then returns the verified answer with its citations.

    ``sources`` (names, glob patterns, folders or paths of indexed sources; empty: all) limits where the
    answer may come from; a pattern that matches nothing is an error. The conversation is kept per
    client session, so follow-up questions work through the API too. With a ``gate``, the question waits
    for its turn at the model; when the line is full it is refused at once with :data:`ui.gate.BUSY_MESSAGE`
    (an error: ``gradio_client`` raises ``AppError`` with that message).
    """
    turns = list(turns or [])
    admitted, ticket = _enter(gate, message or "")
    if not admitted:
        raise gr.Error(BUSY_MESSAGE, title="Busy", print_exception=False)
    try:
        while ticket is not None and gate.wait(ticket, WAIT_POLL):
            pass
        yield from _api_answer(pipeline, message, turns, sources)
    finally:
        if ticket is not None:
            gate.leave(ticket)


def _api_answer(pipeline: Pipeline, message: str, turns: list[Turn],
                sources: list[str] | None) -> Iterator[tuple[str, list[Turn]]]:
    raw = ""
    try:
        for event in ask(pipeline, message or "", turns, sources=sources):
            if isinstance(event, Verified):
                turns.append(Turn(message, event.answer))
                yield render.answer_text(event.answer), turns
                return
            if isinstance(event, Token):
                raw += event.text
                yield raw, turns
    except Exception as exc:
        # the error dialog renders HTML: the message is escaped so nothing in it can become markup (as text, not
        # in an attribute: quotes stay readable for API clients, "no indexed source matches 'x.pdf'")
        raise gr.Error(html.escape(_problem(exc), quote=False), print_exception=False) from exc
