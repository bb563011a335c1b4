"""The ``ragqa`` command line: a thin layer over :mod:`index` and :mod:`qa`.

    ragqa index [PATH ...] [--full] [--watch [--debounce S]]   add sources and bring the index up to date
    ragqa ask QUESTION [--json] [--stream] [--top-k N] [--source PATTERN ...]
    ragqa sources [--json]                 list the indexed sources and the skipped files
    ragqa remove PATH ... [--delete-file]  take sources out of the index
    ragqa eval QUESTIONS [--retrieval-only] measure retrieval, answers and citations
    ragqa ui [--host H] [--port P] [--watch]  the Gradio chat
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import index
from index import IndexCorruptError, IndexLockedError, IndexNotFoundError
from index.embed_openai import EmbedServerError
from index.store.milvus import MilvusUnavailableError

from .llm.openai import LLMServerError
from .models import ModelFileError


def _settings(args) -> index.IndexSettings:
    settings = index.IndexSettings()
    if getattr(args, "index_dir", None):
        settings.index_dir = args.index_dir
    return settings


def cmd_index(args) -> int:
    if not args.watch:
        if args.debounce is not None:
            raise SystemExit("ragqa index: --debounce needs --watch")
        report = index.build(sources=args.paths or None, full=args.full, settings=_settings(args),
                             progress=not args.quiet)
        print(report.summary())
        for s in report.skipped:
            print(f"  skipped {s.source}: {s.reason}")
        return 0

    import signal

    from index.watch import Watcher, printer

    def on_error(exc: BaseException) -> None:
        print(f"ragqa: index update failed: {exc}", file=sys.stderr, flush=True)

    def on_sigterm(signum, frame):
        raise KeyboardInterrupt  # SIGTERM: the same clean stop as Ctrl-C

    settings = _settings(args)
    watcher = Watcher(settings, debounce=2.0 if args.debounce is None else args.debounce, on_error=on_error)
    previous = signal.signal(signal.SIGTERM, on_sigterm)
    # Ctrl-C too, explicitly: a process started in the background inherits SIGINT ignored, and Python keeps it so
    previous_int = signal.signal(signal.SIGINT, on_sigterm)
    try:
        report = index.build(sources=args.paths or None, full=args.full, settings=settings, progress=not args.quiet)
        printer(sys.stdout)(report)
        watcher.on_build = printer(sys.stdout, after=report)
        folders, files = watcher.targets()
        print(f"watching {', '.join(folders + files) or 'nothing yet'} for changes (Ctrl-C to stop)",
              file=sys.stderr, flush=True)
        watcher.run()
    except KeyboardInterrupt:
        pass
    finally:
        watcher.stop()
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
        signal.signal(signal.SIGINT, signal.default_int_handler if previous_int is None else previous_int)
    print("stopped watching", file=sys.stderr, flush=True)
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

    from .display import reading_summary
    from .language import name as language_name

    config = qa.Config(index=_settings(args))
    if args.top_k is not None and args.top_k < 1:
        raise SystemExit("ragqa ask: --top-k must be at least 1")
    _ensure_index(config.index)
    pipeline = qa.configure(config)
    top_k = args.top_k or config.retrieval.top_k
    scope = args.source or None
    if args.json:
        result = pipeline.answer(args.question, top_k=top_k, sources=scope)
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return 0
    result = None
    for event in pipeline.stream(args.question, top_k=top_k, sources=scope):
        if isinstance(event, qa.Retrieved) and args.stream:
            print(reading_summary(event.passages), file=sys.stderr, flush=True)
        elif isinstance(event, qa.Token) and args.stream:
            print(event.text, end="", file=sys.stderr, flush=True)
        elif isinstance(event, qa.Translating) and args.stream:
            print(f"\n(verified; translating it into {language_name(event.language)}…)", end="", file=sys.stderr,
                  flush=True)
        elif isinstance(event, qa.Verified):
            result = event.answer
    assert result is not None
    if args.stream:
        print("\n(unverified text above; the verified answer:)\n", file=sys.stderr, flush=True)
    if result.translation:  # asked in another language: the translation, then the verified original it came from
        print(result.translation)
        print(f"\n(translated from {language_name(result.translated_from)} by the model; the verified original:)")
    print(result.text)
    if result.citations:
        print()
    for c in result.citations:
        quote = " ".join(c.quote.split())
        where = f" ({c.where})" if c.where else ""
        print(f"[{c.n}] {c.source}{where} [{c.start}:{c.end}]\n    “{quote}”")
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if result.refused and result.passages:
        print("\nClosest passages:", file=sys.stderr)
        for p in result.passages[:3]:
            print(f"  {p.source} [{p.start}:{p.end}]: {' '.join(p.text.split())[:160]}…", file=sys.stderr)
    t = result.timings
    translation = f", translation {t['translate']:.2f}s" if "translate" in t else ""
    print(f"\n(retrieval {t.get('retrieve', 0):.2f}s, first token {t.get('first_token', 0):.2f}s, "
          f"total {t.get('total', 0):.2f}s{translation})", file=sys.stderr)
    return 0


def cmd_sources(args) -> int:
    from .display import size_text, time_text

    rows, skipped = index.load(_settings(args)).describe()
    if args.json:
        print(json.dumps({"sources": rows, "skipped": skipped}, ensure_ascii=False, indent=2))
        return 0
    if rows:
        print(f"{'chunks':>6} {'pages':>5} {'size':>9}  {'indexed':16}  source")
    for r in rows:
        pages = "" if r["pages"] is None else r["pages"]
        print(f"{r['chunks']:>6} {pages:>5} {size_text(r['bytes']) or '?':>9}  {time_text(r['indexed']) or '?':16}  "
              f"{r['source']}")
    if not rows:
        print("no sources are indexed; add some with `ragqa index PATH`")
    if skipped:
        print(f"\nskipped ({len(skipped)}):")
        for s in skipped:
            print(f"  {s['source']}: {s['reason']}")
    return 0


def cmd_remove(args) -> int:
    from index.uploads import deletable, delete_source_file

    settings = _settings(args)
    report = index.remove(args.paths, settings=settings, progress=not args.quiet)
    print(report.summary())
    for source in report.removed:
        print(f"  removed {source}")
    if args.delete_file:
        for source in report.removed:
            if not deletable(source, settings):
                print(f"  kept the file {source}: it is not inside the project's sources folder", file=sys.stderr)
                continue
            if not args.yes and not _confirm(f"Delete the file {source}? [y/N] "):
                print(f"  kept the file {source}")
                continue
            delete_source_file(source, settings)
            print(f"  deleted the file {source}")
    return 0


def _confirm(prompt: str) -> bool:
    if not sys.stdin.isatty():
        print(f"{prompt}no (not a terminal; pass --yes to delete without asking)", file=sys.stderr)
        return False
    return input(prompt).strip().lower() in ("y", "yes")


def cmd_eval(args) -> int:
    from .evaluate import run_cli

    return run_cli(args)


def cmd_ui(args) -> int:
    from ui.auth import AuthError, credentials, login_for  # before Gradio is imported: a refusal is immediate
    from ui.gate import waiting_from_env

    settings = _settings(args)
    try:  # before anything is loaded: serving beyond this machine without a login is refused at once
        auth = login_for(args.host, credentials(dict(os.environ), args.auth_file), no_auth=args.no_auth)
    except AuthError as exc:
        print(f"ragqa: error: {exc}", file=sys.stderr)
        return 2
    waiting = waiting_from_env(os.environ)  # RAGQA_UI_QUEUE; a bad value is a one-line error (exit 2), here
    if auth is None and not _loopback(args.host):
        print(f"ragqa: warning: serving on {args.host} without a login (--no-auth)", file=sys.stderr)
    watcher = None
    if args.watch:
        from index.watch import Watcher, printer

        def on_error(exc: BaseException) -> None:
            print(f"ragqa: index update failed: {exc}", file=sys.stderr, flush=True)

        watcher = Watcher(settings, debounce=2.0 if args.debounce is None else args.debounce,
                          on_build=printer(sys.stderr), on_error=on_error)
    elif args.debounce is not None:
        raise SystemExit("ragqa ui: --debounce needs --watch")
    _ensure_index(settings)
    if watcher is not None:
        watcher.start()
        folders, files = watcher.targets()
        print(f"watching {', '.join(folders + files) or 'nothing yet'} for changes", file=sys.stderr, flush=True)
    try:
        from ui.app import launch

        launch(host=args.host, port=args.port, index_settings=settings, auth=auth, waiting=waiting)
    finally:
        if watcher is not None:
            watcher.stop()
    return 0


def _loopback(host: str) -> bool:
    from ui.auth import is_loopback

    return is_loopback(host)


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
    s.add_argument("--watch", action="store_true",
                   help="keep watching the sources and update the index after each change (Ctrl-C to stop)")
    s.add_argument("--debounce", type=float, default=None, metavar="SECONDS",
                   help="with --watch: group changes for up to this long before updating (default 2)")
    s.set_defaults(func=cmd_index)

    s = sub.add_parser("ask", help="answer a question with citations")
    s.add_argument("question")
    s.add_argument("--json", action="store_true", help="print the whole answer as one JSON object")
    s.add_argument("--top-k", type=int, default=None, help="passages to retrieve (default 5)")
    s.add_argument("--stream", action="store_true",
                   help="show the passages being read and the model's text as it comes (on stderr), then the answer")
    s.add_argument("--source", action="append", metavar="PATTERN",
                   help="answer only from these sources: a file name, glob pattern or folder (repeatable)")
    s.set_defaults(func=cmd_ask)

    s = sub.add_parser("sources", help="list the indexed sources (chunks, pages, size, indexed time) and skipped files")
    s.add_argument("--json", action="store_true", help="print them as JSON")
    s.set_defaults(func=cmd_sources)

    s = sub.add_parser("remove", help="take sources out of the index (incremental); files stay on disk")
    s.add_argument("paths", nargs="+", help="indexed files or folders (or the name of one indexed file)")
    s.add_argument("--delete-file", action="store_true",
                   help="also delete the files, only inside the project's sources folder, after asking")
    s.add_argument("--yes", action="store_true", help="with --delete-file: do not ask")
    s.add_argument("--quiet", action="store_true", help="no progress bars")
    s.set_defaults(func=cmd_remove)

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
    s.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default loopback; any other needs a login or --no-auth)")
    s.add_argument("--port", type=int, default=7860)
    s.add_argument("--auth-file", metavar="FILE",
                   help="user:password lines for the login (also $RAGQA_UI_AUTH=user:password,... or $RAGQA_UI_AUTH_FILE)")
    s.add_argument("--no-auth", action="store_true", help="serve beyond this machine without a login (not advised)")
    s.add_argument("--watch", action="store_true", help="update the index in the background when the sources change")
    s.add_argument("--debounce", type=float, default=None, metavar="SECONDS",
                   help="with --watch: group changes for up to this long before updating (default 2)")
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
            FileNotFoundError, LLMServerError, MilvusUnavailableError, EmbedServerError) as exc:
        print(f"ragqa: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
