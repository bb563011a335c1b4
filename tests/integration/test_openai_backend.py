"""The openai backend against a real OpenAI-compatible server: llama.cpp's own (``python -m llama_cpp.server``).

The test starts the server with the packaged GGUF on 127.0.0.1 and a free port, answers the dev
questions through it over the seeds index with the same verified-citation checks (and model judge, read
from the server's log-probabilities) as the in-process backend, and stops it. A server that is down gives a clear error naming its URL after the retries.
"""

from __future__ import annotations

import os
import sys

import pytest

from tests.conftest import dev_questions
from tests.integration.test_answer import check_dev_answer
from tests.servers import free_port, serving

pytestmark = [pytest.mark.slow, pytest.mark.integration]

#: Seconds the server may take to load the model and answer /v1/models.
START_TIMEOUT = 240


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    """``python -m llama_cpp.server`` serving the packaged GGUF; yields its base URL and stops it afterwards."""
    pytest.importorskip("sse_starlette", reason="llama-cpp-python[server] dependencies (requirements-dev.txt)")
    pytest.importorskip("starlette_context", reason="llama-cpp-python[server] dependencies (requirements-dev.txt)")
    from qa.config import LLMSettings
    from qa.models import packaged_gguf

    settings = LLMSettings()
    gguf = packaged_gguf(settings.cache_dir)
    port = free_port()
    log = tmp_path_factory.mktemp("llama_server") / "server.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", "ragqa-test",
           "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(settings.n_ctx),
           "--n_threads", str(settings.threads), "--n_threads_batch", str(settings.threads), "--verbose", "False"]
    with serving(cmd, f"http://127.0.0.1:{port}/v1", log, "llama_cpp.server", START_TIMEOUT) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def openai_pipeline(seed_index, llama_server):
    """The real pipeline on the seeds, generating through the server (model name asked of the server)."""
    import qa
    from qa.config import LLMSettings
    from qa.llm.openai import OpenAILLM

    # repeat_penalty as the in-process backend uses it (a llama.cpp server option, passed through extra_body)
    llm = LLMSettings(backend="openai", base_url=llama_server, model=None, extra_body={"repeat_penalty": 1.05})
    pipe = qa.Pipeline(qa.Config(index=seed_index, llm=llm))
    assert isinstance(pipe.llm, OpenAILLM)
    yield pipe
    pipe.llm.close()


@pytest.mark.parametrize("row", dev_questions(), ids=lambda r: r["id"])
def test_dev_question_through_server(openai_pipeline, row):
    check_dev_answer(openai_pipeline.answer(row["question"]), row)


def test_streams_over_http_and_names_the_served_model(openai_pipeline):
    import qa

    events = list(openai_pipeline.stream("Who founded the search engine Sogou?"))
    assert isinstance(events[0], qa.Retrieved) and isinstance(events[-1], qa.Verified)
    deltas, final = events[1:-1], events[-1].answer
    assert len(deltas) > 1 and all(isinstance(d, qa.Token) for d in deltas)
    assert "".join(d.text for d in deltas) == final.raw
    assert "Wang Xiaochuan" in final.text and not final.refused
    assert openai_pipeline.llm.model == "ragqa-test"


def test_judge_reads_yes_probability_from_the_servers_logprobs(openai_pipeline):
    from qa.prompt import judge_messages

    question = "Who founded the search engine Sogou?"
    yes = openai_pipeline.llm.yes_probability(judge_messages(question, ["Wang Xiaochuan founded the search engine Sogou."]))
    no = openai_pipeline.llm.yes_probability(judge_messages(question, ["Baidu's headquarters are in Beijing."]))
    assert yes is not None and no is not None and 0.0 <= no < 0.5 < yes <= 1.0


def test_server_down_gives_clear_error_after_retries(seed_index):
    import qa
    from qa.config import LLMSettings
    from qa.llm.openai import LLMServerError

    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    pipe = qa.Pipeline(qa.Config(index=seed_index, llm=LLMSettings(backend="openai", base_url=url, model="m",
                                                                   retries=2, timeout=5)))
    with pytest.raises(LLMServerError) as info:
        pipe.answer("Who founded the search engine Sogou?")
    message = str(info.value)
    assert url in message and "not reachable" in message and "3 attempt" in message


def test_cli_server_down_is_one_line_error(seed_index, monkeypatch, capsys):
    from qa.cli import main

    for var in ("RAGQA_LLM", "RAGQA_LLM_BASE_URL", "RAGQA_MODEL"):
        monkeypatch.setenv(var, os.environ.get(var, ""))  # main() sets them; restored after the test
    monkeypatch.setenv("RAGQA_LLM_RETRIES", "1")
    url = f"http://127.0.0.1:{free_port()}/v1"
    code = main(["--index-dir", seed_index.index_dir, "--llm", "openai", "--llm-base-url", url, "--model", "m",
                 "ask", "Who founded the search engine Sogou?"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"ragqa: error: the model server at {url} is not reachable" in err and "Traceback" not in err
