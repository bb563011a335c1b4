"""The pipeline embeds questions with the embedder the index was built with, not only the configured one."""

from __future__ import annotations

import importlib
import sys

import numpy as np

import index
import qa.pipeline  # noqa: F401  (the module; ``qa.pipeline`` the attribute is a function)
from qa.config import Config

pipeline_module = sys.modules["qa.pipeline"]


class _Named:
    def __init__(self, name: str):
        self.name, self.dim, self.max_tokens = name, 8, 256

    @property
    def id(self) -> str:
        return f"{self.name}:{self.dim}:{self.max_tokens}"

    def count_tokens(self, texts):
        return [len(t.split()) for t in texts]

    def encode(self, texts, batch_size: int = 32, progress: bool = False):
        out = np.ones((len(texts), self.dim), dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_query_embedder_follows_the_index_manifest(tmp_path, monkeypatch):
    made: dict[str, _Named] = {}

    def fake(name: str = "x") -> _Named:
        return made.setdefault(name, _Named(name))

    monkeypatch.setattr(importlib.import_module("index.build"), "get_embedder", fake)
    monkeypatch.setattr(pipeline_module, "get_embedder", fake)
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("Otters live in rivers. They eat fish.", encoding="utf-8")
    built_with = index.IndexSettings(sources=[str(src)], index_dir=str(tmp_path / "idx"), embedder="old-model")
    index.build(settings=built_with)

    configured = index.IndexSettings(sources=[str(src)], index_dir=str(tmp_path / "idx"), embedder="new-model")
    pipe = pipeline_module.Pipeline(Config(index=configured))
    assert pipe.embedder.name == "old-model"

    empty = index.IndexSettings(sources=[str(src)], index_dir=str(tmp_path / "none"), embedder="new-model")
    assert pipeline_module.Pipeline(Config(index=empty)).embedder.name == "new-model"
