"""Run one index build in a child process, pausing at a named stage so a test can kill or release it.

    python -m tests.reliability.build_worker INDEX_DIR SOURCE_DIR STAGE [--full]

At ``STAGE`` the worker prints ``PAUSED <stage>`` and waits until the file ``INDEX_DIR/.go``
exists (a test SIGKILLs it there, or creates the file to let it finish). It prints ``DONE`` and
the report's summary at the end. Stages, in build order: reading, embedding, vectors (store
being saved), bm25 (BM25 being saved), manifest (about to write the manifest), renamed (the
new generation folder is in place, ``current`` not switched yet), switched (``current``
switched, old generations not collected), none (never pause).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

STAGES = ("reading", "embedding", "vectors", "bm25", "manifest", "renamed", "switched", "none")


def main(argv: list[str]) -> int:
    index_dir, source_dir, stage = argv[:3]
    full = "--full" in argv
    import index
    from index.lexical import BM25Index
    from index.manifest import Manifest
    from index.store import FaissStore

    build_mod = sys.modules["index.build"]
    go = Path(index_dir) / ".go"

    def pause(name: str) -> None:
        if name != stage:
            return
        print(f"PAUSED {name}", flush=True)
        while not go.exists():
            time.sleep(0.05)

    def before(obj, attr: str, name: str) -> None:
        real = getattr(obj, attr)

        def hooked(*a, **k):
            pause(name)
            return real(*a, **k)

        setattr(obj, attr, hooked)

    before(FaissStore, "save", "vectors")
    before(BM25Index, "save", "bm25")
    before(Manifest, "save", "manifest")
    real_symlink = os.symlink
    real_gc = build_mod.gc_generations
    calls = {"gc": 0}

    def symlink(*a, **k):
        pause("renamed")
        return real_symlink(*a, **k)

    def gc(*a, **k):
        calls["gc"] += 1
        if calls["gc"] == 2:  # the first runs at the start of the build, the second after the switch
            pause("switched")
        return real_gc(*a, **k)

    build_mod.os.symlink = symlink  # type: ignore[attr-defined]
    build_mod.gc_generations = gc

    def progress(name: str, done: int, total: int) -> None:
        if done > 0 or name == "reading":
            pause(name)

    settings = index.IndexSettings(sources=[source_dir], index_dir=index_dir)
    print("STARTED", flush=True)
    report = index.build(settings=settings, full=full, progress=progress)
    print("DONE", report.summary(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
