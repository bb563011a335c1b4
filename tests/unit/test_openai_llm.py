"""The OpenAI-compatible backend (the ``openai`` client) against a scripted stub server on 127.0.0.1.

The stub answers each request with the next scripted reply (the last one repeats) and records what
it was sent: streaming, headers, ``extra_body``, retries and ``Retry-After``, errors naming the URL,
a reply broken off mid-stream (not retried), model discovery and the judge's log-probabilities.
"""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from qa.config import LLMSettings
from qa.llm import load_llm
from qa.llm.openai import TOP_LOGPROBS, LLMServerError, OpenAILLM, api_key
from tests.servers import free_port


def sse(*texts: str, done: bool = True) -> bytes:
    events = [f"data: {json.dumps({'object': 'chat.completion.chunk', 'choices': [{'index': 0, 'delta': {'content': t}}]})}\n\n"
              for t in texts]
    return ("".join(events) + ("data: [DONE]\n\n" if done else "")).encode()


@dataclass
class Reply:
    status: int = 200
    body: bytes | dict = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    cut: bool = False  # announce more body than is sent, then drop the connection


class Stub:
    """A scripted OpenAI-compatible server; ``requests`` holds (method, path, headers, JSON body) of each."""

    def __init__(self, *replies: Reply):
        self.replies = list(replies)
        self.requests: list[tuple[str, str, dict, dict | None]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                stub.requests.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                reply = stub.replies[min(len(stub.requests), len(stub.replies)) - 1]
                time.sleep(reply.delay)
                data = json.dumps(reply.body).encode() if isinstance(reply.body, dict) else reply.body
                kind = "application/json" if isinstance(reply.body, dict) else "text/event-stream"
                self.send_response(reply.status)
                self.send_header("Content-Type", kind)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data) + (1000 if reply.cut else 0)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                    self.wfile.flush()
                except OSError:  # the client gave up waiting
                    return
                if reply.cut:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)

            do_GET = do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def serve():
    stubs: list[Stub] = []

    def start(*replies: Reply) -> Stub:
        stubs.append(Stub(*replies))
        return stubs[-1]

    yield start
    for stub in stubs:
        stub.close()




QUICK = {"retry-after-ms": "1"}  # the client's own header: retry at once, to count attempts without waiting


# -- requests -----------------------------------------------------------------------------------
def test_streams_deltas_with_payload_headers_and_extra_body(serve):
    stub = serve(Reply(body=sse("The ", "answer [1].")))
    model = OpenAILLM(stub.url, "m", api_key="sk-test", extra_body={"top_k": 1})
    assert list(model.stream([{"role": "user", "content": "q"}], max_tokens=7)) == ["The ", "answer [1]."]
    [(method, path, headers, body)] = stub.requests
    assert (method, path) == ("POST", "/v1/chat/completions")
    assert headers["authorization"] == "Bearer sk-test"
    assert body["stream"] is True and body["max_tokens"] == 7 and body["temperature"] == 0.0
    assert body["model"] == "m" and body["top_k"] == 1 and body["messages"] == [{"role": "user", "content": "q"}]


def test_no_key_sends_no_authorization_header(serve, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    stub = serve(Reply(body=sse("ok")))
    assert OpenAILLM(stub.url, "m").complete([], 5) == "ok"
    assert "authorization" not in stub.requests[0][2]


def test_retries_5xx_and_429_then_succeeds(serve):
    stub = serve(Reply(503, b"busy", QUICK), Reply(429, {"error": {"message": "slow down"}}, QUICK),
                 Reply(502, b"", QUICK), Reply(body=sse("ok")))
    assert OpenAILLM(stub.url, "m", retries=3).complete([], 5) == "ok"
    assert len(stub.requests) == 4


def test_retry_after_is_honoured(serve):
    stub = serve(Reply(429, {"error": {"message": "slow down"}}, {"Retry-After": "1"}), Reply(body=sse("ok")))
    start = time.monotonic()
    assert OpenAILLM(stub.url, "m", retries=1).complete([], 5) == "ok"
    assert time.monotonic() - start >= 1.0 and len(stub.requests) == 2


def test_gives_up_after_the_retries_naming_the_url(serve):
    stub = serve(Reply(500, {"error": {"message": "model crashed"}}, QUICK))
    with pytest.raises(LLMServerError, match="HTTP 500: model crashed") as info:
        OpenAILLM(stub.url, "m", retries=2).complete([], 5)
    assert len(stub.requests) == 3 and f"{stub.url}/chat/completions" in str(info.value)


def test_client_errors_are_not_retried(serve):
    stub = serve(Reply(404, {"error": {"message": "model 'x' not found"}}))
    with pytest.raises(LLMServerError, match="HTTP 404: model 'x' not found") as info:
        OpenAILLM(stub.url, "x", retries=3).complete([], 5)
    assert len(stub.requests) == 1 and stub.url in str(info.value)


def test_unreachable_server_names_the_url_after_retries():
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    with pytest.raises(LLMServerError) as info:
        OpenAILLM(url, "m", retries=1).complete([], 5)
    message = str(info.value)
    assert url in message and "not reachable" in message and "2 attempt" in message and "\n" not in message


def test_timeout_before_the_reply_is_an_error(serve):
    stub = serve(Reply(body=sse("late"), delay=1.5))
    with pytest.raises(LLMServerError, match=r"did not answer within 0.3 s \(ReadTimeout.* after 1 attempt") as info:
        OpenAILLM(stub.url, "m", timeout=0.3, retries=0).complete([], 5)
    assert len(stub.requests) == 1 and stub.url in str(info.value)


def test_failure_mid_stream_is_raised_not_retried(serve):
    stub = serve(Reply(body=sse("partial ", done=False), cut=True), Reply(body=sse("again")))
    got = []
    with pytest.raises(LLMServerError, match="broke off the reply") as info:
        for piece in OpenAILLM(stub.url, "m", retries=3).stream([], 5):
            got.append(piece)
    assert got == ["partial "] and len(stub.requests) == 1 and stub.url in str(info.value)


def test_error_event_in_the_stream_is_raised(serve):
    stub = serve(Reply(body=sse("partial ", done=False) + b'data: {"error": {"message": "boom"}}\n\n'))
    got = []
    with pytest.raises(LLMServerError, match="boom"):
        for piece in OpenAILLM(stub.url, "m").stream([], 5):
            got.append(piece)
    assert got == ["partial "]


def test_model_is_discovered_from_the_server(serve):
    stub = serve(Reply(body={"object": "list", "data": [{"id": "qwen-1.5b", "object": "model"}, {"id": "other"}]}),
                 Reply(body=sse("x")))
    model = OpenAILLM(stub.url, None)
    assert model.complete([], 3) == "x" and model.model == "qwen-1.5b"
    assert [r[:2] for r in stub.requests] == [("GET", "/v1/models"), ("POST", "/v1/chat/completions")]
    assert stub.requests[1][3]["model"] == "qwen-1.5b"


# -- the judge's yes/no probability -------------------------------------------------------------
def one_token_reply(top: dict[str, float] | None) -> dict:
    logprobs = None
    if top is not None:
        first = next(iter(top))
        logprobs = {"content": [{"token": first, "logprob": top[first], "bytes": None, "top_logprobs": [
            {"token": t, "logprob": p, "bytes": None} for t, p in top.items()]}]}
    return {"id": "c", "object": "chat.completion", "created": 0, "model": "m", "choices": [
        {"index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": "Yes"}, "logprobs": logprobs}]}


def test_yes_probability_from_top_logprobs(serve):
    stub = serve(Reply(body=one_token_reply({"Yes": -0.1, " yes": -1.0, "No": -2.5, "Maybe": -4.0})),
                 Reply(body=one_token_reply({"Yes": -0.1, "Sure": -3.0})))
    model = OpenAILLM(stub.url, "m", extra_body={"top_k": 1})
    assert model.yes_probability([{"role": "user", "content": "q?"}]) == pytest.approx(1 / (1 + math.exp(-2.5 + 0.1)))
    body = stub.requests[0][3]
    assert body["logprobs"] is True and body["top_logprobs"] == TOP_LOGPROBS and body["max_tokens"] == 1
    assert body["temperature"] == 0.0 and body["top_k"] == 1 and not body.get("stream")
    # "No" not among the top: it counts at the lowest listed
    assert model.yes_probability([]) == pytest.approx(1 / (1 + math.exp(-3.0 + 0.1)))


def test_yes_probability_none_when_the_server_gives_no_logprobs(serve):
    stub = serve(Reply(body=one_token_reply(None)))
    model = OpenAILLM(stub.url, "m")
    assert model.yes_probability([]) is None and model.yes_probability([]) is None
    assert len(stub.requests) == 1  # not asked again


def test_yes_probability_none_when_the_server_refuses_logprobs(serve):
    stub = serve(Reply(400, {"error": {"message": "logprobs are not supported"}}))
    model = OpenAILLM(stub.url, "m")
    assert model.yes_probability([]) is None and model.yes_probability([]) is None
    assert len(stub.requests) == 1


def test_yes_probability_none_when_neither_word_is_listed(serve):
    stub = serve(Reply(body=one_token_reply({"The": -0.2, "It": -1.0})))
    assert OpenAILLM(stub.url, "m").yes_probability([]) is None


def test_yes_probability_raises_when_the_server_is_down():
    with pytest.raises(LLMServerError, match="not reachable"):
        OpenAILLM(f"http://127.0.0.1:{free_port()}/v1", "m", retries=0).yes_probability([])


# -- configuration ------------------------------------------------------------------------------
def test_count_tokens_is_an_upper_estimate():
    model = OpenAILLM("http://127.0.0.1:9/v1", "m")
    assert model.count_tokens("abcdef") == 2
    assert model.count_tokens("百度") == 2  # 6 UTF-8 bytes
    assert model.count_tokens("") == 0


def test_api_key_from_environment(monkeypatch):
    monkeypatch.delenv("RAGQA_LLM_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert api_key() is None
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    assert api_key() == "sk-openai"
    monkeypatch.setenv("RAGQA_LLM_API_KEY", "sk-ragqa")
    assert api_key() == "sk-ragqa"
    monkeypatch.setenv("MY_KEY", "sk-mine")
    assert api_key("MY_KEY") == "sk-mine"


def test_load_llm_openai_from_settings(monkeypatch):
    monkeypatch.setenv("RAGQA_LLM", "openai")
    monkeypatch.setenv("RAGQA_LLM_BASE_URL", "http://gpu-box:8000/v1/")
    monkeypatch.setenv("RAGQA_MODEL", "Qwen/Qwen2.5-1.5B-Instruct")
    monkeypatch.setenv("RAGQA_LLM_TIMEOUT", "12.5")
    monkeypatch.setenv("RAGQA_LLM_RETRIES", "5")
    monkeypatch.setenv("RAGQA_LLM_EXTRA_BODY", '{"top_k": 1}')
    model = load_llm(LLMSettings())
    assert isinstance(model, OpenAILLM)
    assert model.base_url == "http://gpu-box:8000/v1" and model.model == "Qwen/Qwen2.5-1.5B-Instruct"
    assert model.retries == 5 and model.client.max_retries == 5 and model.extra_body == {"top_k": 1}
    assert model.client.timeout.read == 12.5 and model.client.timeout.connect == 10.0
    assert str(model.client.base_url).rstrip("/") == "http://gpu-box:8000/v1"
    monkeypatch.setenv("RAGQA_LLM_EXTRA_BODY", "[1]")
    with pytest.raises(ValueError, match="JSON object"):
        LLMSettings()
