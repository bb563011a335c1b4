"""Which sources a question may be answered from: names, glob patterns or folders → a source filter.

``sources=["report.pdf"]`` (a file name), ``["*.md"]`` or ``["notes/2024-*"]`` (glob patterns,
matched against the whole path and against the file name), ``["~/papers"]`` (a folder: every
source under it) or a full path. Each pattern must match at least one indexed source, so a typo
is an error that says how to list the sources, never a silently narrower search.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterable
from pathlib import Path

SourceFilter = Callable[[str], bool]
"""Which sources a question may be answered from: source path → keep it."""


class SourceNotFoundError(ValueError):
    """A ``sources`` pattern matches no indexed source."""


def _absolute(path: str) -> str:
    return os.path.normpath(os.path.abspath(os.path.expanduser(path)))


def matches(pattern: str, source: str) -> bool:
    """Whether ``source`` (an indexed path) is selected by ``pattern``: name, glob, folder or path."""
    name = Path(source).name
    full = _absolute(source)
    if pattern in (source, name):
        return True
    if any(ch in pattern for ch in "*?["):
        return (fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(source, pattern)
                or fnmatch.fnmatchcase(full, _absolute(pattern)))
    target = _absolute(pattern)
    return full == target or full.startswith(target.rstrip(os.sep) + os.sep)


def resolve(patterns: Iterable[str], indexed: Iterable[str]) -> list[str]:
    """The indexed sources that ``patterns`` select, in index order.

    Raises :class:`SourceNotFoundError` naming each pattern that selects nothing.
    """
    patterns = [p.strip() for p in patterns if p and p.strip()]
    if not patterns:
        raise SourceNotFoundError("no source given: name a file, a glob pattern or a folder")
    indexed = list(indexed)
    chosen: dict[str, None] = {}
    unmatched = []
    for pattern in patterns:
        hits = [s for s in indexed if matches(pattern, s)]
        if not hits:
            unmatched.append(pattern)
        chosen.update(dict.fromkeys(hits))
    if unmatched:
        names = ", ".join(repr(p) for p in unmatched)
        raise SourceNotFoundError(f"no indexed source matches {names}; list the indexed sources with `ragqa sources`")
    return [s for s in indexed if s in chosen]


def source_filter(patterns: Iterable[str], indexed: Iterable[str]) -> SourceFilter:
    """A filter accepting exactly the indexed sources that ``patterns`` select (see :func:`resolve`)."""
    allowed = frozenset(resolve(patterns, indexed))
    return allowed.__contains__
