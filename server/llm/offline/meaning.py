"""What an answer says: its sentences, the expected points it makes, the misconceptions it
asserts, and whether it answers the question at all (not a keyword list, the question
restated, another language or "I don't know").

Words match whole, through a Snowball stemmer (inflection) and an edit distance (typos), so
"tree" never matches "street" and "idempotant" still matches "idempotent".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache, lru_cache

import snowballstemmer
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from server.llm.offline.bank import (
    BANK_DIR,
    BankError,
    BankMisconception,
    BankPoint,
    BankQuestion,
    load_bank,
    normalise,
)

# ---------------------------------------------------------------------------- sentences


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str
    cue_text: str
    words: int
    tokens: tuple[str, ...]


@dataclass(frozen=True)
class Answer:
    raw: str
    sentences: tuple[Sentence, ...]
    cue_text: str
    words: int


# Latin, CJK, Devanagari (danda), Arabic and Urdu sentence ends, and line breaks.
_SENTENCE_END = re.compile(
    r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s|$)"
    r"|[\u3002\uff01\uff1f\u0964\u0965\u061f\u06d4]+|\n"
)
WORD = re.compile(r"\w+(?:['\u2019]\w+)*")
_MATCH_WORD = re.compile(r"[^\W_]+")


def words_of(text: str) -> tuple[str, ...]:
    """Lower-case whole words, with "n't" and "cannot" spelled out so negation is a word."""
    text = normalise(text).replace("n't", " not").replace("cannot", "can not")
    return tuple(_MATCH_WORD.findall(text))


def analyse(answer: str) -> Answer:
    sentences: list[Sentence] = []

    def add(start: int, end: int) -> None:
        while start < end and answer[start].isspace():
            start += 1
        while end > start and answer[end - 1].isspace():
            end -= 1
        if start < end:
            text = answer[start:end]
            sentences.append(
                Sentence(start, end, text, normalise(text), len(WORD.findall(text)), words_of(text))
            )

    start = 0
    for match in _SENTENCE_END.finditer(answer):
        add(start, match.start() if match.group() == "\n" else match.end())
        start = match.end()
    add(start, len(answer))
    return Answer(answer, tuple(sentences), normalise(answer), len(WORD.findall(answer)))


# ---------------------------------------------------------------------------- words

_STEMMER = snowballstemmer.stemmer("english")
STOPWORDS = frozenset(
    """
    a an the and or but so to of in on at by for from with as is was are were be been being am
    it its this that these those there here i me my we our us you your they them their he she
    his her do does did doing have has had will would can could should may might must shall
    not no if then than when which who whom what where why how all any some just also very
    really about into over under up down out more most much many such only own same too again
    further once both each few other s t ll ve re d m o y one get got
    """.split()
)
# Words a sentence needs to say something rather than list things.
_CLAUSE_WORDS = (STOPWORDS - {"and", "or", "the", "a", "an"}) | frozenset(
    "use uses using used make makes gets need needs keep keeps lets let means put add".split()
)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return str(_STEMMER.stemWord(word))


def content_stems(tokens: Iterable[str]) -> list[str]:
    return [stem(t) for t in tokens if t not in STOPWORDS and (len(t) >= 3 or t.isdigit())]


@lru_cache(maxsize=262144)
def word_matches(expected: str, said: str) -> bool:
    """``said`` is ``expected``, inflected (stem), continued (a prefix keyword such as
    "invalidat") or misspelt (one edit in six letters, two in nine; same first letter)."""
    if expected == said:
        return True
    if expected.isdigit() or said.isdigit() or len(expected) < 3:
        return False
    if stem(expected) == stem(said):
        return True
    if len(expected) >= 5 and said.startswith(expected):
        return True
    if len(expected) < 6 or len(said) < 5 or expected[0] != said[0]:
        return False
    allowed = 2 if len(expected) >= 9 else 1
    if OSA.distance(expected, said) <= allowed:
        return True
    # A misspelt continuation of a prefix keyword: "invalidat" in "invaldiation".
    return len(said) > len(expected) + 1 and OSA.distance(expected, said[: len(expected)]) <= 1


def phrase_at(phrase: Sequence[str], tokens: Sequence[str], *, ordered: bool = False) -> int | None:
    """Where all words of ``phrase`` occur close together in ``tokens`` (in any order, or in
    the phrase's order if ``ordered``), else None: a whole-word, typo- and word-order-tolerant
    phrase match."""
    if not phrase or not tokens:
        return None
    span = len(phrase) + 2
    positions = [[i for i, t in enumerate(tokens) if word_matches(word, t)] for word in phrase]
    if any(not found for found in positions):
        return None
    if ordered:
        for anchor in positions[0]:
            last = anchor
            for found in positions[1:]:
                following = [p for p in found if last < p <= anchor + span]
                if not following:
                    break
                last = following[0]
            else:
                return anchor
        return None
    for anchor in positions[0]:
        if all(any(abs(p - anchor) <= span for p in found) for found in positions[1:]):
            return anchor
    return None


def _keyword_words(keyword: str) -> tuple[str, ...]:
    return words_of(keyword)


# ---------------------------------------------------------------------------- language


_FOREIGN_STOPWORDS = {
    "Spanish": frozenset(
        "el la los las de que y en un una es por con para como pero más lo se su al del "
        "porque cuando muy sin sobre también esto este esta son".split()
    ),
    "French": frozenset(
        "le la les des est et une pour avec dans que qui pas sur nous vous ce cette sont "
        "mais ou du au aux être avons".split()
    ),
    "German": frozenset(
        "der die das und ist nicht ein eine mit für auf den dem zu wir ich sie es wenn "
        "auch wird sind haben".split()
    ),
    "Portuguese": frozenset(
        "não uma com para os as do da em que é um mas por se dos das ao também quando".split()
    ),
}
_SCRIPTS = (
    ("Hindi", 0x0900, 0x097F),
    ("Bengali", 0x0980, 0x09FF),
    ("Tamil", 0x0B80, 0x0BFF),
    ("Arabic", 0x0600, 0x06FF),
    ("Cyrillic-script", 0x0400, 0x04FF),
    ("Chinese or Japanese", 0x3040, 0x9FFF),
    ("Korean", 0xAC00, 0xD7AF),
)


def foreign_language(answer: str) -> str | None:
    """The language ``answer`` seems to be in when it is not English, else None (a script
    heuristic, then stopwords: English stopwords rare, another language's common)."""
    letters = [char for char in answer if char.isalpha()]
    if not letters:
        return None
    for name, low, high in _SCRIPTS:
        if sum(low <= ord(char) <= high for char in letters) / len(letters) > 0.3:
            return name
    tokens = [t.lower() for t in WORD.findall(answer)]
    if len(tokens) < 5:
        return None
    english = sum(t in STOPWORDS for t in tokens) / len(tokens)
    best = max(
        _FOREIGN_STOPWORDS, key=lambda name: sum(t in _FOREIGN_STOPWORDS[name] for t in tokens)
    )
    foreign = sum(t in _FOREIGN_STOPWORDS[best] for t in tokens) / len(tokens)
    if foreign >= 0.12 and foreign > 2 * english:
        return best
    return None


# ---------------------------------------------------------------------------- question kind

_EXPERIENCE = re.compile(
    r"\b(?:tell me about|describe a (?:time|project|situation)|a time (?:when|you)|have you"
    r"|you (?:built|led|worked|shipped|owned|debugged|made|ran|launched|designed)"
    r"|your (?:last|previous|own|current)|walk me through a (?:project|time|bug|incident))"
)
_DESIGN = re.compile(
    r"\b(?:design|architect|how would you|how do you|plan|approach|set up|build|scale"
    r"|migrate|roll out|prioriti[sz]e|what would you do)"
)


def question_kind(question: BankQuestion) -> str:
    """ "story" (behavioral), "experience" (your own work), "design" (how would you) or
    "concept" (explain or define): what the rubric may fairly demand of the answer."""
    if question.track == "behavioral":
        return "story"
    text = normalise(question.text)
    if _EXPERIENCE.search(text):
        return "experience"
    if _DESIGN.search(text):
        return "design"
    return "concept"


# ---------------------------------------------------------------------------- reference


@cache
def _shipped_bank() -> tuple[BankQuestion, ...]:
    """The shipped files: the meaning content of the questions the admins' bank was seeded
    from, and the near neighbours of a question asked outside the bank."""
    try:
        bank = load_bank(BANK_DIR)
    except BankError:
        return ()
    return tuple(q for questions in bank.values() for q in questions)


@cache
def _shipped_by_id() -> dict[str, BankQuestion]:
    return {q.id: q for q in _shipped_bank()}


NEAREST_MIN_SIMILARITY = 80


def reference_for(question: BankQuestion) -> tuple[BankQuestion, bool]:
    """What to score ``question`` against, and whether that is a nearby bank question.

    A question without model answer or misconceptions (an admin's copy of a seeded
    question) borrows them from the shipped question of the same id and text; a question
    without points (asked outside the bank) is scored against the nearest bank question of
    its track when their texts are close, else against nothing (no expected points).
    """
    if question.points:
        if question.model_answer or question.misconceptions:
            return question, False
        shipped = _shipped_by_id().get(question.id)
        if shipped is not None and normalise(shipped.text) == normalise(question.text):
            return replace(
                question,
                model_answer=shipped.model_answer,
                misconceptions=shipped.misconceptions,
            ), False
        return question, False
    candidates = [q for q in _shipped_bank() if q.track == question.track] or list(_shipped_bank())
    if not candidates or not question.text.strip():
        return question, False
    best = process.extractOne(
        question.text,
        [q.text for q in candidates],
        scorer=fuzz.token_sort_ratio,
        processor=lambda text: normalise(str(text)),
        score_cutoff=NEAREST_MIN_SIMILARITY,
    )
    if best is None:
        return question, False
    nearest = candidates[best[2]]
    return replace(
        question,
        points=nearest.points,
        model_answer=nearest.model_answer,
        misconceptions=nearest.misconceptions,
    ), True


# ---------------------------------------------------------------------------- meaning


@dataclass(frozen=True)
class Meaning:
    covered: tuple[BankPoint, ...]
    missed: tuple[BankPoint, ...]
    evidence: Sentence | None  # the first sentence that made a point
    asserted: tuple[tuple[BankMisconception, Sentence], ...]
    model_overlap: float  # the share of the model answer's words the answer uses
    expected: bool  # there were expected points to check
    nearest: bool  # they came from the nearest bank question
    keyword_list: bool
    restated: bool
    off_topic: bool
    dont_know: bool

    @property
    def fraction(self) -> float:
        total = len(self.covered) + len(self.missed)
        return len(self.covered) / total if total else 0.0

    @property
    def says_nothing(self) -> bool:
        """Words without an answer: a keyword list, the question restated, or off topic."""
        return self.keyword_list or self.restated or self.off_topic


_REFUTING = re.compile(
    r"\b(?:mistake|myth|misconception|wrong|not true|isn't true|is not true|people think"
    r"|people assume|some think|contrary|pitfall|trap|false)\b"
)
_DONT_KNOW = re.compile(
    r"\b(?:i (?:do not|don't|dont) know|not sure|no idea|i have no idea|never (?:used|worked"
    r" with|heard)|(?:do not|don't|can't|cannot) remember|not familiar|i'm blanking"
    r"|no clue|pass on this)\b"
)


def is_proposition(sentence: Sentence) -> bool:
    """A sentence that says something: three words or more, a verb or function word that
    joins them, and not mostly a comma-separated list."""
    tokens = sentence.tokens
    if len(tokens) < 3 or not any(t in _CLAUSE_WORDS for t in tokens):
        return False
    return sentence.text.count(",") < max(2, len(tokens) / 3)


_NEGATORS = frozenset(
    "not no never rarely avoid avoids avoided instead rather without nor neither".split()
)


def asserts(misconception: BankMisconception, sentence: Sentence) -> bool:
    """``sentence`` makes the wrong claim: a cue matches, it is not refuted ("a common
    mistake is to think..."), and a cue without a negation is not negated nearby ("you
    should not use 0.5" does not assert "use 0.5")."""
    if _REFUTING.search(sentence.cue_text):
        return False
    for cue in misconception.cues:
        words = _keyword_words(cue)
        # A claim's word order is its meaning: "X is not Y" is not "Y, while X is not".
        negated_cue = not _NEGATORS.isdisjoint(words)
        at = phrase_at(words, sentence.tokens, ordered=True)
        if at is None:
            continue
        if not negated_cue:
            nearby = sentence.tokens[max(0, at - 4) : at + len(words) + 3]
            if not _NEGATORS.isdisjoint(nearby):
                continue
        return True
    return False


def _point_made(point: BankPoint, sentence: Sentence, question_stems: frozenset[str]) -> bool:
    for keyword in point.keywords:
        words = _keyword_words(keyword)
        if not words:
            if keyword and keyword in sentence.cue_text:  # a symbol such as "%"
                return True
            continue
        said = content_stems(words)
        if said and all(s in question_stems for s in said):
            continue  # repeating the question's own words makes no point
        if phrase_at(words, sentence.tokens) is not None:
            return True
    return False


def understand(question: BankQuestion, answer: Answer) -> Meaning:
    """Which of ``question``'s points ``answer`` makes, in sentences that say something and
    assert no misconception, and which misconceptions it asserts."""
    reference, nearest = reference_for(question)
    question_stems = frozenset(content_stems(words_of(question.text)))
    propositions = [s for s in answer.sentences if is_proposition(s)]
    asserted = tuple(
        (misconception, sentence)
        for misconception in reference.misconceptions
        for sentence in answer.sentences
        if asserts(misconception, sentence)
    )
    wrong = {id(sentence) for _, sentence in asserted}
    sound = [s for s in propositions if id(s) not in wrong]
    covered = tuple(
        p for p in reference.points if any(_point_made(p, s, question_stems) for s in sound)
    )
    missed = tuple(p for p in reference.points if p not in covered)
    evidence = next(
        (s for s in sound if any(_point_made(p, s, question_stems) for p in covered)), None
    )
    said = [stem for s in answer.sentences for stem in content_stems(s.tokens)]
    unique_said = set(said)
    model = set(content_stems(w for text in reference.model_answer for w in words_of(text)))
    model -= question_stems
    model_overlap = len(model & unique_said) / len(model) if model else 0.0
    related = set(question_stems) | model
    for point in reference.points:
        related |= set(content_stems(words_of(point.point)))
        for keyword in point.keywords:
            related |= set(content_stems(_keyword_words(keyword)))
    for misconception in reference.misconceptions:
        for cue in misconception.cues:
            related |= set(content_stems(_keyword_words(cue)))
    relevance = len(unique_said & related) / len(unique_said) if unique_said else 0.0
    list_words = sum(s.words for s in answer.sentences if not is_proposition(s))
    keyword_list = answer.words >= 3 and list_words > answer.words / 2
    restated = bool(unique_said) and (
        len(unique_said & question_stems) / len(unique_said) >= 0.7
        or fuzz.token_sort_ratio(normalise(question.text), answer.cue_text) >= 80
    )
    restated = restated and len(covered) <= 1
    expected = bool(reference.points)
    off_topic = expected and not covered and not asserted and answer.words >= 8 and relevance < 0.2
    dont_know = (
        bool(_DONT_KNOW.search(answer.cue_text)) and len(covered) <= 1 and (answer.words < 60)
    )
    return Meaning(
        covered=covered,
        missed=missed,
        evidence=evidence,
        asserted=asserted,
        model_overlap=model_overlap,
        expected=expected,
        nearest=nearest,
        keyword_list=keyword_list,
        restated=restated,
        off_topic=off_topic,
        dont_know=dont_know,
    )
