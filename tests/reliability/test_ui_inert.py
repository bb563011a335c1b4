"""Markdown, HTML and scripts in sources and questions are shown as text in the browser, never run."""

from __future__ import annotations

import pytest

from tests.ui.server import CHROMIUM, get_browser, get_server

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.browser]

ANSWER_TIMEOUT_MS = 300_000

HOSTILE_SOURCE = """# Vexmoor <script>window.__pwned = "source script"; alert("source script")</script>
<img src="x" onerror="window.__pwned = 'source img'"> [click me](javascript:window.__pwned='source link') **bold**
The Vexmoor lighthouse was built in 1872 by the engineer Tobias Quill <b onmouseover="window.__pwned='hover'">and painted
red</b>. <svg onload="window.__pwned = 'source svg'"></svg><iframe src="javascript:window.__pwned='source iframe'"></iframe>
<style>body { display: none }</style>
"""

HOSTILE_QUESTION = ("Who built the Vexmoor lighthouse? <img src=x onerror=\"window.__pwned='question img'\"> "
                    "<script>window.__pwned='question script'</script> **bold** [x](javascript:alert(3))")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from gradio_client import Client, handle_file

    server = get_server()
    path = tmp_path_factory.mktemp("hostile") / "vexmoor.md"
    path.write_text(HOSTILE_SOURCE)
    status, _ = Client(server.url, verbose=False).predict([handle_file(str(path))], api_name="/add_sources")
    assert "saved: vexmoor.md" in status or "duplicate:" in status, status
    return server


@pytest.fixture
def page(server):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not installed (scripts/setup installs it with apt)")
    context = get_browser().new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.goto(server.url)
    yield page
    context.close()


def test_hostile_markup_in_sources_and_questions_stays_text(page):
    # control: markup inserted into this page as HTML would run, so the checks below can see it if it does
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<img id=ctl src=x onerror=\"window.__control=1\">')")
    page.wait_for_function("window.__control === 1")
    page.evaluate("document.getElementById('ctl').remove()")

    page.locator("#question textarea").fill(HOSTILE_QUESTION)
    page.locator("#send").click()
    answer = page.locator("#chat .ragqa-answer").first
    answer.wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert "Tobias Quill" in answer.locator(".ragqa-text").inner_text()
    for summary in answer.locator("details.ragqa-source summary").all():
        summary.click()
    mark = answer.locator("mark.ragqa-span").first
    mark.wait_for(state="visible")
    mark.hover()
    answer.locator("b", has_text="vexmoor.md").first.wait_for()

    chat = page.locator("#chat")
    text = chat.inner_text()
    # the markup is shown literally …
    assert '<script>window.__pwned = "source script"' in text and "<img src=\"x\" onerror=" in text
    assert "**bold**" in text and "[click me](javascript:" in text and "<style>body { display: none }</style>" in text
    assert "<b onmouseover=" in text and "<svg onload=" in text and "<iframe src=" in text
    assert "<script>window.__pwned='question script'</script>" in text
    # … and none of it became elements, ran, or restyled the page
    for selector in ("script", "img", "iframe", "svg[onload]", "style", "a[href^='javascript']", "[onerror]",
                     "[onmouseover]", "strong"):
        assert chat.locator(f".ragqa-answer {selector}, .ragqa-question {selector}").count() == 0, selector
    assert page.evaluate("window.__pwned") is None
    assert page.dialogs == []
    assert page.locator("body").is_visible()
