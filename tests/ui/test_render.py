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
    context, _, doc = html.partition('<details class="ragqa-doc">')
    marked = re.findall(r'<mark class="ragqa-span">(.*?)</mark>', context)
    assert marked == ["It was founded by Wang Xiaochuan in 2004."]
    assert re.findall(r'<mark class="ragqa-span">(.*?)</mark>', doc) == marked  # and in the whole document
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
    described = [
        {"source": str(tmp_path / "a.txt"), "kind": "text", "chunks": 3, "pages": None, "bytes": 734,
         "indexed": 1_700_000_000},
        {"source": str(tmp_path / "sub" / "b.pdf"), "kind": "pdf", "chunks": 1, "pages": 12, "bytes": 3 * 2**20,
         "indexed": None},
        {"source": "/elsewhere/c.txt", "kind": "text", "chunks": 2, "pages": None, "bytes": None, "indexed": None},
    ]
    rows = render.sources_rows(described, [str(tmp_path)])
    assert [r[:4] for r in rows] == [["a.txt", 3, None, "734 B"], ["sub/b.pdf", 1, 12, "3.0 MB"],
                                     ["/elsewhere/c.txt", 2, None, ""]]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", rows[0][4]) and rows[1][4] == rows[2][4] == ""
    assert len(render.SOURCES_HEADERS) == len(rows[0])
    # a file configured as a source by itself is shown by its name, never as "."
    assert render.shown_path(str(tmp_path / "a.txt"), [str(tmp_path / "a.txt")]) == "a.txt"
    assert render.size_text(2048) == "2.0 KB" and render.size_text(None) == ""
    skipped = render.skipped_rows([{"source": str(tmp_path / "x.pdf"), "reason": "no text\n(scanned?)"}],
                                  [str(tmp_path)])
    assert skipped == [["x.pdf", "no text (scanned?)"]]


def _placed(answer: Answer) -> Answer:
    for c in answer.citations:
        c.page, c.section = 2, "Results <b>"
    answer.passages[0].page, answer.passages[0].section = 2, "Results <b>"
    return answer


def test_citations_and_closest_passages_say_where_in_the_document():
    html = render.answer_message(_placed(_answer()), text_of=lambda s: SOURCE_TEXT)
    summary = re.search(r"<summary>(.*?)</summary>", html).group(1)
    assert '<b title="/data/sogou.txt">sogou.txt</b><span class="ragqa-where"> · p. 2 · Results &lt;b&gt;</span>' \
        in summary
    assert _tags(html) <= ALLOWED_TAGS and "\n" not in html
    refused = render.answer_message(_placed(_answer(refused=True)), text_of=lambda s: SOURCE_TEXT)
    assert 'sogou.txt</b><span class="ragqa-where"> · p. 2 · Results &lt;b&gt;</span>' in refused
    # no place known: nothing after the name
    assert "ragqa-where" not in render.answer_message(_answer(), text_of=lambda s: SOURCE_TEXT)


def test_api_text_says_where_in_the_document():
    a = _answer()
    a.citations[0].page, a.citations[0].section = 2, "Results"
    assert '[1] sogou.txt (p. 2 · Results): "It was founded by Wang Xiaochuan in 2004."' in render.answer_text(a)
    a.citations[0].page = None
    assert '[1] sogou.txt (Results): "' in render.answer_text(a)


def _doc(html: str) -> str:
    """The whole-document viewer of the first citation."""
    found = re.search(r'<details class="ragqa-doc">(.*?)</details>', html)
    assert found, html
    return found.group(1)


def test_whole_document_viewer_shows_the_source_with_the_span_marked():
    html = render.answer_message(_answer(), text_of=lambda s: SOURCE_TEXT)
    assert html.count('<details class="ragqa-source">') == 1 and html.count('<details class="ragqa-doc">') == 1
    doc = _doc(html)
    assert doc.startswith("<summary><small>Open the whole document</small></summary>")
    assert '<div class="ragqa-doc-text">Intro line.<br><br>Sogou is a search engine. ' in doc  # paragraphs kept
    assert re.findall(r'<mark class="ragqa-span">(.*?)</mark>', doc) == ["It was founded by Wang Xiaochuan in 2004."]
    assert "Outro.</div>" in doc and "ragqa-doc-cut" not in doc  # short: all of it, nothing cut
    assert "\n" not in html and _tags(html) <= ALLOWED_TAGS


def test_whole_document_viewer_is_inert():
    text = ('<script>alert("x")</script>\n\n\n\n<img src=x onerror=alert(1)> The lighthouse was built in 1872.'
            "\x00\n\n# Not a heading\n\n    not code\n")
    quote = "The lighthouse was built in 1872."
    start = text.index(quote)
    p = Passage("/data/evil.md", 0, len(text), text, 0.5)
    a = Answer("q", "Built in 1872 [1].", False, citations=[Citation(1, p.source, start, start + len(quote), quote)],
               passages=[p])
    html = render.answer_message(a, text_of=lambda s: text)
    doc = _doc(html)
    assert "<script" not in html and "<img" not in html and "\x00" not in html and "\n" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;<br><br>&lt;img src=x onerror=alert(1)&gt; " in doc
    assert re.findall(r'<mark class="ragqa-span">(.*?)</mark>', doc) == [quote]
    assert _tags(html) <= ALLOWED_TAGS, _tags(html)


def test_whole_document_viewer_is_left_out_when_the_source_changed():
    html = render.answer_message(_answer(), text_of=lambda s: "completely different text now")
    assert "ragqa-doc" not in html
    assert "ragqa-doc" not in render.answer_message(_answer())  # no text_of: nothing to show


def test_a_long_document_is_cut_to_a_window_around_the_span():
    words = [f"w{i:06d}" for i in range(30_000)]  # 240,000 characters
    quote = "The cited sentence sits here."
    before, after = " ".join(words[:20_000]) + " ", " " + " ".join(words[20_000:])
    text = before + quote + after
    start = len(before)
    p = Passage("/data/long.txt", start - 50, start + len(quote) + 50, text[start - 50 : start + len(quote) + 50], 0.1)
    a = Answer("q", "Here [1].", False, citations=[Citation(1, p.source, start, start + len(quote), quote)],
               passages=[p])
    doc = _doc(render.answer_message(a, text_of=lambda s: text))
    cut = re.search(r"characters ([\d,]+)–([\d,]+) of ([\d,]+)", doc)
    assert cut, doc[:300]
    lo, hi, total = (int(g.replace(",", "")) for g in cut.groups())
    assert total == len(text) and 1 < lo <= start + 1 and start + len(quote) <= hi < len(text)
    assert hi - lo + 1 <= render.DOC_CHARS
    shown = re.search(r'<div class="ragqa-doc-text">(.*?)</div>', doc).group(1)
    assert shown.startswith("…w") and shown.endswith("…") and not shown.startswith("…w000000")
    assert len(shown) <= render.DOC_CHARS + 200
    assert re.findall(r'<mark class="ragqa-span">(.*?)</mark>', shown) == [quote]
    assert abs((start - lo) - (hi - start - len(quote))) < 100  # the span in the middle of the window
    # near the start of a document, the window is its first DOC_CHARS characters
    assert render.doc_window(len(text), 10, 20) == (0, render.DOC_CHARS)
    assert render.doc_window(len(text), len(text) - 5, len(text)) == (len(text) - render.DOC_CHARS, len(text))
    assert render.doc_window(1000, 10, 20) == (0, 1000)
