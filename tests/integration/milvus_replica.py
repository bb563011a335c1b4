"""One app process over an index kept in Milvus, for tests/integration/test_milvus.py.

It loads the index named by ``RAGQA_INDEX_DIR`` (the manifest and ``milvus.json``: nothing else) and answers the
questions with :class:`CopyingLLM`, a stand-in for the model that copies the source sentence sharing most words
with the question (so no model is loaded), then prints each answer as one JSON line, and last the time span of
its answering. With ``--barrier DIR --peers N`` it waits, once loaded, until N processes are ready, so that
they answer at the same time.

    python -m tests.integration.milvus_replica [--barrier DIR --peers N --rounds R] QUESTION...
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from qa.llm.base import LLM
from qa.prompt import REFUSAL


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"\w{5,}", text)}


class CopyingLLM(LLM):
    """Answers with the excerpt sentence that shares the most words of five letters or more with the question,
    cited by its excerpt's number; refuses when none shares any. Has no yes/no judge."""

    n_ctx = 4096

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, messages, max_tokens, temperature=0.0) -> Iterator[str]:
        user = messages[-1]["content"]
        question = user.split("\n", 1)[0].removeprefix("Question: ")
        body = user.split("Sources:\n", 1)[-1].rsplit("\n\nQuestion:", 1)[0]
        parts = re.split(r"(?:^|\n\n)\[(\d+)\] ", body)
        best = (0, "", "")
        for n, text in zip(parts[1::2], parts[2::2]):
            for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
                shared = len(_words(question) & _words(sentence))
                if shared > best[0]:
                    best = (shared, n, sentence)
        yield f"{best[2].rstrip('.')} [{best[1]}]." if best[0] else REFUSAL


def _wait(barrier: Path, peers: int, timeout: float = 300.0) -> None:
    barrier.mkdir(parents=True, exist_ok=True)
    (barrier / f"ready-{os.getpid()}").write_text("")
    t0 = time.monotonic()
    while len(list(barrier.glob("ready-*"))) < peers:
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"the other processes did not get ready within {timeout:.0f} s")
        time.sleep(0.05)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("questions", nargs="+")
    p.add_argument("--barrier", type=Path)
    p.add_argument("--peers", type=int, default=1)
    p.add_argument("--rounds", type=int, default=1)
    args = p.parse_args(argv)

    import qa

    pipeline = qa.Pipeline(qa.Config(), llm=CopyingLLM())
    pipeline.retrieve(args.questions[0])  # loads the index and the embedder before the others are waited for
    if args.barrier:
        _wait(args.barrier, args.peers)
    start = time.time()
    for _ in range(args.rounds):
        for q in args.questions:
            a = pipeline.answer(q)
            print(
                json.dumps(
                    {
                        "question": q,
                        "refused": a.refused,
                        "text": a.text,
                        "citations": [[c.source, c.start, c.end, c.quote] for c in a.citations],
                        "passages": [[p.source, p.start, p.end, p.text] for p in a.passages],
                        "store": pipeline.index.manifest.store_index,
                    }
                ),
                flush=True,
            )
    print(json.dumps({"start": start, "end": time.time()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
