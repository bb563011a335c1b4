"""The second generation backend: the same packaged model through transformers (slow on a CPU)."""

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def test_transformers_backend_answers_with_citation(seed_index):
    import qa
    from qa.llm.transformers import TransformersLLM
    from qa.models import packaged_gguf

    config = qa.Config(index=seed_index)
    config.llm.backend = "transformers"
    config.llm.max_tokens = 48
    llm = TransformersLLM(str(packaged_gguf(config.llm.cache_dir)), threads=config.llm.threads)
    pipe = qa.Pipeline(config, llm=llm)
    a = pipe.answer("Who founded the search engine Sogou?")
    assert not a.refused, a.raw
    assert "Wang Xiaochuan" in a.text
    assert any("003_" in c.source for c in a.citations)
    refused = pipe.answer("What is the capital of Australia?")
    assert refused.refused
