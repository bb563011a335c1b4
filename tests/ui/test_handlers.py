"""The chat and upload handlers on a stand-in pipeline: streaming, history, errors, refusals of uploads."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

import index
from index import IndexNotFoundError, IndexSettings
from qa import Retrieved, SourceNotFoundError, Token, Verified
from qa.types import Answer, Passage
from ui import chat, sources


class FakePipeline:
    """Yields the words of a canned answer, then the Answer; records what it was asked."""

    def __init__(self):
        self.calls: list[dict] = []
        self.config = SimpleNamespace(index=IndexSettings(sources=[], index_dir="/nonexistent"))
        self.index = SimpleNamespace(text_of=lambda s: "")

    def stream(self, question, *, top_k=None, history=None, sources=None):
        self.calls.append({"question": question, "top_k": top_k, "history": history, "sources": sources})
        if sources and "missing.pdf" in sources:
            raise SourceNotFoundError("no indexed source matches 'missing.pdf'; list the indexed sources with "
                                      "`ragqa sources`")
        if not question.strip():
            raise ValueError("the question is empty: type a question with at least one word")
        if question == "no index":
            raise IndexNotFoundError("no index in /x; build one with `ragqa index`")
        yield Retrieved([Passage("/docs/france.md", 0, 30, "The capital of France: Paris.", 0.9)], question)
        yield from (Token(t) for t in ["Paris ", "is ", "the ", "capital."])
        yield Verified(Answer(question, f"Answer to {question}.", False, timings={"total": 0.1}))


def test_respond_streams_then_settles_and_keeps_the_conversation():
    p = FakePipeline()
    states = list(chat.respond(p, "What is the capital of France?", [], [], 4, False))
    contents = [s[0][-1]["content"] for s in states]
    assert "ragqa-streaming" in contents[0] and "Searching" in contents[0]
    # the evidence is shown before the model's first word
    assert "Reading 1 passage from france.md" in contents[1] and "Paris is" not in contents[1]
    assert any("Paris is" in c and "ragqa-streaming" in c for c in contents[1:-1])
    assert "ragqa-answer" in contents[-1] and "Answer to What is the capital of France?." in contents[-1]
    chat_msgs, turns, cleared = states[-1]
    assert [m["role"] for m in chat_msgs] == ["user", "assistant"] and cleared == ""
    assert p.calls[0] == {"question": "What is the capital of France?", "top_k": 4, "history": None,
                          "sources": None}

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


def test_questions_are_answered_from_the_chosen_sources():
    p = FakePipeline()
    list(chat.respond(p, "Q?", [], [], 4, False, ["/data/report.pdf"]))
    assert p.calls[-1]["sources"] == ["/data/report.pdf"]
    list(chat.respond(p, "Q?", [], [], 4, False, []))  # nothing chosen: all sources
    assert p.calls[-1]["sources"] is None
    list(chat.api_chat(p, "Q?", [], ["*.md", " "]))
    assert p.calls[-1]["sources"] == ["*.md"]
    list(chat.api_chat(p, "Q?", [], None))
    assert p.calls[-1]["sources"] is None


def test_a_scope_that_matches_nothing_is_said_in_the_chat():
    p = FakePipeline()
    final = list(chat.respond(p, "Q?", [], [], 4, False, ["missing.pdf"]))[-1]
    assert "ragqa-error" in final[0][-1]["content"] and "missing.pdf" in final[0][-1]["content"]
    with pytest.raises(Exception, match="missing.pdf"):
        list(chat.api_chat(p, "Q?", [], ["missing.pdf"]))


# -- managing sources on a real (small) index: the embedder, no language model ---------------------------------


@pytest.fixture()
def project(tmp_path):
    """A sources folder (two files, a sub-folder, an empty file) and one file outside it, indexed."""
    folder = tmp_path / "sources"
    (folder / "notes").mkdir(parents=True)
    (folder / "kestrel.txt").write_text("The Kestrel reservoir held 48 million litres of water in March 2023.\n")
    (folder / "notes" / "pier.md").write_text("# Pier\n\nThe Glimmer pier in Ostwick is 412 metres long.\n")
    (folder / "empty.txt").write_text("")
    outside = tmp_path / "elsewhere" / "ferry.txt"
    outside.parent.mkdir()
    outside.write_text("The Quillon ferry is captained by Ilse Brandt.\n")
    settings = IndexSettings(sources=[str(folder), str(outside)], index_dir=str(tmp_path / "index"))
    index.build(settings=settings)
    return settings, folder, outside


def test_sources_table_scope_choices_and_skipped_files(project):
    settings, folder, outside = project
    rows = sources.indexed_rows(settings)
    assert sorted(r[0] for r in rows) == ["ferry.txt", "kestrel.txt", "notes/pier.md"]
    assert all(len(r) == 5 and r[1] >= 1 and r[3].endswith(" B") and r[4] for r in rows)
    assert sources.scope_choices(settings) == [("ferry.txt", str(outside)), ("kestrel.txt", str(folder / "kestrel.txt")),
                                               ("notes/pier.md", str(folder / "notes" / "pier.md"))]
    assert sources.skipped_rows(settings) == [["empty.txt", "empty file"]]
    update = sources.skipped_update(settings)
    assert update["visible"] is True and update["value"] == [["empty.txt", "empty file"]]

    empty = IndexSettings(sources=[str(folder)], index_dir=str(folder.parent / "no-index"))
    assert sources.indexed_rows(empty) == [] and sources.scope_choices(empty) == []
    assert sources.skipped_update(empty)["visible"] is False


def test_select_row_names_the_source_and_whether_its_file_may_be_deleted(project):
    settings, folder, outside = project
    picked = sources.select_row(settings, "notes/pier.md", 2)
    assert picked.source == str(folder / "notes" / "pier.md") and picked.deletable
    assert "Remove <b" in picked.prompt and "notes/pier.md</b> from the index?" in picked.prompt
    picked = sources.select_row(settings, "ferry.txt", 0)
    assert picked.source == str(outside) and not picked.deletable  # outside the sources folder
    assert sources.select_row(settings, None, 1).source == sources.describe(settings).rows[1]["source"]
    gone = sources.select_row(settings, "no-such-file.txt", 0)  # a stale row is never taken for another one
    assert gone.source is None and "no longer in the index" in gone.prompt


def test_remove_keeps_the_file_unless_asked_and_refreshes_the_scope(project):
    settings, folder, outside = project
    kestrel, pier = str(folder / "kestrel.txt"), str(folder / "notes" / "pier.md")
    status = sources.remove_source(settings, kestrel, delete_file=False)
    assert "removed from the index: kestrel.txt" in status and "the file was kept" in status
    assert os.path.isfile(kestrel) and kestrel not in index.load(settings).sources
    assert [r[0] for r in sources.indexed_rows(settings)] == ["ferry.txt", "notes/pier.md"]
    update = sources.scope_update(settings, [kestrel, pier])  # the removed one leaves the selection
    assert update["value"] == [pier] and kestrel not in [v for _, v in update["choices"]]

    status = sources.remove_source(settings, pier, delete_file=True)
    assert "deleted the file: notes/pier.md" in status and not os.path.exists(pier)
    assert pier not in index.load(settings).sources

    # a removed file that is uploaded again is indexed again (not left out as removed)
    status, rows = sources.add_files([kestrel], settings)
    assert "adding it again" in status and "index updated" in status, status
    assert "kestrel.txt" in [r[0] for r in rows]


def test_a_file_outside_the_sources_folder_is_never_deleted(project):
    settings, folder, outside = project
    status = sources.remove_source(settings, str(outside), delete_file=True)
    assert "removed from the index: ferry.txt" in status and "is not inside the sources folder" in status
    assert outside.read_text().startswith("The Quillon ferry") and str(outside) not in index.load(settings).sources
    assert "not removed" in sources.remove_source(settings, str(outside))  # no longer indexed: said so
    assert "nothing to remove" in sources.remove_source(settings, None)


def test_panel_refreshes_table_skipped_and_scope_together(project):
    settings, folder, outside = project
    rows, skipped, scope = sources.panel(settings, [str(outside), "/gone.txt"])
    assert len(rows) == 3 and skipped["visible"] and scope["value"] == [str(outside)]


def test_export_file_writes_markdown_and_json(tmp_path):
    import json

    from ui.export import export_file

    p = FakePipeline()
    *_, (chat_msgs, turns, _) = chat.respond(p, "What is the capital of France?", [], [], 4, False)
    md = export_file(turns, "markdown")
    assert md.endswith(".md") and "## 1. What is the capital of France?" in open(md, encoding="utf-8").read()
    data = json.loads(open(export_file(turns, "json"), encoding="utf-8").read())
    assert data["answers"][0]["answer"] == "Answer to What is the capital of France?."
    with pytest.raises(ValueError, match="ask a question first"):
        export_file([], "markdown")
