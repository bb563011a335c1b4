"""What a piece of text asserts, normalised: content words, numbers, names, codes, quoted terms.

One tokenizer owns normalisation for the answer side (the evidence, the claims, the question),
so that "nine" = "9", "1,000" = "1000", "Wuhan's" = "wuhan", "São" = "sao", and "infections" =
"infection" (Snowball stems) wherever two texts are compared. :func:`terms` returns a
:class:`Terms`; :func:`answer_type` tells what kind of answer a question asks for.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

_NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty".split()
    )
}
_NUMBER_WORDS.update({"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70",
                      "eighty": "80", "ninety": "90", "hundred": "100", "dozen": "12", "percent": "%"})
_QUANTITY_WORDS = frozenset(
    "half halves third thirds quarter quarters majority minority none double twice triple dozens hundreds "
    "thousands millions billions percent % fraction".split())
#: Words that date something; "may" and "march" count only capitalised (as names), not as a verb.
_MONTHS = frozenset(
    "january february april june july august september october november december monday tuesday wednesday "
    "thursday friday saturday sunday spring summer autumn winter century centuries decade decades".split())
_CAPITAL_MONTHS = frozenset({"may", "march"})
#: Words that say who did something without being a name ("researchers", "the government").
_AGENTS = frozenset(
    "people person persons patient patients child children adult adults infant infants women men woman man "
    "team group government governments authority authorities ministry company companies organization "
    "organisation university universities institute institution staff individuals population residents officials "
    "experts members scientists researchers investigators clinicians nurses doctors physicians workers students "
    "elderly host hosts animal animals bats camels pigs birds humans human society agency agencies police "
    "founder founders firm firms startup startups".split())
_PLACES = frozenset(
    "hospital hospitals city cities country countries region regions province provinces area areas village "
    "market markets laboratory laboratories lab labs ward wards unit units center centre centers centres airport "
    "state states continent continents county district districts town towns site sites farm farms home homes "
    "school schools clinic clinics island islands port ports border abroad".split())
#: Filler that says where an answer comes from, not what it asserts.
_FILLER = frozenset(
    "source sources passage passages accord according mention mentioned state stated say said says also provid "
    "provided inform information text article articles document documents".split())


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return frozenset(STOPWORDS_EN_PLUS)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english").stemWord


_BRITISH = re.compile(r"(?<=\w{3})is(e|ed|es|ing|ation|ations)$")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """Snowball stem, with British -ise spellings read as -ize ("hospitalised" = "hospitalized")."""
    return _stemmer()(_BRITISH.sub(r"iz\1", word))


def fold(text: str) -> str:
    """Casefolded text without diacritics ("São Paulo" → "sao paulo"); same length is not promised."""
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()


def squash(text: str) -> str:
    """Only the letters and digits of ``text``, folded: how codes and quoted terms are compared."""
    return re.sub(r"[\W_]+", "", fold(text))


_NEGATOR = re.compile(r"\b(no|not|never|without|none|neither|nor|lacking|absence of|lack of)\b")

# a token: letters/digits joined by - / . , (so "1,000", "5.2", "HCoV-NL63", "4/91" stay whole), or "%"
_TOKEN = re.compile(r"[^\W_]+(?:[-/.,'’][^\W_]+)*|%")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_QUOTED = re.compile(r"[“\"]([^“”\"]{2,80})[”\"]")


def _number(token: str) -> str:
    """Digits of a number token: thousands separators dropped ("1,000" → "1000"), decimals kept."""
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", token):
        token = token.replace(",", "")
    token = token.replace(",", ".")
    if "." in token:
        whole, _, frac = token.partition(".")
        frac = frac.rstrip("0")
        return f"{whole.lstrip('0') or '0'}.{frac}" if frac else whole.lstrip("0") or "0"
    return token.lstrip("0") or "0"


@dataclass(frozen=True)
class Terms:
    """The normalised content of a text."""

    words: frozenset[str]
    """Stemmed content words (stopwords and filler dropped; numbers as digits)."""
    surface: frozenset[str]
    """Every folded token and its stem, stopwords included: where names are looked up."""
    numbers: frozenset[str]
    """Numbers as digits ("nine" → "9", "1,000" → "1000", "90%" → "90")."""
    names: frozenset[str]
    """Folded capitalised words that are not the first word, and acronyms: proper names, mostly."""
    codes: frozenset[str]
    """Squashed tokens that hold digits beside letters or separators ("hcovnl63", "491", "covid19")."""
    quoted: tuple[str, ...]
    """Squashed phrases the text puts in quotation marks."""
    squashed: str
    """The whole text squashed (letters and digits only), for code and phrase look-ups."""
    negated: frozenset[str] = frozenset()
    """Content words the text negates: within two words after "no", "not", "never", "without" …"""
    denied: frozenset[str] = frozenset()
    """The part of :attr:`negated` that follows a negator of things ("no exposure", "without fever"), not of a
    verb ("did not find")."""
    compounds: frozenset[str] = frozenset()
    """Names written with hyphens, squashed ("rtpcr" for "RT-PCR", "kaifu" for "Kai-Fu"); looked up like codes."""
    dated: frozenset[str] = frozenset()
    """The :attr:`numbers` written beside a month's name: days and years of dates ("28 January 2020")."""
    openers: frozenset[str] = frozenset()
    """The :attr:`names` read as names only because they open a sentence before another capitalised word
    ("Jack" of "Jack Ma holds …", but also "Explain" of "Explain Baidu's labs"): not asked about as names."""
    counted: frozenset[str] = frozenset()
    """Numbers that say how many things are asked for, written as a word after "which" or "what" ("which two
    programs"): the answer's shape, not a setting of the question."""

    def holds_name(self, name: str) -> bool:
        """The name, its stem, or a form of it sharing all but its ending ("China" for "Chinese",
        "Korea" for "Korean": a common prefix of at least 4 letters and all but one of the shorter word)."""
        if name in self.surface or _stem(name) in self.surface:
            return True
        if len(name) < 4:
            return False
        return any(t[:4] == name[:4] and _shared_start(t, name) >= max(4, min(len(t), len(name)) - 1)
                   for t in self.surface)

    def holds_code(self, code: str) -> bool:
        return code in self.squashed

    def holds_number(self, number: str) -> bool:
        return number in self.numbers


def _capitalised(token: str | None) -> bool:
    return bool(token) and token[:1].isupper() and not any(ch.isdigit() for ch in token)


_ABBREVIATIONS = frozenset("dr mr mrs ms prof st jr sr inc co corp ltd vs no fig al gen col lt rev".split())


def _ends_sentence(before: str, gap: str) -> bool:
    """Whether the text ``gap`` between the token ``before`` and the next ends a sentence: a question or
    exclamation mark, a line break, or a full stop that does not close an initial or an abbreviation ("M. Ruiz",
    "Dr. Li")."""
    if re.search(r"[!?\n]", gap):
        return True
    return "." in gap and len(before) > 1 and fold(before) not in _ABBREVIATIONS


def _name_kind(part: str, i: int, tokens: list[str], initial: list[bool], stop: frozenset[str]) -> str | None:
    """Whether the capitalised ``part`` of token ``i`` is (part of) a name: ``"name"``, ``"opener"`` or None.

    Acronyms ("US", "SARS") are names, unless they spell a stopword ("WHO"); months are not (dates are read
    as dates). Other capitalised words are names when they do not open a sentence. A sentence's first word is an
    *opener* when the next word is capitalised too ("Jack Ma holds …", but also "Explain Baidu's …"): a name
    in a claim, not looked up as one of the question's names (:attr:`Terms.openers`). A stopword is a name only
    inside a run of capitalised words, as a two-letter surname ("Jack Ma", "Wang He"). Seeds lookalikes
    (eval/seeds_trust.jsonl, 2026-12-01): "Jack Ma holds the position …", for a question about Jack Ma whom no
    source names, had passed, the claim's subject being the sentence's first word.
    """
    folded = fold(part)
    if folded in _MONTHS or folded in _CAPITAL_MONTHS:  # a date's part, checked as a date (Terms.dated)
        return None
    if sum(ch.isupper() for ch in part) >= 2:
        return None if folded in stop else "name"  # "US", "SARS"; not "WHO", "IT"
    if folded in stop:
        run = not initial[i] and len(part) == 2 and _capitalised(tokens[i - 1]) and fold(tokens[i - 1]) not in stop
        return "name" if run else None
    if not initial[i]:
        return "name"
    following = i + 1 < len(tokens) and not initial[i + 1] and _capitalised(tokens[i + 1])
    return "opener" if following else None


_COUNTED = re.compile(r"\b(?:which|what)\s+(two|three|four|five|six|seven|eight|nine|ten)\b")
_JOINERS = frozenset({"of", "for", "and", "the", "&", "on", "in"})


def _initials(tokens: list[str], stop: frozenset[str]) -> set[str]:
    """The acronyms a text spells out: "World Health Organization" → "who", "United Kingdom" → "uk",
    "Centers for Disease Control and Prevention" → "cdcp" and "cdc" (initials of a run of two or more
    capitalised words, small joining words allowed inside; prefixes of three letters or more), so that a
    question's "WHO" is found in a text that names the organisation in full."""
    out: set[str] = set()

    def spell(words: list[str], prefixes: bool) -> None:
        if len(words) >= 2:
            letters = "".join(fold(t)[0] for t in words)
            out.add(letters)
            if prefixes:
                out.update(letters[:k] for k in range(3, len(letters)))

    run: list[str] = []
    segment: list[str] = []
    for tok in [*tokens, ""]:
        if _capitalised(tok) and not (not run and fold(tok) in stop):
            run.append(tok)
            segment.append(tok)
            continue
        if run and fold(tok) in _JOINERS:
            spell(segment, False)  # "United Kingdom and the United States": "uk", "us" and "ukus"
            segment = []
            continue
        spell(segment, False)
        spell(run, True)
        run, segment = [], []
    return out


def terms(text: str) -> Terms:
    """The :class:`Terms` of ``text`` (a sentence, a passage sentence, a question)."""
    stop = _stopwords()
    words: set[str] = set()
    surface: set[str] = set()
    numbers: set[str] = set()
    names: set[str] = set()
    codes: set[str] = set()
    compounds: set[str] = set()
    dated: set[str] = set()
    openers: set[str] = set()
    found = list(_TOKEN.finditer(text))
    tokens = [m.group() for m in found]
    initial = [i == 0 or _ends_sentence(tokens[i - 1], text[found[i - 1].end() : m.start()]) for i, m in enumerate(found)]
    for i, raw in enumerate(tokens):
        if raw == "%":
            words.add("%")
            surface.add("%")
            continue
        tok = re.sub(r"['’]s$", "", raw)
        low = fold(tok)
        if _NUMBER.fullmatch(tok):
            n = _number(tok)
            numbers.add(n)
            words.add(n)
            surface.add(n)
            near = {fold(t) for t in tokens[max(0, i - 2) : i + 2]}
            if near & _MONTHS or any(t[:1].isupper() and fold(t) in _CAPITAL_MONTHS for t in tokens[max(0, i - 2) : i + 2]):
                dated.add(n)
            continue
        coded = any(ch.isdigit() for ch in tok)
        if coded:  # "HCoV-NL63", "H1N1", "4/91", "COVID-19": compared as a whole, not as names
            code = squash(tok)
            if len(code) >= 3:
                codes.add(code)
        parts = [p for p in re.split(r"[-/.,'’]", low) if p]
        for part in parts:
            surface.add(part)
            if part in _NUMBER_WORDS:
                value = _NUMBER_WORDS[part]
                if value != "%":
                    numbers.add(value)
                words.add(value)
                surface.add(value)
                continue
            if _NUMBER.fullmatch(part):
                words.add(_number(part))
                continue
            stemmed = _stem(part)
            surface.add(stemmed)
            if part in stop or (len(part) < 2) or part in _FILLER or stemmed in _FILLER:
                continue
            words.add(stemmed)
        pieces = [p for p in re.split(r"[-/.,'’]", tok) if p]
        if coded:
            continue
        if len(pieces) > 1 and all(p[:1].isupper() for p in pieces) and (i > 0 or sum(ch.isupper() for ch in tok) >= 2):
            if len(squash(tok)) >= 3:
                compounds.add(squash(tok))  # "RT-PCR", "Kai-Fu": one name, looked up letters-only
            continue
        for part in pieces:
            kind = _name_kind(part, i, tokens, initial, stop) if part[:1].isupper() and len(part) > 1 else None
            if kind:
                names.add(fold(part))
                if kind == "opener":
                    openers.add(fold(part))
    surface.update(_initials(tokens, stop))
    quoted = tuple(q for q in (squash(m.group(1)) for m in _QUOTED.finditer(text)) if q)
    folded = fold(text)
    negated, denied = set(), set()
    for m in _NEGATOR.finditer(folded):
        for w in _TOKEN.findall(folded[m.end():])[:2]:
            if w not in stop:
                negated.add(_stem(w))
                if m.group(1) not in ("not", "never"):
                    denied.add(_stem(w))
    return Terms(frozenset(words), frozenset(surface), frozenset(numbers), frozenset(names), frozenset(codes),
                 quoted, squash(text), frozenset(negated), frozenset(denied), frozenset(compounds),
                 frozenset(dated), openers=frozenset(openers),
                 counted=frozenset(_NUMBER_WORDS[w] for w in _COUNTED.findall(folded)))


#: Pairs of opposite words (stemmed both ways): a question about one answered by a text about the other
#: ("warmer months" / "colder months", "reduced mortality" / "increased mortality") is off its subject.
_OPPOSITES = [
    ("warm", "cold"), ("warmer", "colder"), ("hot", "cold"), ("high", "low"), ("higher", "lower"),
    ("highest", "lowest"), ("increase", "decrease"), ("increased", "reduced"), ("increase", "reduce"), ("rise", "fall"),
    ("more", "less"), ("most", "least"), ("large", "small"), ("larger", "smaller"), ("largest", "smallest"),
    ("before", "after"), ("earlier", "later"), ("first", "last"), ("positive", "negative"), ("male", "female"),
    ("men", "women"), ("adults", "children"), ("old", "young"), ("older", "younger"), ("oldest", "youngest"),
    ("minimum", "maximum"), ("encourage", "discourage"), ("recommend", "discourage"), ("success", "failure"),
    ("benefit", "harm"), ("win", "lose"), ("gain", "loss"), ("import", "export"), ("inbound", "outbound"),
    ("north", "south"), ("east", "west"), ("upper", "lower"), ("inside", "outside"), ("lacking", "with"),
    ("absence", "presence"), ("accept", "reject"), ("allow", "ban"), ("strong", "weak"), ("stronger", "weaker"),
    ("fast", "slow"), ("faster", "slower"), ("major", "minor"), ("common", "rare"), ("wet", "dry"),
    ("summer", "winter"), ("buy", "sell"), ("buys", "sells"), ("bought", "sold"),
]


@lru_cache(maxsize=1)
def _opposites() -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for a, b in _OPPOSITES:
        a, b = _stem(a), _stem(b)
        out.setdefault(a, set()).add(b)
        out.setdefault(b, set()).add(a)
    return {k: frozenset(v) for k, v in out.items()}


def opposed(question: Terms, text: Terms) -> list[str]:
    """The question's words whose opposite the text uses instead ("warmer" asked, "colder" said)."""
    table = _opposites()
    return sorted(w for w in question.surface if w in table and w not in text.surface
                  and table[w] & (text.surface - question.surface))


def form_words(question: str) -> set[str]:
    """The words of a question's form rather than its subject: "much" of "how much", "far" of "how far"."""
    return {_stem(w) for w in re.findall(r"\bhow\s+(\w+)", fold(question))}


def _slots(text: str) -> list[tuple[str, bool, str]]:
    """``text``'s tokens without a possessive "'s": each folded, whether it is written as a name (capitalised, not
    opening a sentence), and as written."""
    found = list(_TOKEN.finditer(text))
    out = []
    for i, m in enumerate(found):
        tok = re.sub(r"['’]s$", "", m.group())
        opens = i == 0 or _ends_sentence(found[i - 1].group(), text[found[i - 1].end() : m.start()])
        out.append((fold(tok), _capitalised(tok) and not opens, tok))
    return out


def _plain_word(w: str) -> bool:
    """A content word of letters only (no number, code, hyphenated compound, stopword or filler): what a one-word
    swap can change."""
    return len(w) > 2 and w.isalpha() and w not in _stopwords() and w not in _FILLER and _stem(w) not in _FILLER


def _shared_start(a: str, b: str) -> int:
    """How many letters ``a`` and ``b`` begin with in common."""
    return next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def year(n: str) -> bool:
    """A number that reads as a year (1800–2100)."""
    return n.isdigit() and len(n) == 4 and 1800 <= int(n) <= 2100


def _kin(a: str, b: str) -> bool:
    """Two forms of one word: the same stem, or a common beginning of all but 2 letters of the shorter one, and
    4 or more ("immunity", "immune"; not "intravenous", "intramuscular" nor "antibody", "antigen")."""
    return _stem(a) == _stem(b) or _shared_start(a, b) >= max(4, min(len(a), len(b)) - 2)


def _count(token: str) -> bool:
    """A number that can answer "how many": digits, not a year ("2,500", "12"; not "2020", "COVID-19")."""
    return bool(_NUMBER.fullmatch(token)) and not year(token)


#: At most this many swaps are reported (and pointed out to the judge).
MAX_SWAPS = 3


def swaps(question: str, texts: list[str], present: Terms) -> list[tuple[str, str]]:
    """Words of ``question`` that ``texts`` put another word in the place of: (question's word, text's word), as
    written, at most ``MAX_SWAPS``.

    A question word ``present`` lacks (neither its form nor its stem) whose place a text fills with another plain word
    (:func:`_plain_word`; not another form of it, :func:`_kin`) that the question does not use. Its place: the
    question word's right neighbour follows it in the text too, and that neighbour is a plain word ("corporate
    income tax" asked, "personal income tax" written), or the left neighbours match as well and one of the two is
    a plain word ("neonatal lambs with" / "neonatal calves with"), or a number stands where the question asks how
    many ("how many universities in" / "2,500 companies in"). Names are left to the name checks, numbers to the
    number checks. (Two left neighbours leading to the word, "most prominent hospitals" / "most prominent
    universities", were tried: they also matched "Henry He('s) hold" / "Henry He, executive", and cost 5 right
    answers on the trust sets for 3 wrong ones, verify_sweep 2026-12-02.)
    """
    q = _slots(question)
    asked = {_stem(w) for w, _, _ in q} | {w for w, _, _ in q}
    form = form_words(question)  # "many" of "how many": the answer's shape, which the text fills with a number
    out: list[tuple[str, str]] = []
    slotted = None
    for i, (w, named, written) in enumerate(q):
        if named or not _plain_word(w) or _stem(w) in form or w in present.surface or _stem(w) in present.words:
            continue
        left = q[i - 1][0] if i > 0 else None
        right = q[i + 1][0] if i + 1 < len(q) else None
        slotted = slotted or [_slots(text) for text in texts]
        for t in slotted:
            for j, (x, x_named, x_written) in enumerate(t):
                if x_named or not _plain_word(x) or x in asked or _stem(x) in asked or _kin(w, x):
                    continue
                after = right is not None and j + 1 < len(t) and t[j + 1][0] == right
                counted = left is not None and _stem(left) in form and j > 0 and _count(t[j - 1][2])
                before = left is not None and j > 0 and t[j - 1][0] == left
                if after and (_plain_word(right) or counted or (before and _plain_word(left))):
                    out.append((written, x_written))
    return list(dict.fromkeys(out))[:MAX_SWAPS]


def negated(asserted: Terms, text: Terms, things_only: bool = False) -> list[str]:
    """Words ``asserted`` states plainly that ``text`` negates, or the other way round
    ("was associated" / "was not associated"). ``things_only``: only negated things ("reported exposure" /
    "reported no exposure"), for a question, which may ask what was found of something not found."""
    a_neg, t_neg = (asserted.denied, text.denied) if things_only else (asserted.negated, text.negated)
    one = (t_neg & asserted.words) - asserted.negated
    other = (a_neg & text.words) - text.negated
    return sorted(one | other)


_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^<>]*>", re.IGNORECASE | re.DOTALL)
_LINK = re.compile(r"\[([^\[\]]*)\]\((?:[^()]|\([^()]*\))*\)")


def plain(text: str) -> str:
    """``text`` without markup: HTML tags, Markdown link targets and emphasis marks ("**bold**" → "bold").

    A question pasted with markup still asks about its words, not about ``img``, ``src`` or ``onerror``.
    """
    text = _TAG.sub(" ", text)
    text = _LINK.sub(r"\1", text)
    return re.sub(r"[*_`~]+", "", text)


class AnswerType(Enum):
    """What kind of answer a question asks for, where that can be told from its wording."""

    QUANTITY = "quantity"
    DATE = "date"
    PERSON = "person"
    PLACE = "place"


_TYPE_RULES = [
    (AnswerType.DATE, re.compile(r"^\s*when\b|\b(and|or)\s+when\b|\b(what|which|in what|in which)\s+"
                                 r"(year|month|date|day|decade|century)\b")),
    (AnswerType.QUANTITY, re.compile(
        r"\bhow\s+(many|much|long|old|far|large|big|high|often|frequently)\b"
        r"|\bwhat\s+(?:\w+\s+){0,2}(percentage|proportion|share|fraction|number|amount)\s+of\b"
        r"|\bwhat\s+(?:is|was|are|were)\s+the\s+(percentage|proportion|share|fraction|number)\b")),
    (AnswerType.PERSON, re.compile(r"^\s*(who|whom|whose)\b|\b(and|or)\s+who\b|\bby whom\b")),
    (AnswerType.PLACE, re.compile(r"^\s*where\b|\b(and|or)\s+where\b|\b(in|from|to)\s+(what|which)\s+(country|city|"
                                  r"province|region|state|place|hospital|continent|area|town|village)\b")),
]


def answer_types(question: str) -> frozenset[AnswerType]:
    """The kinds of answer ``question`` asks for ("Who … and when …?" asks for two); empty when its wording
    does not say."""
    q = fold(question)
    return frozenset(kind for kind, rule in _TYPE_RULES if rule.search(q))


def fits_type(kind: AnswerType, claim: Terms, question: Terms) -> bool:
    """Whether a claim holds the kind of thing the question asks for, beyond what the question says."""
    new_numbers = claim.numbers - question.numbers
    new_words = claim.surface - question.surface
    new_names = claim.names - question.names
    if kind is AnswerType.QUANTITY:
        return bool(new_numbers) or bool(new_words & _QUANTITY_WORDS)
    if kind is AnswerType.DATE:
        return bool(new_numbers) or bool(new_words & _MONTHS) or bool(new_names & _CAPITAL_MONTHS)
    if kind is AnswerType.PERSON:
        return bool(new_names) or bool(new_words & _AGENTS)
    return bool(new_names) or bool(new_words & _PLACES)  # PLACE
