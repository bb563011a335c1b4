"""The OpenAI-compatible backend against a mock HTTP transport: SSE parsing, retries, backoff, errors."""

from __future__ import annotations

import json

import httpx
import pytest

from qa.config import LLMSettings
from qa.llm import load_llm
from qa.llm.openai import LLMServerError, OpenAILLM, api_key, backoff_delays, chunk_text, retry_after, sse_data

URL = "http://model.test:8000/v1"


def sse(*texts: str, done: bool = True) -> bytes:
    events = [f"data: {json.dumps({'choices': [{'index': 0, 'delta': {'content': t}}]})}\n\n" for t in texts]
    return ("".join(events) + ("data: [DONE]\n\n" if done else "")).encode()


def llm(handler, sleeps: list[float] | None = None, **kwargs) -> OpenAILLM:
    record = sleeps if sleeps is not None else []
    return OpenAILLM(URL, kwargs.pop("model", "m"), transport=httpx.MockTransport(handler), sleep=record.append, **kwargs)


# -- SSE ----------------------------------------------------------------------------------------
def test_sse_data_events_comments_multiline_and_done():
    lines = [": keep-alive", "event: message", "data: one", "", "data: two", "data: lines", "", "data: [DONE]", "",
             "data: after"]
    assert list(sse_data(lines)) == ["one", "two\nlines"]


def test_sse_data_without_space_and_crlf_and_unterminated_last_event():
    assert list(sse_data(["data:x\r\n", "\r\n", "data: y"])) == ["x", "y"]


def test_chunk_text_deltas_roles_and_errors():
    assert chunk_text('{"choices":[{"delta":{"content":"Hi"}}]}') == "Hi"
    assert chunk_text('{"choices":[{"delta":{"role":"assistant"}}]}') == ""
    assert chunk_text('{"choices":[]}') == ""
    with pytest.raises(LLMServerError, match="out of memory"):
        chunk_text('{"error": {"message": "out of memory"}}')
    with pytest.raises(LLMServerError, match="unreadable"):
        chunk_text("{not json")


# -- backoff ------------------------------------------------------------------------------------
def test_backoff_doubles_and_is_capped():
    assert backoff_delays(4, 0.5) == [0.5, 1.0, 2.0, 4.0]
    assert backoff_delays(6, 1.0, cap=8.0) == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert backoff_delays(0) == []


def test_retry_after_seconds_only():
    assert retry_after("2") == 2.0
    assert retry_after("120") == 8.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert retry_after(None) is None


# -- requests -----------------------------------------------------------------------------------
def test_streams_deltas_with_payload_headers_and_extra_body():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["url"] = str(request.url)
        seen["auth"] = request.headers.get("authorization")
        seen["body"] = json.loads(request.content)
        return httpx.Response(200, content=sse("The ", "answer [1]."), headers={"content-type": "text/event-stream"})

    model = llm(handler, api_key="sk-test", extra_body={"top_k": 1})
    assert list(model.stream([{"role": "user", "content": "q"}], max_tokens=7)) == ["The ", "answer [1]."]
    assert seen["url"] == f"{URL}/chat/completions"
    assert seen["auth"] == "Bearer sk-test"
    body = seen["body"]
    assert body["stream"] is True and body["max_tokens"] == 7 and body["temperature"] == 0.0
    assert body["model"] == "m" and body["top_k"] == 1 and body["messages"][0]["content"] == "q"


def test_retries_5xx_and_429_then_succeeds_with_backoff():
    statuses = iter([503, 429, 502])

    def handler(request):
        status = next(statuses, 200)
        if status == 429:
            return httpx.Response(429, headers={"Retry-After": "3"}, json={"error": {"message": "slow down"}})
        return httpx.Response(status, content=sse("ok") if status == 200 else b"busy")

    sleeps: list[float] = []
    assert llm(handler, sleeps, retries=3, backoff=0.25).complete([], 5) == "ok"
    assert sleeps == [0.25, 3.0, 1.0]


def test_gives_up_after_retries_on_5xx():
    calls = []

    def handler(request):
        calls.append(1)
        return httpx.Response(500, json={"error": {"message": "model crashed"}})

    sleeps: list[float] = []
    with pytest.raises(LLMServerError, match="HTTP 500: model crashed"):
        llm(handler, sleeps, retries=2).complete([], 5)
    assert len(calls) == 3 and sleeps == [0.5, 1.0]


def test_client_errors_are_not_retried():
    calls = []

    def handler(request):
        calls.append(1)
        return httpx.Response(404, json={"error": {"message": "model 'x' not found"}})

    with pytest.raises(LLMServerError, match="HTTP 404: model 'x' not found") as info:
        llm(handler, retries=3).complete([], 5)
    assert len(calls) == 1 and URL in str(info.value)


def test_unreachable_server_names_the_url_after_retries():
    def handler(request):
        raise httpx.ConnectError("Connection refused", request=request)

    sleeps: list[float] = []
    with pytest.raises(LLMServerError) as info:
        llm(handler, sleeps, retries=2).complete([], 5)
    assert URL in str(info.value) and "not reachable" in str(info.value) and "3 attempt" in str(info.value)
    assert sleeps == [0.5, 1.0]


def test_error_event_in_the_stream_is_raised():
    def handler(request):
        return httpx.Response(200, content=sse("partial ", done=False) + b'data: {"error": {"message": "boom"}}\n\n')

    model = llm(handler)
    got = []
    with pytest.raises(LLMServerError, match="boom"):
        for piece in model.stream([], 5):
            got.append(piece)
    assert got == ["partial "]


def test_model_is_discovered_from_the_server():
    def handler(request):
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"object": "list", "data": [{"id": "qwen-1.5b"}, {"id": "other"}]})
        assert json.loads(request.content)["model"] == "qwen-1.5b"
        return httpx.Response(200, content=sse("x"))

    model = llm(handler, model=None)
    assert model.complete([], 3) == "x" and model.model == "qwen-1.5b"


def test_count_tokens_is_an_upper_estimate():
    model = llm(lambda r: httpx.Response(200))
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
    assert model.retries == 5 and model.extra_body == {"top_k": 1} and model.client.timeout.read == 12.5
    monkeypatch.setenv("RAGQA_LLM_EXTRA_BODY", "[1]")
    with pytest.raises(ValueError, match="JSON object"):
        LLMSettings()
