"""Killed and concurrent rebuilds: the previous index stays loadable and answering; the next build completes."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import index
import qa
from index.build import IndexLockedError

from .conftest import ROOT, SEEDS, build_module

NEW_FILE = "The lighthouse keeper Ingrid Solberg painted the Hestskjaer tower blue in 1957."


class Worker:
    """A build in a child process (see build_worker.py) that pauses at ``stage``."""

    def __init__(self, index_dir: Path, src: Path, stage: str, full: bool = True):
        self.index_dir = index_dir
        args = [sys.executable, "-m", "tests.reliability.build_worker", str(index_dir), str(src), stage]
        self.proc = subprocess.Popen(args + (["--full"] if full else []), cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)

    def wait_for(self, word: str, timeout: float = 300) -> str:
        """Read the worker's output until a line starts with ``word``; returns that line."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError(f"worker exited ({self.proc.wait()}) before {word}")
            if line.startswith(word):
                return line.strip()
        raise AssertionError(f"worker did not reach {word}")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc.stdout.close()

    def release(self) -> str:
        (self.index_dir / ".go").touch()
        try:
            return self.wait_for("DONE")
        finally:
            self.proc.wait()
            self.proc.stdout.close()
            (self.index_dir / ".go").unlink(missing_ok=True)


@pytest.fixture
def seeded(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(SEEDS, src)
    settings = index.IndexSettings(sources=[str(src)], index_dir=str(tmp_path / "idx"))
    index.build(settings=settings)
    return src, settings


def check_index(settings, expect_new: bool | None = None) -> index.Index:
    """The index loads, is consistent (never mixed) and answers retrieval."""
    idx = index.load(settings)
    assert idx.store.count() == len(idx.chunks)
    assert {c.source for c in idx.chunks} == set(idx.manifest.files)
    assert sorted(c.id for c in idx.chunks) == sorted(i for e in idx.manifest.files.values() for i in e["chunks"])
    has_new = any(Path(s).name == "lighthouse.txt" for s in idx.manifest.files)
    if expect_new is not None:
        assert has_new == expect_new
    pipe = qa.Pipeline(qa.Config(index=settings))
    hits = pipe.retrieve("Which university does the researcher Li Kai work at?", top_k=3)
    assert any("Shanxi University of Finance and Economics" in p.text for p in hits)
    return idx


@pytest.mark.slow
@pytest.mark.integration
def test_sigkill_at_every_stage_keeps_previous_index(seeded, pipeline):
    src, settings = seeded
    root = Path(settings.index_dir)
    (src / "lighthouse.txt").write_text(NEW_FILE, encoding="utf-8")
    stages = ["reading", "embedding", "vectors", "bm25", "manifest", "renamed", "switched"]
    switched = False
    for stage in stages:
        w = Worker(root, src, stage)
        w.wait_for(f"PAUSED {stage}")
        w.kill()
        switched = switched or stage == "switched"
        check_index(settings, expect_new=switched)  # before the switch: the previous index, whole
    rng = random.Random(7)
    for _ in range(2):  # and at arbitrary moments of a build
        w = Worker(root, src, "none")
        w.wait_for("STARTED")
        time.sleep(rng.uniform(0.0, 2.0))
        w.kill()
        check_index(settings)
    # once with the model: the surviving index still gives a verified answer
    answerer = qa.Pipeline(qa.Config(index=settings), llm=pipeline.llm)
    a = answerer.answer("Which university does the researcher Li Kai work at?")
    assert not a.refused and "Shanxi University" in a.text and a.citations
    # the next build completes and cleans up after the killed ones
    report = index.build(settings=settings, full=True)
    assert report.chunks > 0 and not report.skipped
    check_index(settings, expect_new=True)
    leftovers = [p.name for p in root.iterdir() if p.name.startswith(("tmp-", ".current-"))]
    assert leftovers == []
    assert len([p for p in root.iterdir() if p.name.startswith("gen-")]) <= 2  # current + one previous


@pytest.mark.slow
def test_second_build_fails_clearly_or_waits_never_mixes(seeded):
    src, settings = seeded
    root = Path(settings.index_dir)
    (src / "lighthouse.txt").write_text(NEW_FILE, encoding="utf-8")
    w = Worker(root, src, "embedding", full=False)
    w.wait_for("PAUSED embedding")  # it holds the lock now
    with pytest.raises(IndexLockedError, match="another build is running"):
        build_module().build(settings, lock_timeout=0.5)
    check_index(settings, expect_new=False)
    # a second build with patience waits for the first one, then runs on its result
    (src / "puffins.txt").write_text("Puffins nest on Runde island every summer.", encoding="utf-8")
    result: dict = {}
    t = threading.Thread(target=lambda: result.update(report=build_module().build(settings, lock_timeout=120)))
    t.start()
    time.sleep(1.0)
    assert t.is_alive()  # waiting on the lock
    assert w.release().startswith("DONE")
    t.join(120)
    assert not t.is_alive()
    assert [Path(s).name for s in result["report"].added] == ["puffins.txt"]
    idx = check_index(settings, expect_new=True)
    assert any(Path(s).name == "puffins.txt" for s in idx.manifest.files)


@pytest.mark.slow
def test_two_builds_started_together_both_finish_consistently(seeded):
    src, settings = seeded
    root = Path(settings.index_dir)
    (src / "lighthouse.txt").write_text(NEW_FILE, encoding="utf-8")
    workers = [Worker(root, src, "none", full=True) for _ in range(2)]
    lines = [w.wait_for("DONE") for w in workers]
    for w in workers:
        assert w.proc.wait() == 0
        w.proc.stdout.close()
    assert all("1 added" in line or "full rebuild" in line for line in lines)
    check_index(settings, expect_new=True)
    assert os.path.islink(root / "current")
