"""The chat and upload handlers on a stand-in pipeline: streaming, history, errors, refusals of uploads."""

from __future__ import annotations

from types import SimpleNamespace

from index import IndexNotFoundError, IndexSettings
from qa.types import Answer
from ui import chat, sources


class FakePipeline:
    """Yields the words of a canned answer, then the Answer; records what it was asked."""

    def __init__(self):
        self.calls: list[dict] = []
        self.config = SimpleNamespace(index=IndexSettings(sources=[], index_dir="/nonexistent"))
        self.index = SimpleNamespace(text_of=lambda s: "")

    def stream(self, question, *, top_k=None, history=None):
        self.calls.append({"question": question, "top_k": top_k, "history": history})
        if not question.strip():
            raise ValueError("the question is empty: type a question with at least one word")
        if question == "no index":
            raise IndexNotFoundError("no index in /x; build one with `ragqa index`")
        yield from ["Paris ", "is ", "the ", "capital."]
        yield Answer(question, f"Answer to {question}.", False, timings={"total": 0.1})


def test_respond_streams_then_settles_and_keeps_the_conversation():
    p = FakePipeline()
    states = list(chat.respond(p, "What is the capital of France?", [], [], 4, False))
    contents = [s[0][-1]["content"] for s in states]
    assert "ragqa-streaming" in contents[0] and "Searching" in contents[0]
    assert any("Paris is" in c and "ragqa-streaming" in c for c in contents[1:-1])
    assert "ragqa-answer" in contents[-1] and "Answer to What is the capital of France?." in contents[-1]
    chat_msgs, turns, cleared = states[-1]
    assert [m["role"] for m in chat_msgs] == ["user", "assistant"] and cleared == ""
    assert p.calls[0] == {"question": "What is the capital of France?", "top_k": 4, "history": None}

    states = list(chat.respond(p, "And its population?", chat_msgs, turns, 5, False))
    assert p.calls[1]["history"] == [("What is the capital of France?", "Answer to What is the capital of France?.")]
    assert len(states[-1][0]) == 4 and len(states[-1][1]) == 2


def test_problems_become_messages_and_the_session_goes_on():
    p = FakePipeline()
    final = list(chat.respond(p, "   ", [], [], 5, False))[-1]
    assert "ragqa-error" in final[0][-1]["content"] and "question is empty" in final[0][-1]["content"]
    final = list(chat.respond(p, "no index", final[0], final[1], 5, False))[-1]
    assert "ragqa index" in final[0][-1]["content"]
    final = list(chat.respond(p, "Hello?", final[0], final[1], 5, False))[-1]
    assert "Answer to Hello?." in final[0][-1]["content"]
    assert p.calls[-1]["history"] is None  # failed turns are not used as conversation


def test_rerender_keeps_errors_and_answers():
    p = FakePipeline()
    _, turns, _ = list(chat.respond(p, "", [], [], 5, False))[-1]
    _, turns, _ = list(chat.respond(p, "Q?", [], turns, 5, False))[-1]
    msgs = chat.render_turns(turns, p, show_scores=True)
    assert len(msgs) == 4 and "ragqa-error" in msgs[1]["content"] and "Answer to Q?." in msgs[3]["content"]


def test_api_chat_streams_text_then_the_cited_answer():
    p = FakePipeline()
    outputs = list(chat.api_chat(p, "Q?", []))
    assert outputs[0][0] == "Paris " and outputs[-1][0] == "Answer to Q?."
    assert len(outputs[-1][1]) == 1


def test_refused_uploads_build_nothing(tmp_path):
    settings = IndexSettings(sources=[str(tmp_path / "src")], index_dir=str(tmp_path / "index"))
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ")
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 2000)
    status, rows = sources.add_files([str(empty), str(exe), str(big)], settings, max_bytes=1000)
    lines = status.splitlines()
    assert len(lines) == 3 and all(line.startswith("refused: ") for line in lines)
    assert "empty" in lines[0] and "unsupported" in lines[1] and "limit" in lines[2]
    assert rows == [] and not (tmp_path / "index").exists()
    assert not (tmp_path / "src").exists() or not any((tmp_path / "src").iterdir())


def test_uploads_go_to_the_first_source_folder(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "one.txt").write_text("x")
    s = IndexSettings(sources=[str(tmp_path / "one.txt"), str(tmp_path / "docs")], index_dir=str(tmp_path / "idx"))
    assert sources.uploads_dir(s) == tmp_path / "docs"
    s = IndexSettings(sources=[str(tmp_path / "one.txt")], index_dir=str(tmp_path / "idx"))
    assert sources.uploads_dir(s) == tmp_path.resolve() / "uploads"
