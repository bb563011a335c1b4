"""The manifest: settings the index was built with and a SHA-256 per source file.

Comparing the manifest with the files on disk gives the plan of an incremental rebuild.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .sources import file_sha256

#: 2: files carry their outline (page starts, section headings) and chunks their page and section;
#: an index of format 1 is rebuilt in full, so that every citation can say where it is.
FORMAT = 2
FILE = "manifest.json"


@dataclass
class Manifest:
    embedder: str
    dim: int
    chunk: dict
    store: str = "faiss"
    files: dict[str, dict] = field(default_factory=dict)
    """source -> {"sha256": str, "kind": str, "chunks": [ids], "outline": {"pages": [[offset, page]],
    "sections": [[offset, heading]]} (absent when the document has neither), "indexed": unix time of the build
    that read it, "bytes": its size}"""
    next_id: int = 0
    skipped: list[dict] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)
    """The files and folders the index covers (absolute paths)."""
    excluded: list[str] = field(default_factory=list)
    """Files and folders taken out with ``ragqa remove`` (absolute paths): not indexed until added again."""
    checksums: dict[str, list] = field(default_factory=dict)
    """relative path -> [size, sha256] of every other file of the generation (empty: not recorded)."""
    format: int = FORMAT
    store_index: str = ""
    """The store's index as saved, e.g. ``flat`` or ``hnsw(M=32,efC=100,efS=192)`` (informational)."""

    @property
    def embedder_name(self) -> str:
        """The embedder's name (a short name or a model folder) from its id ``name:dim:max_tokens``."""
        return self.embedder.rsplit(":", 2)[0]

    def compatible(self, embedder: str, dim: int, chunk: dict, store: str) -> bool:
        """Whether an index built with these settings can be updated incrementally."""
        return (self.format, self.embedder, self.dim, self.chunk, self.store) == (FORMAT, embedder, dim, chunk, store)

    def save(self, directory: Path) -> None:
        (Path(directory) / FILE).write_text(json.dumps(self.__dict__, indent=1, sort_keys=True))

    @classmethod
    def load(cls, directory: Path) -> Manifest:
        data = json.loads((Path(directory) / FILE).read_text())
        return cls(**data)


#: The parts of a generation folder that checksums cover (a store kept elsewhere is not checked).
CHECKED = ("chunks.jsonl", "vectors.faiss", "milvus.json", "bm25", "texts")


def checksum_files(directory: Path) -> dict[str, list]:
    """``relative path -> [size, sha256]`` of the index files of a generation folder (see :data:`CHECKED`)."""
    directory = Path(directory)
    out: dict[str, list] = {}
    for f in sorted(directory.rglob("*")):
        if f.is_file() and f.relative_to(directory).parts[0] in CHECKED:
            rel = f.relative_to(directory).as_posix()
            out[rel] = [f.stat().st_size, file_sha256(f)]
    return out


def check_files(directory: Path, checksums: dict[str, list], hashes: bool = True) -> str | None:
    """What is wrong with the files of a generation against ``checksums``, or None when they match."""
    directory = Path(directory)
    for rel, (size, _sha) in checksums.items():
        f = directory / rel
        if not f.is_file():
            return f"{rel} is missing"
        actual = f.stat().st_size
        if actual != size:
            return f"{rel} is {actual} bytes, expected {size} (truncated or overwritten)"
    if hashes:
        for rel, (_size, sha) in checksums.items():
            if file_sha256(directory / rel) != sha:
                return f"{rel} does not match its checksum (corrupted)"
    return None


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
