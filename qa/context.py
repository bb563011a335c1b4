"""Choose what the model reads: the passages' most relevant sentences, within a token budget.

Prompt processing is the main cost of an answer on a CPU (~120 tokens/s here), so each
passage is cut down to the sentences that matter for the question, kept in their original
order with "…" marking gaps. A sentence's relevance is the cosine similarity of its
embedding with the question's plus the share of the question's content words it holds.
The best sentence of every passage is kept first (so every numbered source says something),
then the best remaining ones until the budget is spent.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .evidence import Evidence

CountTokens = Callable[[list[str]], list[int]]


def select_excerpts(evidence: Evidence, count_tokens: CountTokens, budget: int, neighbours: bool = True) -> list[str]:
    """One excerpt per passage of ``evidence`` (``""`` where nothing fits), at most ``budget`` tokens in all."""
    if not evidence.passages:
        return []
    flat = evidence.sentences
    texts = [s.text for s in flat]
    score = evidence.relevance
    tokens = count_tokens(texts)

    chosen: set[int] = set()
    seen: set[str] = set()  # overlapping chunks share sentences: send each one once
    spent = 0

    def take(i: int) -> bool:
        nonlocal spent
        if i in chosen or texts[i] in seen or spent + tokens[i] > budget:
            return False
        chosen.add(i)
        seen.add(texts[i])
        spent += tokens[i]
        return True

    order = np.argsort(-score, kind="stable")
    # the best new sentence of each passage, in rank order of passages
    for own in evidence.by_passage:
        for i in sorted(own, key=lambda j: -score[j]):
            if take(int(i)):
                break
    for i in order:
        i = int(i)
        if take(i) and neighbours:
            # a sentence right after a chosen one often finishes its thought ("He said ...")
            nxt = i + 1
            if nxt < len(flat) and flat[nxt].passage == flat[i].passage and score[nxt] > 0.2:
                take(nxt)
    out = []
    for own in evidence.by_passage:
        pieces, last = [], None
        for i in own:
            if i not in chosen:
                continue
            if last is not None and i != last + 1:
                pieces.append("…")
            pieces.append(texts[i])
            last = i
        out.append(" ".join(pieces))
    return out
