"""Watch folders end to end: a file written, edited or deleted in a watched folder changes the answers
of a running pipeline (the real embedder and language model), with no restart and no reload."""

from __future__ import annotations

import os
import threading
import time

import pytest

import index
from index.watch import Watcher

pytestmark = [pytest.mark.slow, pytest.mark.integration]

#: From writing a file to its answer: the build (about a second), then one answer (about 5 s).
ANSWER_WITHIN = 30.0

FACT = (
    "# The Vellmar Institute\n\n"
    "The Vellmar Institute is a private research institute in the river town of Brenholt. "
    "The Vellmar Institute's observatory was completed in {year} after six years of construction. "
    "The observatory houses a 1.2-metre reflecting telescope named Aldra. "
    "Its first director was the astronomer Ilse Marquardt, who led it for two decades.\n"
)
QUESTION = "In what year was the Vellmar Institute's observatory completed?"

OTHERS = {
    "otters.txt": "The alpha project studies river otters in Norway. Its team counted 42 otters last spring.",
    "bakery.md": "# Beta\n\nBeta is a bakery in Lyon that sells sourdough bread. It opened in 1998.",
}


def test_watched_folder_changes_reach_the_answers(tmp_path, pipeline):
    import qa

    src = tmp_path / "src"
    src.mkdir()
    for name, text in OTHERS.items():
        (src / name).write_text(text, encoding="utf-8")
    settings = index.IndexSettings(sources=[str(src)], index_dir=str(tmp_path / "idx"))
    reports, errors, lock = [], [], threading.Lock()

    def on_build(report):
        with lock:
            reports.append(report)

    def wait_for(check, since, timeout=ANSWER_WITHIN):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with lock:
                if any(check(r) for r in reports[since:]):
                    return
            time.sleep(0.05)
        raise AssertionError(f"no such build within {timeout}s: {[r.summary() for r in reports]}, errors {errors}")

    slow: list[str] = []  # timing misses, reported at the end so that every step is still checked
    watcher = Watcher(settings, debounce=0.5, on_build=on_build, on_error=errors.append).start()
    try:
        wait_for(lambda r: r.added, 0, timeout=120)
        ours = qa.Pipeline(qa.Config(index=settings), llm=pipeline.llm)  # shares the loaded model
        fact = src / "vellmar.md"

        n = len(reports)
        t0 = time.monotonic()
        fact.write_text(FACT.format(year=1987), encoding="utf-8")
        wait_for(lambda r: "vellmar.md" in [os.path.basename(s) for s in r.added], n)
        built = time.monotonic() - t0
        a = ours.answer(QUESTION)
        took = time.monotonic() - t0
        assert not a.refused, f"refused; model said: {a.raw}"
        assert "1987" in a.text, a.text
        assert any(c.source == str(fact) for c in a.citations), [c.source for c in a.citations]
        for c in a.citations:
            assert open(c.source, encoding="utf-8").read()[c.start : c.end] == c.quote
        if took >= ANSWER_WITHIN:
            slow.append(f"written: answered after {took:.1f}s (indexed after {built:.1f}s)")

        n = len(reports)
        t0 = time.monotonic()
        fact.write_text(FACT.format(year=1994), encoding="utf-8")
        wait_for(lambda r: "vellmar.md" in [os.path.basename(s) for s in r.changed], n)
        built = time.monotonic() - t0
        a = ours.answer(QUESTION)
        took = time.monotonic() - t0
        assert not a.refused, f"refused; model said: {a.raw}"
        assert "1994" in a.text and "1987" not in a.text, a.text
        assert any(c.source == str(fact) for c in a.citations), [c.source for c in a.citations]
        if took >= ANSWER_WITHIN:
            slow.append(f"edited: answered after {took:.1f}s (indexed after {built:.1f}s)")

        n = len(reports)
        fact.unlink()
        wait_for(lambda r: "vellmar.md" in [os.path.basename(s) for s in r.removed], n)
        a = ours.answer(QUESTION)
        assert a.refused, f"should refuse once the file is gone, answered: {a.text}"
        assert not any(c.source == str(fact) for c in a.citations)
        assert not errors
        assert not slow, f"slower than {ANSWER_WITHIN:.0f}s from the change to its answer: {'; '.join(slow)}"
    finally:
        watcher.stop(timeout=120)
