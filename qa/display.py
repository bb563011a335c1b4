"""Small formats for people, shared by the CLI and the UI: file sizes and times."""

from __future__ import annotations

import os
import time


def size_text(n: int | None) -> str:
    """A file size for people: "734 B", "12.3 KB", "4.0 MB" ("" when unknown)."""
    if n is None:
        return ""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""  # pragma: no cover


def time_text(t: float | None) -> str:
    """A time in the local zone: "2024-05-01 14:03" ("" when unknown)."""
    return "" if t is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def reading_summary(passages) -> str:
    """"Reading 5 passages from a.txt, b.pdf …": what the model is about to read (file names in order, each once;
    at most four, then "and N more")."""
    if not passages:
        return "No passages found."
    names = list(dict.fromkeys(os.path.basename(p.source) or p.source for p in passages))
    shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
    return f"Reading {len(passages)} passage{'s' if len(passages) != 1 else ''} from {shown} …"
