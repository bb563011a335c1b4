"""Helpers for the reliability suite: a fast stand-in embedder and small source folders."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pytest

import index

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "seeds"

GOOD = {
    "otters.txt": "The alpha project studies river otters in Norway. Its team counted 42 otters last spring.",
    "bakery.md": "# Beta\n\nBeta is a bakery in Lyon that sells sourdough bread. It opened in 1998.",
}


class FastEmbedder:
    """A test-only embedder with the real interface: hashed bag-of-words vectors, word-count tokens.

    It makes builds over tens of MB possible in a test (the real MiniLM embeds ~100 chunks/s on
    2 cores) while exercising the same streaming, batching and storage code. ``calls`` records
    the size of every ``encode`` call, so tests can check that embedding is batched.
    """

    name = "fast-test"
    dim = 64
    max_tokens = 256

    def __init__(self) -> None:
        self.calls: list[int] = []

    @property
    def id(self) -> str:
        return f"{self.name}:{self.dim}:{self.max_tokens}"

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(t.split()) * 4 // 3 + 1 for t in texts]

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split()[:64]:
                out[i, int.from_bytes(hashlib.blake2b(w.encode(), digest_size=4).digest(), "little") % self.dim] += 1.0
        out += 1e-6
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def build_module():
    """The module ``index.build`` (the name ``index.build`` itself is the public function)."""
    import index.build  # noqa: F401

    return sys.modules["index.build"]


@pytest.fixture
def fast_embedder(monkeypatch) -> FastEmbedder:
    """Make index builds in this test use :class:`FastEmbedder`."""
    emb = FastEmbedder()
    import index.embed

    monkeypatch.setattr(index.embed, "get_embedder", lambda name="minilm": emb)
    monkeypatch.setattr(build_module(), "get_embedder", lambda name="minilm": emb)
    import qa.pipeline  # noqa: F401  (the name qa.pipeline is a function: patch the module)

    monkeypatch.setattr(sys.modules["qa.pipeline"], "get_embedder", lambda name="minilm": emb)
    return emb


def make_sources(tmp_path: Path, files: dict[str, str | bytes] | None = None) -> tuple[Path, index.IndexSettings]:
    """A source folder with the good files plus ``files``, and settings for an index beside it."""
    src = tmp_path / "src"
    src.mkdir()
    for name, content in {**GOOD, **(files or {})}.items():
        p = src / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")
    return src, index.IndexSettings(sources=[str(src)], index_dir=str(tmp_path / "idx"))


def by_name(paths) -> dict[str, object]:
    """Map base names to items (sources or Skipped entries)."""
    out = {}
    for p in paths:
        source = getattr(p, "source", p)
        out[Path(source).name] = p
    return out
