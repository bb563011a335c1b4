"""Several users at once through the running UI, and a rebuild while questions are being answered."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import dev_questions
from tests.ui.server import get_server

pytestmark = [pytest.mark.slow, pytest.mark.integration]

SESSIONS = 8
RESULT_TIMEOUT = 1200  # seconds: a bound on the whole test (2 shared cores), not a performance claim


@pytest.fixture(scope="module")
def server():
    return get_server()


def _client(server):
    from gradio_client import Client

    return Client(server.url, verbose=False, download_files=False)


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w%$.]+", " ", text.lower()).split())


def _cited(text: str) -> list[str]:
    return re.findall(r'^\[\d+\] (.+?): "', text, flags=re.M)


def _check(row: dict, text: str) -> None:
    """The answer fits its own question: expected facts and sources, or a refusal for an unanswerable one."""
    if row["kind"] == "unanswerable":
        assert text.startswith("I could not find the answer"), (row["question"], text)
        return
    answer = text.split("\n\nSources:\n")[0]
    for group in row["must"]:
        assert any(_norm(s) in _norm(answer) for s in group), (row["question"], text)
    assert any(src in name for name in _cited(text) for src in row["sources"]), (row["question"], text)


# six answerable dev questions over all five seeds and two unanswerable ones. dev02, dev07 and dev12 are left
# out: with the current model they are borderline (dev02 is refused and dev12 answered with a made-up figure even
# when asked alone; dev07 flips to a refusal once a few unrelated files are indexed), which says nothing about
# concurrency.
QUESTION_IDS = ["dev01", "dev03", "dev04", "dev05", "dev06", "dev09", "dev11", "dev13"]


def _questions() -> list[dict]:
    by_id = {r["id"]: r for r in dev_questions()}
    return [by_id[i] for i in QUESTION_IDS]


def test_eight_sessions_at_once_each_get_their_own_answer(server):
    rows = _questions()
    assert len(rows) == SESSIONS and len({r["question"] for r in rows}) == SESSIONS
    clients = [_client(server) for _ in rows]
    # every session asks its own question, all at once; a crossed answer would fail its question's check
    with ThreadPoolExecutor(max_workers=SESSIONS) as pool:
        futures = [pool.submit(c.predict, r["question"], api_name="/chat") for c, r in zip(clients, rows)]
        answers = [f.result(timeout=RESULT_TIMEOUT) for f in futures]
    for row, text in zip(rows, answers):
        _check(row, text)
    assert server.alive()


def test_rebuild_while_answering_does_not_break_in_flight_answers(server, tmp_path):
    from gradio_client import handle_file

    rows = [r for r in dev_questions() if r["id"] in ("dev01", "dev04", "dev05")]
    jobs = [(_client(server).submit(r["question"], api_name="/chat"), r) for r in rows]
    new = tmp_path / "quillon ferry.txt"
    new.write_text("The Quillon ferry crosses the Marl estuary nine times a day. Its captain is Rosa Ibbet.\n")
    status, _ = _client(server).predict([handle_file(str(new))], api_name="/add_sources")
    in_flight = [not job.done() for job, _ in jobs]
    assert "saved: quillon ferry.txt" in status and "index updated: 1 added" in status, status
    assert any(in_flight), "every answer had finished before the rebuild did: nothing was tested"
    for job, row in jobs:
        _check(row, job.result(timeout=RESULT_TIMEOUT))
    text = _client(server).predict("Who is the captain of the Quillon ferry?", api_name="/chat")
    assert "Rosa Ibbet" in text and "quillon ferry.txt" in _cited(text), text
    assert server.alive()


@pytest.mark.parametrize("name", ["minilm-onnx-int8", "minilm"])
def test_embedder_counts_tokens_right_while_another_session_embeds(name):
    """Two sessions share one embedder: counting tokens for one must not see the other's truncation settings."""
    import threading

    from index.embed import get_embedder
    from tests.ui.server import SEEDS

    embedder = get_embedder(name)
    texts = [p.read_text()[:3000] for p in sorted(SEEDS.glob("*.txt"))]
    expected = embedder.count_tokens(texts)
    assert max(expected) > embedder.max_tokens  # long enough that a truncated count would show
    wrong, errors = [], []

    def count():
        for _ in range(150):
            try:
                if embedder.count_tokens(texts) != expected:
                    wrong.append(1)
            except Exception as exc:  # noqa: BLE001
                errors.append(repr(exc))

    def encode():
        for _ in range(150):
            embedder.encode(["Who founded the search engine Sogou?", "Wang Xiaochuan founded Sogou."])

    threads = [threading.Thread(target=f) for f in (count, encode, count, encode)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong and not errors, (len(wrong), errors[:3])
