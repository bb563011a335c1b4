"""Exporting a conversation: Markdown with every citation's place and quote, JSON with the full answers."""

from __future__ import annotations

import json

import pytest

import qa
from qa.types import Answer, Citation, Passage


def _answers() -> list[Answer]:
    p = Passage("/docs/report.pdf", 60, 140, "The Kestrel reservoir held 48 million litres in March.", 0.9,
                page=2, section="Results")
    shown = Answer("How much water did the reservoir hold?", "It held 48 million litres [1].", False,
                   [Citation(1, p.source, 60, 114, p.text, 0, page=2, section="Results")], [p],
                   raw="It held 48 million litres [1].")
    refused = Answer("Who built it?", "I could not find the answer in the sources.", True, [], [p],
                     raw="Bob built it [1].", rejected="no sentence of the answer is stated by the sources")
    return [shown, refused]


def test_markdown_has_questions_answers_places_offsets_and_quotes():
    md = qa.export(_answers(), "markdown")
    assert "## 1. How much water did the reservoir hold?" in md
    assert "It held 48 million litres [1]." in md
    assert "[1] `/docs/report.pdf`, p. 2 · Results, characters 60–114:" in md
    assert "> The Kestrel reservoir held 48 million litres in March." in md
    assert "## 2. Who built it?" in md and "**Not answered:**" in md
    assert "Bob built it" not in md  # a rejected model text is never exported as an answer


def test_json_holds_the_full_records():
    data = json.loads(qa.export(_answers(), qa.ExportFormat.JSON))
    first = data["answers"][0]
    assert first["answer"] == "It held 48 million litres [1]."
    assert first["citations"][0]["page"] == 2 and first["citations"][0]["section"] == "Results"
    assert data["answers"][1]["refused"] is True and data["answers"][1]["raw"] == "Bob built it [1]."


def test_bad_input():
    with pytest.raises(ValueError, match="markdown"):
        qa.export(_answers(), "pdf")
    with pytest.raises(TypeError):
        qa.export(["not an answer"])
