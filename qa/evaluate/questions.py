"""Question sets for ``ragqa eval``: the project's JSONL and SQuAD-style JSON.

JSONL, one object a line::

    {"id": "q1", "question": "...", "must": [["CFO", "chief financial officer"]],
     "sources": ["file_stem"], "kind": "single"}

``must`` is a list of groups; an answer is correct when every group has one of its strings
(case-insensitive, spaces and punctuation normalised). ``sources`` are the file stems the
answer should come from. ``kind``: ``single``, ``multi``, ``unanswerable`` (must be refused)
or ``cross-lingual`` (answering from the right source or refusing both count).

SQuAD-style JSON (``data[].paragraphs[].context`` with ``qas[].answers[].answer_start``):
each context is written as one ``.txt`` source file into a cache folder keyed by the file's
SHA-256, so the answers' character offsets are offsets into that file; a retrieved passage
is a hit when its span overlaps a gold answer span.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("single", "multi", "unanswerable", "cross-lingual")


@dataclass
class Gold:
    """A gold answer span: ``text == open(<source stem>.txt).read()[start:end]``."""

    source: str
    start: int
    end: int
    text: str


@dataclass
class Question:
    """One question of a set, in a format-independent shape."""

    id: str
    question: str
    kind: str = "single"
    must: list[list[str]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    """Stems of the files an answer should come from (empty: unanswerable)."""
    gold: list[Gold] = field(default_factory=list)
    """Gold answer spans (SQuAD-style sets only)."""
    exclude: list[str] = field(default_factory=list)
    """Stems of sources left out of retrieval when this question is asked (missing-document negatives)."""

    @property
    def answerable(self) -> bool:
        return self.kind != "unanswerable"


@dataclass
class QuestionSet:
    """Questions plus, for SQuAD-style sets, the folder their contexts were written to."""

    path: str
    format: str  # "jsonl" | "squad"
    questions: list[Question]
    sources_dir: str | None = None
    sha256: str = ""


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def eval_cache_dir() -> Path:
    """Root of the eval caches (``$RAGQA_CACHE_DIR/eval``, default ``~/.cache/ragqa/eval``)."""
    base = os.environ.get("RAGQA_CACHE_DIR") or str(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ragqa")
    return Path(base) / "eval"


def load_questions(path: str | Path, cache_dir: str | Path | None = None) -> QuestionSet:
    """Read a question set; SQuAD-style contexts are written under ``cache_dir`` (default: the eval cache)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"question set not found: {path}")
    raw = path.read_text(encoding="utf-8")
    stripped = raw.lstrip()
    if stripped.startswith("{") and '"data"' in stripped[:2000]:
        try:
            doc = json.loads(raw)
        except json.JSONDecodeError:
            doc = None
        if isinstance(doc, dict) and isinstance(doc.get("data"), list):
            return _load_squad(path, doc, Path(cache_dir) if cache_dir else eval_cache_dir())
    return QuestionSet(str(path), "jsonl", parse_jsonl(raw, str(path)), sha256=file_sha256(path))


def parse_jsonl(text: str, name: str = "<questions>") -> list[Question]:
    """Questions from the project's JSONL format (blank lines and ``#`` comments skipped)."""
    out: list[Question] = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{name}:{n}: not JSON ({exc.msg})") from exc
        if not isinstance(obj, dict) or not isinstance(obj.get("question"), str) or not obj["question"].strip():
            raise ValueError(f"{name}:{n}: each line needs a non-empty \"question\"")
        must = obj.get("must") or []
        if not isinstance(must, list):
            raise ValueError(f"{name}:{n}: \"must\" must be a list of groups of strings")
        groups = [[g] if isinstance(g, str) else [str(s) for s in g] for g in must]
        sources = [Path(str(s)).stem for s in (obj.get("sources") or [])]
        kind = str(obj.get("kind") or ("unanswerable" if not groups and not sources else "single"))
        if kind not in KINDS:
            raise ValueError(f"{name}:{n}: unknown kind {kind!r} (one of {', '.join(KINDS)})")
        out.append(Question(str(obj.get("id", n)), obj["question"].strip(), kind, groups, sources))
    return out


def _safe_stem(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", value).strip("._")[:60] or "doc"


def _gold_span(context: str, start: int, text: str) -> tuple[int, int] | None:
    """The answer's span in ``context``; tolerates answers whose offset skips their leading space."""
    if start >= 0 and context[start : start + len(text)] == text:
        return start, start + len(text)
    core = text.strip()
    if not core:
        return None
    if context.startswith(core, start):
        return start, start + len(core)
    hits = [m.start() for m in re.finditer(re.escape(core), context)]
    if hits:
        best = min(hits, key=lambda i: abs(i - start))
        return best, best + len(core)
    return None


def _load_squad(path: Path, doc: dict, cache_dir: Path) -> QuestionSet:
    sha = file_sha256(path)
    folder = cache_dir / sha[:16] / "sources"
    folder.mkdir(parents=True, exist_ok=True)
    questions: list[Question] = []
    n_para = 0
    for article in doc["data"]:
        for para in article.get("paragraphs", []):
            context = para.get("context") or ""
            if not context.strip():
                continue
            stem = f"{n_para:04d}_{_safe_stem(str(para.get('document_id', article.get('title', ''))))}"
            n_para += 1
            target = folder / f"{stem}.txt"
            if not target.exists() or target.read_text(encoding="utf-8") != context:
                tmp = target.with_suffix(".tmp")
                with open(tmp, "w", encoding="utf-8", newline="") as f:
                    f.write(context)
                os.replace(tmp, target)
            for qa in para.get("qas", []):
                impossible = bool(qa.get("is_impossible")) or not qa.get("answers")
                gold = []
                for a in qa.get("answers", []):
                    span = _gold_span(context, int(a.get("answer_start", -1)), a.get("text", ""))
                    if span:
                        gold.append(Gold(stem, span[0], span[1], context[span[0] : span[1]]))
                questions.append(Question(
                    id=str(qa.get("id", len(questions))),
                    question=str(qa.get("question", "")).strip(),
                    kind="unanswerable" if impossible else "single",
                    sources=[] if impossible else [stem],
                    gold=gold,
                ))
    return QuestionSet(str(path), "squad", [q for q in questions if q.question], str(folder), sha)


def _squash(text: str) -> str:
    return " ".join(text.lower().split())


def missing_document(questions: list[Question], sources_dir: str | Path) -> tuple[list[Question], int]:
    """Missing-document negatives: each answerable question asked with its own source(s) left out.

    The question then has no answer in what retrieval can see, but every other document, often on
    the same topic, is still there: the product must refuse. A question is skipped (its count is
    returned) when its answer could still be found elsewhere: a gold answer text (SQuAD-style) or
    every ``must`` group (JSONL) occurring in another source, compared case-insensitively with
    spaces collapsed. Questions without gold spans, ``must`` groups or expected sources are skipped.
    """
    texts = {}
    for path in sorted(Path(sources_dir).rglob("*")):
        if path.is_file() and path.suffix.lower() in (".txt", ".md"):
            texts[path.stem] = _squash(path.read_text(encoding="utf-8", errors="replace"))
    out: list[Question] = []
    skipped = 0
    for q in questions:
        own = set(q.sources) | {g.source for g in q.gold}
        if not q.answerable or not own or not (q.gold or q.must):
            skipped += 1
            continue
        others = [t for stem, t in texts.items() if stem not in own]
        if q.gold:
            elsewhere = any(_squash(g.text) and _squash(g.text) in t for g in q.gold for t in others)
        else:
            elsewhere = any(all(any(_squash(s) in t for s in group) for group in q.must) for t in others)
        if elsewhere:
            skipped += 1
            continue
        out.append(Question(f"{q.id}-missing", q.question, "unanswerable", exclude=sorted(own)))
    return out, skipped
