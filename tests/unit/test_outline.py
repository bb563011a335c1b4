"""Pages and sections: where a span sits in its document (index.outline), through the build to chunks and passages."""

from __future__ import annotations

import pytest

import index
from index.outline import Outline, html_headings, markdown_headings, paged, pdf_headings, plain_headings
from index.sources import read_document
from tests.reliability.pdfs import pages_pdf

MARKDOWN = """# Kestrel survey

## Methods

Birds were counted at dawn.

```
## not a heading (code)
```

## Results ##

The survey counted 212 kestrels in 2024.
"""


def test_markdown_headings_outside_code():
    found = markdown_headings(MARKDOWN)
    assert [t for _, t in found] == ["Kestrel survey", "Methods", "Results"]
    for pos, title in found:
        assert MARKDOWN[pos:].lstrip("# ").startswith(title)


def test_plain_headings_only_clear_ones():
    text = ("Water report\n\nThe board met twice in the year and agreed the budget.\n\n"
            "Results\n\nThe reservoir held 48 million litres.\n\n"
            "a short line in lower case\n\nMore prose follows here, with a full stop.\n\n"
            "The survey found that the rate of\n\nsomething cut off.\n\n"
            "SHA: eef0ecf5b8e7b179dadaef967e65f2ab68f021e1\n\nProse again, as a sentence.")
    assert [t for _, t in plain_headings(text)] == ["Water report", "Results"]


def test_pdf_headings_need_a_finished_sentence_before():
    text = "Intro line one.\nResults\nThe reservoir held 48 million litres.\nwrapped text continues\nNext line here."
    assert [t for _, t in pdf_headings(text)] == ["Results"]


def test_html_headings_found_in_the_extracted_text():
    html = "<html><body><h1>Report</h1><p>Intro.</p><h2>Re<b>sults</b></h2><p>Held 48 litres.</p></body></html>"
    text = "Report\nIntro.\nResults\nHeld 48 litres."
    assert html_headings(html, text) == [(0, "Report"), (14, "Results")]
    assert html_headings("<h2>Missing</h2>", text) == []


def test_locate_pages_and_sections():
    text, starts = paged([(1, "one"), (3, "three")])  # page 2 had no text
    assert text == "one\n\nthree" and starts == [(0, 1), (5, 3)]
    o = Outline(starts, [(5, "Later")])
    assert o.locate(0) == (1, None)
    assert o.locate(6) == (3, "Later")
    assert Outline.from_json(o.to_json()) == o
    assert Outline().locate(10) == (None, None)
    assert o.shifted(100).locate(105) == (3, "Later")


PAGES = [
    ["Annual report of the Kestrel Water Board.", "It covers the year 2023 and its work."],
    ["Results", "The Kestrel reservoir held 48 million litres in March.", "Rainfall was low that spring."],
    ["Outlook", "The board plans to lay a new pipe in 2025."],
]


@pytest.fixture(scope="module")
def paged_index(tmp_path_factory):
    folder = tmp_path_factory.mktemp("docs")
    (folder / "report.pdf").write_bytes(pages_pdf(PAGES))
    (folder / "notes.md").write_text(MARKDOWN, encoding="utf-8")
    settings = index.IndexSettings(sources=[str(folder)], index_dir=str(tmp_path_factory.mktemp("idx")))
    index.build(settings=settings)
    return settings, folder


def test_pdf_pages_reach_chunks_and_locate(paged_index):
    settings, folder = paged_index
    doc = read_document(str(folder / "report.pdf"))
    idx = index.load(settings)
    text = idx.text_of(str(folder / "report.pdf"))
    assert text == doc.text
    at = text.index("48 million litres")
    assert idx.locate(str(folder / "report.pdf"), at) == (2, "Results")
    assert idx.locate(str(folder / "report.pdf"), text.index("new pipe")) == (3, "Outlook")
    assert idx.locate(str(folder / "report.pdf"), 0) == (1, None)
    for c in idx.chunks:
        assert idx.text_of(c.source)[c.start:c.end] == c.text  # offsets still exact
        assert (c.page, c.section) == idx.locate(c.source, c.start)
    rows, skipped = idx.describe()
    pdf = next(r for r in rows if r["source"].endswith("report.pdf"))
    assert pdf["pages"] == 3 and pdf["kind"] == "pdf" and pdf["bytes"] > 0 and pdf["indexed"] > 0
    assert skipped == []


def test_markdown_section_of_a_span(paged_index):
    settings, folder = paged_index
    idx = index.load(settings)
    source = str(folder / "notes.md")
    text = idx.text_of(source)
    assert idx.locate(source, text.index("212 kestrels")) == (None, "Results")
    assert idx.locate(source, text.index("counted at dawn")) == (None, "Methods")


def test_passages_carry_page_and_section(paged_index):
    import qa

    settings, folder = paged_index
    pipeline = qa.Pipeline(qa.Config(index=settings))
    passages = pipeline.retrieve("How much water did the Kestrel reservoir hold in March?", 3, sources=["*.pdf"])
    assert passages and all(p.source.endswith("report.pdf") for p in passages)
    best = next(p for p in passages if "48 million" in p.text)
    assert (best.page, best.section) == index.load(settings).locate(best.source, best.start)
