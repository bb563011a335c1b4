"""A full line in front of the model: the question past it is told at once that the server is busy, never left
hanging; questions inside it wait their turn in order. A scripted pipeline stands in for the model (no timings
are asserted: the timeouts below only stop a broken build from hanging the test run)."""

from __future__ import annotations

import json
import threading
import time
from types import SimpleNamespace

import gradio as gr
import pytest

from index import IndexSettings
from qa import Retrieved, Token, Verified
from qa.cli import main as cli_main
from qa.types import Answer, Passage
from tests.ui.server import free_port
from ui import chat
from ui.gate import BUSY_MESSAGE, DEFAULT_WAITING, Gate, waiting_from_env

BOUND = 60.0
"""Seconds after which a stuck test fails instead of hanging (not a performance claim)."""


class ScriptedPipeline:
    """Answers "Answer to <question>." with one passage and two tokens; ``hold`` makes it wait to be released."""

    def __init__(self, tmp_path, hold: bool = False):
        self.config = SimpleNamespace(
            index=IndexSettings(sources=[str(tmp_path / "src")], index_dir=str(tmp_path / "idx")),
            retrieval=SimpleNamespace(top_k=5),
        )
        self.index = SimpleNamespace(text_of=lambda source: "")
        self.llm = None
        self.release = threading.Event()
        if not hold:
            self.release.set()
        self.asked: list[str] = []
        self._lock = threading.Lock()

    def stream(self, question, *, top_k=None, history=None, sources=None):
        with self._lock:
            self.asked.append(question)
        if not any(ch.isalnum() for ch in question):  # as qa.pipeline refuses it
            raise ValueError("the question is empty: type a question with at least one word")
        self.release.wait(BOUND)
        yield Retrieved([Passage("/docs/a.md", 0, 10, "Some text.", 0.5)], question)
        yield Token("Answer ")
        yield Token("to …")
        yield Verified(Answer(question, f"Answer to {question}.", False, timings={"total": 0.0}))


# --- the gate ----------------------------------------------------------------------------------------------


def test_the_gate_admits_slots_plus_waiting_first_come_first_served():
    gate = Gate(slots=2, waiting=2)
    tickets = [gate.enter() for _ in range(4)]
    assert all(tickets) and gate.enter() is None and gate.enter() is None
    assert [gate.ahead(t) for t in tickets] == [0, 0, 1, 2]
    assert gate.load() == {"answering": 2, "waiting": 2, "turned_away": 2}
    assert gate.wait(tickets[3], timeout=0) == 2  # not its turn: returns at once with its place
    gate.leave(tickets[1])
    assert [gate.ahead(t) for t in (tickets[0], tickets[2], tickets[3])] == [0, 0, 1]
    gate.leave(tickets[1])  # idempotent
    assert gate.enter() is not None  # a place came free
    assert gate.enter() is None


def test_a_waiting_question_goes_when_its_turn_comes():
    gate = Gate(slots=1, waiting=1)
    first, second = gate.enter(), gate.enter()
    went = []
    waiter = threading.Thread(target=lambda: went.append(gate.wait(second, BOUND)))
    waiter.start()
    gate.leave(first)
    waiter.join(BOUND)
    assert went == [0]


def test_gate_needs_a_slot():
    with pytest.raises(ValueError):
        Gate(slots=0)


@pytest.mark.parametrize(("value", "expected"), [(None, DEFAULT_WAITING), ("", DEFAULT_WAITING), (" 4 ", 4), ("0", 0)])
def test_queue_size_from_the_environment(value, expected):
    env = {} if value is None else {"RAGQA_UI_QUEUE": value}
    assert waiting_from_env(env) == expected


@pytest.mark.parametrize("value", ["-1", "many", "2.5"])
def test_a_bad_queue_size_is_a_one_line_error_before_anything_starts(value, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("RAGQA_UI_QUEUE", value)
    monkeypatch.setenv("RAGQA_INDEX_DIR", str(tmp_path / "idx"))
    assert cli_main(["ui", "--port", str(free_port())]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ragqa: error: RAGQA_UI_QUEUE must be a whole number") and "\n" not in err
    assert not (tmp_path / "idx").exists()  # nothing was built or loaded


# --- the handlers ------------------------------------------------------------------------------------------


def test_chat_past_a_full_line_says_busy_at_once_and_keeps_the_question(tmp_path):
    p = ScriptedPipeline(tmp_path)
    gate = Gate(slots=1, waiting=0)
    held = gate.enter()
    states = list(chat.respond(p, "Who founded Sogou?", [], [], 5, False, gate=gate))
    assert len(states) == 1
    messages, turns, box = states[0]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert "ragqa-busy" in messages[-1]["content"] and BUSY_MESSAGE in messages[-1]["content"]
    assert box == "Who founded Sogou?"  # still in the box: asking again is one click
    assert turns[-1].error == BUSY_MESSAGE and p.asked == []
    gate.leave(held)
    final = list(chat.respond(p, "Who founded Sogou?", messages, turns, 5, False, gate=gate))[-1]
    assert "Answer to Who founded Sogou?." in final[0][-1]["content"] and final[2] == ""
    assert gate.load()["answering"] == 0  # the place was given back


def test_chat_shows_its_place_in_the_line_then_answers(tmp_path):
    p = ScriptedPipeline(tmp_path)
    gate = Gate(slots=1, waiting=2)
    ahead = [gate.enter(), gate.enter()]
    answering = chat.respond(p, "Q?", [], [], 5, False, gate=gate)
    assert "Waiting for the model: 2 questions ahead of yours" in next(answering)[0][-1]["content"]
    gate.leave(ahead[0])
    assert "Waiting for the model: 1 question ahead of yours" in next(answering)[0][-1]["content"]
    gate.leave(ahead[1])
    final = list(answering)[-1]
    assert "Answer to Q?." in final[0][-1]["content"] and p.asked == ["Q?"]
    assert gate.load() == {"answering": 0, "waiting": 0, "turned_away": 0}


def test_a_closed_chat_gives_its_place_back(tmp_path):
    p = ScriptedPipeline(tmp_path)
    gate = Gate(slots=1, waiting=1)
    held = gate.enter()
    waiting = chat.respond(p, "Q?", [], [], 5, False, gate=gate)
    next(waiting)
    assert gate.load()["waiting"] == 1
    waiting.close()  # what Gradio does when the browser goes away
    assert gate.load()["waiting"] == 0
    gate.leave(held)


def test_api_past_a_full_line_raises_the_busy_message(tmp_path):
    p = ScriptedPipeline(tmp_path)
    gate = Gate(slots=1, waiting=0)
    held = gate.enter()
    with pytest.raises(gr.Error) as info:
        list(chat.api_chat(p, "Q?", [], gate=gate))
    assert info.value.message == BUSY_MESSAGE and p.asked == []
    gate.leave(held)
    assert list(chat.api_chat(p, "Q?", [], gate=gate))[-1][0] == "Answer to Q?."


def test_an_empty_question_never_waits_in_line(tmp_path):
    p = ScriptedPipeline(tmp_path)
    gate = Gate(slots=1, waiting=0)
    held = gate.enter()
    final = list(chat.respond(p, "  ?! ", [], [], 5, False, gate=gate))[-1]
    assert "question is empty" in final[0][-1]["content"]
    gate.leave(held)


def test_the_apps_chat_and_api_share_one_gate(tmp_path):
    from ui.app import build_app

    p = ScriptedPipeline(tmp_path)
    gate = Gate(slots=1, waiting=0)
    app = build_app(p, gate=gate)
    fns = {fn.name: fn.fn for fn in app.fns.values() if fn.name in ("respond", "api_chat")}
    held = gate.enter()
    messages, _, box = list(fns["respond"]("Q?", [], [], 5, False, []))[-1]
    assert BUSY_MESSAGE in messages[-1]["content"] and box == "Q?"
    with pytest.raises(gr.Error, match="busy"):
        list(fns["api_chat"]("Q?", [], []))
    gate.leave(held)
    assert list(fns["api_chat"]("Q?", [], []))[-1][0] == "Answer to Q?."


# --- the real Gradio server, with the scripted pipeline ---------------------------------------------------


@pytest.fixture
def held_server(tmp_path):
    """The app served by ``ui.app.launch`` on a free loopback port over a pipeline that holds every answer."""
    from ui.app import launch

    pipeline = ScriptedPipeline(tmp_path, hold=True)
    port = free_port()
    app = launch(host="127.0.0.1", port=port, pipeline=pipeline, block=False, waiting=1)
    try:
        yield f"http://127.0.0.1:{port}", app, pipeline
    finally:
        pipeline.release.set()
        app.close()


def _until(condition, what: str) -> None:
    deadline = time.monotonic() + BOUND
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def test_the_server_says_busy_past_a_full_line_and_answers_the_rest(held_server):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    url, app, pipeline = held_server
    gate = app.ragqa_gate
    assert gate.capacity == 3  # 2 answered at once + RAGQA_UI_QUEUE=1 waiting
    clients = [Client(url, verbose=False, download_files=False) for _ in range(4)]
    jobs = [c.submit(f"Question {i}?", api_name="/chat") for i, c in enumerate(clients[:3])]
    _until(lambda: gate.load()["answering"] == 2 and gate.load()["waiting"] == 1, "three questions in line")
    with pytest.raises(AppError) as info:
        clients[3].predict("Question 3?", api_name="/chat")  # the line is full: told so at once
    assert info.value.message == BUSY_MESSAGE and info.value.title == "Busy"
    assert "Question 3?" not in pipeline.asked
    pipeline.release.set()
    assert [job.result(timeout=BOUND) for job in jobs] == [f"Answer to Question {i}?." for i in range(3)]
    _until(lambda: gate.load()["answering"] == 0, "the line to empty")
    assert clients[3].predict("Question 3?", api_name="/chat") == "Answer to Question 3?."  # and now it is answered


# --- the load benchmark's code path, on the scripted server ----------------------------------------------


def test_load_benchmark_runs_against_a_server(held_server, tmp_path):
    from scripts.bench import load_bench

    url, app, pipeline = held_server
    pipeline.release.set()
    rows = [
        {"id": f"q{i}", "question": f"Question {i}?", "kind": "single", "must": [[f"Answer to Question {i}"]], "sources": ["a"]}
        for i in range(4)
    ]
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "load.json"
    assert (
        load_bench.main(
            [
                "--url",
                url,
                "--users",
                "1,2",
                "--duration",
                "1",
                "--overflow",
                "0",
                "--queue",
                "1",
                "--questions",
                str(questions),
                "--no-warmup",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    result = json.loads(out.read_text())
    levels = {lv["users"]: lv for lv in result["levels"]}
    assert set(levels) == {1, 2}
    for lv in levels.values():
        assert lv["answers"] > 0 and lv["lost"] == 0 and lv["crossed"] == 0 and lv["busy"] == 0
        assert lv["same_as_1_user"] == lv["answers"]  # every answer is its own question's one-user answer
    assert levels[1]["ratio_to_1_user"] == 1.0


def test_load_benchmark_burst_reports_the_busy_users(held_server, tmp_path):
    from scripts.bench import load_bench

    url, app, pipeline = held_server
    rows = [{"id": f"q{i}", "question": f"Question {i}?", "kind": "single", "must": [], "sources": []} for i in range(5)]
    done: list = []
    runner = threading.Thread(target=lambda: done.append(load_bench.burst(url, rows, 5, BOUND, overflow=2)))
    runner.start()
    # two of the five turned away, then the late arrival asking alone while the line is still full
    _until(lambda: app.ragqa_gate.load()["turned_away"] == 3, "three users turned away")
    pipeline.release.set()
    runner.join(BOUND * 2)
    full = load_bench.burst_summary(done[0], capacity=3, overflow=2)
    assert full["as_expected"] and full["busy"] == 2 and full["answered"] == 3 and full["lost"] == 0
    assert full["busy_messages"] == [BUSY_MESSAGE]
    assert full["late"]["outcome"] == "busy" and full["late"]["error"] == BUSY_MESSAGE


@pytest.mark.browser
def test_the_chat_page_shows_busy_and_its_place_in_the_line(held_server, browser):
    """In chromium: with the line full the chat says busy and keeps the question; with a place, it shows the wait."""
    from gradio_client import Client

    url, app, pipeline = held_server
    gate = app.ragqa_gate
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.goto(url)
        box = page.locator("#question textarea")
        box.wait_for(timeout=BOUND * 1000)
        # two questions being answered (held) and nobody waiting: this page's question takes the last place
        clients = [Client(url, verbose=False, download_files=False) for _ in range(3)]
        jobs = [c.submit(f"Question {i}?", api_name="/chat") for i, c in enumerate(clients[:2])]
        _until(lambda: gate.load()["answering"] == 2, "two questions being answered")
        box.fill("Who founded Sogou?")
        page.locator("#send").click()
        page.locator("#chat .ragqa-wait", has_text="Waiting for the model: 1 question ahead of yours").wait_for(
            timeout=BOUND * 1000
        )
        # the line is full now: another question from the API is turned away
        late = clients[2].submit("Question 2?", api_name="/chat")
        with pytest.raises(Exception, match="busy"):
            late.result(timeout=BOUND)
        pipeline.release.set()
        page.locator("#chat .ragqa-answer", has_text="Answer to Who founded Sogou?.").wait_for(timeout=BOUND * 1000)
        assert [job.result(timeout=BOUND) for job in jobs] == ["Answer to Question 0?.", "Answer to Question 1?."]

        # a full line again, seen from the page: the busy line in place of an answer, the question kept in the box
        pipeline.release.clear()
        jobs = [c.submit(f"Question {i}?", api_name="/chat") for i, c in enumerate(clients)]
        _until(lambda: gate.load()["answering"] == 2 and gate.load()["waiting"] == 1, "a full line")
        box.fill("And who founded Baidu?")
        page.locator("#send").click()
        busy = page.locator("#chat .ragqa-busy")
        busy.wait_for(timeout=BOUND * 1000)
        assert busy.inner_text().strip() == BUSY_MESSAGE
        assert box.input_value() == "And who founded Baidu?"
        pipeline.release.set()
        for job in jobs:
            job.result(timeout=BOUND)
    finally:
        pipeline.release.set()
        context.close()
