"""OpenAI-compatible backend: chat completions over HTTP from a model server, streamed (server-sent events).

Works with any server speaking the OpenAI chat-completions API: vLLM, llama.cpp's ``llama-server``
or ``python -m llama_cpp.server``, Ollama (``/v1``), TGI, or OpenAI itself. ``base_url`` is the API
root including ``/v1`` (``http://127.0.0.1:8000/v1``); ``model`` is the served model name (None: the
first one the server lists at ``/models``). The API key, when the server wants one, is read from
the environment (``RAGQA_LLM_API_KEY``, else ``OPENAI_API_KEY``), never from a file.

Connection errors, timeouts before the reply starts, HTTP 5xx and 429 are retried with exponential
backoff (``Retry-After`` honoured); once text has been streamed an error is raised, not retried.
When the server cannot be reached, :class:`LLMServerError` names the URL.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator

from .base import LLM, Message

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
#: Environment variables tried, in order, for the API key.
API_KEY_ENVS = ("RAGQA_LLM_API_KEY", "OPENAI_API_KEY")
#: Longest wait between two attempts (seconds).
MAX_DELAY = 8.0
RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class LLMServerError(RuntimeError):
    """The model server is down, refused the request or broke off the reply."""


def backoff_delays(retries: int, base: float = 0.5, cap: float = MAX_DELAY) -> list[float]:
    """Seconds to wait before each retry: ``base``, ``2*base``, ``4*base``… capped at ``cap``."""
    return [min(cap, base * 2**i) for i in range(max(0, retries))]


def retry_after(value: str | None, cap: float = MAX_DELAY) -> float | None:
    """The wait a ``Retry-After`` header asks for (seconds form only), capped; None when absent or unreadable."""
    try:
        return min(cap, max(0.0, float(value))) if value else None
    except ValueError:
        return None


def sse_data(lines: Iterable[str]) -> Iterator[str]:
    """The ``data`` payloads of a server-sent-event stream, one per event, until ``[DONE]``.

    Lines of one event are joined with newlines; comments (``:``) and other fields are skipped.
    """
    data: list[str] = []
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data:
                payload = "\n".join(data)
                data = []
                if payload.strip() == "[DONE]":
                    return
                yield payload
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data and "\n".join(data).strip() != "[DONE]":
        yield "\n".join(data)


def chunk_text(payload: str) -> str:
    """The text delta of one streamed chat-completion chunk (``""`` when it carries none)."""
    try:
        chunk = json.loads(payload)
    except ValueError as exc:
        raise LLMServerError(f"the model server sent an unreadable event: {payload[:200]!r}") from exc
    if not isinstance(chunk, dict):
        return ""
    if chunk.get("error"):
        error = chunk["error"]
        message = error.get("message", error) if isinstance(error, dict) else error
        raise LLMServerError(f"the model server failed while answering: {message}")
    choices = chunk.get("choices") or []
    if not choices:
        return ""
    delta = choices[0].get("delta") or {}
    return delta.get("content") or ""


def api_key(env_name: str | None = None) -> str | None:
    """The API key from ``env_name`` (when given), else ``RAGQA_LLM_API_KEY``, else ``OPENAI_API_KEY``."""
    for name in ((env_name,) if env_name else ()) + API_KEY_ENVS:
        value = os.environ.get(name)
        if value:
            return value
    return None


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


class OpenAILLM(LLM):
    """A chat model behind an OpenAI-compatible HTTP server."""

    name = "openai"

    def __init__(self, base_url: str | None = None, model: str | None = None, *, api_key: str | None = None,
                 timeout: float = 60.0, retries: int = 3, backoff: float = 0.5, n_ctx: int = 4096,
                 extra_body: dict | None = None, transport=None, sleep: Callable[[float], None] = time.sleep):
        import httpx

        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._model = model
        self.n_ctx = n_ctx
        self.retries = max(0, retries)
        self.backoff = backoff
        self.extra_body = dict(extra_body or {})
        self._sleep = sleep
        headers = {"Accept": "text/event-stream"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self.client = httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)), headers=headers,
                                   transport=transport)

    # -- requests with retries -------------------------------------------------------------
    def _send(self, method: str, path: str, **kwargs):
        """Send a request, retrying what may pass; the open (streamed) response on success."""
        import httpx

        url = f"{self.base_url}{path}"
        delays = backoff_delays(self.retries, self.backoff)
        attempt = 0
        while True:
            wait = None
            try:
                request = self.client.build_request(method, url, **kwargs)
                response = self.client.send(request, stream=True)
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                if attempt >= len(delays):
                    raise LLMServerError(
                        f"the model server at {self.base_url} is not reachable ({_reason(exc)}) after "
                        f"{attempt + 1} attempt(s); start it or set RAGQA_LLM_BASE_URL") from exc
            else:
                if response.status_code < 400:
                    return response
                body = response.read().decode("utf-8", "replace")
                response.close()
                if response.status_code not in RETRY_STATUS or attempt >= len(delays):
                    raise LLMServerError(f"the model server at {url} answered HTTP {response.status_code}: "
                                         f"{_error_message(body)}")
                wait = retry_after(response.headers.get("Retry-After"))
            self._sleep(delays[attempt] if wait is None else wait)
            attempt += 1

    @property
    def model(self) -> str:
        """The model name sent with each request (asked of the server when not configured)."""
        if self._model is None:
            response = self._send("GET", "/models")
            try:
                data = json.loads(response.read())
            finally:
                response.close()
            models = [m.get("id") for m in data.get("data", []) if isinstance(m, dict) and m.get("id")]
            if not models:
                raise LLMServerError(f"the model server at {self.base_url} lists no models; set RAGQA_MODEL")
            self._model = models[0]
        return self._model

    # -- the interface ---------------------------------------------------------------------
    def stream(self, messages: list[Message], max_tokens: int, temperature: float = 0.0) -> Iterator[str]:
        import httpx

        payload = {**self.extra_body, "model": self.model, "messages": messages, "max_tokens": max_tokens,
                   "temperature": temperature, "stream": True}
        response = self._send("POST", "/chat/completions", json=payload)
        try:
            for data in sse_data(response.iter_lines()):
                text = chunk_text(data)
                if text:
                    yield text
        except httpx.HTTPError as exc:
            raise LLMServerError(f"the model server at {self.base_url} broke off the reply ({_reason(exc)})") from exc
        finally:
            response.close()

    def count_tokens(self, text: str) -> int:
        """An upper estimate (the API has no tokenizer): a token per 3 UTF-8 bytes, about 1 per CJK character."""
        return math.ceil(len(text.encode("utf-8")) / 3)

    def close(self) -> None:
        """Close the HTTP connections."""
        self.client.close()


def _error_message(body: str) -> str:
    try:
        data = json.loads(body)
        error = data.get("error", data) if isinstance(data, dict) else data
        message = error.get("message", error) if isinstance(error, dict) else error
        return " ".join(str(message).split())[:300]
    except ValueError:
        return " ".join(body.split())[:300] or "(no body)"
