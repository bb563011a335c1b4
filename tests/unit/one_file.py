"""A real index (the packaged embedder) of one short document, for tests that script the model."""

from __future__ import annotations

import index


def one_file_index(tmp_path_factory, text: str, name: str = "report.md") -> index.IndexSettings:
    """Index settings of a folder holding ``text`` as ``name``, built."""
    folder = tmp_path_factory.mktemp("docs")
    (folder / name).write_text(text, encoding="utf-8")
    s = index.IndexSettings(sources=[str(folder)], index_dir=str(tmp_path_factory.mktemp("idx")))
    index.build(settings=s)
    return s
