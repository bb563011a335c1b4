"""The evidence of one question: its passages cut into sentences, with words and vectors, computed once.

Everything after retrieval reads this one value: :mod:`qa.context` picks the sentences the model
reads, :mod:`qa.cite` checks the answer against them. Sentence spans, normalised words and
embeddings of the passages are made here, once per question, and passed on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from index.chunk import sentence_spans

from .claims import Terms, plain, terms
from .types import Passage

Embed = Callable[[list[str]], np.ndarray]


@dataclass
class EvidenceSentence:
    """One sentence of a passage: ``passage.text[start:end] == text`` (offsets relative to the passage)."""

    passage: int
    start: int
    end: int
    text: str
    terms: Terms


@dataclass
class Evidence:
    """A question, its passages, and their sentences with normalised terms and unit vectors."""

    question: str
    question_terms: Terms
    passages: list[Passage]
    sentences: list[EvidenceSentence]
    vectors: np.ndarray
    """(len(sentences), dim) unit vectors of the sentences, in order."""
    question_vector: np.ndarray
    by_passage: list[list[int]] = field(default_factory=list)
    """Indices into :attr:`sentences` of each passage's sentences, in text order."""
    relevance: np.ndarray | None = None
    """How much each sentence bears on the question: its cosine with the question plus half the share of the
    question's content words it holds (read by excerpt selection and by the repair prompt)."""
    unmentioned: list[str] = field(default_factory=list)
    """The question's names (people, places, organisations, acronyms) that no retrieved document mentions
    anywhere: the sources do not speak of them (:func:`qa.cite.verify` refuses)."""

    def __post_init__(self):
        if self.relevance is None:
            q_words = self.question_terms.words
            lex = np.array([len(q_words & s.terms.words) / max(1, len(q_words)) for s in self.sentences])
            cos = self.vectors @ self.question_vector if len(self.sentences) else np.zeros(0)
            self.relevance = cos + 0.5 * lex if len(self.sentences) else np.zeros(0)

    def best(self, count: int) -> list[int]:
        """Indices of the ``count`` most relevant sentences (distinct texts), best first."""
        out, seen = [], set()
        for i in np.argsort(-self.relevance, kind="stable"):
            if self.sentences[int(i)].text not in seen:
                seen.add(self.sentences[int(i)].text)
                out.append(int(i))
            if len(out) == count:
                break
        return out

    @classmethod
    def gather(cls, question: str, passages: list[Passage], embed: Embed,
               document: Callable[[str], Terms | None] | None = None) -> Evidence:
        """Split every passage into sentences and embed the question with them in one batch.

        ``document`` gives the terms of a whole source (by its path): the question's names that none of the
        passages' documents holds are :attr:`unmentioned` (without it, none are: a passage alone often leaves
        out the setting its document names, as "Guangzhou" in a paper's methods)."""
        sentences: list[EvidenceSentence] = []
        by_passage: list[list[int]] = []
        for pi, p in enumerate(passages):
            own = []
            for s, e in sentence_spans(p.text) or [(0, len(p.text))]:
                own.append(len(sentences))
                sentences.append(EvidenceSentence(pi, s, e, p.text[s:e], terms(p.text[s:e])))
            by_passage.append(own)
        vecs = embed([question] + [s.text for s in sentences])
        asked = terms(plain(question))
        known = [document(src) for src in dict.fromkeys(p.source for p in passages)] if document else []
        known = [k for k in known if k is not None]
        unmentioned = [n for n in sorted(asked.names - asked.openers) if known and not any(k.holds_name(n) for k in known)]
        unmentioned += [c for c in sorted(asked.compounds) if known and not any(k.holds_code(c) for k in known)]
        return cls(question, asked, passages, sentences, vecs[1:], vecs[0], by_passage, unmentioned=unmentioned)

    def window(self, first: int, last: int) -> tuple[int, int, str]:
        """The passage span and text of sentences ``first..last`` (same passage), exact."""
        a, b = self.sentences[first], self.sentences[last]
        p = self.passages[a.passage]
        return a.start, b.end, p.text[a.start : b.end]

    def without(self, keep: list[int]) -> Evidence:
        """The same evidence restricted to the passages at positions ``keep`` (renumbered)."""
        remap = {old: new for new, old in enumerate(keep)}
        picked = [i for i, s in enumerate(self.sentences) if s.passage in remap]
        sentences = [EvidenceSentence(remap[s.passage], s.start, s.end, s.text, s.terms)
                     for s in (self.sentences[i] for i in picked)]
        by_passage: list[list[int]] = [[] for _ in keep]
        for i, s in enumerate(sentences):
            by_passage[s.passage].append(i)
        vectors = self.vectors[picked] if picked else self.vectors[:0]
        return Evidence(self.question, self.question_terms, [self.passages[i] for i in keep], sentences, vectors,
                        self.question_vector, by_passage, self.relevance[picked], self.unmentioned)
