"""A generation cache around any backend: the same request answers from disk the second time.

Used by ``ragqa eval --generation-cache FILE``: an evaluation can then be run again after a
change to retrieval-independent stages (verification, metrics) without regenerating what the
model already wrote for identical prompts. Requests are keyed by the SHA-256 of the backend's
name, model, messages, ``max_tokens`` and ``temperature``; only greedy requests (temperature 0)
are cached, since only they are reproducible. Latencies measured on cache hits are not the
model's: the evaluation says how many hits it had.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from .base import LLM, Message


class CachingLLM(LLM):
    """``inner`` with its greedy completions stored in an SQLite file."""

    def __init__(self, inner: LLM, path: str | Path):
        self.inner = inner
        self.name = inner.name
        self.n_ctx = inner.n_ctx
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS completions (key TEXT PRIMARY KEY, text TEXT NOT NULL)")
        self._db.commit()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def _key(self, messages: list[Message], max_tokens: int, temperature: float) -> str:
        model = getattr(self.inner, "model_path", None) or getattr(self.inner, "_model", None) or ""
        blob = json.dumps([self.inner.name, str(model), messages, max_tokens, temperature], ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def stream(self, messages: list[Message], max_tokens: int, temperature: float = 0.0) -> Iterator[str]:
        if temperature != 0:
            yield from self.inner.stream(messages, max_tokens, temperature)
            return
        key = self._key(messages, max_tokens, temperature)
        with self._lock:
            row = self._db.execute("SELECT text FROM completions WHERE key = ?", (key,)).fetchone()
        if row is not None:
            self.hits += 1
            yield row[0]
            return
        self.misses += 1
        parts: list[str] = []
        for delta in self.inner.stream(messages, max_tokens, temperature):
            parts.append(delta)
            yield delta
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO completions (key, text) VALUES (?, ?)", (key, "".join(parts)))
            self._db.commit()

    def yes_probability(self, messages: list[Message]) -> float | None:
        key = "yes:" + self._key(messages, 1, 0.0)
        with self._lock:
            row = self._db.execute("SELECT text FROM completions WHERE key = ?", (key,)).fetchone()
        if row is not None:
            self.hits += 1
            return float(row[0])
        self.misses += 1
        p = self.inner.yes_probability(messages)
        if p is None:
            return None
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO completions (key, text) VALUES (?, ?)", (key, repr(p)))
            self._db.commit()
        return p

    def close(self) -> None:
        with self._lock:
            self._db.close()
