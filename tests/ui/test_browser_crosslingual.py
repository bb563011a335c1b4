"""A question in another language than the sources', in a real browser (Debian's chromium through Playwright):
answered from the English seeds, verified in English, shown translated with a "translated" marker, the verified
original one click away, the citations quoting the sources exactly."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from index.sources import read_document
from tests.ui.server import ARTIFACTS

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.browser]

ANSWER_TIMEOUT_MS = 300_000  # the CPU may be shared; waits are for elements, never for `networkidle`

WATCH_TRANSLATING_JS = """
() => {
  // Notes whether the verified original was shown "translating" before the final answer replaced it.
  const chat = document.querySelector("#chat");
  window.ragqaTranslating = null;
  new MutationObserver(() => {
    const el = chat.querySelector(".ragqa-translating");
    if (el && window.ragqaTranslating === null) window.ragqaTranslating = el.textContent;
  }).observe(chat, {subtree: true, childList: true, characterData: true});
}
"""


@pytest.fixture
def page(browser, ui_server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.requested_hosts = set()
    page.on("request", lambda r: page.requested_hosts.add(urlsplit(r.url).netloc))
    page.goto(ui_server.url)
    yield page
    context.close()


def test_a_german_question_is_answered_in_german_with_the_verified_english_one_click_away(page, ui_server):
    box = page.locator("#question textarea")
    box.wait_for()
    page.evaluate(WATCH_TRANSLATING_JS)
    before = page.locator("#chat .ragqa-answer").count()
    box.fill("Wer hat die Suchmaschine Sogou gegründet?")
    page.locator("#send").click()
    answer = page.locator("#chat .ragqa-answer").nth(before)
    answer.wait_for(timeout=ANSWER_TIMEOUT_MS)

    # the verified English answer was on screen while it was being translated
    translating = page.evaluate("window.ragqaTranslating")
    assert translating and "Wang Xiaochuan" in translating and "translating it into German" in translating

    shown = answer.locator(".ragqa-text")
    assert shown.count() == 1 and shown.get_attribute("lang") == "de"
    text = shown.inner_text()
    assert "Wang Xiaochuan" in text and text != "" and shown.locator(".ragqa-cite", has_text="[1]").count() >= 1
    marker = answer.locator("details.ragqa-original > summary")
    assert "translated from english" in marker.inner_text().lower()  # (the marker is set in capitals)
    assert marker.locator(".ragqa-translated").is_visible()

    original = answer.locator("details.ragqa-original .ragqa-original-text")
    assert not original.is_visible()  # one click away
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    answer.scroll_into_view_if_needed()
    answer.screenshot(path=str(ARTIFACTS / "ui-translated.png"))
    marker.click()
    original.wait_for(state="visible")
    english = original.inner_text()
    assert "Wang Xiaochuan" in english and "Sogou" in english and english != text
    assert sorted(c.inner_text() for c in original.locator(".ragqa-cite").all()) == \
        sorted(c.inner_text() for c in shown.locator(".ragqa-cite").all())  # the same [n] markers
    assert "Searched for:" in answer.locator(".ragqa-rewritten").inner_text()

    # the citation quotes the English source exactly
    source = answer.locator("details.ragqa-source").first
    assert "003_" in source.locator(":scope > summary").inner_text()
    source.locator(":scope > summary").click()
    mark = source.locator(".ragqa-passage mark.ragqa-span")
    mark.wait_for(state="visible")
    quote = mark.inner_text()
    assert "Wang Xiaochuan" in quote
    assert " ".join(quote.split()) in " ".join(read_document(str(ui_server.sources / "003_e929be3b8f9030bd.txt")).text.split())

    answer.screenshot(path=str(ARTIFACTS / "ui-translated-original.png"))
    assert page.requested_hosts == {urlsplit(ui_server.url).netloc}, page.requested_hosts
