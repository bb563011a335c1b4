"""llama.cpp backend (llama-cpp-python): the default, ~30 tok/s for the 1.5B model on 2 cores.

llama-cpp-python keeps the evaluated tokens of the previous call and reuses their KV cache
for a shared prefix, so the fixed system prompt is processed once, not per question. :meth:`prime`
goes one step further for a new process: the system prompt's KV state is saved once to the cache
folder and restored by every later process, so a cold ``ragqa ask`` does not read it again.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from .base import LLM, Message


class LlamaCppLLM(LLM):
    name = "llama_cpp"

    def __init__(self, model_path: str, n_ctx: int = 4096, threads: int = 2):
        from llama_cpp import Llama

        self.model_path = model_path
        self.n_ctx = n_ctx
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

    def prime(self, system: str, state_dir: str | Path | None = None) -> bool:
        """Put the KV state of ``system`` (the fixed system prompt) in the model's cache.

        Restored from ``state_dir`` when an earlier process saved it for this model file, context size
        and prompt (a few MB; loading takes milliseconds where reading the prompt takes a second or
        more), else evaluated now and saved there. Returns True when it was restored. Answers are the
        same either way: the next prompt shares the prefix and only its own tokens are evaluated.
        """
        import numpy as np
        from llama_cpp import LlamaState, __version__

        messages = [{"role": "system", "content": system}, {"role": "user", "content": "."}]
        st = os.stat(self.model_path)
        key = hashlib.sha256(json.dumps([__version__, os.path.abspath(self.model_path), st.st_size, st.st_mtime_ns,
                                         self.n_ctx, system]).encode()).hexdigest()[:16]
        path = Path(state_dir) / f"prompt-state-{key}.npz" if state_dir else None
        with self._lock:
            if path is not None and path.is_file():
                try:
                    with np.load(path) as saved:
                        ids, data = saved["input_ids"], saved["state"].tobytes()
                    full = np.zeros_like(self.llm.input_ids)  # load_state takes the whole n_ctx array
                    full[: len(ids)] = ids
                    self.llm.load_state(LlamaState(
                        input_ids=full, scores=np.zeros((len(ids), self.llm.n_vocab()), dtype=np.single),
                        n_tokens=len(ids), llama_state=data, llama_state_size=len(data), seed=self.llm._seed))
                    return True
                except Exception:  # noqa: BLE001  truncated, unreadable or refused by llama.cpp: read the prompt again
                    path.unlink(missing_ok=True)
                    self.llm.reset()
            self.llm.create_chat_completion(messages=messages, max_tokens=1, temperature=0.0, top_k=1)
            if path is None:
                return False
            state = self.llm.save_state()
            n = state.n_tokens
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            with open(tmp, "wb") as f:
                np.savez(f, input_ids=state.input_ids[:n],
                         state=np.frombuffer(state.llama_state, dtype=np.uint8))
            os.replace(tmp, path)
        return False

    def _first_tokens(self, words: tuple[str, ...]) -> list[int]:
        return sorted({self.llm.tokenize(w.encode("utf-8"), add_bos=False, special=False)[0] for w in words})

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def stream(self, messages: list[Message], max_tokens: int, temperature: float = 0.0) -> Iterator[str]:
        # one generation at a time: the model and its KV cache are shared
        with self._lock:
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

        One forward pass over the part of the prompt not already in the KV cache (the system
        prompt is shared with answering), read through a logits processor.
        """
        import numpy as np
        from llama_cpp import LogitsProcessorList

        seen: dict[str, np.ndarray] = {}

        def grab(_ids, scores):
            seen.setdefault("scores", np.array(scores, dtype=np.float64))
            return scores

        with self._lock:
            self.llm.create_chat_completion(messages=messages, max_tokens=1, temperature=0.0, top_k=1,
                                            logits_processor=LogitsProcessorList([grab]))
        scores = seen.get("scores")
        if scores is None:
            return 0.0
        yes, no = scores[self._yes].max(), scores[self._no].max()
        return float(1.0 / (1.0 + np.exp(no - yes)))
