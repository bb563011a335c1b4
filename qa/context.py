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

from index.chunk import sentence_spans

from .cite import content_words
from .types import Passage

Embed = Callable[[list[str]], np.ndarray]
CountTokens = Callable[[list[str]], list[int]]


def select_excerpts(
    question: str,
    passages: list[Passage],
    embed: Embed,
    count_tokens: CountTokens,
    budget: int,
    neighbours: bool = True,
) -> list[str]:
    """One excerpt per passage (``""`` where nothing fits), at most ``budget`` tokens in all."""
    if not passages:
        return []
    spans = [sentence_spans(p.text) or [(0, len(p.text))] for p in passages]
    flat = [(pi, s, e) for pi, sp in enumerate(spans) for s, e in sp]
    texts = [passages[pi].text[s:e] for pi, s, e in flat]
    vecs = embed([question] + texts)
    cos = vecs[1:] @ vecs[0]
    q_words = content_words(question)
    lex = np.array([len(q_words & content_words(t)) / max(1, len(q_words)) for t in texts])
    score = cos + 0.5 * lex
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
    for pi in range(len(passages)):
        for i in order:
            if flat[i][0] == pi and take(int(i)):
                break
    for i in order:
        i = int(i)
        if take(i) and neighbours:
            # a sentence right after a chosen one often finishes its thought ("He said ...")
            nxt = i + 1
            if nxt < len(flat) and flat[nxt][0] == flat[i][0] and score[nxt] > 0.2:
                take(nxt)
    out = []
    for pi, p in enumerate(passages):
        pieces, last = [], None
        for i, (owner, s, e) in enumerate(flat):
            if owner != pi or i not in chosen:
                continue
            if last is not None and i != last + 1:
                pieces.append("…")
            pieces.append(p.text[s:e])
            last = i
        out.append(" ".join(pieces))
    return out
