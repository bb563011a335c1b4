"""Shared helpers of the benchmarks: timing, memory, tables and JSON results."""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import time
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from pathlib import Path

#: Repository root (scripts/bench/common.py → ../..).
ROOT = Path(__file__).resolve().parents[2]
#: Where results go (git-ignored).
OUT_DIR = ROOT / "var" / "bench"
#: The shared evaluation data beside the repository.
SHARED = Path(os.environ.get("RAGQA_SHARED", ROOT.parent / "shared"))


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark has (``--quick``, ``--out``)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="a small version of the benchmark, to check that it runs")
    p.add_argument("--out", type=Path, default=None, help="JSON result file (default: var/bench/<name>.json)")
    return p


def now() -> float:
    """A monotonic clock in seconds."""
    return time.perf_counter()


@contextmanager
def timer(into: dict, key: str):
    """Store the seconds the ``with`` block took in ``into[key]``."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        into[key] = time.perf_counter() - t0


def pct(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = int(pos), min(int(pos) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summary(values: Sequence[float]) -> dict:
    """n, p50, p95, mean, min and max of ``values``."""
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50": pct(values, 50), "p95": pct(values, 95), "mean": statistics.fmean(values),
            "min": min(values), "max": max(values)}


def rss_mb() -> float:
    """Resident memory of this process now, in MB (from /proc; 0 where unavailable)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident memory of this process (or of its finished children), in MB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024  # Linux: kilobytes


def machine() -> dict:
    """What the figures were measured on, including how busy the machine was at the start."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = list(os.getloadavg())
    except OSError:
        load = []
    mem = 0.0
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        pass
    return {"cpus": os.cpu_count(), "cpu": model, "memory_gib": round(mem, 1), "python": platform.python_version(),
            "platform": platform.platform(), "load_average": [round(x, 2) for x in load]}


def fmt(value) -> str:
    """A table cell: floats with 3 significant digits, others as text."""
    if isinstance(value, float):
        if value != value:
            return "-"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.3g}"
    return str(value)


def table(title: str, headers: Sequence[str], rows: Iterable[Sequence]) -> str:
    """Print and return a plain-text table."""
    rows = [[fmt(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(headers, widths)), "  ".join("-" * w for w in widths)]
    for r in rows:
        lines.append("  ".join(c.rjust(w) if _numeric(c) else c.ljust(w) for c, w in zip(r, widths)))
    text = "\n".join(lines)
    print(text + "\n", flush=True)
    return text


def _numeric(cell: str) -> bool:
    return cell.replace(",", "").replace(".", "").replace("-", "").replace("x", "").replace("e", "").isdigit()


def write_json(name: str, data: dict, out: Path | None = None) -> Path:
    """Write ``data`` (plus the machine and a timestamp) as JSON to ``out`` or ``var/bench/<name>.json``."""
    path = Path(out) if out else OUT_DIR / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"benchmark": name, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine(), **data}
    path.write_text(json.dumps(doc, indent=1, default=_jsonable))
    print(f"results written to {path}", flush=True)
    return path


def _jsonable(obj):
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:
        pass
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


def covidqa_articles(limit: int | None = None) -> list[dict]:
    """COVID-QA articles from ``../shared/eval/covidqa/*.json`` (SQuAD format): dicts with
    ``title``, ``context`` and ``qas`` (``question``, ``answers`` with ``text`` and ``answer_start``)."""
    articles = []
    for f in sorted((SHARED / "eval" / "covidqa").glob("*.json")):
        data = json.loads(f.read_text(encoding="utf-8"))
        for art in data.get("data", []):
            for i, para in enumerate(art.get("paragraphs", [])):
                title = str(art.get("title") or f"article-{len(articles)}")
                articles.append({"title": title if i == 0 else f"{title}-{i}", "context": para["context"],
                                 "qas": para.get("qas", [])})
    return articles[:limit] if limit else articles


def write_covidqa_corpus(directory: Path, articles: list[dict]) -> list[Path]:
    """Write each article's context as one ``.txt`` file (name from its index), returning the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, art in enumerate(articles):
        p = directory / f"covidqa-{i:04d}.txt"
        if not p.exists() or p.read_text(encoding="utf-8") != art["context"]:
            p.write_text(art["context"], encoding="utf-8")
        paths.append(p)
    return paths


def covidqa_questions(articles: list[dict], paths: list[Path], limit: int | None = None, seed: int = 0) -> list[dict]:
    """A reproducible sample of COVID-QA questions: ``question``, ``source`` (file), ``start``/``end`` of the answer."""
    import random

    qs = []
    for art, path in zip(articles, paths):
        for qa in art["qas"]:
            for ans in qa.get("answers", [])[:1]:
                start = int(ans["answer_start"])
                qs.append({"question": qa["question"], "source": str(path), "start": start, "end": start + len(ans["text"]),
                           "answer": ans["text"]})
    if limit and len(qs) > limit:
        qs = random.Random(seed).sample(qs, limit)
    return qs


def overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    """Whether the character ranges ``[a_start, a_end)`` and ``[b_start, b_end)`` share a character."""
    return a_start < b_end and b_start < a_end
