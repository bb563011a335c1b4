"""The "Download conversation" buttons and the ``/export`` API endpoint: the session's answers as a file.

The text is made by :func:`qa.export` (the same code as the Python helper); this module only writes
it to a fresh temporary file that Gradio serves for download.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from qa.export import ExportFormat, export


def export_file(turns: list | None, fmt: str = "markdown") -> str:
    """Write the answered turns of a conversation (``ui.chat.Turn``) as Markdown or JSON; returns the file's path.

    ValueError when nothing has been answered yet or the format is unknown.
    """
    answers = [t.answer for t in (turns or []) if getattr(t, "answer", None) is not None]
    if not answers:
        raise ValueError("nothing to download yet: ask a question first")
    text = export(answers, fmt)
    folder = Path(tempfile.mkdtemp(prefix="ragqa-export-"))  # a fresh name: Gradio serves it by path
    path = folder / f"ragqa-conversation-{time.strftime('%Y%m%d-%H%M%S')}{ExportFormat(fmt).suffix}"
    path.write_text(text, encoding="utf-8")
    return str(path)
