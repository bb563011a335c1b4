"""The ``ragqa`` command line: a thin layer over :mod:`index` and :mod:`qa`.

    ragqa index [PATH ...] [--full]       add sources and bring the index up to date
    ragqa ask QUESTION [--json] [--top-k N]
    ragqa sources                          list the indexed sources
    ragqa eval QUESTIONS [--retrieval-only] measure retrieval, answers and citations
    ragqa ui [--host H] [--port P]         the Gradio chat
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import index
from index import IndexCorruptError, IndexLockedError, IndexNotFoundError
from index.store.milvus import MilvusUnavailableError

from .llm.openai import LLMServerError
from .models import ModelFileError


def _settings(args) -> index.IndexSettings:
    settings = index.IndexSettings()
    if getattr(args, "index_dir", None):
        settings.index_dir = args.index_dir
    return settings


def cmd_index(args) -> int:
    report = index.build(sources=args.paths or None, full=args.full, settings=_settings(args),
                         progress=not args.quiet)
    print(report.summary())
    for s in report.skipped:
        print(f"  skipped {s.source}: {s.reason}")
    return 0


def _ensure_index(settings: index.IndexSettings) -> None:
    """Build the index over the configured sources the first time one is needed."""
    try:
        index.load(settings)
    except IndexNotFoundError:
        print(f"no index in {settings.index_dir} yet: building it from {', '.join(map(str, settings.sources))}",
              file=sys.stderr)
        report = index.build(settings=settings, progress=sys.stderr.isatty())
        print(report.summary(), file=sys.stderr)


def cmd_ask(args) -> int:
    import qa

    config = qa.Config(index=_settings(args))
    if args.top_k is not None and args.top_k < 1:
        raise SystemExit("ragqa ask: --top-k must be at least 1")
    _ensure_index(config.index)
    pipeline = qa.configure(config)
    top_k = args.top_k or config.retrieval.top_k
    if args.json:
        result = pipeline.answer(args.question, top_k=top_k)
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return 0
    result = None
    for item in pipeline.stream(args.question, top_k=top_k):
        if isinstance(item, qa.Answer):
            result = item
    assert result is not None
    print(result.text)
    if result.citations:
        print()
    for c in result.citations:
        quote = " ".join(c.quote.split())
        print(f"[{c.n}] {c.source} [{c.start}:{c.end}]\n    “{quote}”")
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if result.refused and result.passages:
        print("\nClosest passages:", file=sys.stderr)
        for p in result.passages[:3]:
            print(f"  {p.source} [{p.start}:{p.end}]: {' '.join(p.text.split())[:160]}…", file=sys.stderr)
    t = result.timings
    print(f"\n(retrieval {t.get('retrieve', 0):.2f}s, first token {t.get('first_token', 0):.2f}s, "
          f"total {t.get('total', 0):.2f}s)", file=sys.stderr)
    return 0


def cmd_sources(args) -> int:
    idx = index.load(_settings(args))
    for source, n in sorted(idx.sources.items()):
        print(f"{n:5d} chunks  {source}")
    return 0


def cmd_eval(args) -> int:
    from .evaluate import run_cli

    return run_cli(args)


def cmd_ui(args) -> int:
    from ui.app import launch

    settings = _settings(args)
    _ensure_index(settings)
    launch(host=args.host, port=args.port, index_settings=settings)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ragqa", description="Cited answers from your documents, offline.")
    p.add_argument("--index-dir", help="index folder (default: $RAGQA_INDEX_DIR or ./.index)")
    p.add_argument("--llm", help="generation backend: llama_cpp (default), transformers, openai (sets $RAGQA_LLM)")
    p.add_argument("--model", help="model file/folder, or model name for openai (sets $RAGQA_MODEL)")
    p.add_argument("--llm-base-url", help="OpenAI-compatible server URL for --llm openai (sets $RAGQA_LLM_BASE_URL)")
    p.add_argument("--store", help="vector store: faiss (default) or milvus (sets $RAGQA_STORE)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("index", help="add sources and update the index (incremental)")
    s.add_argument("paths", nargs="*", help="files or folders to add (default: the configured sources)")
    s.add_argument("--full", action="store_true", help="rebuild everything from scratch")
    s.add_argument("--quiet", action="store_true", help="no progress bars")
    s.set_defaults(func=cmd_index)

    s = sub.add_parser("ask", help="answer a question with citations")
    s.add_argument("question")
    s.add_argument("--json", action="store_true", help="print the whole answer as one JSON object")
    s.add_argument("--top-k", type=int, default=None, help="passages to retrieve (default 5)")
    s.set_defaults(func=cmd_ask)

    s = sub.add_parser("sources", help="list the indexed sources with their chunk counts")
    s.set_defaults(func=cmd_sources)

    s = sub.add_parser("eval", help="measure retrieval, answers and citations on a question set")
    s.add_argument("questions", help="questions file: ragqa JSONL (question/must/sources/kind) or SQuAD-style JSON")
    s.add_argument("--sources", help="folder of sources to index for this question set (default: the configured ones)")
    s.add_argument("--limit", type=int, default=None, help="only the first N questions")
    s.add_argument("--retrieval-only", action="store_true", help="skip generation; measure retrieval only")
    s.add_argument("--json", dest="json_out", metavar="OUT", help="write the full report as JSON to OUT")
    s.add_argument("--top-k", type=int, default=None, help="passages given to the model (default 5)")
    s.add_argument("--missing-document", action="store_true",
                   help="ask each answerable question without its own document (it must be refused)")
    s.add_argument("--generation-cache", metavar="FILE",
                   help="store the model's answers in FILE and reuse them for identical prompts")
    s.set_defaults(func=cmd_eval)

    s = sub.add_parser("ui", help="start the chat UI")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=7860)
    s.set_defaults(func=cmd_ui)
    return p


_GLOBAL_ENV = {"llm": "RAGQA_LLM", "model": "RAGQA_MODEL", "llm_base_url": "RAGQA_LLM_BASE_URL", "store": "RAGQA_STORE"}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    for attr, var in _GLOBAL_ENV.items():
        if getattr(args, attr, None):
            os.environ[var] = getattr(args, attr)
    try:
        return args.func(args)
    except (IndexNotFoundError, IndexCorruptError, IndexLockedError, ModelFileError, ValueError,
            FileNotFoundError, LLMServerError, MilvusUnavailableError) as exc:
        print(f"ragqa: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
