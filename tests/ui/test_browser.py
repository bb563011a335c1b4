"""The chat in a real browser: Debian's chromium, headless, driven by Playwright."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.ui.server import ARTIFACTS

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
    assert "003_" in source.locator("summary").inner_text()
    mark = source.locator("mark.ragqa-span")
    assert not mark.is_visible()  # collapsed until opened
    source.locator("summary").click()
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
