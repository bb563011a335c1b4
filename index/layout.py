"""Where things live inside an index folder.

``INDEX_DIR/current`` is a symlink to the live generation ``gen-<ns>/``, which holds
``manifest.json``, ``chunks.jsonl``, ``vectors.faiss``, ``bm25/`` and ``texts/`` (extracted
text of HTML and PDF sources); with the Milvus store, only ``manifest.json`` and ``milvus.json``
(and ``milvus.db/``, Milvus Lite's folder, when no URI is set). Builds write ``tmp-*`` folders and
switch the link at the end.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .types import Chunk

CURRENT = "current"
CHUNKS = "chunks.jsonl"
TEXTS = "texts"


def current_generation(root: Path) -> Path | None:
    """The live generation folder, or None when there is no index yet."""
    link = Path(root) / CURRENT
    if not link.is_symlink() and not link.exists():
        return None
    target = link.resolve()
    return target if target.is_dir() else None


def gc_generations(root: Path, keep_previous: int = 1) -> None:
    """Remove unfinished builds and generations that are no longer current.

    The ``keep_previous`` newest non-current generations stay, so that a reader which opened
    one just before a build switched ``current`` can still finish (they go at the next build).
    """
    root = Path(root)
    live = current_generation(root)
    older = [] if live is None else sorted(
        (p for p in root.iterdir() if p.is_dir() and p.name.startswith("gen-") and p.name < live.name), reverse=True)
    keep = set(older[:keep_previous])
    for p in root.iterdir():
        if p.is_dir() and p.name.startswith("tmp-"):
            shutil.rmtree(p, ignore_errors=True)
        elif p.is_dir() and p.name.startswith("gen-") and p not in keep and (live is None or p.resolve() != live):
            shutil.rmtree(p, ignore_errors=True)
        elif p.name.startswith(".current-") and p.is_symlink():
            p.unlink(missing_ok=True)


def read_chunks(directory: Path) -> list[Chunk]:
    with open(Path(directory) / CHUNKS, encoding="utf-8") as f:
        return [Chunk(**json.loads(line)) for line in f if line.strip()]
