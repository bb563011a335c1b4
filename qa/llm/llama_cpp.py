"""llama.cpp backend (llama-cpp-python): the default, ~30 tok/s for the 1.5B model on 2 cores.

llama-cpp-python keeps the evaluated tokens of the previous call and reuses their KV cache
for a shared prefix, so the fixed system prompt is processed once, not per question. Two steps
go further. Every system prompt's KV state is held in memory once it has been read (the answering
one, the judge's, the follow-up condenser's), and restored in milliseconds when a call switches
to it, where reading it again would take a second. And :meth:`prime` saves a system prompt's state
to the cache folder, so that a new process (a cold ``ragqa ask``) restores it instead of reading it.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

from .base import LLM, Message

#: System prompts whose KV state is held (the 1.5B model's: 4.9 MB for the answering prompt, 1.2–1.8 MB for the
#: shorter ones, as saved to the cache folder on 2026-12-02):
#: the product uses four (answering, judge, follow-up condenser, translator).
HELD_PROMPTS = 4


class LlamaCppLLM(LLM):
    name = "llama_cpp"

    def __init__(self, model_path: str, n_ctx: int = 4096, threads: int = 2, state_dir: str | Path | None = None):
        """``state_dir``: where system prompts' KV states are saved for later processes (None: kept in memory only)."""
        from llama_cpp import Llama

        self.model_path = model_path
        self.n_ctx = n_ctx
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.llm = Llama(
            model_path=model_path,
            n_ctx=n_ctx,
            n_threads=threads,
            n_threads_batch=threads,
            n_batch=512,
            verbose=False,
        )
        self._lock = threading.Lock()
        self._yes = self._first_tokens(("Yes", "yes", " Yes"))
        self._no = self._first_tokens(("No", "no", " No"))
        self._held: OrderedDict[str, object] = OrderedDict()  # system prompt -> its LlamaState, most recent last
        # the system prompt at the head of the KV cache after the last call: only a hint, since llama-cpp-python's
        # own prefix match keeps replies right whatever the cache holds (``self.llm`` used directly, say)
        self._head: str | None = None

    def prime(self, system: str) -> bool:
        """Put the KV state of ``system`` (a fixed system prompt) in the model's cache, and hold it.

        Restored from ``state_dir`` (given at construction) when an earlier process saved it
        for this model file, context size and prompt (a few MB; loading takes milliseconds where reading the
        prompt takes a second or more), else evaluated now and saved there. Returns True when it was restored.
        Answers are the same either way: the next prompt shares the prefix and only its own tokens are evaluated.
        """
        with self._lock:
            return self._prime(system)

    def _prime(self, system: str) -> bool:
        import numpy as np
        from llama_cpp import LlamaState, __version__

        messages = [{"role": "system", "content": system}, {"role": "user", "content": "."}]
        st = os.stat(self.model_path)
        key = hashlib.sha256(json.dumps([__version__, os.path.abspath(self.model_path), st.st_size, st.st_mtime_ns,
                                         self.n_ctx, system]).encode()).hexdigest()[:16]
        path = self.state_dir / f"prompt-state-{key}.npz" if self.state_dir is not None else None
        if path is not None and path.is_file():
            try:
                with np.load(path) as saved:
                    ids, data = saved["input_ids"], saved["state"].tobytes()
                full = np.zeros_like(self.llm.input_ids)  # load_state takes the whole n_ctx array
                full[: len(ids)] = ids
                state = LlamaState(input_ids=full, scores=self._no_scores(), n_tokens=len(ids), llama_state=data,
                                   llama_state_size=len(data), seed=self.llm._seed)
                self.llm.load_state(state)
                self._hold(system, state)
                return True
            except Exception:  # noqa: BLE001  truncated, unreadable or refused by llama.cpp: read the prompt again
                path.unlink(missing_ok=True)
                self.llm.reset()
        self.llm.create_chat_completion(messages=messages, max_tokens=1, temperature=0.0, top_k=1)
        state = self.llm.save_state()
        state.scores = self._no_scores()  # save_state copies the whole logits buffer (~300 MB); none is needed
        self._hold(system, state)
        if path is not None:
            n = state.n_tokens
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(tmp, "wb") as f:
                    np.savez(f, input_ids=state.input_ids[:n], state=np.frombuffer(state.llama_state, dtype=np.uint8))
                os.replace(tmp, path)
            except OSError:  # a read-only or full cache folder: this process still holds the state
                with suppress(OSError):
                    tmp.unlink()
        return False

    def _no_scores(self):
        """The logits a held state carries: one row of zeros, which ``load_state`` spreads over its tokens.
        Nothing reads them: a restored prefix is always followed by new tokens, whose decoding writes fresh
        logits (and llama-cpp-python decodes again even for an exactly cached prompt after a restore)."""
        import numpy as np

        return np.zeros((1, self.llm.n_vocab()), dtype=np.single)

    def _hold(self, system: str, state) -> None:
        self._held[system] = state
        self._held.move_to_end(system)
        while len(self._held) > HELD_PROMPTS:
            self._held.popitem(last=False)
        self._head = system

    def _enter(self, messages: list[Message]) -> None:
        """Before a call (lock held): the KV state of its system prompt at the head of the cache. A system prompt
        met for the first time is read once and held; switching back to a held one restores it."""
        system = messages[0]["content"] if messages and messages[0].get("role") == "system" else None
        if system is not None and system != self._head:
            state = self._held.get(system)
            if state is None:
                self._prime(system)
            else:
                self.llm.load_state(state)
                self._held.move_to_end(system)
        self._head = system

    def _first_tokens(self, words: tuple[str, ...]) -> list[int]:
        return sorted({self.llm.tokenize(w.encode("utf-8"), add_bos=False, special=False)[0] for w in words})

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def stream(self, messages: list[Message], max_tokens: int, temperature: float = 0.0) -> Iterator[str]:
        # one generation at a time: the model and its KV cache are shared
        with self._lock:
            self._enter(messages)
            for part in self.llm.create_chat_completion(
                messages=messages,
                max_tokens=max_tokens,
                temperature=temperature,
                top_k=1 if temperature == 0 else 40,
                repeat_penalty=1.05,
                stream=True,
            ):
                delta = part["choices"][0].get("delta", {}).get("content")
                if delta:
                    yield delta

    def yes_probability(self, messages: list[Message]) -> float:
        """Softmax share of the "Yes" tokens against the "No" tokens at the reply's first position.

        One forward pass over the part of the prompt after its system prompt (held, see :meth:`_enter`),
        read through a logits processor.
        """
        import numpy as np
        from llama_cpp import LogitsProcessorList

        seen: dict[str, np.ndarray] = {}

        def grab(_ids, scores):
            seen.setdefault("scores", np.array(scores, dtype=np.float64))
            return scores

        with self._lock:
            self._enter(messages)
            self.llm.create_chat_completion(messages=messages, max_tokens=1, temperature=0.0, top_k=1,
                                            logits_processor=LogitsProcessorList([grab]))
        scores = seen.get("scores")
        if scores is None:
            return 0.0
        yes, no = scores[self._yes].max(), scores[self._no].max()
        return float(1.0 / (1.0 + np.exp(no - yes)))
