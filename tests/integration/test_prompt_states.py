"""Each system prompt's KV state is held once read: switching between the answering prompt and the judge's
restores it instead of reading it again, and the model's replies are those it gives after reading it itself."""

from __future__ import annotations

import pytest

from qa.prompt import JUDGE, SYSTEM, answer_messages, judge_messages

MESSAGES = answer_messages("Who founded Sogou?", ["Wang Xiaochuan, founder of the search engine Sogou, "
                                                  "has set up his own startup."])
JUDGED = judge_messages("Who founded Sogou?", ["Wang Xiaochuan, founder of the search engine Sogou, has set up his "
                                               "own startup."])


@pytest.fixture(scope="module")
def model_path():
    from qa.config import Config
    from qa.models import packaged_gguf

    return str(packaged_gguf(Config().llm.cache_dir))


def _counting(llm) -> list[int]:
    """Record how many tokens each llama.cpp evaluation reads."""
    counts: list[int] = []
    inner = llm.llm.eval

    def evaluate(tokens):
        counts.append(len(tokens))
        return inner(tokens)

    llm.llm.eval = evaluate
    return counts


def test_switching_system_prompts_restores_each_one_and_keeps_the_replies(model_path):
    from qa.llm.llama_cpp import LlamaCppLLM

    fresh = LlamaCppLLM(model_path, n_ctx=2048)
    fresh.prime(SYSTEM)
    expected_answer = fresh.complete(MESSAGES, max_tokens=30)
    fresh_judge = LlamaCppLLM(model_path, n_ctx=2048)
    fresh_judge.prime(JUDGE)
    expected_p = fresh_judge.yes_probability(JUDGED)
    del fresh, fresh_judge

    llm = LlamaCppLLM(model_path, n_ctx=2048)
    llm.prime(SYSTEM)
    counts = _counting(llm)
    system_tokens = llm.count_tokens(SYSTEM)
    assert llm.complete(MESSAGES, max_tokens=30) == expected_answer
    p = llm.yes_probability(JUDGED)  # the judge's prompt, met for the first time: read once and held
    assert abs(p - expected_p) < 0.02
    counts.clear()
    assert llm.complete(MESSAGES, max_tokens=30) == expected_answer  # back to the answering prompt: restored
    assert counts and counts[0] < system_tokens  # the first evaluation reads the user's turn, not the system prompt
    counts.clear()
    assert abs(llm.yes_probability(JUDGED) - expected_p) < 0.02  # and the judge's again
    assert counts and counts[0] < llm.count_tokens(JUDGE) + llm.count_tokens(JUDGED[1]["content"])
    assert sum(counts) <= llm.count_tokens(JUDGED[1]["content"]) + 10  # the user's turn and the template's few tokens


def test_a_new_process_restores_the_judges_prompt_from_disk(model_path, tmp_path):
    from qa.llm.llama_cpp import LlamaCppLLM

    first = LlamaCppLLM(model_path, n_ctx=2048, state_dir=tmp_path)
    first.prime(SYSTEM)
    p = first.yes_probability(JUDGED)
    assert len(list(tmp_path.glob("prompt-state-*.npz"))) == 2  # the answering prompt's and the judge's
    del first
    second = LlamaCppLLM(model_path, n_ctx=2048, state_dir=tmp_path)
    assert second.prime(JUDGE) is True
    counts = _counting(second)
    assert abs(second.yes_probability(JUDGED) - p) < 0.02
    assert sum(counts) <= second.count_tokens(JUDGED[1]["content"]) + 10


def test_a_cache_folder_that_cannot_be_written_only_keeps_the_state_in_memory(model_path, tmp_path):
    from qa.llm.llama_cpp import LlamaCppLLM

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    llm = LlamaCppLLM(model_path, n_ctx=2048, state_dir=blocked / "models")
    assert llm.prime(SYSTEM) is False  # read, and not saved: no error
    assert 0.0 <= llm.yes_probability(JUDGED) <= 1.0
    counts = _counting(llm)
    assert llm.complete(MESSAGES, max_tokens=5)
    assert counts and counts[0] < llm.count_tokens(SYSTEM)  # restored from memory
    assert list(tmp_path.iterdir()) == [blocked]
