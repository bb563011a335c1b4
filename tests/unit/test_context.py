"""Excerpt selection (qa.context): every passage's best sentence, then the most relevant ones, within the budget."""

from __future__ import annotations

import numpy as np

from qa.context import select_excerpts
from qa.evidence import Evidence
from qa.prompt import answer_messages
from qa.types import Passage


def _evidence(question: str, passages: list[str], relevance: list[list[float]]) -> Evidence:
    """Evidence whose sentence relevance is given (the embedder is not what is under test here)."""
    ps = [Passage(f"{i}.txt", 0, len(t), t, 1.0) for i, t in enumerate(passages)]
    ev = Evidence.gather(question, ps, lambda texts: np.eye(len(texts), 4, dtype=np.float32))
    flat = [r for rows in relevance for r in rows]
    assert len(flat) == len(ev.sentences)
    ev.relevance = np.array(flat)
    return ev



def count(texts: list[str]) -> list[int]:
    return [len(t.split()) for t in texts]


def test_every_passage_gets_its_best_sentence_then_the_budget_goes_by_relevance():
    ev = _evidence("q", ["Alpha one two three. Alpha four five six.", "Beta one two three. Beta four five six.",
                         "Gamma one two three."],
                   [[0.9, 0.8], [0.1, 0.05], [0.7]])
    out = select_excerpts(ev, count, budget=12, neighbours=False)
    assert out == ["Alpha one two three.", "Beta one two three.", "Gamma one two three."]
    out = select_excerpts(ev, count, budget=16, neighbours=False)
    assert out[0] == "Alpha one two three. Alpha four five six."  # the next best sentence overall


def test_gaps_are_marked_and_the_budget_is_never_exceeded():
    ev = _evidence("q", ["One a b. Two c d. Three e f. Four g h."], [[0.9, 0.1, 0.8, 0.2]])
    out = select_excerpts(ev, count, budget=6, neighbours=False)
    assert out == ["One a b. … Three e f."]
    assert sum(count([s for s in out[0].split(" … ")])) <= 6


def test_a_repeated_sentence_is_sent_once():
    ev = _evidence("q", ["Same words here. Other thing.", "Same words here. Else."], [[0.9, 0.2], [0.9, 0.3]])
    out = select_excerpts(ev, count, budget=100, neighbours=False)
    assert " ".join(out).count("Same words here.") == 1


def test_the_question_comes_before_and_after_the_sources():
    """Sent once (after the sources), the seeds dev set lost 2 of 14 answers: see README, Performance."""
    msgs = answer_messages("Who built it?", ["It was built by Ann.", "Bob painted it."])
    user = msgs[1]["content"]
    assert user.count("Who built it?") == 2
    assert user.index("Who built it?") < user.index("[1] It was built by Ann.") < user.index("[2] Bob painted it.")
    assert user.endswith("Question: Who built it?\nAnswer:")
