"""Real model: citations say their page and section; a question scoped to one source is answered from it."""

from __future__ import annotations

import pytest

import index
import qa
from tests.reliability.pdfs import pages_pdf

PAGES = [
    ["Annual report of the Kestrel Water Board.", "It covers the year 2023 and the work of the board."],
    ["Reservoir levels", "The Kestrel reservoir held 48 million litres of water in March 2023.",
     "Rainfall was low that spring."],
    ["Outlook", "The board plans to lay a new pipe to the town of Orby in 2025."],
]

HARBOUR_A = ("# Harbour of Linmouth\n\n## Results\n\nThe Linmouth harbour handled 9,400 ships in 2023. "
             "Most of them carried grain.\n")
HARBOUR_B = ("# Harbour of Linmouth (second survey)\n\n## Results\n\nThe Linmouth harbour handled 7,100 ships in 2023. "
             "Most of them carried timber.\n")


@pytest.fixture(scope="module")
def docs_pipeline(tmp_path_factory):
    folder = tmp_path_factory.mktemp("docs")
    (folder / "kestrel.pdf").write_bytes(pages_pdf(PAGES))
    (folder / "survey_a.md").write_text(HARBOUR_A, encoding="utf-8")
    (folder / "survey_b.md").write_text(HARBOUR_B, encoding="utf-8")
    settings = index.IndexSettings(sources=[str(folder)], index_dir=str(tmp_path_factory.mktemp("idx")))
    index.build(settings=settings)
    return qa.Pipeline(qa.Config(index=settings)), folder


def test_pdf_citation_says_page_two(docs_pipeline):
    pipeline, folder = docs_pipeline
    a = pipeline.answer("How much water did the Kestrel reservoir hold in March 2023?")
    assert not a.refused, (a.raw, a.rejected)
    assert "48 million" in a.text
    cited = [c for c in a.citations if "48 million" in c.quote]
    assert cited and cited[0].page == 2 and cited[0].section == "Reservoir levels"
    assert cited[0].where == "p. 2 · Reservoir levels"
    text = pipeline.index.text_of(cited[0].source)
    assert text[cited[0].start:cited[0].end] == cited[0].quote


def test_scoped_question_answered_from_the_chosen_source(docs_pipeline):
    pipeline, folder = docs_pipeline
    question = "How many ships did the Linmouth harbour handle in 2023?"
    a = pipeline.answer(question, sources=["survey_a.md"])
    b = pipeline.answer(question, sources=[str(folder / "survey_b.md")])
    assert not a.refused and not b.refused, (a.raw, a.rejected, b.raw, b.rejected)
    assert "9,400" in a.text and "7,100" not in a.text
    assert "7,100" in b.text and "9,400" not in b.text
    assert {c.source for c in a.citations} == {str(folder / "survey_a.md")}
    assert {c.source for c in b.citations} == {str(folder / "survey_b.md")}
    assert a.citations[0].section == "Results"


def test_scope_that_matches_nothing_is_a_clear_error(docs_pipeline):
    pipeline, _ = docs_pipeline
    with pytest.raises(qa.SourceNotFoundError, match="ragqa sources"):
        pipeline.answer("How many ships?", sources=["survey_c.md"])
