"""Present ``ragqa eval`` results: a rich table on the terminal and a JSON document."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .runner import Record

_TRUST = [
    # (label, key, how): what the user was shown, judged by ground truth; printed first
    ("right", "right", "int"),
    ("wrong", "wrong", "int"),
    ("refused (answerable)", "refused_answerable", "of:answerable_n"),
    ("refused (unanswerable)", "refused_unanswerable", "of:unanswerable_n"),
    ("shown precision", "shown_precision", "ratio"),
    ("wrong share", "wrong_share", "ratio"),
]
_QUALITY = [
    ("hit@1", "hit@1", "ratio"),
    ("hit@5", "hit@5", "ratio"),
    ("hit@10", "hit@10", "ratio"),
    ("MRR", "mrr", "ratio"),
    ("correct", "correct", "count"),
    ("passed", "passed", "passed"),
    ("cite P (gold)", "citation_precision", "ratio"),
    ("token-F1", "token_f1", "ratio"),
    ("gold span", "gold_span_share", "ratio"),
]
_LATENCY = [
    ("retrieval p50", "retrieve_p50"), ("retrieval p95", "retrieve_p95"),
    ("first token p50", "first_token_p50"), ("first token p95", "first_token_p95"),
    ("total p50", "total_p50"), ("total p95", "total_p95"),
    ("translation p50", "translate_p50"), ("translation p95", "translate_p95"),
]


def _cell(s: dict, key: str, how: str) -> str:
    if how == "count":
        return f"{s['correct']}/{s['correct_n']}" if "correct" in s else "–"
    if how == "passed":
        return f"{s['passed']}/{s['answered_n']}" if "passed" in s else "–"
    v = s.get(key)
    if v is None:
        return "–"
    if how == "int":
        return str(v)
    if how.startswith("of:"):
        return f"{v}/{s[how[3:]]}" if s.get(how[3:]) else "–"
    return f"{v:.3f}"


def _present(summary: dict[str, dict], key: str, how: str) -> bool:
    if how in ("count", "passed"):
        return any(("correct" if how == "count" else "passed") in s for s in summary.values())
    return any(key in s for s in summary.values())


def _table(summary: dict[str, dict], title: str, columns: list[tuple[str, str, str]]) -> Table | None:
    shown = [(label, key, how) for label, key, how in columns if _present(summary, key, how)]
    if not shown:
        return None
    table = Table(title=title, title_justify="left")
    table.add_column("kind")
    table.add_column("n", justify="right")
    for label, _, _ in shown:
        table.add_column(label, justify="right")
    for kind, s in summary.items():
        table.add_row(kind, str(s["n"]), *(_cell(s, key, how) for _, key, how in shown),
                      style="bold" if kind == "overall" else None)
    return table


def tables(summary: dict[str, dict], title: str) -> list[Table]:
    """What the user was shown (right / wrong / refused, by ground truth), then retrieval and answer
    quality (one row per kind, then overall), then latency (seconds)."""
    out = [t for t in (_table(summary, f"{title}: answers shown, judged by ground truth", _TRUST),
                       _table(summary, f"{title}: retrieval and answers", _QUALITY)) if t is not None]
    lat_cols = [(label, key) for label, key in _LATENCY if any(key in s for s in summary.values())]
    if lat_cols:
        latency = Table(title="latency (seconds)", title_justify="left")
        latency.add_column("kind")
        for label, _ in lat_cols:
            latency.add_column(label, justify="right")
        for kind, s in summary.items():
            latency.add_row(kind, *("–" if s.get(key) is None else f"{s[key]:.3f}" for _, key in lat_cols),
                            style="bold" if kind == "overall" else None)
        out.append(latency)
    return out


def print_report(summary: dict[str, dict], records: list[Record], title: str, list_failures: bool,
                 console: Console | None = None) -> None:
    """Print the tables, and for small sets the questions that did not pass."""
    # Piped or redirected output gets rich's 80 columns, which cuts the headers: never narrower than 120.
    console = console or Console(width=max(Console().width, 120))
    for table in tables(summary, title):
        console.print(table)
    if not list_failures:
        return
    failed = [r for r in records if r.passed is False or r.outcome == "wrong" or (r.measured_retrieval and r.rank is None)]
    for r in failed:
        why = "error: " + r.error if r.error else ("not retrieved in the top 10" if r.measured_retrieval and r.rank is None
                                                   else f"answer: {(r.answer or '')[:150]!r}")
        console.print(f"[yellow]✗ {r.id}[/yellow] ({r.kind}) {r.question} — {why}", highlight=False)


def write_json(path: str | Path, meta: dict, summary: dict[str, dict], records: list[Record]) -> None:
    """The full report: settings, summaries per kind and overall, and every question's record."""
    doc = {"meta": meta, "summary": summary, "questions": [r.to_dict() for r in records]}
    Path(path).write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
