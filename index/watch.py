"""Watch the index's source folders and bring the index up to date when files change.

>>> from index.watch import Watcher
>>> watcher = Watcher(IndexSettings(), on_build=lambda r: print(r.summary())).start()
>>> ...
>>> watcher.stop()

The folders watched are the ones the index covers: ``settings.sources`` plus the roots remembered
in the current index's manifest (a root that is a file is watched through its folder). Only
changes to supported, non-hidden source files count (and folders appearing or disappearing);
the index folder itself is ignored. Once a batch of changes settles, :func:`index.build` runs
once (it is incremental, takes the index lock and swaps the new generation in atomically), so
added, changed and removed files reach the index; :class:`qa.Pipeline` re-opens the new
generation on its next question.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

from watchfiles import Change, watch

from .layout import current_generation
from .manifest import Manifest
from .settings import SUPPORTED_SUFFIXES, IndexSettings
from .types import BuildReport

log = logging.getLogger("ragqa.index.watch")

#: How often (ms) the watcher wakes without changes to look for new roots in the manifest
#: (e.g. a folder added by ``ragqa index PATH`` or a UI upload); the first wake runs the initial build.
ROOTS_CHECK_MS = 1000
#: Longest wait (s) before watching again after the file watcher itself failed.
MAX_RETRY_SECONDS = 30.0


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


class Watcher:
    """Runs the incremental build whenever the index's sources change, until :meth:`stop`.

    ``debounce`` (seconds) groups changes: a batch ends once no further change came for a
    quarter of it (50 ms to 1 s), or ``debounce`` seconds after its first change; then one build
    runs. ``on_build`` gets each :class:`BuildReport` (files that cannot be read are in its
    ``skipped`` and do not stop anything); ``on_error`` gets any exception of a build (e.g.
    ``IndexLockedError``, ``IndexCorruptError``, ``OSError``) or of the file watcher, and watching
    goes on. Without ``on_error`` errors are logged. A build runs as soon as watching starts, so that
    changes made while nothing watched are picked up.

    Callbacks run in the watching thread (the caller's for :meth:`run`, a daemon thread for :meth:`start`).
    """

    def __init__(
        self,
        settings: IndexSettings,
        debounce: float = 2.0,
        on_build: Callable[[BuildReport], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ):
        if not isinstance(settings, IndexSettings):
            raise TypeError(f"settings must be an IndexSettings, got {type(settings).__name__}")
        try:
            debounce = float(debounce)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"debounce must be a number of seconds, got {debounce!r}") from exc
        if not debounce > 0 or debounce == float("inf"):
            raise ValueError(f"debounce must be a positive number of seconds, got {debounce!r}")
        self.settings = settings
        self.debounce = debounce
        self.on_build = on_build
        self.on_error = on_error
        self._debounce_ms = max(1, round(debounce * 1000))
        self._step_ms = min(self._debounce_ms, max(50, min(1000, self._debounce_ms // 4)))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._manifest_roots: tuple[Path | None, list[str]] = (None, [])
        self.builds = 0
        """Builds run so far (including those that failed)."""

    # -- what to watch ---------------------------------------------------------------------
    def _roots(self) -> list[str]:
        """Absolute roots the index covers: settings.sources plus the manifest's roots."""
        gen = current_generation(Path(self.settings.index_dir))
        if gen != self._manifest_roots[0]:
            roots: list[str] = []
            if gen is not None:
                try:
                    roots = list(Manifest.load(gen).roots)
                except (OSError, ValueError, TypeError):
                    roots = []  # unreadable manifest: the build reports it
            self._manifest_roots = (gen, roots)
        seen: list[str] = []
        for p in list(self.settings.sources) + self._manifest_roots[1]:
            a = os.path.abspath(os.path.expanduser(p))
            if a not in seen:
                seen.append(a)
        return seen

    def targets(self) -> tuple[list[str], list[str]]:
        """``(folders, files)``: the existing folder roots, and the file roots (watched through their folder)."""
        folders, files = [], []
        for root in self._roots():
            if os.path.isdir(root):
                folders.append(root)
            elif os.path.isfile(root) or (
                Path(root).suffix.lower() in SUPPORTED_SUFFIXES and os.path.isdir(os.path.dirname(root))
            ):
                files.append(root)  # a file, or one that is gone but may come back
        return folders, files

    @staticmethod
    def _watch_paths(folders: list[str], files: list[str]) -> list[str]:
        """Folders to watch recursively, none inside another."""
        wanted = sorted(set(folders) | {os.path.dirname(f) for f in files})
        out: list[str] = []
        for p in wanted:  # sorted: a folder comes before the folders inside it
            if not any(_under(p, q) for q in out):
                out.append(p)
        return out

    def _filter(self, folders: list[str], files: list[str]) -> Callable[[Change, str], bool]:
        def both(paths) -> set[str]:  # as given and resolved: events may name either (e.g. /tmp -> /private/tmp)
            return {q for p in paths for q in (p, os.path.realpath(p))}

        index_dir = os.path.abspath(self.settings.index_dir)
        ignored = both([index_dir])
        file_set = both(files)
        folder_list = sorted(both(folders), key=len, reverse=True)  # the innermost root first

        def verdict(change: Change, p: str) -> bool | None:
            """Whether the change at ``p`` matters, or None when ``p`` is under no root."""
            if any(_under(p, d) for d in ignored):
                return False
            if p in file_set:
                return True
            for root in folder_list:
                if not _under(p, root):
                    continue
                rel = Path(os.path.relpath(p, root))
                if any(part.startswith(".") for part in rel.parts if part != "."):
                    return False  # hidden, as the build ignores it
                suffix = rel.suffix.lower()
                if suffix in SUPPORTED_SUFFIXES:
                    return True
                if os.path.isdir(p):
                    return True  # a folder appeared (moved in): its files
                return change == Change.deleted and suffix == ""  # most likely a folder gone (moved out)
            return None

        def relevant(change: Change, path: str) -> bool:
            p = os.path.abspath(path)
            found = verdict(change, p)
            if found is None:
                found = verdict(change, os.path.realpath(p))
            return bool(found)

        return relevant

    # -- running ---------------------------------------------------------------------------
    def _report_error(self, exc: BaseException) -> None:
        if self.on_error is None:
            log.error("index update failed: %s: %s", type(exc).__name__, exc)
            return
        try:
            self.on_error(exc)
        except Exception:
            log.exception("the watcher's on_error callback failed")

    def _build(self) -> None:
        from . import build as build_index  # the package's function (looked up now: tests may replace it)

        self.builds += 1
        try:
            report = build_index(settings=self.settings)
        except Exception as exc:
            self._report_error(exc)
            return
        if self.on_build is not None:
            try:
                self.on_build(report)
            except Exception as exc:
                self._report_error(exc)

    def run(self) -> None:
        """Watch and build until :meth:`stop` (blocking); KeyboardInterrupt propagates."""
        pending_build = True  # when watching (re)starts: catch up with what changed meanwhile
        force_polling: bool | None = None
        failures = 0
        while not self._stop.is_set():
            try:
                folders, files = self.targets()
                paths = self._watch_paths(folders, files)
                if not paths:  # nothing to watch yet: build once, then look again now and then
                    if pending_build:
                        pending_build = False
                        self._build()
                    self._stop.wait(ROOTS_CHECK_MS / 1000)
                    continue
                for changes in watch(
                    *paths,
                    watch_filter=self._filter(folders, files),
                    debounce=self._debounce_ms,
                    step=self._step_ms,
                    stop_event=self._stop,
                    rust_timeout=ROOTS_CHECK_MS,
                    yield_on_timeout=True,
                    force_polling=force_polling,
                    ignore_permission_denied=True,
                ):
                    failures = 0
                    if changes or pending_build:
                        pending_build = False
                        self._build()
                    if self._stop.is_set():
                        return
                    if self.targets() != (folders, files):
                        pending_build = True  # roots changed: watch the new set, and catch up
                        break
            except Exception as exc:  # the file watcher failed (a root vanished, a watch limit, ...)
                failures += 1
                self._report_error(exc)
                if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
                    force_polling = True  # e.g. the OS limit of inotify watches: poll instead
                pending_build = True
                self._stop.wait(min(MAX_RETRY_SECONDS, 0.5 * 2**failures))

    def start(self) -> Watcher:
        """Run :meth:`run` in a daemon thread; returns ``self``."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("this watcher is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="ragqa-index-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop watching; waits (up to ``timeout`` seconds) for a build in progress to finish."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def running(self) -> bool:
        """Whether the thread of :meth:`start` is alive."""
        return self._thread is not None and self._thread.is_alive()


def printer(file: IO[str] | None = None, after: BuildReport | None = None) -> Callable[[BuildReport], None]:
    """An ``on_build`` callback that prints the summary and skipped files of builds that changed something.

    A build that found nothing new (no file added, changed or removed, the same skipped files as the
    last report printed, or as ``after``, one already shown) prints nothing. ``file`` defaults to stdout.
    """
    last: list[set[tuple[str, str]] | None] = [None if after is None else {(s.source, s.reason) for s in after.skipped}]

    def show(report: BuildReport) -> None:
        skipped = {(s.source, s.reason) for s in report.skipped}
        if not (report.added or report.changed or report.removed or report.full) and skipped == last[0]:
            return
        last[0] = skipped
        out = file or sys.stdout
        print(report.summary(), file=out, flush=True)
        for s in report.skipped:
            print(f"  skipped {s.source}: {s.reason}", file=out, flush=True)

    return show
