"""Claim-level verification (qa.cite): each failure class refused, good paraphrases kept; repair and renumbering.

The embedder here gives unrelated texts unrelated vectors, so only the lexical rules decide: the
semantic stand-in is off by default (``Thresholds.semantic`` > 1).
"""

import hashlib

import numpy as np
import pytest

from qa.cite import Thresholds, spelled_as_asked, split_answer, verify
from qa.claims import AnswerType, answer_types, terms
from qa.evidence import Evidence
from qa.prompt import REFUSAL
from qa.types import Passage


def embed(texts):
    rows = []
    for t in texts:
        v = np.random.default_rng(int(hashlib.sha256(t.encode()).hexdigest()[:8], 16)).normal(size=32)
        rows.append(v / np.linalg.norm(v))
    return np.array(rows).reshape(len(texts), 32)


def check(raw: str, question: str, passages: list[Passage], **th):
    return verify(raw, Evidence.gather(question, passages, embed), embed, Thresholds(**th))


def one(text: str, source: str = "s.txt") -> list[Passage]:
    return [Passage(source, 1000, 1000 + len(text), text, 1.0)]


P = [
    Passage("a.txt", 100, 186, "The Harbour Bridge opened in 1932 after eight years of work. It carries rail and road.", 0.9),
    Passage("b.txt", 0, 69, "The bridge's designer was John Bradfield, an engineer from Queensland.", 0.8),
    Passage("c.txt", 10, 72, "Ferries cross the harbour every twenty minutes during the day.", 0.7),
]
Q = "Who designed the bridge and when did it open?"


# -- the failure classes of issue 11: a known-bad claim refused, a known-good paraphrase kept -----------
def test_restatement_of_the_question_is_not_an_answer():
    passages = one("About 70 percent of the city's water comes from the river Elbe.")
    q = "How much of the city's water comes from the river?"
    bad = check("The city's water comes from the river [1].", q, passages)
    assert bad.refused and bad.text == REFUSAL
    good = check("About 70% of the city's water comes from the river Elbe [1].", q, passages)
    assert not good.refused and "70" in good.text


def test_wrong_subject_is_refused():
    passages = one("M. Ruiz designed the south tower in 1990. A second firm later added the north tower.")
    q = "Who designed the north tower?"
    v = check("M. Ruiz designed the north tower [1].", q, passages)
    assert v.refused, v.text
    ok = check("M. Ruiz designed the south tower [1].", "Who designed the south tower?", passages)
    assert not ok.refused and ok.citations[0].quote.startswith("M. Ruiz designed the south tower")


def test_shifted_condition_is_refused():
    passages = one("In 2018 the budget was $4 million. In 2019 the council cut spending on parks.")
    v = check("The budget in 2019 was $4 million [1].", "What was the budget in 2019?", passages)
    assert v.refused
    ok = check("The budget in 2018 was $4 million [1].", "What was the budget in 2018?", passages)
    assert not ok.refused


def test_invented_quoted_term_or_name_is_refused():
    passages = one("The report describes a slow loss of accuracy in deployed models over time.")
    v = check('The report calls this "silent drift" [1].', "What does the report call the loss of accuracy?", passages)
    assert v.refused
    said = one("Maryann Tseng said the determination of China's tech workers is an advantage.")
    v = check("Kai-Fu Lee said the determination of China's tech workers is an advantage [1].",
              "What did Kai-Fu Lee say about China's tech workers?", said)
    assert v.refused


def test_off_question_answer_of_the_wrong_type_is_refused():
    passages = one("Ferries cross the harbour every day, run by the city's transport agency.")
    v = check("Ferries cross the harbour every day [1].", "How many ferries cross the harbour each day?", passages)
    assert v.refused and "quantity" in v.reason
    who = one("The harbour ferries were painted green in the spring.")
    v = check("The harbour ferries were painted green [1].", "Who painted the harbour ferries?", who)
    assert v.refused


def test_good_paraphrases_are_kept():
    passages = one("China buys nine out of ten computer chips from abroad.")
    v = check("China buys 9 out of 10 computer chips from abroad [1].",
              "What proportion of its computer chips does China buy from abroad?", passages)
    assert not v.refused and v.citations[0].quote == passages[0].text
    sogou = one("Wang Xiaochuan, founder of the search engine Sogou, has set up his own startup.")
    v = check("Wang Xiaochuan founded the search engine Sogou [1].", "Who founded the search engine Sogou?", sogou)
    assert not v.refused and "Wang Xiaochuan" in v.text


def test_reworded_question_frame_is_replaced_by_the_source_sentence():
    """The answer part is right but the model restated the question in words the source lacks: the
    source's own sentence is shown instead, and still checked for the question's subject."""
    passages = one("Researchers found that over half of the papers at CVPR are written by Chinese researchers.")
    q = "What share of CVPR papers does the UK-based researcher say are written by Chinese researchers?"
    v = check("The UK-based researcher says over half of CVPR papers are by Chinese researchers [1].", q, passages)
    assert not v.refused
    assert v.text.startswith("Researchers found that over half") and v.sentences[0].quoted


def test_a_pronoun_sentence_is_read_with_the_one_before_it():
    passages = one("The Harbour Bridge was designed by John Bradfield. It opened in 1932 after eight years of work.")
    v = check("The Harbour Bridge opened in 1932 [1].", "When did the Harbour Bridge open?", passages)
    assert not v.refused
    assert v.citations[0].quote == passages[0].text  # both sentences: "It" is the bridge


def test_two_sentences_that_do_not_refer_back_are_not_read_together():
    passages = one("The north wing opened in 1950. The museum moved to Oslo in 1962.")
    v = check("The north wing moved to Oslo in 1962 [1].", "When did the north wing move to Oslo?", passages)
    assert all(c.quote != passages[0].text for c in v.citations)  # never one window over both sentences
    assert not v.sentences[0].citations or v.sentences[0].quoted  # the claim as written is not supported


# -- markers, renumbering --------------------------------------------------------------------------
def test_split_answer_reads_markers_in_all_forms():
    parts = split_answer("It opened in 1932 [1]. Bradfield designed it [2, 3]. Ferries run often [1-2].")
    assert parts == [("It opened in 1932.", [1]), ("Bradfield designed it.", [2, 3]), ("Ferries run often.", [1, 2])]


def test_citations_renumbered_in_order_of_first_use():
    v = check("John Bradfield designed the bridge [2]. The bridge opened in 1932 [1].", Q, P)
    assert not v.refused
    assert [c.n for c in v.citations] == [1, 2]
    assert v.citations[0].source == "b.txt" and v.citations[1].source == "a.txt"
    assert v.text.endswith("[2].") and "[1]" in v.text


def test_wrong_and_dangling_markers_are_repaired():
    v = check("The bridge opened in 1932 [3][9].", "When did the bridge open?", P)
    assert not v.refused
    assert [c.source for c in v.citations] == ["a.txt"]
    assert v.text == "The bridge opened in 1932 [1]."


def test_quote_offsets_point_into_the_source():
    v = check("It opened in 1932 [1].", "When did the Harbour Bridge open?", P)
    c = v.citations[0]
    p = P[0]
    assert p.text[c.start - p.start : c.end - p.start] == c.quote
    assert "1932" in c.quote and "rail" not in c.quote  # the sentence, not the whole passage


def test_unsupported_sentence_is_dropped_and_says_why():
    v = check("The bridge opened in 1932 [1]. It was painted bright purple by Picasso [1].", "When did the bridge open?", P)
    assert not v.refused and "Picasso" not in v.text
    assert v.sentences[1].citations == [] and "picasso" in v.sentences[1].issue


def test_a_claim_the_cited_text_negates_or_reverses_is_refused():
    """The model's reversed claim is never shown; at most the source's own sentence is, as such."""
    passages = one("Drug X was not associated with lower mortality in the trial.")
    q = "What was drug X associated with in the trial?"
    v = check("Drug X was associated with lower mortality in the trial [1].", q, passages)
    assert "the cited text says the opposite" in (v.sentences[0].issue or "") or v.sentences[0].quoted
    assert v.refused or v.text.startswith("Drug X was not associated")
    passages = one("Obesity was associated with increased mortality in MERS patients.")
    v = check("Obesity was associated with reduced mortality in MERS patients [1].",
              "What was obesity associated with in MERS patients?", passages)
    assert v.refused or v.text.startswith("Obesity was associated with increased mortality")


def test_a_negative_finding_is_a_claim_not_a_refusal():
    passages = one("The study did not find a link between the vaccine and autism.")
    v = check("The study did not find a link between the vaccine and autism [1].",
              "What did the study find about the vaccine and autism?", passages)
    assert not v.refused


def test_answer_from_memory_is_refused():
    passages = one("China buys nine out of ten computer chips from abroad.")
    v = check("The capital of Australia is Canberra. [1]", "What is the capital of Australia?", passages)
    assert v.refused and v.citations == [] and v.text == REFUSAL and v.reason


def test_model_refusal_is_a_refusal_without_a_reason():
    v = check(REFUSAL, Q, P)
    assert v.refused and v.text == REFUSAL and v.reason is None


def test_a_list_from_two_passages_cites_both():
    passages = [Passage("a.txt", 0, 60, "National champions such as Alibaba and Baidu get state support.", 1.0),
                Passage("b.txt", 0, 50, "Tencent also joined the national AI team in 2017.", 0.9)]
    v = check("The national champions include Alibaba, Baidu and Tencent [1][2].",
              "Which companies are national champions?", passages)
    assert not v.refused and sorted(c.source for c in v.citations) == ["a.txt", "b.txt"]


def test_attribution_left_by_a_removed_marker_is_tidied():
    v = check("According to [1], the bridge opened in 1932.", "When did the bridge open?", P)
    assert v.text == "The bridge opened in 1932 [1]."


def test_marker_lists_leave_no_stray_separators():
    assert split_answer("Models [1], [2], [3], and [4] are open.") == [("Models are open.", [1, 2, 3, 4])]
    assert split_answer("It grew fast [1] and [2].") == [("It grew fast.", [1, 2])]
    assert split_answer("Sales rose 5% [1], and costs fell [2].") == [("Sales rose 5%, and costs fell.", [1, 2])]


# -- normalisation and question types ---------------------------------------------------------------------
def test_normalisation_of_numbers_names_and_codes():
    assert terms("nine out of ten").words == terms("9 out of 10").words
    assert terms("0.50 and 1,000.0").numbers == terms("0.5 and 1000").numbers
    t = terms("The HCoV-NL63 strain shared 99.19% identity with 1,000 samples in São Paulo, said Wang's team.")
    assert {"1000", "99.19"} <= t.numbers and "hcovnl63" in t.codes
    assert {"sao", "paulo", "wang"} <= t.names
    assert terms("Researchers in China").holds_name("chinese") and not terms("in Austria").holds_name("australia")


@pytest.mark.parametrize("question, kinds", [
    ("How many labs does Baidu run?", {AnswerType.QUANTITY}),
    ("What proportion of chips does China import?", {AnswerType.QUANTITY}),
    ("When did the bridge open?", {AnswerType.DATE}),
    ("In what year was it founded?", {AnswerType.DATE}),
    ("Who founded Sogou?", {AnswerType.PERSON}),
    ("Who designed it and when did it open?", {AnswerType.PERSON, AnswerType.DATE}),
    ("Where is the laboratory located?", {AnswerType.PLACE}),
    ("What is the main cause of HIV-1 infection in children?", set()),
])
def test_answer_types(question, kinds):
    assert answer_types(question) == kinds


def test_markup_in_a_question_is_not_part_of_its_subject():
    from qa.claims import plain

    q = 'Who built it? <img src=x onerror="alert(1)"> <script>window.x=1</script> **bold** [x](javascript:alert(3))'
    assert terms(plain(q)).words == {"built", "bold"}
    passages = one("The Vexmoor lighthouse was built in 1872 by the engineer Tobias Quill.")
    v = check("Tobias Quill built the Vexmoor lighthouse [1].", "Who built the Vexmoor lighthouse? " + q[14:], passages)
    assert not v.refused and "Tobias Quill" in v.text


# -- names the sources never mention; sentence-initial names; acronyms; questions in the answer ----------
def gather_with_documents(question: str, passages: list[Passage], documents: dict[str, str]) -> Evidence:
    return Evidence.gather(question, passages, embed, lambda source: terms(documents[source]))


def test_a_name_no_document_mentions_is_refused_before_any_claim_is_read():
    text = "Jia Yangqing left Facebook to become vice president of Alibaba DAMO Academy."
    passages = one(text, "a.txt")
    documents = {"a.txt": "Tech moves. " + text + " He built Caffe."}
    q = "What position does Jack Ma hold at Alibaba DAMO Academy?"
    ev = gather_with_documents(q, passages, documents)
    assert ev.unmentioned == ["jack", "ma"]
    v = verify("Jack Ma holds the position of vice president of Alibaba DAMO Academy [1].", ev, embed, Thresholds())
    assert v.refused and v.reason == "the sources do not mention Jack Ma"
    assert verify("Jack Ma is vice president [1].", ev, embed, Thresholds(unmentioned=False)).reason != v.reason
    # a name the document holds elsewhere (not in the passage) is mentioned: the passage may leave out the setting
    ok = gather_with_documents("What did Jia Yangqing build?", passages, documents)
    assert ok.unmentioned == []
    assert spelled_as_asked("Did Kai-Fu Lee's firm or the WHO fund it?", ["kaifu", "lee", "who"]) == ["Kai-Fu Lee", "WHO"]
    # without documents (a caller that cannot read them) nothing counts as unmentioned
    assert Evidence.gather(q, passages, embed).unmentioned == []


def test_acronyms_are_found_spelled_out_and_variants_of_a_name_count():
    passages = one("The World Health Organization reported 2,666 deaths in the United Kingdom and China.")
    ev = gather_with_documents("How many deaths did the WHO report in the UK?", passages,
                               {"s.txt": passages[0].text})
    assert ev.unmentioned == []
    ev = gather_with_documents("How many Chinese deaths did the WHO report?", passages, {"s.txt": passages[0].text})
    assert ev.unmentioned == []


def test_a_sentence_initial_name_is_a_name():
    assert {"jack", "ma"} <= terms("Jack Ma holds the position of vice president.").names
    assert {"dillon", "zhou"} <= terms("Dillon Zhou is a technology policy researcher.").names
    assert terms("The bridge opened in 1932.").names == frozenset()
    # a claim naming someone the cited sentence does not name is not supported by it
    passages = one("Jia Yangqing holds the position of vice president of Alibaba DAMO Academy.")
    v = check("Jack Ma holds the position of vice president of Alibaba DAMO Academy [1].",
              "Who is vice president of Alibaba DAMO Academy?", passages)
    assert v.refused


def test_a_question_in_the_answer_is_not_a_claim():
    passages = one("China has much deeper data usage than US companies. So what about technology?")
    v = check("China has much deeper data usage than US companies [1]. So what about technology [1]?",
              "How does China's data usage compare with US companies'?", passages)
    assert not v.refused
    assert v.sentences[1].issue == "a question, not an answer" and not v.sentences[1].citations
    assert "technology" not in v.text


def test_the_count_a_question_asks_for_is_not_a_setting_but_a_shifted_count_is():
    passages = one("Recombination analysis was performed using the RDP 4.14 (8) and SimPlot 3.5.1 (9) software programs.")
    v = check("Recombination analysis used RDP and SimPlot [1].",
              "Which two software programs were used for the recombination analysis?", passages)
    assert not v.refused, v.reason
    passages = one("The time from onset to hospitalisation had a mean of 3.7 days (reported for 29 cases).")
    v = check("The mean time from onset to hospitalisation was 3.7 days [1].",
              "What was the mean time to hospitalisation for the first 13 cases?", passages)
    assert v.refused and "13" in v.reason


def test_a_date_in_the_question_is_contradicted_only_by_another_date():
    q = "According to the situation report of 28 January 2020, how many of the confirmed cases were severely ill?"
    ok = one("Of the confirmed cases, 461 have been reported as severely ill, with 80 deaths to date.")
    assert not check("461 of the confirmed cases were severely ill [1].", q, ok).refused
    shifted = one("As of 25 January 2020, 461 of the confirmed cases had been reported as severely ill.")
    v = check("461 of the confirmed cases were severely ill [1].", q, shifted)
    assert v.refused and "28" in v.reason


def test_the_words_of_a_questions_form_need_not_be_in_the_cited_text():
    passages = one("The bridge is 1,149 metres in length.")
    v = check("The bridge is 1,149 metres in length [1].", "How long is the bridge?", passages)
    assert not v.refused, v.reason


def test_a_speaker_named_elsewhere_in_the_passage_counts_for_the_subject():
    text = ("Li Kai is a researcher at the Shanxi University of Finance and Economics. He spoke to Sputnik on Monday. "
            "He said foreign high-tech professionals can now get visas for a period of five to ten years.")
    q = "For how long can foreign high-tech professionals get visas, according to Li Kai?"
    raw = "Foreign high-tech professionals can get visas for five to ten years [1]."
    assert check(raw, q, one(text), names_in_passage=False).refused
    assert not check(raw, q, one(text), names_in_passage=True).refused

