"""Shared fixtures: the seeds, the dev set, and one real index + pipeline per test session."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
SHARED = Path(os.environ.get("RAGQA_SHARED", ROOT.parent / "shared"))
DEV = SHARED / "eval" / "dev.jsonl"


def dev_questions() -> list[dict]:
    """The seeds' dev questions (from ../shared/eval/dev.jsonl)."""
    if not DEV.is_file():
        pytest.skip(f"{DEV} not found (../shared beside the checkout)")
    return [json.loads(line) for line in DEV.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="session")
def seeds_copy(tmp_path_factory) -> Path:
    """A private copy of the seeds (tests may not touch the project's own)."""
    target = tmp_path_factory.mktemp("sources") / "seeds"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory, seeds_copy):
    """Index settings for a real index over the seed copy, built once per session."""
    import index

    settings = index.IndexSettings(sources=[str(seeds_copy)], index_dir=str(tmp_path_factory.mktemp("index")))
    index.build(settings=settings)
    return settings


@pytest.fixture(scope="session")
def pipeline(seed_index):
    """The real pipeline (packaged MiniLM + Qwen2.5-Coder GGUF through llama.cpp) on the seeds."""
    import qa

    return qa.configure(qa.Config(index=seed_index))
