"""The chat in a real browser: Debian's chromium, headless, driven by Playwright."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from index.sources import read_document
from tests.ui.server import ARTIFACTS, TIMINGS_LINE, WATCH_ANSWER_JS, choose_scope

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.browser]

ANSWER_TIMEOUT_MS = 300_000  # the CPU may be shared; waits are for elements, never for `networkidle`


@pytest.fixture
def page(browser, ui_server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.requested_hosts = set()
    page.on("request", lambda r: page.requested_hosts.add(urlsplit(r.url).netloc))
    page.goto(ui_server.url)
    yield page
    context.close()


def ask(page, question: str) -> None:
    box = page.locator("#question textarea")
    box.wait_for()
    box.fill(question)
    page.locator("#send").click()


def test_streamed_cited_answer_with_highlighted_source(page, ui_server):
    before = page.locator("#chat .ragqa-answer").count()
    ask(page, "Who founded the search engine Sogou?")
    # the model's words appear while it is still generating …
    page.locator("#chat .ragqa-streaming:not(:has(.ragqa-wait))").first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    # … then the verified answer replaces them
    answer = page.locator("#chat .ragqa-answer").nth(before)
    answer.wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert page.locator("#chat .ragqa-streaming").count() == 0
    assert "Wang Xiaochuan" in answer.locator(".ragqa-text").inner_text()
    assert answer.locator(".ragqa-text .ragqa-cite", has_text="[1]").count() >= 1
    assert "first token" in answer.locator(".ragqa-timings").inner_text()

    source = answer.locator("details.ragqa-source").first
    assert "003_" in source.locator(":scope > summary").inner_text()
    mark = source.locator(".ragqa-passage mark.ragqa-span")
    assert not mark.is_visible()  # collapsed until opened
    source.locator(":scope > summary").click()
    mark.wait_for(state="visible")
    assert "Wang Xiaochuan" in mark.inner_text()
    assert source.locator(".ragqa-context").count() >= 1  # surrounding text to judge it by
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui.png"), full_page=True)

    # a follow-up is condensed with the conversation; the rewritten question is shown
    ask(page, "How much seed capital did his startup raise?")
    follow = page.locator("#chat .ragqa-answer").nth(before + 1)
    follow.wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert "50 million" in follow.locator(".ragqa-text").inner_text()
    assert follow.locator(".ragqa-rewritten").count() == 1
    follow.locator("details.ragqa-source summary").first.click()
    follow.locator("mark.ragqa-span").first.wait_for(state="visible")
    page.screenshot(path=str(ARTIFACTS / "ui-follow-up.png"), full_page=True)

    # showing scores re-renders the conversation; clearing empties it
    page.locator("#show-scores input").check()
    page.locator("#chat .ragqa-score").first.wait_for()
    page.locator("#clear").click()
    page.locator("#chat .ragqa-answer").first.wait_for(state="detached")

    # nothing was requested from anywhere but this server
    assert page.requested_hosts == {urlsplit(ui_server.url).netloc}, page.requested_hosts


def test_evidence_is_shown_before_the_model_answers(page, ui_server, record_property):
    """The passages being read appear (collapsed) before the model's first token and before the verified answer;
    the answer then cites its sources and keeps the other passages under "Also retrieved".

    The seconds from pressing Ask to each stage are recorded (tests/artifacts/evidence-first.json and the
    JUnit properties), never asserted: the benchmark scripts/bench/evidence_first.py measures them."""
    page.locator("#question textarea").wait_for()
    page.evaluate(WATCH_ANSWER_JS)
    ask(page, "Who founded the search engine Sogou?")
    evidence = page.locator("#chat .ragqa-streaming details.ragqa-evidence")
    evidence.wait_for(timeout=ANSWER_TIMEOUT_MS)
    summary = evidence.locator(":scope > summary").inner_text()
    assert re.match(r"Reading \d+ passages? from .*003_e929be3b8f9030bd\.txt", summary), summary
    assert not evidence.locator(".ragqa-evidence-list").is_visible()  # collapsed until opened
    answer = page.locator("#chat .ragqa-answer").first
    answer.wait_for(timeout=ANSWER_TIMEOUT_MS)

    seen = page.evaluate("window.ragqaWatch")
    assert seen["clicked"] is not None and seen["evidence"] is not None and seen["answer"] is not None, seen
    assert seen["evidenceText"].startswith("Reading"), seen
    # the passages were on screen while the model had written nothing yet, and before any of its text
    assert "evidence" in seen["states"], seen["states"]
    assert seen["states"].index("evidence") < seen["states"].index("answer"), seen["states"]
    assert not any(s.startswith("searching+") for s in seen["states"]), seen["states"]
    if seen["token"] is not None:  # (a refusal may come with no streamed text at all)
        assert seen["evidence"] < seen["token"] <= seen["answer"], seen
        assert seen["states"].index("evidence") < seen["states"].index("evidence+text"), seen["states"]
    assert seen["evidence"] < seen["answer"], seen

    text = answer.locator(".ragqa-text").inner_text()
    assert "Wang Xiaochuan" in text
    cited = answer.locator("details.ragqa-source:not(.ragqa-closest)")
    assert cited.count() >= 1 and "003_" in cited.first.locator(":scope > summary").inner_text()
    shown = int(re.search(r"Reading (\d+) passage", summary).group(1))
    also = answer.locator("details.ragqa-also")
    if shown > cited.count():  # uncited passages are kept, collapsed, apart from the sources
        assert also.count() == 1
        n_also = int(re.search(r"Also retrieved \((\d+)\)", also.locator(":scope > summary").inner_text()).group(1))
        assert n_also == also.locator("details.ragqa-retrieved").count() >= 1
        assert not also.locator("details.ragqa-retrieved").first.is_visible()
        also.locator(":scope > summary").click()
        also.locator("details.ragqa-retrieved").first.wait_for(state="visible")
    timings = re.search(TIMINGS_LINE, answer.locator(".ragqa-timings").inner_text())
    assert timings, answer.locator(".ragqa-timings").inner_text()

    figures = {
        "passages_visible_s": round((seen["evidence"] - seen["clicked"]) / 1000, 3),
        "first_token_visible_s": (None if seen["token"] is None
                                  else round((seen["token"] - seen["clicked"]) / 1000, 3)),
        "answer_visible_s": round((seen["answer"] - seen["clicked"]) / 1000, 3),
        "rendered_retrieval_s": float(timings.group(1)),
        "rendered_first_token_s": float(timings.group(2)),
        "rendered_total_s": float(timings.group(3)),
        "states": seen["states"],
    }
    for key, value in figures.items():
        record_property(key, value)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "evidence-first.json").write_text(json.dumps(figures, indent=1) + "\n")
    print("evidence first:", json.dumps(figures))
    page.screenshot(path=str(ARTIFACTS / "ui-evidence-answer.png"), full_page=True)


def _download(page, button: str):
    """Click a "Download conversation" button and fetch the file the #download component then offers."""
    before = page.locator("#download a[download]").first.get_attribute("href") if page.locator(
        "#download a[download]").count() else None
    page.locator(button).click()
    link = page.locator("#download a[download]").first
    link.wait_for(timeout=60_000)
    # query the link afresh each time: the component re-renders it, so a handle to the old one never changes
    page.wait_for_function("(old) => { const a = document.querySelector('#download a[download]');"
                           " return a && a.getAttribute('href') && a.getAttribute('href') !== old; }",
                           arg=before, timeout=60_000)
    with page.expect_download(timeout=60_000) as info:
        link.click()
    download = info.value
    return download.suggested_filename, open(download.path(), encoding="utf-8").read()


def test_download_the_conversation_as_markdown_and_json(page, ui_server):
    ask(page, "Who founded the search engine Sogou?")
    answer = page.locator("#chat .ragqa-answer").first
    answer.wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert "Wang Xiaochuan" in answer.locator(".ragqa-text").inner_text()

    name, md = _download(page, "#export-md")
    assert name.endswith(".md"), name
    assert "## 1. Who founded the search engine Sogou?" in md
    assert "Wang Xiaochuan" in md and "[1]" in md
    # one line per citation: [n] `source path`, place, characters start–end:
    lines = re.findall(r"^\[(\d+)\] `([^`]+)`(?:, [^\n]*?)?, characters (\d+)–(\d+):$", md, flags=re.M)
    assert lines, md
    n, source, start, end = lines[0]
    seed = ui_server.sources / "003_e929be3b8f9030bd.txt"
    assert source.endswith(seed.name) and Path(source).resolve() == seed.resolve(), source  # the full path
    text = read_document(str(seed)).text  # the text the offsets refer to
    quote = md.split(f"characters {start}–{end}:", 1)[1].split("\n\n", 2)[1]
    assert quote.startswith("> ") and " ".join(text[int(start):int(end)].split()) in quote  # offsets name the quote

    name, raw = _download(page, "#export-json")
    assert name.endswith(".json"), name
    data = json.loads(raw)
    first = data["answers"][0]
    assert first["question"] == "Who founded the search engine Sogou?"
    assert "Wang Xiaochuan" in first["answer"]
    citation = first["citations"][0]
    assert citation["source"].endswith("003_e929be3b8f9030bd.txt")
    assert text[citation["start"]:citation["end"]] == citation["quote"]


def test_answer_from_the_chosen_source_only_with_the_whole_document(page, ui_server):
    seed = "003_e929be3b8f9030bd.txt"
    page.locator("#sources [data-testid=cell-0-0]").wait_for()
    choose_scope(page, seed)
    assert seed in page.locator("#scope").inner_text()
    ask(page, "Who founded the search engine Sogou?")
    answer = page.locator("#chat .ragqa-answer").first
    answer.wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert "Wang Xiaochuan" in answer.locator(".ragqa-text").inner_text()
    cited = [s.inner_text() for s in answer.locator("details.ragqa-source > summary").all()]
    assert cited and all(seed in name for name in cited), cited  # nothing from the other seeds

    # the whole document opens scrolled to the cited span, inside its own box
    source = answer.locator("details.ragqa-source").first
    source.locator(":scope > summary").click()
    doc = source.locator("details.ragqa-doc")
    doc.locator("summary").click()
    box = doc.locator(".ragqa-doc-text")
    box.wait_for()
    assert "Sogou" in box.inner_text() and "London Daily" in box.inner_text()  # the whole file, from its start
    assert page.evaluate("window.ragqaDocScroll") is True  # the page's one script is installed
    assert box.evaluate("b => b.scrollHeight > b.clientHeight")  # the whole file: more than the box shows at once
    page.wait_for_function("""b => { const m = b.querySelector('mark.ragqa-span').getBoundingClientRect();
                                     const r = b.getBoundingClientRect();
                                     return m.top >= r.top && m.bottom <= r.bottom; }""",
                           arg=box.element_handle(), timeout=10_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-scope.png"), full_page=True)


def test_remove_a_source_and_its_file_after_confirming(page, ui_server, tmp_path):
    path = tmp_path / "to remove.md"
    path.write_text("# Harbour\n\nThe Brisling harbour crane lifts 40 tonnes.\n")
    page.locator("#upload input[type=file]").set_input_files(str(path))
    page.locator("#upload").get_by_text("to remove.md").first.wait_for()
    page.locator("#add-sources").click()
    status = page.locator("#status textarea")
    page.wait_for_function("el => el.value.includes('index updated')", arg=status.element_handle(), timeout=120_000)
    saved = ui_server.sources / "to remove.md"
    assert saved.is_file()

    row = page.locator("#sources [data-testid^=cell-][data-testid$='-0']", has_text="to remove.md")
    row.click()
    confirm = page.locator("#remove-confirm")
    confirm.get_by_text("from the index?").wait_for()
    assert "Remove to remove.md from the index?" in confirm.inner_text()
    page.locator("#cancel-remove").click()  # cancel: nothing happens
    confirm.wait_for(state="hidden")
    assert saved.is_file()

    row.click()
    page.locator("#delete-file input").check()  # shown: the file is inside the sources folder
    page.locator("#remove").click()
    done = page.locator("#sources-status textarea")
    done.wait_for()
    page.wait_for_function("el => el.value.includes('deleted the file')", arg=done.element_handle(), timeout=120_000)
    assert not saved.exists()
    page.locator("#sources [data-testid^=cell-]", has_text="to remove.md").first.wait_for(state="detached")
    page.locator("#scope input").click()
    assert "to remove.md" not in " ".join(o.inner_text() for o in page.get_by_role("option").all())
    page.keyboard.press("Escape")


def test_indexed_sources_are_listed_with_chunk_counts(page, ui_server):
    table = page.locator("#sources")
    table.get_by_text("003_e929be3b8f9030bd.txt").wait_for()
    text = table.inner_text()
    for seed in sorted(p.name for p in ui_server.sources.glob("00*_*.txt")):
        assert seed in text


def test_add_sources_panel_uploads_and_lists_the_file(page, ui_server, tmp_path):
    path = tmp_path / "browser upload notes.md"
    path.write_text("# Glimmer pier\n\nThe Glimmer pier in Ostwick is 412 metres long and opened in 1903.\n")
    page.locator("#upload input[type=file]").set_input_files(str(path))
    page.locator("#upload").get_by_text("browser upload notes.md").first.wait_for()
    page.locator("#add-sources").click()
    status = page.locator("#status textarea")
    page.wait_for_function("el => el.value.includes('index updated')", arg=status.element_handle(), timeout=120_000)
    assert "saved: browser upload notes.md" in status.input_value()
    page.locator("#sources").get_by_text("browser upload notes.md").wait_for()
    assert (ui_server.sources / "browser upload notes.md").is_file()
