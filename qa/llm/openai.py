"""OpenAI-compatible backend: chat completions from a model server, through the ``openai`` client, streamed.

Works with any server speaking the OpenAI chat-completions API: vLLM, llama.cpp's ``llama-server``
or ``python -m llama_cpp.server``, Ollama (``/v1``), TGI, or OpenAI itself. ``base_url`` is the API
root including ``/v1`` (``http://127.0.0.1:8000/v1``); ``model`` is the served model name (None: the
first one the server lists at ``/models``). The API key, when the server wants one, is read from
the environment (``RAGQA_LLM_API_KEY``, else ``OPENAI_API_KEY``), never from a file; without one no
``Authorization`` header is sent.

The ``openai`` client does the HTTP: server-sent events, and retries (``retries`` of them, after
connection errors, timeouts before the reply starts, HTTP 408, 409, 429 and 5xx) with exponential
backoff from 0.5 s, capped at 8 s, or the wait ``Retry-After`` asks for (up to 2 minutes; longer
is not retried). Once the reply has started streaming an error is raised, not retried. The
client's errors become :class:`LLMServerError`, one line naming the server's URL.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager

from index.openai_errors import reason as _reason
from index.openai_errors import status_message as _status_message

from .base import LLM, Message

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
#: Environment variables tried, in order, for the API key.
API_KEY_ENVS = ("RAGQA_LLM_API_KEY", "OPENAI_API_KEY")
#: Alternatives asked for at the judge's one-token reply (20 is the most the OpenAI API allows).
TOP_LOGPROBS = 20


class LLMServerError(RuntimeError):
    """The model server is down, refused the request or broke off the reply."""


def api_key(env_name: str | None = None) -> str | None:
    """The API key from ``env_name`` (when given), else ``RAGQA_LLM_API_KEY``, else ``OPENAI_API_KEY``."""
    for name in ((env_name,) if env_name else ()) + API_KEY_ENVS:
        value = os.environ.get(name)
        if value:
            return value
    return None


class OpenAILLM(LLM):
    """A chat model behind an OpenAI-compatible HTTP server."""

    name = "openai"

    def __init__(self, base_url: str | None = None, model: str | None = None, *, api_key: str | None = None,
                 timeout: float = 60.0, retries: int = 3, n_ctx: int = 4096, extra_body: dict | None = None):
        """``timeout``: seconds to connect (at most 10) and to wait for each piece of the reply;
        ``retries``: attempts after the first; ``extra_body``: fields added to each request."""
        from openai import OpenAI, Timeout, omit

        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._model = model
        self.n_ctx = n_ctx
        self.retries = max(0, retries)
        self.timeout = timeout
        self.extra_body = dict(extra_body or {})
        self._logprobs = True  # cleared once the server ignores or refuses logprobs
        # the client insists on a key: a keyless server gets a placeholder, and requests leave out the header
        self._headers = None if api_key else {"Authorization": omit}
        self.client = OpenAI(base_url=self.base_url, api_key=api_key or "none", max_retries=self.retries,
                             timeout=Timeout(timeout, connect=min(timeout, 10.0)))

    @contextmanager
    def _errors(self):
        """Turn the client's errors before a reply into :class:`LLMServerError`."""
        import openai

        attempts = f"after {self.retries + 1} attempt(s)"
        try:
            yield
        except openai.APITimeoutError as exc:
            raise LLMServerError(f"the model server at {self.base_url} did not answer within {self.timeout:g} s "
                                 f"({_reason(exc)}) {attempts}; check it or raise RAGQA_LLM_TIMEOUT") from exc
        except openai.APIConnectionError as exc:
            raise LLMServerError(
                f"the model server at {self.base_url} is not reachable ({_reason(exc)}) {attempts}; "
                "start it or set RAGQA_LLM_BASE_URL") from exc
        except openai.APIStatusError as exc:
            raise LLMServerError(f"the model server at {exc.request.url} answered HTTP {exc.status_code}: "
                                 f"{_status_message(exc)}") from exc

    @property
    def model(self) -> str:
        """The model name sent with each request (asked of the server when not configured)."""
        if self._model is None:
            with self._errors():
                models = [m.id for m in self.client.models.list(extra_headers=self._headers).data if getattr(m, "id", None)]
            if not models:
                raise LLMServerError(f"the model server at {self.base_url} lists no models; set RAGQA_MODEL")
            self._model = models[0]
        return self._model

    def _create(self, messages: list[Message], max_tokens: int, temperature: float, **kwargs):
        with self._errors():
            return self.client.chat.completions.create(model=self.model, messages=messages, max_tokens=max_tokens,
                                                       temperature=temperature, extra_body=self.extra_body or None,
                                                       extra_headers=self._headers, **kwargs)

    # -- the interface ---------------------------------------------------------------------
    def stream(self, messages: list[Message], max_tokens: int, temperature: float = 0.0) -> Iterator[str]:
        import openai

        chunks = self._create(messages, max_tokens, temperature, stream=True)
        try:
            with chunks:
                for chunk in chunks:
                    delta = chunk.choices[0].delta if chunk.choices else None
                    text = getattr(delta, "content", None)
                    if text:
                        yield text
        except (openai.OpenAIError, ValueError) as exc:  # broken connection, error event, unreadable event
            raise LLMServerError(f"the model server at {self.base_url} broke off the reply ({_reason(exc)})") from exc

    def count_tokens(self, text: str) -> int:
        """An upper estimate (the API has no tokenizer): a token per 3 UTF-8 bytes, about 1 per CJK character."""
        return math.ceil(len(text.encode("utf-8")) / 3)

    def yes_probability(self, messages: list[Message]) -> float | None:
        """Share of "Yes" against "No" among the top log-probabilities of a one-token reply.

        A side missing from the top :data:`TOP_LOGPROBS` counts at the lowest one listed (an upper bound
        on it). None when neither word is listed, and always once the server has ignored or refused
        (HTTP 400/422) ``logprobs``: the pipeline then skips the model judge, as for a greedy backend.
        """
        import openai

        if not self._logprobs:
            return None
        try:
            reply = self._create(messages, 1, 0.0, logprobs=True, top_logprobs=TOP_LOGPROBS)
        except LLMServerError as exc:
            if isinstance(exc.__cause__, openai.BadRequestError | openai.UnprocessableEntityError):
                self._logprobs = False
                return None
            raise
        logprobs = reply.choices[0].logprobs if reply.choices else None
        if logprobs is None:  # the server ignores the option: stop asking
            self._logprobs = False
            return None
        try:
            scores = {t.token: t.logprob for t in logprobs.content[0].top_logprobs}
        except (AttributeError, IndexError, TypeError):
            scores = {}
        yes = [p for t, p in scores.items() if t.strip().lower() == "yes"]
        no = [p for t, p in scores.items() if t.strip().lower() == "no"]
        if not yes and not no:
            return None
        floor = min(scores.values())
        return 1.0 / (1.0 + math.exp(max(no, default=floor) - max(yes, default=floor)))

    def close(self) -> None:
        """Close the HTTP connections."""
        self.client.close()
