"""bench_load: several chat users at once on the real server, and what the user past a full line gets.

A real ``ragqa ui`` server (``python -m qa ui`` over a temporary copy of the seeds and a temporary index, on a
free loopback port: tests.ui.server.start_server) is asked the seeds dev questions through ``gradio_client``'s
``/chat`` by N users at once, N = 1, 2, 4, 8 (``--users``). Each user is its own ``Client`` and asks one
question after another for ``--duration`` seconds (then finishes the question it is on); each question starts
a fresh session (``Client.reset_session``), so every one is answered as asked, not as a follow-up.

Per level:

- ``answers/min``: answers received / seconds from the level's start to its last answer × 60, and its ratio
  to the one-user figure (the model is one instance: the target is that 8 users get ≥ 0.9× one user's answers
  per minute).
- ``p50/p95``: seconds from a question's submission to its answer, as each user sees it.
- ``lost``: questions that got no answer (an error, a timeout, an empty reply); ``busy``: questions turned away
  with the server's busy message (none expected while users ≤ the line's capacity).
- ``crossed``: answers that belong to another question. An answer is its own question's when it is the text the
  one-user level got for that question, or it holds that question's expected facts and cites an expected source
  (unanswerable: a refusal); it is crossed when instead it is another question's one-user text or fits another
  question's facts and sources (refusals cannot be told apart and are never counted as crossed). The rest are
  ``other`` (e.g. a refusal where one user got an answer) and listed.

Then the full line: ``capacity + --overflow`` users ask at the same moment (a barrier), where capacity is the
questions answered at once (``ui.gate.DEFAULT_SLOTS``) plus those that may wait (``RAGQA_UI_QUEUE``, ``--queue``).
The extra users must get the one-line busy message at once, never a hang; the others must all be answered.

``--url URL`` measures a server that is already running (its line must be ``--queue`` long). Results go to
``var/bench/load.json``. Run it niced when the machine is shared, one model process at a time.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .common import ROOT, SHARED, parser, summary, table, write_json

DEV = SHARED / "eval" / "dev.jsonl"
USERS = (1, 2, 4, 8, 1)
"""Users per level, in order: one user first and last (the baseline is their mean).
"""
TARGET_RATIO = 0.9
WARMUP_QUESTION = "How much seed capital did Wang Xiaochuan's startup raise?"
"""Asked once before the levels and not counted (not a dev question: the first answer pays for cold caches)."""
REFUSAL = "I could not find the answer in the sources."
MAX_LOGGED = 10
"""Questions without an answer printed per level (all are in the JSON)."""


@dataclass
class Request:
    """One question asked by one user: what came back and when (seconds since the level started)."""

    user: int
    qid: str
    question: str
    submitted: float
    done: float = float("nan")
    outcome: str = "pending"  # answer | busy | queue_full | error | timeout | empty
    text: str = ""
    error: str = ""
    verdict: str = ""  # for answers: same | own | crossed | other
    crossed_with: str = ""
    late: bool = False  # the full-line burst's single late arrival

    @property
    def latency(self) -> float:
        return self.done - self.submitted


@dataclass
class Level:
    users: int
    duration: float
    requests: list[Request] = field(default_factory=list)
    elapsed: float = float("nan")


def load_questions(path: Path = DEV) -> list[dict]:
    if not path.is_file():
        raise SystemExit(f"{path} not found (../shared beside the checkout, or set RAGQA_SHARED)")
    rows = [
        json.loads(line)
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    return [
        {
            "id": r.get("id") or f"q{i}",
            "question": r["question"],
            "kind": r.get("kind", "single"),
            "must": r.get("must") or [],
            "sources": r.get("sources") or [],
        }
        for i, r in enumerate(rows)
    ]


def _busy_message() -> str:
    from ui.gate import BUSY_MESSAGE

    return BUSY_MESSAGE


def ask(client, question: str, timeout: float) -> tuple[str, str, str]:
    """One question in a fresh session of ``client``: (outcome, answer text, error text)."""
    from gradio_client.exceptions import AppError
    from gradio_client.utils import QueueError  # Gradio's own queue is full (a backstop; not expected here)

    client.reset_session()
    job = client.submit(question, api_name="/chat")
    try:
        text = job.result(timeout=timeout)
    except TimeoutError:
        job.cancel()
        return "timeout", "", f"no answer within {timeout:.0f} s"
    except AppError as exc:
        message = str(exc)
        return ("busy" if _busy_message() in message else "error"), "", message
    except QueueError as exc:
        return "queue_full", "", str(exc)
    except Exception as exc:  # noqa: BLE001  (anything else is a lost question, reported with its reason)
        return "error", "", f"{type(exc).__name__}: {exc}"
    if not isinstance(text, str) or not text.strip():
        return "empty", "", repr(text)
    return "answer", text, ""


def make_client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False, download_files=False)


def run_level(url: str, questions: list[dict], users: int, duration: float, timeout: float, log=print) -> Level:
    """``users`` users asking questions one after another for ``duration`` seconds, all at once."""
    level = Level(users, duration)
    lock = threading.Lock()
    clients = [make_client(url) for _ in range(users)]
    start = threading.Barrier(users + 1)
    t0 = 0.0
    logged = [0]

    def user(i: int) -> None:
        step = max(1, len(questions) // users)  # users start at different questions: different ones in flight
        n = i * step
        start.wait()
        while time.perf_counter() - t0 < duration:
            q = questions[n % len(questions)]
            n += 1
            req = Request(i, q["id"], q["question"], time.perf_counter() - t0)
            with lock:
                level.requests.append(req)
            req.outcome, req.text, req.error = ask(clients[i], q["question"], timeout)
            req.done = time.perf_counter() - t0
            if req.outcome != "answer":
                with lock:
                    logged[0] += 1
                    if logged[0] <= MAX_LOGGED:
                        log(f"  user {i} {q['id']}: {req.outcome} after {req.latency:.1f} s: {req.error[:160]}")

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(users)]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    start.wait()
    for t in threads:
        t.join(duration + timeout + 60)
    level.elapsed = max((r.done for r in level.requests if r.done == r.done), default=float("nan"))
    return level


def burst(url: str, questions: list[dict], count: int, timeout: float, overflow: int = 0) -> list[Request]:
    """``count`` users each ask one question at the same moment (released together by a barrier).

    With ``overflow``: once that many have been turned away, one more user (already connected) asks alone while
    the line is still full: what a single late arrival sees, without the burst's own connection rush. It is
    the last request, marked ``late`` (admitted instead if a place had come free by then).
    """
    clients = [make_client(url) for _ in range(count + (1 if overflow else 0))]
    for c in clients:
        c.reset_session()
    requests: list[Request] = []
    lock = threading.Lock()
    turned_away = threading.Semaphore(0)
    start = threading.Barrier(count + 1)
    t0 = 0.0

    def user(i: int) -> None:
        q = questions[i % len(questions)]
        start.wait()
        req = Request(i, q["id"], q["question"], time.perf_counter() - t0)
        req.outcome, req.text, req.error = ask(clients[i], q["question"], timeout)
        req.done = time.perf_counter() - t0
        with lock:
            requests.append(req)
        if req.outcome != "answer":
            turned_away.release()

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    start.wait()
    late = None
    if overflow and all(turned_away.acquire(timeout=timeout) for _ in range(overflow)):
        q = questions[count % len(questions)]
        late = Request(count, q["id"], q["question"], time.perf_counter() - t0, late=True)
        late.outcome, late.text, late.error = ask(clients[count], q["question"], timeout)
        late.done = time.perf_counter() - t0
    for t in threads:
        t.join(timeout + 60)
    return sorted(requests, key=lambda r: r.user) + ([late] if late else [])


# --- does an answer belong to its question? -------------------------------------------------------------


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w%$.]+", " ", text.lower()).split())


def _cited(text: str) -> list[str]:
    return re.findall(r'^\[\d+\] (.+?)(?: \(.*?\))?: "', text, flags=re.M)


def fits(row: dict, text: str) -> bool:
    """The answer holds the question's expected facts and cites an expected source (unanswerable: a refusal)."""
    if row["kind"] == "unanswerable":
        return text.startswith(REFUSAL)
    if row["kind"] == "cross-lingual" and text.startswith(REFUSAL):
        return True  # as `ragqa eval` counts it: refusing a question in another language passes
    if text.startswith(REFUSAL) or not row["must"]:
        return False
    answer = text.split("\n\nSources:\n")[0]
    facts = all(any(_norm(s) in _norm(answer) for s in group) for group in row["must"])
    cited = any(src in name for name in _cited(text) for src in row["sources"])
    return facts and cited


def judge(requests: list[Request], questions: list[dict], reference: dict[str, set[str]]) -> None:
    """Set each answer's verdict: same / own / crossed / other (see the module's docstring)."""
    by_id = {q["id"]: q for q in questions}
    for r in requests:
        if r.outcome != "answer":
            continue
        if r.text in reference.get(r.qid, set()):
            r.verdict = "same"
        elif fits(by_id[r.qid], r.text):
            r.verdict = "own"
        else:
            r.verdict = "other"
            if not r.text.startswith(REFUSAL):
                for q in questions:
                    if q["id"] != r.qid and (r.text in reference.get(q["id"], set()) or fits(q, r.text)):
                        r.verdict, r.crossed_with = "crossed", q["id"]
                        break


def level_summary(level: Level, base_rate: float | None) -> dict:
    rs = level.requests
    outcomes = Counter(r.outcome for r in rs)
    verdicts = Counter(r.verdict for r in rs if r.outcome == "answer")
    answers = outcomes.get("answer", 0)
    rate = answers / level.elapsed * 60 if answers and level.elapsed > 0 else 0.0
    lat = [r.latency for r in rs if r.outcome == "answer"]
    return {
        "users": level.users,
        "duration_s": level.duration,
        "elapsed_s": level.elapsed,
        "questions": len(rs),
        "answers": answers,
        "answers_per_min": rate,
        "ratio_to_1_user": (rate / base_rate) if base_rate else None,
        "latency": summary(lat),
        "busy": outcomes.get("busy", 0) + outcomes.get("queue_full", 0),
        "lost": sum(outcomes.get(k, 0) for k in ("error", "timeout", "empty", "pending")),
        "crossed": verdicts.get("crossed", 0),
        "same_as_1_user": verdicts.get("same", 0),
        "own_not_same": verdicts.get("own", 0),
        "other": verdicts.get("other", 0),
        "others": [{"qid": r.qid, "text": r.text[:300]} for r in rs if r.verdict == "other"],
        "outcomes": dict(outcomes),
    }


def burst_summary(requests: list[Request], capacity: int, overflow: int) -> dict:
    late = next((r for r in requests if r.late), None)
    requests = [r for r in requests if not r.late]
    outcomes = Counter(r.outcome for r in requests)
    busy = [r for r in requests if r.outcome in ("busy", "queue_full")]
    answered = [r for r in requests if r.outcome == "answer"]
    return {
        "requests": len(requests),
        "capacity": capacity,
        "overflow": overflow,
        "busy": len(busy),
        "busy_messages": sorted({r.error for r in busy}),
        "busy_latency": summary([r.latency for r in busy]),
        "answered": len(answered),
        "answered_latency": summary([r.latency for r in answered]),
        "lost": sum(outcomes.get(k, 0) for k in ("error", "timeout", "empty", "pending")),
        "crossed": sum(r.verdict == "crossed" for r in answered),
        "outcomes": dict(outcomes),
        "as_expected": len(busy) == overflow and len(answered) == capacity,
        "late": None if late is None else {"outcome": late.outcome, "latency": late.latency, "error": late.error},
    }


def main(argv: list[str] | None = None) -> int:
    p = parser(
        "N concurrent chat users on the real server: answers per minute, latency, lost, crossed, "
        "and the busy answer of a full line."
    )
    p.add_argument(
        "--users", default=None, help="users per level, comma-separated, in order (default 1,2,4,8,1; --quick 1,2,4,8)"
    )
    p.add_argument("--duration", type=float, default=None, help="seconds each level keeps asking (default 180; --quick 25)")
    p.add_argument(
        "--timeout", type=float, default=600.0, help="seconds one question may take before it counts as lost (default 600)"
    )
    p.add_argument(
        "--overflow",
        type=int,
        default=None,
        help="users beyond the line's capacity in the full-line burst (default 6; --quick 3; 0: skip it)",
    )
    p.add_argument(
        "--queue",
        type=int,
        default=None,
        help="RAGQA_UI_QUEUE for the server: questions that may wait (default: $RAGQA_UI_QUEUE or 16)",
    )
    p.add_argument("--url", default=None, help="measure this running server instead of starting one")
    p.add_argument("--questions", type=Path, default=DEV, help="ragqa JSONL questions (default: the seeds dev set)")
    p.add_argument("--no-warmup", action="store_true", help="do not ask one uncounted question first")
    args = p.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    import os

    from tests.ui.server import start_server, stop
    from ui.gate import DEFAULT_SLOTS, waiting_from_env

    spec = args.users or ("1,2,4,8" if args.quick else ",".join(map(str, USERS)))
    users = [int(u) for u in spec.split(",") if u.strip() and int(u) > 0]  # in order; 0: only the full line
    duration = args.duration if args.duration is not None else (25.0 if args.quick else 180.0)
    overflow = args.overflow if args.overflow is not None else (3 if args.quick else 6)
    waiting = args.queue if args.queue is not None else waiting_from_env(os.environ)
    capacity = DEFAULT_SLOTS + waiting
    questions = load_questions(args.questions)

    server = None
    t0 = time.perf_counter()
    if args.url:
        url = args.url.rstrip("/")
    else:
        server = start_server({"RAGQA_UI_QUEUE": str(waiting)})
        url = server.url
    startup = time.perf_counter() - t0
    print(f"server at {url} (ready in {startup:.1f} s); line: {DEFAULT_SLOTS} answered at once + {waiting} waiting", flush=True)
    levels: list[Level] = []
    burst_requests: list[Request] = []
    try:
        if not args.no_warmup:
            outcome, text, error = ask(make_client(url), WARMUP_QUESTION, args.timeout)
            print(f"warm-up: {outcome} {error[:200]}", flush=True)
            if outcome != "answer":  # the server cannot answer at all: measuring it would only count errors
                raise SystemExit(f"the warm-up question got no answer ({outcome}: {error[:300]}); not measuring")
        for n in users:
            print(f"{n} user(s) for {duration:.0f} s …", flush=True)
            level = run_level(url, questions, n, duration, args.timeout)
            levels.append(level)
            done = sum(r.outcome == "answer" for r in level.requests)
            print(f"  {done} answers in {level.elapsed:.0f} s", flush=True)
        if overflow > 0:
            print(f"full line: {capacity + overflow} users at once (capacity {capacity}) …", flush=True)
            burst_requests = burst(url, questions, capacity + overflow, args.timeout, overflow)
    finally:
        if server is not None:
            alive = server.alive()
            log_tail = server.log_tail(2000)
            stop(server)
            if not alive:
                print(f"the server was not alive at the end; its log:\n{log_tail}", flush=True)

    # references: what one user got for each question (crossed answers are told apart by them)
    reference: dict[str, set[str]] = {}
    for level in levels:
        if level.users == 1:
            for r in level.requests:
                if r.outcome == "answer":
                    reference.setdefault(r.qid, set()).add(r.text)
    for level in levels:
        judge(level.requests, questions, reference)
    judge(burst_requests, questions, reference)

    # one user's rate: the mean over the one-user levels (asked first and last, so that a machine whose load
    # drifts during the run shows it as a difference between the two)
    singles = [level_summary(lv, None)["answers_per_min"] for lv in levels if lv.users == 1]
    base_rate = sum(singles) / len(singles) if singles else None
    sums = [level_summary(lv, base_rate) for lv in levels]
    table(
        "load (real server and model, gradio_client /chat over loopback)",
        [
            "users",
            "questions",
            "answers",
            "answers/min",
            "× 1 user",
            "p50 s",
            "p95 s",
            "busy",
            "lost",
            "crossed",
            "same as 1 user",
        ],
        [
            [
                s["users"],
                s["questions"],
                s["answers"],
                s["answers_per_min"],
                s["ratio_to_1_user"] if s["ratio_to_1_user"] is not None else float("nan"),
                s["latency"].get("p50", float("nan")),
                s["latency"].get("p95", float("nan")),
                s["busy"],
                s["lost"],
                s["crossed"],
                s["same_as_1_user"],
            ]
            for s in sums
        ],
    )
    for s in sums:
        for o in s["others"]:
            print(f"  {s['users']} users, {o['qid']}: neither its one-user text nor its facts: {o['text'][:160]!r}")
    top = max(reversed(sums), key=lambda s: s["users"]) if sums else None
    target = None
    if top is not None and base_rate:
        target = {
            "users": top["users"],
            "ratio": top["ratio_to_1_user"],
            "target": TARGET_RATIO,
            "met": bool(top["ratio_to_1_user"] >= TARGET_RATIO and top["lost"] == 0 and top["crossed"] == 0),
        }
        print(
            f"{top['users']} users: {top['ratio_to_1_user']:.2f}× one user's answers per minute "
            f"(target ≥ {TARGET_RATIO}×, none lost, none crossed: {'met' if target['met'] else 'NOT met'})"
        )
    full = burst_summary(burst_requests, capacity, overflow) if burst_requests else None
    if full:
        bl, al = full["busy_latency"], full["answered_latency"]
        print(
            f"full line: {full['requests']} at once → {full['busy']} busy in p50 {_s(bl.get('p50'))} / max "
            f"{_s(bl.get('max'))}, {full['answered']} answered (p50 {_s(al.get('p50'))}, max {_s(al.get('max'))}), "
            f"{full['lost']} lost, {full['crossed']} crossed; "
            f"{'as expected' if full['as_expected'] else 'NOT as expected'}"
        )
        for m in full["busy_messages"]:
            print(f"  busy reply: {m!r}")
        if full["late"]:
            print(f"  one more user, alone, while the line was full: {full['late']['outcome']} in {_s(full['late']['latency'])}")
    write_json(
        "load",
        {
            "url": url if args.url else "loopback (started by the benchmark)",
            "quick": args.quick,
            "startup_s": startup,
            "slots": DEFAULT_SLOTS,
            "waiting": waiting,
            "capacity": capacity,
            "duration_s": duration,
            "timeout_s": args.timeout,
            "questions_file": str(args.questions),
            "one_user_rates": singles,
            "levels": sums,
            "target": target,
            "full_line": full,
            "requests": {str(lv.users): [asdict(r) for r in lv.requests] for lv in levels},
            "full_line_requests": [asdict(r) for r in burst_requests],
        },
        args.out,
    )
    return 0


def _s(x) -> str:
    return "-" if x is None or x != x else f"{x:.2f} s"


if __name__ == "__main__":
    raise SystemExit(main())
