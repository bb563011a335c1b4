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

    def yes_probability(self, messages: list[Message]) -> float | None:
        """How sure the model is that the answer to ``messages`` (a yes/no question) is yes, in [0, 1].

        Backends that see the next-token distribution return the softmax share of "Yes" against "No";
        this default returns None (not available), and the pipeline then skips the model judge: a greedy
        one-word reply would turn a calibrated threshold into a coin at 0.5.
        """
        return None
