"""Another version of ragqa against this one, side by side: the same question set, the same machine, one run.

Machines differ between sessions, so absolute seconds are not comparable; a ratio measured in
one run is. This checks out ``--ref`` (a commit, default ``HEAD``) into a temporary git
worktree, then runs ``ragqa eval`` on the same question set with each version in turn, in fresh
processes, alternating (A B A B …, ``--rounds``) so that a change in machine load hits both.
Each version answers with its own code and its own index of the same sources. It prints the
answer figures (right / wrong / refused, by ground truth) and the latency percentiles of each
version, the ratio of this version's to the other's, and writes JSON.

    python -m scripts.bench.compare_versions --ref d2bf6c9 --questions ../shared/eval/dev.jsonl
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from .common import OUT_DIR, ROOT, SHARED, parser


def _eval(code: Path, questions: str, index_dir: Path, out: Path, extra: list[str]) -> dict:
    env = dict(os.environ, PYTHONPATH=str(code), HF_HUB_OFFLINE="1", RAGQA_SOURCES=str(ROOT / "seeds"))
    questions = str(Path(questions).resolve())  # each version runs in its own checkout: a relative path would miss
    cmd = [sys.executable, "-m", "qa", "--index-dir", str(index_dir), "eval", questions, "--json", str(out), *extra]
    subprocess.run(cmd, cwd=code, env=env, check=True, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


def _figures(docs: list[dict]) -> dict:
    totals = [q["timings"]["total"] for d in docs for q in d["questions"] if "total" in q["timings"]]
    firsts = [q["timings"]["first_token"] for d in docs for q in d["questions"] if "first_token" in q["timings"]]
    last = docs[-1]["summary"]["overall"]
    return {
        "total_p50": statistics.median(totals), "first_token_p50": statistics.median(firsts),
        "total_p95": sorted(totals)[int(0.95 * (len(totals) - 1))],
        "right": last.get("right"), "wrong": last.get("wrong"),
        "refused_answerable": last.get("refused_answerable"), "refused_unanswerable": last.get("refused_unanswerable"),
        "passed": last.get("passed"), "n": last.get("n"),
    }


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.split("\n\n")[0])
    p.add_argument("--ref", default="HEAD", help="the other version: a commit or branch (default HEAD)")
    p.add_argument("--questions", default=str(SHARED / "eval" / "dev.jsonl"))
    p.add_argument("--rounds", type=int, default=2, help="alternating runs of each version")
    args = p.parse_args(argv)
    rounds = 1 if args.quick else args.rounds
    extra = ["--limit", "3"] if args.quick else []
    work = Path(tempfile.mkdtemp(prefix="ragqa-compare-"))
    other = work / "other"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(other), args.ref], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    commit = subprocess.run(["git", "-C", str(other), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=True).stdout.strip()
    runs: dict[str, list[dict]] = {"other": [], "this": []}
    try:
        for r in range(rounds):
            for name, code in (("other", other), ("this", ROOT)):
                print(f"round {r + 1}/{rounds}: {name}", file=sys.stderr)
                runs[name].append(_eval(code, args.questions, work / f"index-{name}", work / f"{name}-{r}.json", extra))
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(other)], check=False)
        shutil.rmtree(work, ignore_errors=True)
    a, b = _figures(runs["other"]), _figures(runs["this"])
    result = {"ref": args.ref, "commit": commit, "questions": args.questions, "rounds": rounds,
              "other": a, "this": b,
              "ratio_total_p50": b["total_p50"] / a["total_p50"],
              "ratio_first_token_p50": b["first_token_p50"] / a["first_token_p50"],
              "machine": {"cpus": os.cpu_count(), "load": os.getloadavg()}}
    print(f"{'version':12s} {'right':>5s} {'wrong':>5s} {'ref.ans':>7s} {'ref.unans':>9s} {'first p50':>9s} "
          f"{'total p50':>9s} {'total p95':>9s}")
    for name, f in ((f"{commit}", a), ("this", b)):
        print(f"{name:12s} {f['right']!s:>5s} {f['wrong']!s:>5s} {f['refused_answerable']!s:>7s} "
              f"{f['refused_unanswerable']!s:>9s} {f['first_token_p50']:9.2f} {f['total_p50']:9.2f} {f['total_p95']:9.2f}")
    print(f"ratio this/{commit}: total p50 {result['ratio_total_p50']:.2f}, first token p50 "
          f"{result['ratio_first_token_p50']:.2f}")
    out = args.out or OUT_DIR / "compare_versions.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
