"""Question → answer: retrieve, prompt, generate, verify. The object behind ``qa.answer``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from index import Index
from index.embed import get_embedder
from index.layout import current_generation
from index.reader import IndexNotFoundError

from . import cite, crosslingual
from . import language as _language
from .claims import Terms, terms
from .config import Config
from .context import select_excerpts
from .events import Event, Retrieved, Token, Translating, Verified
from .evidence import Evidence
from .llm import LLM, load_llm
from .prompt import REFUSAL, answer_messages, condense_messages, judge_messages, repair_messages, swap_messages
from .retrieve import retrieve as _retrieve
from .scope import SourceFilter, source_filter
from .types import Answer, Passage

MAX_QUESTION_CHARS = 2000
#: Upper bound of a question in model tokens: it appears twice in the prompt, beside ~300 tokens
#: of excerpts, the system prompt and the answer, all within the model's context (4096 by default).
MAX_QUESTION_TOKENS = 512
#: Documents whose terms are kept (a 30,000-character paper's terms are about 1 MB).
DOCUMENT_CACHE = 256


class Pipeline:
    """Holds the loaded index, embedder and model; reloads the index when a build replaced it."""

    def __init__(self, config: Config | None = None, llm: LLM | None = None):
        self.config = config or Config()
        self._llm = llm
        self._index: Index | None = None
        self._documents: dict[tuple[str, str], Terms | None] = {}
        self._lock = threading.Lock()
        if self.config.language.translate:  # the language detector takes ~2 s to build: not on the first question
            _language.warm_up()

    # -- heavy things, loaded lazily -------------------------------------------------------
    @property
    def embedder(self):
        """The embedder the current index was built with: queries must be embedded in its vector space,
        even when the configured embedder changed since (the next ``ragqa index`` rebuilds with that one)."""
        try:
            return get_embedder(self.index.manifest.embedder_name)
        except IndexNotFoundError:
            return get_embedder(self.config.index.embedder)

    @property
    def llm(self) -> LLM:
        with self._lock:
            if self._llm is None:
                self._llm = load_llm(self.config.llm)
            return self._llm

    @property
    def index(self) -> Index:
        """The current index; re-opened when a rebuild switched to a new generation."""
        with self._lock:
            gen = current_generation(Path(self.config.index.index_dir))
            if self._index is None or gen is None or gen != self._index.directory:
                self._index = Index.open(self.config.index.index_dir)
            return self._index

    def reload(self) -> None:
        """Drop the cached index so the next question loads the current one."""
        with self._lock:
            self._index = None

    def _count_tokens(self, text: str) -> int:
        return self.llm.count_tokens(text)

    def _question_tokens(self) -> int:
        """The token budget of a question: it is sent twice, beside excerpts, system prompt and answer."""
        spare = self.config.llm.n_ctx - self.config.llm.max_tokens - 2 * self.config.retrieval.context_tokens - 512
        return max(32, min(MAX_QUESTION_TOKENS, spare // 2))

    # -- the steps -------------------------------------------------------------------------
    def scope(self, sources: Sequence[str] | None, keep: SourceFilter | None = None) -> SourceFilter | None:
        """The source filter for ``sources`` (names, globs, folders: :mod:`qa.scope`), combined with ``keep``.

        Raises :class:`qa.scope.SourceNotFoundError` when a pattern matches no indexed source.
        """
        if sources is None:
            return keep
        if isinstance(sources, str):
            sources = [sources]
        chosen = source_filter(sources, self.index.sources)
        return chosen if keep is None else (lambda s: chosen(s) and keep(s))

    def retrieve(self, question: str, top_k: int | None = None, keep: SourceFilter | None = None,
                 sources: Sequence[str] | None = None) -> list[Passage]:
        """Hybrid retrieval of the ``top_k`` best passages for ``question``, only from the sources that
        ``sources`` selects (names, glob patterns, folders) and ``keep`` accepts."""
        k = self.config.retrieval.top_k if top_k is None else top_k
        return _retrieve(self.index, self.embedder, question, k, self.config.retrieval,
                         keep=self.scope(sources, keep))

    def condense(self, question: str, history: list[tuple[str, str]]) -> str:
        """Rewrite a follow-up into a standalone question using the conversation."""
        if not history:
            return question
        rewritten = self.llm.complete(condense_messages(history, question), max_tokens=64).strip()
        rewritten = rewritten.splitlines()[0].strip().strip('"') if rewritten else ""
        return rewritten if len(rewritten) > 3 else question

    def evidence(self, question: str, passages: list[Passage]) -> Evidence:
        """The passages' sentences with their terms and vectors, computed once for every later stage."""
        return Evidence.gather(question, passages, self.embedder.encode, self.document_terms)

    def document_terms(self, source: str) -> Terms | None:
        """The terms of a whole indexed document (where the question's names are looked up), kept per index
        generation; None when its text cannot be read."""
        index = self.index
        key = (str(index.directory), source)
        with self._lock:
            if key in self._documents:
                return self._documents[key]
        try:
            found = terms(index.text_of(source))
        except Exception:  # noqa: BLE001  a source the index no longer holds: its passages still speak
            found = None
        with self._lock:
            if len(self._documents) >= DOCUMENT_CACHE:
                self._documents.pop(next(iter(self._documents)))
            self._documents[key] = found
        return found

    def excerpts(self, evidence: Evidence) -> list[str]:
        """What the model reads of each passage: its most relevant sentences, within the budget."""
        return select_excerpts(evidence, self.embedder.count_tokens, self.config.retrieval.context_tokens)

    def read(self, question: str, passages: list[Passage]) -> tuple[Evidence, list[str]]:
        """The evidence and the excerpts the model reads, numbered alike: passages with no excerpt are left out."""
        evidence = self.evidence(question, passages)
        excerpts = self.excerpts(evidence)
        kept = [i for i, e in enumerate(excerpts) if e]
        if len(kept) < len(passages):
            evidence, excerpts = evidence.without(kept), [excerpts[i] for i in kept]
        return evidence, excerpts

    def stream(self, question: str, *, top_k: int | None = None, history: list[tuple[str, str]] | None = None,
               keep: SourceFilter | None = None, sources: Sequence[str] | None = None) -> Iterator[Event]:
        """Yield :class:`~qa.events.Retrieved` (the passages the model will read, as soon as retrieval is done),
        then :class:`~qa.events.Token` for each piece of the model's text, then :class:`~qa.events.Verified`.

        The stages: retrieve → evidence (sentences, terms, vectors: once) → select excerpts →
        generate → verify claim by claim (:func:`qa.cite.verify`).
        """
        t0 = time.perf_counter()
        question, notes = _check_question(question, self._count_tokens, self._question_tokens())
        keep = self.scope(sources, keep)  # before any model work: a pattern that matches nothing is an error
        # a question in another language than the sources' is asked in theirs (qa.crosslingual); else no model call
        language = crosslingual.question_language(self, question)
        asked, t_translate = crosslingual.to_sources(self, question) if language else (question, 0.0)
        standalone = self.condense(asked, history) if history else asked
        passages = self.retrieve(standalone, top_k, keep)
        t_retrieve = time.perf_counter() - t0
        timings = {"retrieve": round(t_retrieve, 3)}
        if not passages:
            yield Retrieved([], standalone, round(t_retrieve, 3))
            empty = Answer(question, REFUSAL, True, timings={**timings, "first_token": 0.0,
                           "total": round(time.perf_counter() - t0, 3)}, notes=notes + ["the index is empty"],
                           standalone_question=standalone if standalone != question else None)
            yield Verified(crosslingual.translated(self, empty, language, t_translate) if language else empty)
            return
        # shown at once: the sentence work below takes ~0.6 s (scripts/bench/evidence_first, 2026-11-25)
        yield Retrieved(list(passages), standalone, round(t_retrieve, 3))
        evidence, excerpts = self.read(standalone, passages)
        raw = ""
        first = None
        # a question naming what no retrieved document mentions cannot be answered from them: no model call
        absent = cite.unmentioned(evidence, self.config.verify.thresholds)
        if absent:
            notes.append(f"{absent}, so the model was not asked")
        else:
            for delta in self.llm.stream(answer_messages(standalone, excerpts), self.config.llm.max_tokens,
                                         self.config.llm.temperature):
                if first is None:
                    first = time.perf_counter() - t0
                raw += delta
                yield Token(delta)
        verdict, repaired = self.settle(evidence, raw)
        for c in verdict.citations:
            c.page, c.section = self.index.locate(c.source, c.start)
        if repaired is not None and not verdict.refused:
            notes.append("the model's first answer could not be verified; it was asked again to quote the sources")
        if any(s.quoted for s in verdict.sentences if s.citations) and not verdict.refused:
            notes.append("the model's wording was not what the sources say; the source's own sentence is shown instead")
        timings["first_token"] = round(first if first is not None else time.perf_counter() - t0, 3)
        timings["total"] = round(time.perf_counter() - t0, 3)
        dropped = sum(1 for s in verdict.sentences if s.issue and not s.citations)
        if dropped and not verdict.refused:
            notes.append(f"{dropped} sentence(s) of the model's answer had no support in the sources and were left out")
        answer = Answer(
            question=question,
            text=verdict.text,
            refused=verdict.refused,
            citations=verdict.citations,
            passages=evidence.passages,
            sentences=verdict.sentences,
            timings=timings,
            standalone_question=standalone if standalone != question else None,
            raw=raw,
            repair=repaired,
            notes=notes,
            rejected=verdict.reason if verdict.refused else None,
        )
        if language:  # the verified answer first, then its translation into the question's language
            yield Translating(answer, language)
            answer = crosslingual.translated(self, answer, language, t_translate)
        yield Verified(answer)

    def settle(self, evidence: Evidence, raw: str) -> tuple[cite.Verdict, str | None]:
        """The verdict on ``raw``; when verification rejected it (not when the model itself refused), the
        verdict on one second answer that copies a source sentence (``config.verify.repair``), with that
        answer's text (None: no second attempt). The first rejection's reason stands when both fail."""
        verdict = self.check(evidence, raw)
        count = self.config.verify.repair
        if not verdict.refused or verdict.reason is None or count <= 0 or not evidence.sentences \
                or cite.unmentioned(evidence, self.config.verify.thresholds):
            return verdict, None
        picked = evidence.best(count)
        numbered = [(evidence.sentences[i].passage + 1, evidence.sentences[i].text) for i in picked]
        second = self.llm.complete(repair_messages(evidence.question, numbered), self.config.llm.max_tokens,
                                   self.config.llm.temperature)
        repaired = self.check(evidence, second, judge=self.config.verify.repair_judge, always_judge=True)
        if repaired.refused:
            return verdict, second
        return repaired, second

    def check(self, evidence: Evidence, raw: str, judge: float | None = None,
              always_judge: bool = False) -> cite.Verdict:
        """Verify the model's ``raw`` answer claim by claim against ``evidence`` (:func:`qa.cite.verify`);
        then, when the judge threshold (``judge``, default ``config.verify.judge``) is set, ask the model
        whether the quotes answer the question, unless the quotes restate the question as fully as
        ``config.verify.judge_skip`` says (``always_judge``: ask all the same, as for a copied sentence). When the
        quotes put other words in place of the question's (``Verdict.swaps``), the question points them out and the
        bar is ``config.verify.swap_judge`` (or ``judge``, if higher)."""
        settings = self.config.verify
        judge = settings.judge if judge is None else judge
        verdict = cite.verify(raw, evidence, self.embedder.encode, settings.thresholds)
        if verdict.refused or judge <= 0:
            return verdict
        quotes = [c.quote for c in verdict.citations]
        pointed = bool(verdict.swaps) and settings.swap_judge > 0
        if pointed:  # the judge's question, with the words that differ pointed out
            messages, judge = swap_messages(evidence.question, quotes, verdict.swaps), max(judge, settings.swap_judge)
        elif always_judge or verdict.swaps or verdict.share < settings.judge_skip:
            messages = judge_messages(evidence.question, quotes)
        else:  # the quotes restate the question: the judge has never refused such an answer (judge_skip)
            return verdict
        p = verdict.judge = self.llm.yes_probability(messages)
        if p is None or p >= judge:  # None: the backend cannot tell its yes/no probabilities
            return verdict
        reason = f"the model judged that the cited text does not answer the question (yes {p:.2f})"
        if pointed:
            said = ", ".join(f'"{x}" where the question says "{w}"' for w, x in verdict.swaps)
            reason = f"the cited text says {said}; the model judged that it does not answer the question (yes {p:.2f})"
        for s in verdict.sentences:
            if s.citations:
                s.citations, s.issue = [], reason
        return cite.Verdict(REFUSAL, verdict.sentences, [], True, reason, verdict.windows, p, verdict.swaps,
                            verdict.share)

    def answer(self, question: str, *, top_k: int | None = None, history: list[tuple[str, str]] | None = None,
               keep: SourceFilter | None = None, sources: Sequence[str] | None = None) -> Answer:
        """Answer ``question`` from the sources (those ``sources`` selects and ``keep`` accepts, if given),
        with verified citations."""
        for event in self.stream(question, top_k=top_k, history=history, keep=keep, sources=sources):
            if isinstance(event, Verified):
                return event.answer
        raise AssertionError("stream ended without a Verified event")  # pragma: no cover


def _check_question(question: str, count_tokens=None, max_tokens: int = MAX_QUESTION_TOKENS) -> tuple[str, list[str]]:
    """Clean a question for the pipeline: ``(question, notes)``; ValueError when nothing is asked.

    Control and other non-printable characters become spaces; a question without a single
    letter or digit (empty, blank, only punctuation) is refused with a clear message. A long
    question is cut, at a word boundary, to ``MAX_QUESTION_CHARS`` characters and, when
    ``count_tokens`` (the model's tokenizer) is given, to ``max_tokens`` model tokens, so that
    the prompt always fits the model's context; a note says so.
    """
    if not isinstance(question, str):
        raise TypeError("question must be a string")
    cleaned = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in question).strip()
    if not any(ch.isalnum() for ch in cleaned):
        raise ValueError("the question is empty: type a question with at least one word")
    notes = []
    if len(cleaned) > MAX_QUESTION_CHARS:
        cleaned = _cut(cleaned, MAX_QUESTION_CHARS)
        notes.append(f"the question was too long and was cut to its first {len(cleaned)} characters")
    if count_tokens is not None and len(cleaned) > max_tokens:  # a token is at least one character
        n = count_tokens(cleaned)
        if n > max_tokens:
            while n > max_tokens:
                cleaned = _cut(cleaned, max(1, int(len(cleaned) * max_tokens / n * 0.95)))
                n = count_tokens(cleaned)
            notes[:] = [f"the question was too long for the model's context and was cut to its first "
                        f"{len(cleaned)} characters ({n} tokens)"]
    return cleaned, notes


def _cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at the last space when there is one nearby."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    space = head.rfind(" ")
    return (head[:space] if space > limit // 2 else head).rstrip()
