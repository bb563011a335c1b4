"""Citation verification: repair, renumbering, dropping, refusing."""

from qa.cite import content_words, split_answer, verify
from qa.prompt import REFUSAL
from qa.types import Passage

P = [
    Passage("a.txt", 100, 200, "The Harbour Bridge opened in 1932 after eight years of work. It carries rail and road.", 0.9),
    Passage("b.txt", 0, 80, "Its designer was John Bradfield, an engineer from Queensland.", 0.8),
    Passage("c.txt", 10, 90, "Ferries cross the harbour every twenty minutes during the day.", 0.7),
]
Q = "Who designed the bridge and when did it open?"


def test_split_answer_reads_markers_in_all_forms():
    parts = split_answer("It opened in 1932 [1]. Bradfield designed it [2, 3]. Ferries run often [1-2].")
    assert parts == [("It opened in 1932.", [1]), ("Bradfield designed it.", [2, 3]), ("Ferries run often.", [1, 2])]


def test_citations_renumbered_in_order_of_first_use():
    text, sentences, cits, refused = verify("John Bradfield designed the bridge [2]. It opened in 1932 [1].", Q, P)
    assert not refused
    assert [c.n for c in cits] == [1, 2]
    assert cits[0].source == "b.txt" and cits[1].source == "a.txt"
    assert text == "John Bradfield designed the bridge [1]. It opened in 1932 [2]."


def test_wrong_and_dangling_markers_are_repaired():
    # [3] points at the ferry passage, [9] at nothing: both replaced by the supporting passage
    text, _, cits, refused = verify("The bridge opened in 1932 [3][9].", Q, P)
    assert not refused
    assert [c.source for c in cits] == ["a.txt"]
    assert text == "The bridge opened in 1932 [1]."


def test_missing_marker_is_added():
    text, _, cits, _ = verify("The designer was John Bradfield.", Q, P)
    assert text.endswith("[1].") and cits[0].source == "b.txt"


def test_quote_offsets_point_into_the_source():
    _, _, cits, _ = verify("It opened in 1932 [1].", Q, P)
    c = cits[0]
    p = P[0]
    assert p.text[c.start - p.start : c.end - p.start] == c.quote
    assert "1932" in c.quote and "rail" not in c.quote  # the sentence, not the whole passage


def test_unsupported_sentence_is_dropped_and_marked():
    raw = "The bridge opened in 1932 [1]. It was painted bright purple by Picasso [1]."
    text, sentences, cits, refused = verify(raw, Q, P)
    assert not refused
    assert "Picasso" not in text
    assert sentences[1].citations == [] and sentences[0].citations == [1]


def test_answer_from_memory_is_refused():
    passages = [Passage("s.txt", 0, 60, "China buys nine out of ten computer chips from abroad.", 0.5)]
    text, _, cits, refused = verify("The capital of Australia is Canberra. [1]", "What is the capital of Australia?",
                                    passages)
    assert refused and cits == [] and text == REFUSAL


def test_model_refusal_is_a_refusal():
    text, _, _, refused = verify(REFUSAL, Q, P)
    assert refused and text == REFUSAL


def test_true_but_off_topic_copy_is_refused():
    # a sentence copied from the sources that does not answer the question
    text, _, _, refused = verify("Ferries cross the harbour every twenty minutes during the day [3].",
                                 "What was Nvidia's revenue in 2023?", P)
    assert refused


def test_number_words_match_digits():
    assert content_words("nine out of ten") == content_words("9 out of 10")
    passages = [Passage("s.txt", 0, 60, "China buys nine out of ten computer chips from abroad.", 0.5)]
    _, _, cits, refused = verify("9 out of 10 computer chips [1].", "What share of chips does China import?", passages)
    assert not refused and cits


def test_attribution_left_by_a_removed_marker_is_tidied():
    text, _, _, _ = verify("According to [1], the bridge opened in 1932.", Q, P)
    assert text == "The bridge opened in 1932 [1]."
    text, _, _, _ = verify("According to the sources [2], John Bradfield designed it.", Q, P)
    assert text.startswith("John Bradfield designed it")


def test_named_attribution_is_kept():
    passages = [Passage("s.txt", 0, 90, "China-based AI venture deals outpaced consumer technology deals, according to Preqin.", 1)]
    text, _, _, refused = verify("According to Preqin, China-based AI venture deals outpaced consumer technology [1].",
                                 "What did Preqin report?", passages)
    assert not refused and text.startswith("According to Preqin,")


def test_marker_lists_leave_no_stray_separators():
    assert split_answer("Models [1], [2], [3], and [4] are open.") == [("Models are open.", [1, 2, 3, 4])]
    assert split_answer("It grew fast [1] and [2].") == [("It grew fast.", [1, 2])]
    assert split_answer("Sales rose 5% [1], and costs fell [2].") == [("Sales rose 5%, and costs fell.", [1, 2])]
