"""Page furniture is dropped by general rules; article text is kept."""

from pathlib import Path

from index.clean import clean_blocks

SEEDS = Path(__file__).resolve().parents[2] / "seeds"

PAGE = """Home | World | Business
Share
Tweet
Breaking: Markets rally
Subscribe to our newsletter

The city council approved the new budget on Tuesday after a long debate. Members said the plan would fund three new schools.

"We have waited years for this," the mayor said at a press conference. She added that construction starts in spring.

Continue Reading
Download on the App Store
Get it on Google Play

Related
Storm Hits Coast As Thousands Lose Power
Local Team Wins Championship Final
New Museum Opens Downtown To Crowds
Prices Of Fuel Expected To Rise Again
"""


def kept(text: str) -> str:
    return "\n".join(text[s:e] for s, e in clean_blocks(text))


def test_article_sentences_survive():
    out = kept(PAGE)
    assert "The city council approved the new budget" in out
    assert "construction starts in spring" in out


def test_furniture_is_dropped():
    out = kept(PAGE)
    for junk in ["Share", "Tweet", "Subscribe to our newsletter", "Continue Reading", "App Store",
                 "Google Play", "Storm Hits Coast", "Local Team Wins", "Home | World"]:
        assert junk not in out, junk


def test_blocks_are_exact_slices():
    for s, e in clean_blocks(PAGE):
        assert PAGE[s:e].strip() == PAGE[s:e]


def test_cleaning_off_keeps_everything():
    out = "\n".join(PAGE[s:e] for s, e in clean_blocks(PAGE, enabled=False))
    assert "Continue Reading" in out and "The city council" in out


def test_seed_furniture_is_dropped_and_text_kept():
    texts = {p.name[:3]: kept(p.read_text(encoding="utf-8")) for p in SEEDS.glob("*.txt")}
    assert "Get short URL" not in texts["000"]
    assert "Top US General Warns China" not in texts["000"]  # the headline list after the article
    assert "Continue Reading" not in texts["002"]
    assert "Kate Middleton Completes Chemotherapy" not in texts["003"]
    assert "Download on the App Store" not in texts["004"]
    assert "Li Kai, a researcher at the Shanxi University of Finance and Economics" in texts["000"]
    assert "Wang Xiaochuan" in texts["003"]
    assert "nine out of ten computer chips" in texts["004"]
