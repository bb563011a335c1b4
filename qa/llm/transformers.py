"""transformers backend: any local causal-LM directory, or the packaged GGUF dequantised.

Much slower on a CPU than llama.cpp (~2.7 tok/s for the 1.5B model here); useful for models
llama.cpp cannot run and for comparing outputs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

from .base import LLM, Message


class TransformersLLM(LLM):
    name = "transformers"

    def __init__(self, model: str, n_ctx: int = 4096, threads: int = 2):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.set_num_threads(threads)
        path = Path(model)
        kwargs: dict = {"local_files_only": True}
        if path.is_file() and path.suffix == ".gguf":
            kwargs["gguf_file"] = path.name
            model = str(path.parent)
        self.tokenizer = AutoTokenizer.from_pretrained(model, **kwargs)
        self.model = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32, **kwargs)
        self.model.eval()
        self.n_ctx = n_ctx
        self._lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def stream(self, messages: list[Message], max_tokens: int, temperature: float = 0.0) -> Iterator[str]:
        import torch
        from transformers import TextIteratorStreamer

        inputs = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        gen_kwargs = dict(**inputs, max_new_tokens=max_tokens, streamer=streamer,
                          do_sample=temperature > 0, pad_token_id=self.tokenizer.eos_token_id)
        if temperature > 0:
            gen_kwargs["temperature"] = temperature
        with self._lock:
            errors: list[BaseException] = []

            def run() -> None:
                try:
                    with torch.inference_mode():
                        self.model.generate(**gen_kwargs)
                except BaseException as exc:  # surfaced in the caller's thread
                    errors.append(exc)
                    streamer.end()

            worker = threading.Thread(target=run, daemon=True)
            worker.start()
            for text in streamer:
                if text:
                    yield text
            worker.join()
            if errors:
                raise errors[0]
