"""Rendering answers for the chat: inert HTML, highlighted spans, refusals, the API's plain text."""

from __future__ import annotations

import re

from qa.types import Answer, Citation, Passage
from ui import render

SOURCE_TEXT = ("Intro line.\n\nSogou is a search engine. It was founded by Wang Xiaochuan in 2004. "
               "Later it was bought by Tencent.\n\nOutro.")


def _passage(text_of_source: str = SOURCE_TEXT, path: str = "/data/sogou.txt") -> Passage:
    start = text_of_source.index("Sogou is")
    end = text_of_source.index("Tencent.") + len("Tencent.")
    return Passage(path, start, end, text_of_source[start:end], 0.0321)


def _answer(refused: bool = False) -> Answer:
    p = _passage()
    quote = "It was founded by Wang Xiaochuan in 2004."
    start = SOURCE_TEXT.index(quote)
    c = Citation(1, p.source, start, start + len(quote), quote, passage=0)
    if refused:
        return Answer("Capital of Australia?", "I could not find the answer in the sources.", True, passages=[p],
                      timings={"retrieve": 0.01, "first_token": 0.5, "total": 1.2})
    return Answer("Who founded Sogou?", "Wang Xiaochuan founded Sogou [1].", False, citations=[c], passages=[p],
                  timings={"retrieve": 0.01, "first_token": 0.5, "total": 1.2},
                  standalone_question="Who founded the search engine Sogou?")


def _tags(html: str) -> set[str]:
    return {t.lower() for t in re.findall(r"<\s*([a-zA-Z][\w-]*)", html)}


ALLOWED_TAGS = {"div", "span", "b", "i", "q", "small", "mark", "details", "summary", "br"}


def test_hostile_text_is_escaped_and_never_a_blank_line():
    hostile = "<script>alert(1)</script>\n\n\n<img src=x onerror=alert(2)> **bold** [x](javascript:alert(3))\x00\x07"
    out = render.escape(hostile)
    assert "<script" not in out and "<img" not in out and "\x00" not in out and "\x07" not in out
    assert "&lt;script&gt;" in out and "&lt;img src=x onerror=alert(2)&gt;" in out
    assert "\n" not in out  # one line: the chat's Markdown renderer sees a single HTML block
    assert "**bold**" in out  # left for the HTML block to show literally


def test_every_message_is_one_inert_html_block():
    hostile_q = "Who? <script>alert(1)</script>\n\n# heading\n    code"
    for html in (render.user_message(hostile_q), render.streaming_message(hostile_q), render.error_message(hostile_q)):
        assert html.startswith("<div") and "\n" not in html
        assert _tags(html) <= ALLOWED_TAGS, _tags(html)


def test_answer_highlights_the_cited_span_in_its_context():
    html = render.answer_message(_answer(), text_of=lambda s: SOURCE_TEXT)
    assert html.startswith("<div") and "\n" not in html
    assert _tags(html) <= ALLOWED_TAGS
    assert '<span class="ragqa-cite">[1]</span>' in html
    marked = re.findall(r'<mark class="ragqa-span">(.*?)</mark>', html)
    assert marked == ["It was founded by Wang Xiaochuan in 2004."]
    assert "sogou.txt" in html and "<details" in html
    assert "Intro line." in html and "Outro." in html  # surrounding context from the source
    assert "Searched for: <i>Who founded the search engine Sogou?</i>" in html
    assert "retrieval 0.01 s" in html and "first token 0.50 s" in html and "total 1.20 s" in html
    assert "score" not in html
    assert "score 0.032" in render.answer_message(_answer(), show_scores=True)


def test_context_falls_back_to_the_passage_when_the_source_changed():
    html = render.answer_message(_answer(), text_of=lambda s: "completely different text now")
    assert "Intro line." not in html
    assert re.findall(r'<mark class="ragqa-span">(.*?)</mark>', html) == ["It was founded by Wang Xiaochuan in 2004."]


def test_hostile_source_is_inert_in_the_sources():
    text = 'Facts. <script>alert("x")</script> The lighthouse was built in 1872 <b onmouseover="alert(1)">red</b>. End.'
    start = text.index("The lighthouse")
    end = text.index("End.")
    p = Passage("/data/<evil>.md", 0, len(text), text, 0.5)
    c = Citation(1, p.source, start, end, text[start:end], passage=0)
    a = Answer("q", "Built in 1872 [1].", False, citations=[c], passages=[p])
    html = render.answer_message(a, text_of=lambda s: text)
    assert _tags(html) <= ALLOWED_TAGS, _tags(html)
    assert "&lt;script&gt;" in html and "&lt;b onmouseover=&quot;alert(1)&quot;&gt;" in html
    assert 'title="/data/&lt;evil&gt;.md"' in html


def test_refusal_says_so_and_shows_the_closest_passages():
    html = render.answer_message(_answer(refused=True), text_of=lambda s: SOURCE_TEXT)
    assert render.REFUSED_TEXT in html
    assert "Closest passages looked at" in html and "sogou.txt" in html
    assert "<mark" not in html  # nothing is cited


def test_a_rejected_answer_is_shown_collapsed_as_unverified_never_as_the_answer():
    a = _answer(refused=True)
    a.raw = "The capital of Australia is Canberra [1]."
    a.rejected = "no sentence of the answer is stated by the sources"
    html = render.answer_message(a, text_of=lambda s: SOURCE_TEXT)
    head, _, rest = html.partition('<details class="ragqa-rejected">')
    assert render.REFUSED_TEXT in head and "Canberra" not in head  # the answer part says only that it was refused
    assert "could not be verified" in rest and "Canberra" in rest and "[1]" not in rest.split("</details>")[0]
    assert render.answer_text(a) == "I could not find the answer in the sources."


def test_api_text_has_the_answer_and_its_citations():
    text = render.answer_text(_answer())
    assert text.splitlines()[0] == "Wang Xiaochuan founded Sogou [1]."
    assert '[1] sogou.txt: "It was founded by Wang Xiaochuan in 2004."' in text
    refused = render.answer_text(_answer(refused=True))
    assert refused == "I could not find the answer in the sources."


def test_sources_rows_are_relative_to_their_root(tmp_path):
    (tmp_path / "sub").mkdir()
    rows = render.sources_rows({str(tmp_path / "a.txt"): 3, str(tmp_path / "sub" / "b.md"): 1, "/elsewhere/c.txt": 2},
                               [str(tmp_path)])
    assert rows == [["a.txt", 3], ["sub/b.md", 1], ["/elsewhere/c.txt", 2]]
