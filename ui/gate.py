"""Admission to the model: a bounded line of questions, and a clear "busy" answer beyond it.

The model is one instance per process, so the chat answers ``slots`` questions at a time (one retrieves or
verifies while another generates) and lets up to ``waiting`` more wait their turn, first come first served.
A question that arrives when every place is taken is turned away at once with :data:`BUSY_MESSAGE`: the
chat shows it in place of an answer and the ``/chat`` endpoint raises it as an error, so a client is told
in milliseconds instead of being left hanging behind a line it cannot see the end of.

``waiting`` is ``RAGQA_UI_QUEUE`` (default :data:`DEFAULT_WAITING`), read by ``ragqa ui``
(:func:`waiting_from_env`) and handed to :func:`ui.app.launch`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

BUSY_MESSAGE = "The server is busy answering other questions; try again in a moment."
"""What a question gets when every place in the line is taken (one line, in the chat and over the API)."""

DEFAULT_SLOTS = 2
"""Questions answered at once: the model is one shared instance behind a lock; one question retrieves or
verifies while another generates."""

DEFAULT_WAITING = 16
"""Questions that may wait for the model beyond those being answered (``RAGQA_UI_QUEUE``). One answer takes about
3.2 s on a quiet 2-core machine (total p50 of the seeds dev set, ``scripts/bench_query``), so the last of 2 + 16
waits about a minute there (estimated); on a 2-core machine loaded by other work it waited 7.8 minutes
(``scripts/bench_load``). Past that, a clear "try again in a moment" serves a person better than a spinner.
Raise it on a faster machine."""

ENV_VAR = "RAGQA_UI_QUEUE"


class Ticket:
    """One admitted question's place in the line."""

    __slots__ = ()


class Gate:
    """A first-come-first-served line in front of the model: ``slots`` run, ``waiting`` wait, the rest are busy.

    Thread-safe; Gradio runs each handler in its own worker thread::

        ticket = gate.enter()          # None: busy, say so at once
        try:
            while gate.wait(ticket, 1.0):   # questions still ahead of this one
                ...                         # show the place in the line
            ...                             # answer
        finally:
            gate.leave(ticket)
    """

    def __init__(self, slots: int = DEFAULT_SLOTS, waiting: int = DEFAULT_WAITING):
        if slots < 1 or waiting < 0:
            raise ValueError(f"a gate needs slots >= 1 and waiting >= 0 (got {slots}, {waiting})")
        self.slots = slots
        self.waiting = waiting
        self._cond = threading.Condition()
        self._line: list[Ticket] = []  # admitted questions in arrival order; the first `slots` are being answered
        self.turned_away = 0
        """Questions turned away as busy since the gate was made."""

    @property
    def capacity(self) -> int:
        """Questions admitted at once: being answered plus waiting."""
        return self.slots + self.waiting

    def enter(self) -> Ticket | None:
        """A place in the line, or None when every place is taken (the caller answers :data:`BUSY_MESSAGE`)."""
        with self._cond:
            if len(self._line) >= self.capacity:
                self.turned_away += 1
                return None
            ticket = Ticket()
            self._line.append(ticket)
            return ticket

    def ahead(self, ticket: Ticket) -> int:
        """Questions that must finish before this one may start (0: its turn has come)."""
        with self._cond:
            return self._ahead(ticket)

    def _ahead(self, ticket: Ticket) -> int:
        return max(0, self._line.index(ticket) - self.slots + 1)

    def wait(self, ticket: Ticket, timeout: float | None = None) -> int:
        """Wait up to ``timeout`` seconds for this ticket's turn; the questions still ahead of it (0: go)."""
        with self._cond:
            self._cond.wait_for(lambda: self._ahead(ticket) == 0, timeout)
            return self._ahead(ticket)

    def leave(self, ticket: Ticket) -> None:
        """Give the place back (answered, failed or abandoned); idempotent."""
        with self._cond:
            if ticket in self._line:
                self._line.remove(ticket)
                self._cond.notify_all()

    def load(self) -> dict[str, int]:
        """Now: questions being answered, waiting, and turned away so far."""
        with self._cond:
            inside = len(self._line)
            return {"answering": min(inside, self.slots), "waiting": max(0, inside - self.slots), "turned_away": self.turned_away}


def waiting_from_env(env: Mapping[str, str]) -> int:
    """``RAGQA_UI_QUEUE``: how many questions may wait for the model (a whole number >= 0; default 16).

    ValueError with a one-line reason for anything else.
    """
    raw = (env.get(ENV_VAR) or "").strip()
    if not raw:
        return DEFAULT_WAITING
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(f"{ENV_VAR} must be a whole number >= 0 (questions that may wait for the model), not {raw!r}")
    return value
