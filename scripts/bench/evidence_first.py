"""bench_evidence_first: how soon the chat shows the passages it is reading, and the model's first words.

The real UI (``ui.app.launch(..., block=False)``, real models) serves a temporary copy of the seeds on a
free loopback port in this process; Debian's chromium, driven by Playwright, asks each seeds dev question
in a fresh session and records in the page's clock (tests.ui.server.WATCH_ANSWER_JS) when Ask was
pressed, when the collapsed "Reading N passages from …" appeared, when the model's first streamed text
appeared and when the verified answer replaced it. The pipeline's ``stream`` is wrapped to note, in the
server's clock (the same machine: both are epoch seconds), when each question started, when retrieval
ended (the answer's own ``timings["retrieve"]``, the "retrieval X s" shown under the answer) and when
the ``qa.Retrieved`` event was handed to the UI.

Per question (seconds):

- ``passages_visible``: Ask pressed → the passages on screen.
- ``request_lag``: Ask pressed → the pipeline starts on the question (browser, Gradio's queue).
- ``retrieval``: the answer's ``timings["retrieve"]`` (question received → retrieval done).
- ``retrieval_end_to_visible``: retrieval done → the passages on screen (target ≤ 0.3 s); split into
  ``evidence_prep`` (retrieval done → ``Retrieved`` yielded: sentences, terms and vectors of the passages,
  excerpt selection) and ``delivery`` (``Retrieved`` yielded → on screen: Gradio's queue, the network, the
  render).
- ``first_token_visible``: Ask pressed → the first non-empty streamed text on screen (and the answer's
  ``timings["first_token"]`` as the pipeline saw it).
- ``answer_visible``: Ask pressed → the verified answer on screen.

``--limit N``: the first N dev questions (default all). ``--warmup K``: questions asked first and not
counted (default 1, at most 2: the first answer pays for cold caches; they are not dev questions).
Run it niced when the machine is shared.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from .common import ROOT, SHARED, parser, summary, table, write_json

DEV = SHARED / "eval" / "dev.jsonl"
ANSWER_TIMEOUT_MS = 600_000
WARMUP_QUESTIONS = ["How much seed capital did Wang Xiaochuan's startup raise?",
                    "What does the London Daily say about China's tech sector?"]
"""Asked first and not counted (not dev questions: a repeated prompt would find the model's cache warm)."""
TARGET_GAP_S = 0.3

METRICS = [
    ("passages_visible", "Ask → passages visible"),
    ("request_lag", "Ask → question reaches the pipeline"),
    ("retrieval", "retrieval (answer's timings)"),
    ("retrieval_end_after_ask", "Ask → retrieval end"),
    ("retrieval_end_to_visible", "retrieval end → passages visible"),
    ("evidence_prep", "  of which: evidence prep (server)"),
    ("delivery", "  of which: Retrieved → visible"),
    ("first_token_visible", "Ask → first token visible"),
    ("first_token_server", "first token (answer's timings)"),
    ("answer_visible", "Ask → verified answer visible"),
]


class Recorder:
    """Wraps ``pipeline.stream``: per question, the server's epoch times of its stages and the answer's timings."""

    def __init__(self, pipeline):
        self.inner = pipeline.stream
        self.records: list[dict] = []
        self._lock = threading.Lock()
        pipeline.stream = self.stream  # ui.chat.ask calls pipeline.stream(...)

    def stream(self, question, **kwargs):
        import qa

        rec = {"question": question, "start": time.time()}  # set on the first next(), as the pipeline's own t0
        with self._lock:
            self.records.append(rec)
        for event in self.inner(question, **kwargs):
            if isinstance(event, qa.Retrieved):
                rec["retrieved_event"] = time.time()
                rec["retrieved_seconds"] = event.seconds
                rec["passages"] = len(event.passages)
            elif isinstance(event, qa.Token):
                rec.setdefault("first_token", time.time())
            elif isinstance(event, qa.Verified):
                rec["timings"] = dict(event.answer.timings)
                rec["refused"] = event.answer.refused
                rec["citations"] = len(event.answer.citations)
            yield event

    def take(self, question: str) -> dict | None:
        with self._lock:
            for i, rec in enumerate(self.records):
                if rec["question"] == question:
                    return self.records.pop(i)
        return None


def _questions(limit: int | None) -> list[dict]:
    if not DEV.is_file():
        raise SystemExit(f"{DEV} not found (../shared beside the checkout, or set RAGQA_SHARED)")
    rows = [json.loads(line) for line in DEV.read_text().splitlines() if line.strip()]
    return rows[:limit] if limit else rows


def ask_in_browser(browser, url: str, question: str) -> dict:
    """Ask ``question`` in a fresh session; the page's record (epoch ms) plus the rendered timings line."""
    import re

    from tests.ui.server import TIMINGS_LINE, WATCH_ANSWER_JS

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.goto(url)
        box = page.locator("#question textarea")
        box.wait_for(timeout=120_000)
        page.evaluate(WATCH_ANSWER_JS)
        box.fill(question)
        page.locator("#send").click()
        page.locator("#chat .ragqa-answer, #chat .ragqa-error").first.wait_for(timeout=ANSWER_TIMEOUT_MS)
        seen = page.evaluate("window.ragqaWatch")
        timings = page.locator("#chat .ragqa-answer .ragqa-timings")
        line = timings.first.inner_text() if timings.count() else ""
        m = re.search(TIMINGS_LINE, line)
        seen["rendered"] = {"retrieval": float(m.group(1)), "first_token": float(m.group(2)),
                            "total": float(m.group(3))} if m else None
        seen["error"] = page.locator("#chat .ragqa-error").count() > 0
        return seen
    finally:
        context.close()


def figures(seen: dict, rec: dict | None) -> dict:
    """Seconds per stage for one question, from the page's record (ms) and the server's (s)."""
    def after_ask(key):
        return None if seen.get(key) is None or seen.get("clicked") is None else (seen[key] - seen["clicked"]) / 1000

    out = {"passages_visible": after_ask("evidence"), "first_token_visible": after_ask("token"),
           "answer_visible": after_ask("answer"), "states": seen.get("states"),
           "evidence_before_text": ("evidence" in (seen.get("states") or [])
                                    and not any(s.startswith("searching+") for s in seen["states"]))}
    if rec and "timings" in rec:
        t = rec["timings"]
        retrieval_end = rec["start"] + t["retrieve"]
        out["retrieval"] = t["retrieve"]
        out["first_token_server"] = t.get("first_token")
        out["retrieval_end_after_ask"] = (retrieval_end - seen["clicked"] / 1000) if seen.get("clicked") else None
        out["request_lag"] = (rec["start"] - seen["clicked"] / 1000) if seen.get("clicked") else None
        out["evidence_prep"] = rec["retrieved_event"] - retrieval_end if "retrieved_event" in rec else None
        if seen.get("evidence") is not None:
            out["retrieval_end_to_visible"] = seen["evidence"] / 1000 - retrieval_end
            if "retrieved_event" in rec:
                out["delivery"] = seen["evidence"] / 1000 - rec["retrieved_event"]
        out["passages"] = rec.get("passages")
        out["refused"] = rec.get("refused")
        out["citations"] = rec.get("citations")
    if seen.get("rendered"):
        out["rendered"] = seen["rendered"]
    return out


def main(argv: list[str] | None = None) -> int:
    p = parser("Evidence first: seconds from Ask to the passages, and to the first token, in a real browser.")
    p.add_argument("--limit", type=int, default=None, help="only the first N dev questions (default: all 14)")
    p.add_argument("--warmup", type=int, default=1,
                   help="questions (not from the dev set) asked first and not counted (default 1, at most 2)")
    args = p.parse_args(argv)
    limit = 3 if args.quick and not args.limit else args.limit
    questions = _questions(limit)

    sys.path.insert(0, str(ROOT))
    import index
    import qa
    from tests.ui.server import CHROMIUM, free_port, get_browser, stop_browser
    from ui.app import launch

    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} not installed (scripts/setup installs it with apt)")
    work = Path(tempfile.mkdtemp(prefix="ragqa-bench-evidence-"))
    app = None
    try:
        shutil.copytree(ROOT / "seeds", work / "sources")
        settings = index.IndexSettings(sources=[str(work / "sources")], index_dir=str(work / "index"))
        t0 = time.perf_counter()
        index.build(settings=settings, progress=False)
        pipeline = qa.configure(qa.Config(index=settings))
        recorder = Recorder(pipeline)
        port = free_port()
        app = launch(host="127.0.0.1", port=port, index_settings=settings, pipeline=pipeline, block=False)
        url = f"http://127.0.0.1:{port}"
        print(f"server ready in {time.perf_counter() - t0:.1f} s at {url}", flush=True)
        browser = get_browser()

        warm = WARMUP_QUESTIONS[: max(args.warmup, 0)]
        for question in warm:
            print(f"warm-up: {question}", flush=True)
            ask_in_browser(browser, url, question)
            recorder.take(question)

        rows = []
        for q in questions:
            seen = ask_in_browser(browser, url, q["question"])
            row = {"id": q.get("id"), "question": q["question"], **figures(seen, recorder.take(q["question"]))}
            rows.append(row)
            print(f"{row['id']}: passages {_s(row.get('passages_visible'))} · retrieval end→visible "
                  f"{_s(row.get('retrieval_end_to_visible'))} · first token {_s(row.get('first_token_visible'))} · "
                  f"answer {_s(row.get('answer_visible'))}", flush=True)
        stop_browser()
    finally:
        if app is not None:
            app.close()
        shutil.rmtree(work, ignore_errors=True)

    stats = {key: summary([r[key] for r in rows if r.get(key) is not None]) for key, _ in METRICS}
    table("evidence first (seconds; real UI and models, chromium headless)", ["stage", "n", "p50", "p95", "max"],
          [[label, stats[key].get("n", 0), stats[key].get("p50", float("nan")), stats[key].get("p95", float("nan")),
            stats[key].get("max", float("nan"))] for key, label in METRICS])
    gap = stats["retrieval_end_to_visible"]
    met = gap.get("n", 0) > 0 and gap["p95"] <= TARGET_GAP_S
    print(f"retrieval end → passages visible: p95 {_s(gap.get('p95'))} (target ≤ {TARGET_GAP_S} s: "
          f"{'met' if met else 'NOT met'}); evidence shown before any model text in "
          f"{sum(bool(r.get('evidence_before_text')) for r in rows)}/{len(rows)} answers", flush=True)
    write_json("evidence_first", {"questions": len(rows), "warmup": len(warm), "target_gap_s": TARGET_GAP_S,
                                  "target_met": met, "summary": stats, "rows": rows}, args.out)
    return 0


def _s(x) -> str:
    return "-" if x is None else f"{x:.2f} s"


if __name__ == "__main__":
    raise SystemExit(main())
