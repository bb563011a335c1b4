"""The manifest: settings the index was built with and a SHA-256 per source file.

Comparing the manifest with the files on disk gives the plan of an incremental rebuild.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

FORMAT = 1
FILE = "manifest.json"


@dataclass
class Manifest:
    embedder: str
    dim: int
    chunk: dict
    store: str = "faiss"
    files: dict[str, dict] = field(default_factory=dict)
    """source -> {"sha256": str, "kind": str, "chunks": [ids]}"""
    next_id: int = 0
    skipped: list[dict] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)
    """The files and folders the index covers (absolute paths)."""
    format: int = FORMAT

    def compatible(self, embedder: str, dim: int, chunk: dict, store: str) -> bool:
        """Whether an index built with these settings can be updated incrementally."""
        return (self.format, self.embedder, self.dim, self.chunk, self.store) == (FORMAT, embedder, dim, chunk, store)

    def save(self, directory: Path) -> None:
        (Path(directory) / FILE).write_text(json.dumps(self.__dict__, indent=1, sort_keys=True))

    @classmethod
    def load(cls, directory: Path) -> Manifest:
        data = json.loads((Path(directory) / FILE).read_text())
        return cls(**data)


@dataclass
class Plan:
    """What a rebuild must do, file by file."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)
    """new source -> old source with the same content (its chunks are reused)."""


def plan(old: Manifest | None, current: dict[str, str]) -> Plan:
    """Compare ``current`` (source -> sha256) with the old manifest."""
    p = Plan()
    old_files = old.files if old else {}
    for source, sha in current.items():
        entry = old_files.get(source)
        if entry is None:
            p.added.append(source)
        elif entry["sha256"] != sha:
            p.changed.append(source)
        else:
            p.unchanged.append(source)
    p.removed = [s for s in old_files if s not in current]
    by_sha = {old_files[s]["sha256"]: s for s in p.removed}
    for source in p.added:
        if current[source] in by_sha:
            p.renamed[source] = by_sha.pop(current[source])
    return p
