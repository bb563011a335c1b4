"""A cold `ragqa ask` loads neither PyTorch nor gradio, and restores the system prompt's KV state from disk."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

PROBE = """
import sys
import qa, qa.cli
p = qa.pipeline()
p.embedder.encode(["Who founded the search engine Sogou?"])
p.embedder.count_tokens(["Who founded the search engine Sogou?"])
print(",".join(sorted(m for m in ("torch", "transformers", "sentence_transformers", "gradio") if m in sys.modules)))
"""


def test_asking_imports_neither_torch_nor_gradio(seed_index):
    env = {**os.environ, "RAGQA_INDEX_DIR": seed_index.index_dir, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_default_embedder_tokenizes_like_the_model_tokenizer():
    """The ONNX embedder reads tokenizer.json with `tokenizers`: the same ids as transformers' tokenizer."""
    from transformers import AutoTokenizer

    from index.embed import get_embedder, resolve_model_path

    texts = [(ROOT / "seeds" / f).read_text() for f in sorted(os.listdir(ROOT / "seeds"))]
    texts += ["naïve café — “quotes” 1,000 ½ 中文 русский", "Who founded the search engine Sogou?"]
    emb = get_embedder("minilm-onnx-int8")
    ref = AutoTokenizer.from_pretrained(resolve_model_path("minilm"), local_files_only=True)
    assert emb.count_tokens(texts) == [len(i) for i in ref(texts, add_special_tokens=False)["input_ids"]]
    enc = ref(texts, truncation=True, max_length=emb.max_tokens)["input_ids"]
    assert [e.ids[: len(r)] for e, r in zip(emb.tokenizer.encode_batch(texts), enc)] == enc


def test_prompt_state_restored_from_disk_gives_the_same_answer(tmp_path):
    """The saved KV state of the system prompt is restored by a new model instance, and the answer is
    the one the model gives after reading the prompt itself."""
    from qa.config import Config
    from qa.llm.llama_cpp import LlamaCppLLM
    from qa.models import packaged_gguf
    from qa.prompt import SYSTEM, answer_messages

    cfg = Config()
    path = str(packaged_gguf(cfg.llm.cache_dir))
    messages = answer_messages("Who founded Sogou?", ["Wang Xiaochuan, founder of the search engine Sogou, "
                                                      "has set up his own startup."])
    first = LlamaCppLLM(path, n_ctx=2048, threads=cfg.llm.threads, state_dir=tmp_path)
    assert first.prime(SYSTEM) is False  # read and saved
    assert len(list(tmp_path.glob("prompt-state-*.npz"))) == 1
    expected = first.complete(messages, max_tokens=40)
    del first
    second = LlamaCppLLM(path, n_ctx=2048, threads=cfg.llm.threads, state_dir=tmp_path)
    assert second.prime(SYSTEM) is True  # restored
    assert second.llm.n_tokens > 0
    assert second.complete(messages, max_tokens=40) == expected
    # another system prompt has a state of its own
    assert second.prime(SYSTEM + " Be brief.") is False
    assert len(list(tmp_path.glob("prompt-state-*.npz"))) == 2


def test_a_damaged_prompt_state_is_read_again(tmp_path):
    from qa.config import Config
    from qa.llm.llama_cpp import LlamaCppLLM
    from qa.models import packaged_gguf
    from qa.prompt import SYSTEM

    cfg = Config()
    llm = LlamaCppLLM(str(packaged_gguf(cfg.llm.cache_dir)), n_ctx=2048, threads=cfg.llm.threads,
                      state_dir=tmp_path)
    llm.prime(SYSTEM)
    (state,) = tmp_path.glob("prompt-state-*.npz")
    state.write_bytes(state.read_bytes()[:1000])
    assert llm.prime(SYSTEM) is False  # not restored: evaluated and saved again
    assert state.stat().st_size > 1000
    assert llm.complete([{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Say OK."}], 5)
