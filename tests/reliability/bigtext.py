"""A large text file of distinct paragraphs, written in pieces (never held whole in memory)."""

from __future__ import annotations

import random
from pathlib import Path

WORDS = ("river station rain valley north measured millimetres season storm harbour village engineer bridge "
         "record ferry glacier orchard mill quarry lantern archive market tower canal").split()


def write_big_text(path: Path, size: int, seed: int = 0, needle: str | None = None) -> int:
    """Write about ``size`` bytes of English-like paragraphs to ``path``; ``needle`` goes in the middle.

    Returns the number of bytes written.
    """
    rng = random.Random(seed)
    written, i, placed = 0, 0, needle is None
    with open(path, "w", encoding="utf-8") as f:
        while written < size:
            sentences = [
                f"Entry {i}.{k} notes that the {rng.choice(WORDS)} near {rng.choice(WORDS)} {rng.randint(1, 9999)} "
                f"saw {rng.randint(1, 500)} units of {rng.choice(WORDS)} in year {rng.randint(1800, 2020)}."
                for k in range(5)
            ]
            para = " ".join(sentences) + "\n\n"
            if not placed and written >= size // 2:
                para = needle + "\n\n" + para
                placed = True
            written += f.write(para)
            i += 1
    return written
