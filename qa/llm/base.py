"""The generation backend interface: stream a chat completion as text deltas."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

Message = dict  # {"role": "system" | "user" | "assistant", "content": str}


class LLM(ABC):
    """A chat model. Implementations: :mod:`.llama_cpp` (default), :mod:`.transformers`."""

    name: str = "llm"
    n_ctx: int = 4096

    @abstractmethod
    def stream(self, messages: list[Message], max_tokens: int, temperature: float = 0.0) -> Iterator[str]:
        """Yield the reply to ``messages`` piece by piece."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Number of model tokens in ``text``."""

    def complete(self, messages: list[Message], max_tokens: int, temperature: float = 0.0) -> str:
        """The whole reply at once."""
        return "".join(self.stream(messages, max_tokens, temperature))
