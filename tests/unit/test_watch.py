"""Watch folders: index.watch.Watcher and ``ragqa index --watch`` (the embedder only, no language model)."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import index
from index.types import BuildReport
from index.watch import Watcher

ROOT = Path(__file__).resolve().parents[2]
DEBOUNCE = 0.3
#: Longest wait for a build after a change: generous, the machine may be busy with other work.
DEADLINE = 20.0
#: How long a change that must be ignored is given to (wrongly) trigger a build.
QUIET = 1.5

OTTERS = "The alpha project studies river otters in Norway. Its team counted 42 otters last spring."


def names(paths) -> list[str]:
    return sorted(os.path.basename(p) for p in paths)


class Recorder:
    """Collects the watcher's reports and errors (from its thread) and waits for them."""

    def __init__(self):
        self.reports: list[BuildReport] = []
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()

    def on_build(self, report: BuildReport) -> None:
        with self._lock:
            self.reports.append(report)

    def on_error(self, exc: BaseException) -> None:
        with self._lock:
            self.errors.append(exc)

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.reports)

    def wait_for(self, check: Callable[[BuildReport], bool], since: int = 0, timeout: float = DEADLINE) -> BuildReport:
        """The first report after the first ``since`` ones that passes ``check``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for r in self.reports[since:]:
                    if check(r):
                        return r
            time.sleep(0.05)
        raise AssertionError(
            f"no such build within {timeout}s; reports: {[r.summary() for r in self.reports]}, errors: {self.errors}"
        )


@pytest.fixture
def watching(tmp_path):
    """A running watcher over ``tmp_path/src`` (one file in it), after its initial build."""
    started: list[Watcher] = []

    def start(index_dir: Path | None = None, debounce: float = DEBOUNCE):
        src = tmp_path / "src"
        src.mkdir(exist_ok=True)
        (src / "alpha.txt").write_text(OTTERS, encoding="utf-8")
        settings = index.IndexSettings(sources=[str(src)], index_dir=str(index_dir or tmp_path / "idx"))
        rec = Recorder()
        watcher = Watcher(settings, debounce=debounce, on_build=rec.on_build, on_error=rec.on_error).start()
        started.append(watcher)
        first = rec.wait_for(lambda r: True, timeout=60)  # the initial build (loads the embedder)
        assert names(first.added) == ["alpha.txt"] and not first.skipped
        return src, settings, rec, watcher

    yield start
    for w in started:
        w.stop(timeout=60)
        assert not w.running


def test_add_change_delete_reach_the_index(watching):
    src, settings, rec, watcher = watching()
    n = rec.count
    t0 = time.monotonic()
    (src / "notes.md").write_text("# Notes\n\nThe Brenholt ferry leaves at 7 am.", encoding="utf-8")
    r = rec.wait_for(lambda r: r.added, since=n)
    assert names(r.added) == ["notes.md"] and names(r.unchanged) == ["alpha.txt"]
    assert time.monotonic() - t0 < DEADLINE
    assert "notes.md" in names(index.load(settings).sources)

    n = rec.count
    (src / "notes.md").write_text("# Notes\n\nThe Brenholt ferry leaves at 9 am.", encoding="utf-8")
    r = rec.wait_for(lambda r: r.changed, since=n)
    assert names(r.changed) == ["notes.md"] and not r.added and not r.removed
    assert any("9 am" in c.text for c in index.load(settings).chunks)

    n = rec.count
    (src / "notes.md").unlink()
    r = rec.wait_for(lambda r: r.removed, since=n)
    assert names(r.removed) == ["notes.md"]
    assert names(index.load(settings).sources) == ["alpha.txt"]
    assert not rec.errors


def test_a_running_pipeline_retrieves_from_each_new_generation(watching):
    import qa

    src, settings, rec, watcher = watching()
    pipeline = qa.Pipeline(qa.Config(index=settings))  # retrieval only: the language model is never loaded
    question = "When does the Brenholt ferry leave?"
    assert not any(p.source.endswith("ferry.md") for p in pipeline.retrieve(question))
    n = rec.count
    (src / "ferry.md").write_text("# Ferry\n\nThe Brenholt ferry leaves at 7 am.", encoding="utf-8")
    rec.wait_for(lambda r: r.added, since=n)
    hits = [p for p in pipeline.retrieve(question) if p.source.endswith("ferry.md")]
    assert hits and "7 am" in hits[0].text
    n = rec.count
    (src / "ferry.md").write_text("# Ferry\n\nThe Brenholt ferry leaves at 9 am.", encoding="utf-8")
    rec.wait_for(lambda r: r.changed, since=n)
    hits = [p for p in pipeline.retrieve(question) if p.source.endswith("ferry.md")]
    assert hits and "9 am" in hits[0].text and "7 am" not in hits[0].text
    n = rec.count
    (src / "ferry.md").unlink()
    rec.wait_for(lambda r: r.removed, since=n)
    assert not any(p.source.endswith("ferry.md") for p in pipeline.retrieve(question))
    assert pipeline._llm is None


def test_unreadable_file_is_skipped_and_watching_goes_on(watching):
    src, settings, rec, watcher = watching()
    n = rec.count
    (src / "broken.txt").write_bytes(b"\x00\x01\x02binary\x00" * 200)
    r = rec.wait_for(lambda r: r.skipped, since=n)
    assert [os.path.basename(s.source) for s in r.skipped] == ["broken.txt"]
    assert "binary" in r.skipped[0].reason
    n = rec.count
    (src / "good.md").write_text("Gamma rays are photons of very high energy.", encoding="utf-8")
    r = rec.wait_for(lambda r: r.added, since=n)
    assert names(r.added) == ["good.md"] and [os.path.basename(s.source) for s in r.skipped] == ["broken.txt"]
    assert watcher.running and not rec.errors


def test_index_folder_hidden_and_unsupported_files_trigger_no_build(watching, tmp_path):
    src, settings, rec, watcher = watching(index_dir=tmp_path / "src" / "idx")  # the index inside a watched folder
    time.sleep(QUIET)  # the initial build's own writes into idx/ must not start another build
    n = rec.count
    assert n == 1
    (src / "idx" / "stray.txt").write_text("A file someone put in the index folder.", encoding="utf-8")
    (src / "table.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (src / ".hidden.md").write_text("Hidden notes.", encoding="utf-8")
    (src / ".drafts").mkdir()
    (src / ".drafts" / "draft.md").write_text("A hidden draft.", encoding="utf-8")
    time.sleep(QUIET)
    assert rec.count == n, [r.summary() for r in rec.reports[n:]]
    (src / "good.md").write_text("Gamma rays are photons of very high energy.", encoding="utf-8")
    r = rec.wait_for(lambda r: r.added, since=n)
    assert "good.md" in names(r.added)
    assert not {"table.csv", ".hidden.md", "draft.md"} & set(names(r.added))
    time.sleep(QUIET)
    assert rec.count == n + 1, [r.summary() for r in rec.reports[n:]]  # and its writes into idx/ start nothing
    assert not rec.errors


def test_roots_remembered_in_the_manifest_are_watched(watching, tmp_path):
    src, settings, rec, watcher = watching()
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "epsilon.txt").write_text("Epsilon is a small positive number in calculus proofs.", encoding="utf-8")
    loose = tmp_path / "loose"
    loose.mkdir()
    (loose / "single.md").write_text("The Brenholt ferry leaves at 7 am.", encoding="utf-8")
    (loose / "other.md").write_text("Not indexed: only single.md was added from this folder.", encoding="utf-8")
    index.build(sources=[str(extra), str(loose / "single.md")], settings=settings)  # e.g. `ragqa index PATH`
    deadline = time.monotonic() + DEADLINE
    while watcher.targets() != ([str(src), str(extra)], [str(loose / "single.md")]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert watcher.targets() == ([str(src), str(extra)], [str(loose / "single.md")])
    time.sleep(QUIET)  # the watcher restarts on the new roots (and catches up with one build)

    n = rec.count
    (extra / "zeta.md").write_text("Zeta is the sixth letter of the Greek alphabet.", encoding="utf-8")
    r = rec.wait_for(lambda r: r.added, since=n)
    assert names(r.added) == ["zeta.md"]

    n = rec.count
    (loose / "other.md").write_text("Changed, but still not a source.", encoding="utf-8")
    time.sleep(QUIET)
    assert rec.count == n, [r.summary() for r in rec.reports[n:]]
    (loose / "single.md").write_text("The Brenholt ferry leaves at 9 am.", encoding="utf-8")
    r = rec.wait_for(lambda r: r.changed, since=n)
    assert names(r.changed) == ["single.md"]
    assert not rec.errors


def test_build_errors_go_to_on_error_and_watching_goes_on(watching, monkeypatch):
    src, settings, rec, watcher = watching()
    real_build = index.build
    calls = []

    def flaky_build(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise index.IndexLockedError("another build is running (simulated)")
        return real_build(*args, **kwargs)

    monkeypatch.setattr(index, "build", flaky_build)
    n = rec.count
    (src / "one.md").write_text("One is the first positive integer.", encoding="utf-8")
    deadline = time.monotonic() + DEADLINE
    while not rec.errors and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(rec.errors) == 1 and isinstance(rec.errors[0], index.IndexLockedError)
    assert rec.count == n and watcher.running
    (src / "two.md").write_text("Two is the only even prime number.", encoding="utf-8")
    r = rec.wait_for(lambda r: r.added, since=n)
    assert names(r.added) == ["one.md", "two.md"]  # the next build catches up with both


def test_stop_returns_promptly(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "alpha.txt").write_text(OTTERS, encoding="utf-8")
    rec = Recorder()
    watcher = Watcher(
        index.IndexSettings(sources=[str(src)], index_dir=str(tmp_path / "idx")),
        debounce=5,
        on_build=rec.on_build,
        on_error=rec.on_error,
    ).start()
    rec.wait_for(lambda r: True, timeout=60)
    t0 = time.monotonic()
    watcher.stop()
    assert time.monotonic() - t0 < 2.0 and not watcher.running
    with pytest.raises(RuntimeError, match="already running"):
        watcher.start().start()
    watcher.stop()


@pytest.mark.parametrize("debounce", [0, -1, float("nan"), float("inf"), "soon", None])
def test_bad_debounce(tmp_path, debounce):
    with pytest.raises(ValueError, match="debounce"):
        Watcher(index.IndexSettings(sources=[str(tmp_path)], index_dir=str(tmp_path / "idx")), debounce=debounce)


def test_cli_rejects_debounce_without_watch_and_bad_values(tmp_path, monkeypatch, capsys):
    from qa.cli import main

    monkeypatch.setenv("RAGQA_SOURCES", str(tmp_path))
    with pytest.raises(SystemExit, match="--debounce needs --watch"):
        main(["--index-dir", str(tmp_path / "idx"), "index", "--debounce", "1"])
    assert main(["--index-dir", str(tmp_path / "idx"), "index", "--watch", "--debounce", "0"]) == 2
    assert "debounce must be a positive number" in capsys.readouterr().err
    assert not (tmp_path / "idx").exists()  # rejected before any build


def _lines(stream, out: queue.Queue) -> None:
    for line in stream:
        out.put(line)
    out.put(None)


def _next_line(lines: queue.Queue, pattern: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no line matching {pattern!r} within {timeout}s") from None
        if line is None:
            raise AssertionError(f"the output ended before a line matching {pattern!r}")
        if re.search(pattern, line):
            return line


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_cli_index_watch_stops_cleanly_on_signal(tmp_path, sig):
    src = tmp_path / "src"
    src.mkdir()
    (src / "alpha.txt").write_text(OTTERS, encoding="utf-8")
    env = {**os.environ, "RAGQA_SOURCES": str(src), "PYTHONUNBUFFERED": "1"}
    env.pop("RAGQA_INDEX_DIR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa", "--index-dir", str(tmp_path / "idx"), "index", "--watch", "--debounce", "0.5", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True).start()
    try:
        first = _next_line(lines, r"\d+ added", timeout=120)
        assert first.startswith("1 added")
        (src / "notes.md").write_text("# Notes\n\nThe Brenholt ferry leaves at 7 am.", encoding="utf-8")
        assert _next_line(lines, r"\d+ added", timeout=DEADLINE).startswith("1 added, 0 changed, 0 removed, 1 unchanged")
        proc.send_signal(sig)
        assert proc.wait(timeout=60) == 0  # a clean stop (generous: a loaded CI machine may be mid-build)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = proc.stderr.read()
    assert "stopped watching" in err and "Traceback" not in err, err


def test_cli_ui_watch_updates_the_index_while_the_ui_runs(tmp_path, monkeypatch, capsys):
    import ui.app
    from qa.cli import main

    src = tmp_path / "src"
    src.mkdir()
    (src / "alpha.txt").write_text(OTTERS, encoding="utf-8")
    monkeypatch.setenv("RAGQA_SOURCES", str(src))
    seen: dict = {}

    def fake_launch(host, port, index_settings, auth=None, waiting=None):  # stands in for the Gradio server
        seen["watching"] = any(t.name == "ragqa-index-watch" for t in threading.enumerate())
        (src / "notes.md").write_text("# Notes\n\nThe Brenholt ferry leaves at 7 am.", encoding="utf-8")
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            if "notes.md" in names(index.load(index_settings).sources):
                seen["indexed"] = True
                break
            time.sleep(0.05)

    monkeypatch.setattr(ui.app, "launch", fake_launch)
    assert main(["--index-dir", str(tmp_path / "idx"), "ui", "--watch", "--debounce", "0.3"]) == 0
    assert seen == {"watching": True, "indexed": True}
    assert not any(t.name == "ragqa-index-watch" and t.is_alive() for t in threading.enumerate())
    err = capsys.readouterr().err
    assert "watching" in err and "1 added, 0 changed, 0 removed, 1 unchanged" in err
