"""bench_query: answer latency against the raw model's own limit, measured in the same run.

For every question, through the product's own ``Pipeline`` (one process, models loaded once):
retrieval time, time to first token, total answer time (verification included) and the tokens of
the prompt sent to the model (system prompt + user message; the system prompt's KV cache is reused
between questions, so "new" counts only the user message). Then the same answer prompt is replayed
on the raw ``llama_cpp.Llama`` (only the system prompt in its KV cache, as in production; greedy, so
the same reply): its time to first token is the raw read of the same new tokens, and its total the
raw read + generate. The product's overhead is reported as ratios to these (targets, p50: first
token <= 1.2x the raw read, total <= 1.15x raw read + generate), with the raw model's reading and
generation speeds. Dev-set answers are judged as ``ragqa eval`` judges them, so a speed-up that
costs accuracy shows. Then ``ragqa ask`` is run cold in a new process, against a warm answer to
the same question (target <= 1.5x), with the import and the model load timed apart.

``--rounds N``: each set answered N times (the whole set each round, each answer followed by its raw replay), each
timing the median of its rounds. ``--quick``: 3 dev questions, 2 COVID-QA questions, one cold run.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import time
from pathlib import Path

from .common import OUT_DIR, ROOT, SHARED, parser, summary, table, write_json

DEV = SHARED / "eval" / "dev.jsonl"
COVIDQA_JSON = SHARED / "eval" / "covidqa" / "covidqa_200423.json"


class CountingLLM:
    """Wraps the product's LLM and records the prompt tokens of each generation."""

    def __init__(self, llm):
        self.inner = llm
        self.name = llm.name
        self.n_ctx = llm.n_ctx
        self.calls: list[dict] = []

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def stream(self, messages, max_tokens, temperature=0.0):
        system = sum(self.inner.count_tokens(m["content"]) for m in messages if m["role"] == "system")
        user = sum(self.inner.count_tokens(m["content"]) for m in messages if m["role"] != "system")
        call = {"system_tokens": system, "user_tokens": user, "output_chars": 0, "messages": messages,
                "max_tokens": max_tokens}
        self.calls.append(call)
        for delta in self.inner.stream(messages, max_tokens, temperature):
            call["output_chars"] += len(delta)
            yield delta

    def complete(self, messages, max_tokens, temperature=0.0):
        return "".join(self.stream(messages, max_tokens, temperature))

    def yes_probability(self, messages):
        """The model judge's prompt (one forward pass; counted like an answer's prompt, with no output)."""
        system = sum(self.inner.count_tokens(m["content"]) for m in messages if m["role"] == "system")
        user = sum(self.inner.count_tokens(m["content"]) for m in messages if m["role"] != "system")
        self.calls.append({"system_tokens": system, "user_tokens": user, "output_chars": 0, "judge": True})
        return self.inner.yes_probability(messages)


def raw_replay(llm, messages, max_tokens: int) -> dict | None:
    """The raw model on the product's prompt: time to first token and total, from a KV cache holding
    only the system prompt (as when a new question comes). None where the backend is not llama.cpp."""
    raw = getattr(llm, "llm", None)
    if raw is None or not hasattr(raw, "create_chat_completion"):
        return None
    # leave only the system prompt in the KV cache: a one-token reply to a one-character question
    raw.create_chat_completion(messages=[messages[0], {"role": "user", "content": "."}], max_tokens=1,
                               temperature=0.0, top_k=1)
    t0 = time.perf_counter()
    first, tokens = None, 0
    for part in raw.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=0.0, top_k=1,
                                           repeat_penalty=1.05, stream=True):
        if part["choices"][0].get("delta", {}).get("content"):
            tokens += 1
            if first is None:
                first = time.perf_counter() - t0
    total = time.perf_counter() - t0
    return {"first_token_s": first if first is not None else total, "total_s": total, "output_tokens": tokens}


def _settings(name: str, sources: list[str], embedder: str | None):
    import index

    s = index.IndexSettings(sources=sources, index_dir=str(OUT_DIR / "work-query" / f"index-{name}"))
    if embedder:
        s.embedder = embedder
    return s


def _covidqa(limit_articles: int | None, n_questions: int, seed: int = 0):
    """COVID-QA questions with a gold span, and the folder of their articles (one .txt each)."""
    from qa.evaluate.questions import load_questions

    qset = load_questions(COVIDQA_JSON)
    src = Path(qset.sources_dir)
    if limit_articles:  # a private folder with the first few articles only
        sub = OUT_DIR / "work-query" / "covidqa-sample"
        shutil.rmtree(sub, ignore_errors=True)
        sub.mkdir(parents=True)
        for f in sorted(src.glob("*.txt"))[:limit_articles]:
            shutil.copyfile(f, sub / f.name)
        src = sub
    stems = {p.stem for p in src.glob("*.txt")}
    qs = [q for q in qset.questions if q.gold and set(q.sources) <= stems]
    return random.Random(seed).sample(qs, min(n_questions, len(qs))), src


def _once(pipe, llm, question: str) -> tuple:
    """One answer through the product and the raw replay of its prompt: (answer, retrieve s, answering call, raw)."""
    t0 = time.perf_counter()
    pipe.retrieve(question)
    retrieve_s = time.perf_counter() - t0
    n_calls = len(llm.calls)
    ans = pipe.answer(question)
    answering = [c for c in llm.calls[n_calls:] if not c.get("judge")]  # the answer's prompt, not the judge's
    call = answering[0] if answering else {"system_tokens": 0, "user_tokens": 0}
    raw = raw_replay(llm.inner, call["messages"], call["max_tokens"]) if answering else None
    return ans, retrieve_s, call, raw


def run_set(name: str, questions, settings, llm, rounds: int = 1) -> dict:
    """Answer every question (``rounds`` times, the whole set each round, so that a change in the machine's load
    hits every question alike; each timing is the median of its rounds); per-question timings, prompt tokens and
    judgement."""
    import index
    from qa.config import Config
    from qa.evaluate import metrics as m
    from qa.pipeline import Pipeline

    t0 = time.perf_counter()
    rep = index.build(settings=settings, progress=False)
    build_s = time.perf_counter() - t0
    pipe = Pipeline(Config(index=settings), llm=llm)
    pipe.retrieve("warm up retrieval")  # loads the index and the embedder
    runs = [[_once(pipe, llm, q.question) for q in questions] for _ in range(rounds)]
    med = statistics.median
    rows = []
    for k, q in enumerate(questions):
        mine = [run[k] for run in runs]
        ans, _, call, raw = mine[0]
        if raw:
            raw = {key: med(x[3][key] for x in mine) for key in ("first_token_s", "total_s")} | {
                "output_tokens": raw["output_tokens"]}
        correct, _passed = m.judge(ans, q)
        f1 = max((m.token_f1(m.strip_markers(ans.text), g.text) for g in q.gold), default=None) if q.gold else None
        timed = [x[0].timings for x in mine]
        rows.append({"id": q.id, "question": q.question, "retrieve_s": med(x[1] for x in mine),
                     "first_token_s": med(t["first_token"] for t in timed) if "first_token" in timed[0] else None,
                     "total_s": med(t["total"] for t in timed) if "total" in timed[0] else None,
                     "rounds": rounds, "same_answer": all(x[0].text == ans.text for x in mine),
                     "prompt_tokens": call["system_tokens"] + call["user_tokens"], "new_prompt_tokens": call["user_tokens"],
                     "answer_chars": len(ans.text), "refused": ans.refused, "correct": correct, "f1": f1,
                     "answer": ans.text, "raw": raw})
        r = rows[-1]
        if raw:
            r["first_token_ratio"] = r["first_token_s"] / raw["first_token_s"]
            r["total_ratio"] = r["total_s"] / raw["total_s"]
            r["raw_read_tok_s"] = r["new_prompt_tokens"] / raw["first_token_s"]
            gen_s = raw["total_s"] - raw["first_token_s"]
            r["raw_generate_tok_s"] = (raw["output_tokens"] - 1) / gen_s if raw["output_tokens"] > 1 and gen_s > 0 else None
        raw_first, raw_total = (raw["first_token_s"], raw["total_s"]) if raw else (float("nan"), float("nan"))
        print(f"  {name} {q.id}: first token {r['first_token_s']:.2f}s (raw {raw_first:.2f}s), "
              f"total {r['total_s']:.2f}s (raw {raw_total:.2f}s), "
              f"prompt {r['prompt_tokens']} tokens ({r['new_prompt_tokens']} new), correct={correct}", flush=True)
    judged = [r["correct"] for r in rows if r["correct"] is not None]
    f1s = [r["f1"] for r in rows if r["f1"] is not None]
    return {"set": name, "questions": len(rows), "index_chunks": rep.chunks, "index_build_s": build_s,
            "retrieve": summary([r["retrieve_s"] for r in rows]),
            "first_token": summary([r["first_token_s"] for r in rows]),
            "total": summary([r["total_s"] for r in rows]),
            "prompt_tokens": summary([r["prompt_tokens"] for r in rows]),
            "new_prompt_tokens": summary([r["new_prompt_tokens"] for r in rows]),
            "first_token_ratio": summary([r["first_token_ratio"] for r in rows if "first_token_ratio" in r]),
            "total_ratio": summary([r["total_ratio"] for r in rows if "total_ratio" in r]),
            "raw_read_tok_s": summary([r["raw_read_tok_s"] for r in rows if "raw_read_tok_s" in r]),
            "raw_generate_tok_s": summary([r["raw_generate_tok_s"] for r in rows if r.get("raw_generate_tok_s")]),
            "correct": sum(1 for c in judged if c), "judged": len(judged),
            "token_f1": statistics.fmean(f1s) if f1s else None, "rows": rows}


#: Run in a new process: the phases of a cold answer, timed apart (printed as one JSON line).
PHASES = """
import json, sys, time
t0 = time.perf_counter()
import qa
out = {"import_s": time.perf_counter() - t0}
p = qa.pipeline()
t = time.perf_counter(); p.index; out["index_open_s"] = time.perf_counter() - t
t = time.perf_counter(); p.embedder; out["embedder_load_s"] = time.perf_counter() - t
t = time.perf_counter(); p.llm; out["model_load_s"] = time.perf_counter() - t
t = time.perf_counter(); p.answer(sys.argv[1]); out["first_answer_s"] = time.perf_counter() - t
out["modules"] = sorted(m for m in ("torch", "transformers", "sentence_transformers", "gradio") if m in sys.modules)
print(json.dumps(out))
"""


def cold_ask(settings, question: str, runs: int, warm_s: float | None) -> dict:
    """Wall time of ``ragqa ask`` in a fresh process (import, load the models, answer once), against
    ``warm_s`` (the same question answered by an already loaded pipeline), and its phases."""
    env = {**os.environ, "RAGQA_INDEX_DIR": settings.index_dir, "RAGQA_SOURCES": os.pathsep.join(settings.sources),
           "RAGQA_EMBEDDER": settings.embedder, "PYTHONPATH": str(ROOT)}
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-m", "qa", "ask", question], cwd=ROOT,
                              env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise SystemExit(f"bench_query: ragqa ask failed:\n{proc.stderr[-2000:]}")
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", PHASES, question], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    phases = json.loads(proc.stdout.strip().splitlines()[-1])
    median = statistics.median(times)
    return {"runs": times, "median_s": median, "warm_answer_s": warm_s,
            "ratio_to_warm": median / warm_s if warm_s else None, "phases": phases}


def main(argv: list[str] | None = None) -> int:
    p = parser("Retrieval, first-token and answer latency, prompt tokens; cold `ragqa ask`.")
    p.add_argument("--covidqa", type=int, default=30, help="COVID-QA questions in the sample")
    p.add_argument("--cold-runs", type=int, default=3, help="cold `ragqa ask` runs (median)")
    p.add_argument("--rounds", type=int, default=1,
                   help="answer each set this many times (alternating with the raw replays) and take each timing's "
                        "median: single answers vary by 10%% or more on a busy machine")
    p.add_argument("--embedder", default=None, help="embedder (default: the configured one)")
    args = p.parse_args(argv)

    from qa.config import Config
    from qa.evaluate.questions import load_questions
    from qa.llm import load_llm

    dev = load_questions(DEV).questions
    if args.quick:
        dev = dev[:3]
    cq, cq_src = _covidqa(6 if args.quick else None, 2 if args.quick else args.covidqa)
    seeds = _settings("seeds", [str(ROOT / "seeds")], args.embedder)
    covid = _settings("covidqa-sample" if args.quick else "covidqa", [str(cq_src)], args.embedder)

    cfg = Config()
    t0 = time.perf_counter()
    llm = CountingLLM(load_llm(cfg.llm))
    load_s = time.perf_counter() - t0
    print(f"[bench_query] model loaded in {load_s:.1f}s; dev set ({len(dev)} questions) ...", flush=True)
    sets = [run_set("dev (seeds)", dev, seeds, llm, args.rounds)]
    print(f"[bench_query] COVID-QA sample ({len(cq)} questions) ...", flush=True)
    sets.append(run_set("COVID-QA sample", cq, covid, llm, args.rounds))
    print("[bench_query] cold `ragqa ask` ...", flush=True)
    warm = next((r["total_s"] for r in sets[0]["rows"] if r["question"] == dev[0].question), None)
    cold = cold_ask(seeds, dev[0].question, 1 if args.quick else args.cold_runs, warm)

    def ms(s: dict, key: str) -> float:
        return s[key]["p50"] * 1e3 if s[key].get("n") else float("nan")

    table("Answer latency (seconds; retrieval in ms), one question at a time",
          ["set", "questions", "retrieve p50 ms", "retrieve p95 ms", "first token p50", "first token p95", "total p50",
           "total p95", "prompt tokens p50", "new tokens p50", "correct"],
          [[s["set"], s["questions"], ms(s, "retrieve"), s["retrieve"].get("p95", 0) * 1e3, s["first_token"].get("p50"),
            s["first_token"].get("p95"), s["total"].get("p50"), s["total"].get("p95"), s["prompt_tokens"].get("p50"),
            s["new_prompt_tokens"].get("p50"),
            f"{s['correct']}/{s['judged']}" if s["judged"] else f"F1 {s['token_f1']:.2f}"] for s in sets])
    def p50(s: dict, key: str) -> float:
        return s[key]["p50"] if s[key].get("n") else float("nan")

    table(f"Against the raw model on the same prompts (p50; each timing the median of {args.rounds} round(s); "
          "targets: first token <= 1.2x, total <= 1.15x)",
          ["set", "first token / raw read", "total / raw read+generate", "raw read tok/s", "raw generate tok/s"],
          [[s["set"], p50(s, "first_token_ratio"), p50(s, "total_ratio"), p50(s, "raw_read_tok_s"),
            p50(s, "raw_generate_tok_s")] for s in sets])
    ph = cold["phases"]
    table("Cold start: `ragqa ask` in a new process, against a warm answer to the same question (target <= 1.5x)",
          ["runs", "median s", "warm answer s", "cold / warm", "import s", "index s", "embedder s", "model s",
           "first answer s", "torch/transformers/gradio imported"],
          [[len(cold["runs"]), cold["median_s"], cold["warm_answer_s"], cold["ratio_to_warm"], ph["import_s"],
            ph["index_open_s"], ph["embedder_load_s"], ph["model_load_s"], ph["first_answer_s"],
            ", ".join(ph["modules"]) or "none"]])
    write_json("bench_query", {"quick": args.quick, "model_load_s": load_s, "llm": vars(cfg.llm),
                               "retrieval": vars(cfg.retrieval), "embedder": seeds.embedder, "sets": sets,
                               "cold_ask": cold}, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
