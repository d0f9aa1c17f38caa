"""Offline answer scoring: analyse an answer, score it on the rubric, choose a follow-up.

Deterministic and explainable: every score cites the sentence of the answer that earned it.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from server.llm.base import CRITERIA, CriterionScore
from server.llm.offline.bank import (
    STAR_ELEMENTS,
    BankPoint,
    BankQuestion,
    normalise,
    star_element,
)

RUBRIC_VERSION = "offline-1"
EVIDENCE_MAX_CHARS = 200


# ---------------------------------------------------------------------------- text analysis


@dataclass(frozen=True)
class _Sentence:
    start: int
    end: int
    text: str
    cue_text: str
    words: int


@dataclass(frozen=True)
class _Answer:
    raw: str
    sentences: tuple[_Sentence, ...]
    cue_text: str
    words: int


_SENTENCE_END = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s|$)|[\u3002\uff01\uff1f]+|\n")
_WORD = re.compile(r"\w+(?:['\u2019]\w+)*")
_TOKEN = re.compile(r"[^\W_][\w+#./-]*(?<![./-])")


def analyse(answer: str) -> _Answer:
    sentences: list[_Sentence] = []

    def add(start: int, end: int) -> None:
        while start < end and answer[start].isspace():
            start += 1
        while end > start and answer[end - 1].isspace():
            end -= 1
        if start < end:
            text = answer[start:end]
            sentences.append(_Sentence(start, end, text, normalise(text), len(_WORD.findall(text))))

    start = 0
    for match in _SENTENCE_END.finditer(answer):
        add(start, match.start() if match.group() == "\n" else match.end())
        start = match.end()
    add(start, len(answer))
    return _Answer(answer, tuple(sentences), normalise(answer), len(_WORD.findall(answer)))


def _cues(phrases: str) -> re.Pattern[str]:
    """A pattern matching any of the ``|``-separated phrases as whole words."""
    longest_first = sorted(phrases.split("|"), key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, longest_first)) + r")(?!\w)")


def _excerpt(answer: str, sentence: _Sentence | None) -> str:
    """The sentence as an exact substring of ``answer``; if too long, cut where a clause ends."""
    if sentence is None:
        return ""
    return clause_cut(answer[sentence.start : sentence.end], EVIDENCE_MAX_CHARS)


_CLAUSE_END = re.compile(r"[,;:)\u2013\u2014](?=\s)|\s(?:and|but|so|because|which|while)\s")


def clause_cut(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters, else its longest start that ends where a
    clause ends (a comma, semicolon, colon, dash, or before "and", "but", "so", ...), so a
    quote never stops mid-phrase ("grew by"); failing that, at a word boundary. Always a
    prefix of ``text`` (quotes stay verbatim)."""
    if len(text) <= limit:
        return text
    window = text[: limit + 1]
    ends = [m.start() for m in _CLAUSE_END.finditer(window) if m.start() >= limit * 0.4]
    if ends:
        return window[: ends[-1]].rstrip()
    cut = max(window.rfind(" "), window.rfind("\n"), window.rfind("\t"))
    return text[:cut].rstrip() if cut > 0 else text[:limit]


def _first(answer: _Answer) -> _Sentence | None:
    return answer.sentences[0] if answer.sentences else None


# ---------------------------------------------------------------------------- coverage


@dataclass(frozen=True)
class _Coverage:
    value: int
    evidence: _Sentence | None
    missed: tuple[BankPoint, ...]


def _point_hit(point: BankPoint, cue_text: str) -> bool:
    return any(keyword and normalise(keyword) in cue_text for keyword in point.keywords)


def assess_coverage(question: BankQuestion, answer: _Answer) -> _Coverage:
    covered = [point for point in question.points if _point_hit(point, answer.cue_text)]
    missed = tuple(point for point in question.points if point not in covered)
    evidence = next(
        (
            sentence
            for sentence in answer.sentences
            if any(_point_hit(point, sentence.cue_text) for point in covered)
        ),
        _first(answer),
    )
    if not question.points:
        return _Coverage(3, evidence, missed)
    fraction = len(covered) / len(question.points)
    return _Coverage(int(1 + 4 * fraction + 0.5), evidence, missed)


def _coverage_suggestion(coverage: _Coverage) -> str:
    if coverage.missed:
        return (
            f'Cover "{coverage.missed[0].point}": say how it applies to this question '
            "and back it with one concrete example."
        )
    return (
        "You touched every key point; go deeper on the trade-offs, such as what each choice "
        "costs and when you would choose differently."
    )


# ---------------------------------------------------------------------------- structure

_STAR_CUES = {
    "situation": _cues(
        "when i was|while i was|at my last|at my previous|in my last role|in my previous role"
        "|at the time|back in|a few years ago|last year|we were|there was|our team was"
        "|the context|the situation|i was working|i worked at|i was a|i was an|while working"
    ),
    "task": _cues(
        "my goal|the goal|my task|my job was|my role was|i was responsible|i was asked"
        "|i needed to|i had to|we needed to|we had to|the challenge was|the problem was"
        "|i was tasked|the deadline|objective|i was in charge"
    ),
    "action": _cues(
        "i decided|i started|i built|i set up|i proposed|i talked|i spoke|i organised"
        "|i organized|i wrote|i led|i created|i worked with|i scheduled|i reached out|i took"
        "|i implemented|i asked|i met|i suggested|i called|i escalated|i pushed|i made"
        "|i gathered|i went|so i|first i|then i|i chose|i changed|i fixed|i told"
    ),
    "result": _cues(
        "as a result|in the end|the result|the outcome|resulted in|which led to|led to"
        "|ended up|eventually|by the end|we shipped|we launched|we delivered|improved|reduced"
        "|increased|we saved|we cut|finished on time|on time"
    ),
}
_REFLECTION_CUES = _cues(
    "i learned|i learnt|lesson|next time|in hindsight|looking back|differently|taught me"
    "|since then|now i"
)
_MEASURED_RESULT = re.compile(
    r"\d[\d.,]*\s*(?:%|percent|per cent|x(?!\w)|times|ms|seconds?|minutes?|hours?|days?|"
    r"weeks?|months?|users?|customers?|k(?!\w))|[$\u20ac\u00a3\u20b9]\s?\d"
)
_STRUCTURE_CUES = {
    "sequencing": _cues(
        "first|firstly|second|secondly|third|then|next|finally|after that|lastly|to start"
        "|step one|the first step|afterwards"
    ),
    "reasoning": _cues(
        "because|so that|which means|therefore|the reason|that's why|this means|in order to"
        "|as a result"
    ),
    "trade_offs": _cues(
        "trade-off|trade-offs|tradeoff|tradeoffs|trade off|on the other hand|downside|upside"
        "|at the expense of|pros and cons|it depends|versus|vs|whereas|however|the cost is"
        "|alternatively"
    ),
    "examples": _cues(
        "for example|for instance|e.g.|such as|in practice|in my experience|imagine|say we"
        "|in my last role|at my last job"
    ),
}
_SUMMARY_CUES = _cues(
    "in short|in summary|to summarise|to summarize|overall|to sum up|the short answer"
    "|in a nutshell|bottom line|so in the end"
)
_ENUMERATED_LINE = re.compile(r"(?m)^\s*(?:\d+[.)]|[-*\u2022])\s+\S")
_PARAGRAPH_BREAK = re.compile(r"\S\s*\n\s*\n\s*\S")
_STRUCTURE_SHORT_WORDS = 20

_STAR_SUGGESTIONS = {
    "situation": (
        "Open with the Situation in one or two sentences: where you were, when, and what "
        "was at stake."
    ),
    "task": "State your Task explicitly: what you were responsible for and what success meant.",
    "action": (
        'Spend most of the answer on your Action, using "I" to show what you personally did '
        "and why."
    ),
    "result": (
        "Finish with the Result: what changed because of you, ideally with a number, and "
        "what you learned."
    ),
}
_STRUCTURE_SUGGESTIONS = {
    "sequencing": (
        'Signpost the answer: give the headline first, then walk through the steps with "first", '
        '"then" and "finally".'
    ),
    "reasoning": 'Give the reason for each key decision, for example by adding a "because".',
    "trade_offs": "Name one trade-off you considered and say why you accepted it.",
    "examples": "Anchor one point with a short example from a system you have worked on.",
    "layout": "Close with a one-sentence summary of your recommendation.",
}


@dataclass(frozen=True)
class _Structure:
    value: int
    evidence: _Sentence | None
    missing: tuple[str, ...]
    reflected: bool


def assess_structure(answer: _Answer, *, behavioral: bool) -> _Structure:
    if behavioral:
        structure = _assess_star(answer)
    else:
        structure = _assess_reasoning(answer)
    if answer.words < _STRUCTURE_SHORT_WORDS:
        # One or two sentences cannot show organised reasoning, whatever cue words they use.
        return _Structure(
            min(structure.value, 2), structure.evidence, structure.missing, structure.reflected
        )
    return structure


def _assess_star(answer: _Answer) -> _Structure:
    found = {
        element: [s for s in answer.sentences if pattern.search(s.cue_text)]
        for element, pattern in _STAR_CUES.items()
    }
    if not found["result"]:
        found["result"] = [s for s in answer.sentences if _MEASURED_RESULT.search(s.cue_text)]
    present = [element for element in STAR_ELEMENTS if found[element]]
    missing = tuple(element for element in STAR_ELEMENTS if not found[element])
    evidence = next(
        (found[element][0] for element in ("action", *STAR_ELEMENTS) if found[element]),
        _first(answer),
    )
    reflected = bool(_REFLECTION_CUES.search(answer.cue_text))
    return _Structure(min(5, 1 + len(present)), evidence, missing, reflected)


def _assess_reasoning(answer: _Answer) -> _Structure:
    def categories(sentence: _Sentence) -> set[str]:
        return {name for name, cue in _STRUCTURE_CUES.items() if cue.search(sentence.cue_text)}

    per_sentence = [(len(categories(s)), -index, s) for index, s in enumerate(answer.sentences)]
    present: set[str] = set()
    for sentence in answer.sentences:
        present |= categories(sentence)
    laid_out = (
        len(_ENUMERATED_LINE.findall(answer.raw)) >= 2
        or bool(_PARAGRAPH_BREAK.search(answer.raw))
        or bool(_SUMMARY_CUES.search(answer.cue_text))
    )
    if laid_out:
        present.add("layout")
    missing = tuple(name for name in _STRUCTURE_SUGGESTIONS if name not in present)
    best = max(per_sentence, key=lambda item: item[:2], default=None)
    evidence = best[2] if best is not None and best[0] > 0 else _first(answer)
    return _Structure(min(5, 1 + len(present)), evidence, missing, reflected=False)


def _structure_suggestion(structure: _Structure, *, behavioral: bool) -> str:
    if behavioral:
        if structure.missing:
            return _STAR_SUGGESTIONS[structure.missing[0]]
        if not structure.reflected:
            return "Close with one sentence on what you learned or would do differently next time."
        return "Keep the Situation to two sentences so more of your time goes to Action and Result."
    if structure.missing:
        return _STRUCTURE_SUGGESTIONS[structure.missing[0]]
    return "Keep this shape, and state your conclusion in the first sentence so it frames the rest."


# ---------------------------------------------------------------------------- specificity

_NUMBER_WORDS = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|twelve|fifteen|twenty|thirty|fifty|"
    r"hundred|hundreds|thousand|thousands|million|millions|billion|dozen|dozens|half)"
)
_UNIT_WORDS = (
    r"(?:percent|per cent|ms|milliseconds?|seconds?|minutes?|hours?|days?|weeks?|months?|"
    r"quarters?|years?|users?|customers?|engineers?|people|requests?|times|servers?|teams?|"
    r"sprints?|releases?)"
)
_QUANTITY = re.compile(
    r"\d+(?:[.,]\d+)*|[$\u20ac\u00a3\u20b9\u00a5]"
    rf"|(?<!\w){_NUMBER_WORDS}\s+{_UNIT_WORDS}(?!\w)"
    r"|(?<!\w)(?:doubled|tripled|halved|in half)(?!\w)"
)
_EXAMPLE_CUES = _cues(
    "for example|for instance|e.g.|in my last role|in my previous role|at my last job"
    "|at my previous job|at my last company|in one project|on one project|on a recent project"
    "|in a recent project|last year|last quarter|last month|we had a case|one time"
    "|in production"
)
_ACTION_VERBS = (
    "built|led|measured|wrote|designed|migrated|shipped|reduced|cut|added|profiled|deployed"
    "|rewrote|introduced|ran|set up|automated|debugged|fixed|launched|owned|implemented"
    "|benchmarked|tested|refactored|moved|replaced|created|analysed|analyzed|interviewed"
    "|negotiated|organised|organized|mentored|proposed|decided|instrumented|monitored|traced"
    "|tuned|optimised|optimized|scaled|split|sharded|cached|trained|evaluated|prototyped"
    "|presented|convinced|hired|coached|rolled out|rolled back|reviewed|drove|delivered|found"
    "|discovered|identified|investigated|wrote up|paired|documented"
)
_FIRST_PERSON_ACTION = re.compile(
    r"(?<!\w)(?:i|we)(?:'ve|'d| have| had)?(?: then| also| personally| first| finally| quickly)?"
    r" (?:" + "|".join(map(re.escape, _ACTION_VERBS.split("|"))) + r")(?!\w)"
)
_KNOWN_TOOLS = frozenset(
    """
    redis kafka postgres postgresql mysql sqlite mongodb docker kubernetes k8s terraform react
    vue angular svelte typescript javascript python java golang rust kotlin swift graphql grpc
    nginx celery rabbitmq elasticsearch prometheus grafana datadog sentry jenkins airflow spark
    pandas numpy pytorch tensorflow sklearn scikit-learn dbt snowflake bigquery tableau looker
    jira figma amplitude mixpanel webpack vite jest playwright cypress django flask fastapi
    spring rails node node.js aws gcp azure lambda dynamodb cassandra memcached cdn
    opentelemetry lighthouse git sql nosql xgboost mlflow optimizely ci
    """.split()
)
_CAPITALISED_NOT_NAMES = frozenset(
    """
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May
    June July August September October November December OK Ok Okay So And But Then Also Yes
    No Well
    """.split()
)
SPECIFICITY_ORDER = ("quantity", "action", "named", "example")
_SPECIFICITY_SUGGESTIONS = {
    "quantity": (
        "Add one quantified result, such as a latency, a percentage, a cost or the time saved, "
        "to show the impact."
    ),
    "action": (
        'Say what you personally did, with phrases like "I built", "I measured" or '
        '"I decided", not only what the team did.'
    ),
    "named": "Name the actual tools, services or metrics you used instead of describing them.",
    "example": 'Ground the answer in one real case, for example "In my last role, we ...".',
}


def _named_terms(sentence: _Sentence) -> int:
    named = 0
    for index, match in enumerate(_TOKEN.finditer(sentence.text)):
        token = match.group()
        has_letter = any(char.isalpha() for char in token)
        if has_letter and any(char.isdigit() for char in token):
            named += 1
        elif token.lower() in _KNOWN_TOOLS:
            named += 1
        elif len(token) >= 2 and token[0].isupper() and token not in _CAPITALISED_NOT_NAMES:
            # Sentence-initial capitals are grammar, not names, unless the word is Camel/ACRONYM.
            if index > 0 or any(char.isupper() for char in token[1:]):
                named += 1
        elif len(token) >= 3 and token[0].islower() and any(c.isupper() for c in token[1:]):
            named += 1  # iOS, gRPC, macOS
    return named


@dataclass(frozen=True)
class _SentenceSpecifics:
    quantity: int
    action: int
    named: int
    example: int

    @property
    def total(self) -> int:
        # Numbers are the hardest detail to fake, so they weigh double.
        return 2 * self.quantity + self.action + self.named + self.example


def _sentence_specifics(sentence: _Sentence) -> _SentenceSpecifics:
    return _SentenceSpecifics(
        quantity=len(_QUANTITY.findall(sentence.cue_text)),
        action=len(_FIRST_PERSON_ACTION.findall(sentence.cue_text)),
        named=_named_terms(sentence),
        example=len(_EXAMPLE_CUES.findall(sentence.cue_text)),
    )


@dataclass(frozen=True)
class _Specificity:
    value: int
    evidence: _Sentence | None
    missing: tuple[str, ...]


def assess_specificity(answer: _Answer) -> _Specificity:
    scored = [(_sentence_specifics(s), s) for s in answer.sentences]
    totals = {
        kind: sum(getattr(specifics, kind) for specifics, _ in scored) for kind in SPECIFICITY_ORDER
    }
    missing = tuple(kind for kind in SPECIFICITY_ORDER if totals[kind] == 0)
    best = max(scored, key=lambda item: item[0].total, default=None)
    evidence = best[1] if best is not None and best[0].total > 0 else _first(answer)
    present = len(SPECIFICITY_ORDER) - len(missing)
    return _Specificity(min(5, 1 + present), evidence, missing)


def _specificity_suggestion(specificity: _Specificity) -> str:
    if specificity.missing:
        return _SPECIFICITY_SUGGESTIONS[specificity.missing[0]]
    return "Keep the numbers, and add the baseline you compared against so the change is clear."


# ---------------------------------------------------------------------------- clarity

_FILLERS = re.compile(
    _cues("um|umm|uh|uhm|erm|basically|you know|kind of|sort of|i mean|literally").pattern
    # "like" is only a filler when set off by commas; "something like Redis" is fine.
    + r"|(?<!\w)like(?=\s*,)|(?<=,)\s*like(?!\w)"
)
SHORT_WORDS = 40
_IDEAL_MAX_WORDS = 350
LONG_WORDS = 500
LONG_SENTENCE_WORDS = 28


@dataclass(frozen=True)
class Clarity:
    value: int
    evidence: _Sentence | None
    issue: str
    filler_count: int
    top_filler: str


def _length_value(words: int) -> int:
    if words < 20:
        return 1
    if words < SHORT_WORDS:
        return 2
    if words < 80:
        return 4
    if words <= _IDEAL_MAX_WORDS:
        return 5
    if words <= LONG_WORDS:
        return 4
    return 3 if words <= 800 else 2


def assess_clarity(answer: _Answer) -> Clarity:
    fillers: Counter[str] = Counter(
        str(match).strip(" ,") for match in _FILLERS.findall(answer.cue_text)
    )
    filler_count = sum(fillers.values())
    top_filler = fillers.most_common(1)[0][0] if fillers else ""
    filler_rate = 100 * filler_count / max(answer.words, 1)
    average_sentence = answer.words / max(len(answer.sentences), 1)
    value = _length_value(answer.words)
    value -= 2 if filler_rate >= 6 else 1 if filler_rate >= 2 else 0
    value -= 2 if average_sentence > 40 else 1 if average_sentence > LONG_SENTENCE_WORDS else 0
    if answer.words < SHORT_WORDS:
        issue = "short"
    elif filler_rate >= 2:
        issue = "filler"
    elif average_sentence > LONG_SENTENCE_WORDS:
        issue = "long_sentences"
    elif answer.words > LONG_WORDS:
        issue = "long"
    else:
        issue = "none"
    complete = [
        s
        for s in answer.sentences
        if s.words >= 5 and s.text[-1] in ".!?\u3002" and not _FILLERS.search(s.cue_text)
    ]
    evidence = min(complete, key=lambda s: s.words, default=_first(answer))
    return Clarity(max(1, min(5, value)), evidence, issue, filler_count, top_filler)


def _clarity_suggestion(clarity: Clarity) -> str:
    if clarity.issue == "short":
        return (
            "Expand to four or five sentences: state your answer, give the reasoning, "
            "then one example."
        )
    if clarity.issue == "filler":
        return f'Replace filler words such as "{clarity.top_filler}" with a short pause.'
    if clarity.issue == "long_sentences":
        return "Break long sentences up: one idea per sentence, each under about 25 words."
    if clarity.issue == "long":
        return (
            "Cut to the two or three points that matter most and stop after your summary; "
            "aim for about two minutes."
        )
    return "Lead with your answer in one sentence, then support it."


# ---------------------------------------------------------------------------- scoring

_EMPTY_ANSWER_SUGGESTION = (
    "Give an answer, even a partial one: state your approach in one sentence, then add one example."
)


def score_answer(question: BankQuestion, answer: str) -> list[CriterionScore]:
    """Score ``answer`` on each of ``CRITERIA``, in that order, with evidence and a suggestion."""
    if not answer.strip():
        return [CriterionScore(name, 1, "", _EMPTY_ANSWER_SUGGESTION) for name in CRITERIA]
    analysed = analyse(answer)
    behavioral = question.track == "behavioral"
    coverage = assess_coverage(question, analysed)
    structure = assess_structure(analysed, behavioral=behavioral)
    specificity = assess_specificity(analysed)
    clarity = assess_clarity(analysed)
    return [
        CriterionScore(
            "coverage",
            coverage.value,
            _excerpt(answer, coverage.evidence),
            _coverage_suggestion(coverage),
        ),
        CriterionScore(
            "structure",
            structure.value,
            _excerpt(answer, structure.evidence),
            _structure_suggestion(structure, behavioral=behavioral),
        ),
        CriterionScore(
            "specificity",
            specificity.value,
            _excerpt(answer, specificity.evidence),
            _specificity_suggestion(specificity),
        ),
        CriterionScore(
            "clarity",
            clarity.value,
            _excerpt(answer, clarity.evidence),
            _clarity_suggestion(clarity),
        ),
    ]


def _value_of(scores: Sequence[CriterionScore], criterion: str) -> int:
    for score in scores:
        if score.criterion == criterion:
            return score.value
    raise ValueError(f"scores have no {criterion!r} criterion; expected one per {CRITERIA}")


def needs_follow_up(question: BankQuestion, answer: str, scores: Sequence[CriterionScore]) -> bool:
    """True when a non-empty answer missed most key points or stayed vague."""
    if not answer.strip():
        return False
    return _value_of(scores, "coverage") <= 2 or _value_of(scores, "specificity") <= 2


# ---------------------------------------------------------------------------- follow-ups

_MIN_QUOTE_WORDS, _MAX_QUOTE_WORDS = 3, 8
_MIN_ANSWER_WORDS_TO_QUOTE = 5
_QUOTE_WORD = re.compile(r"[^\s\"\u201c\u201d]+")
_UNQUOTABLE = re.compile(r"[\"\u201c\u201d\n]")
_PROBE_TEMPLATES = (
    'You mentioned "{quote}". What made that the right choice, and what would you measure '
    "to know it worked?",
    'You said "{quote}". Can you walk me through a specific time that happened, with the '
    "numbers involved?",
    'Let\'s go deeper on "{quote}". What exactly did you do there, and what was the result?',
    'Going back to "{quote}": what would you do differently next time, and why?',
)
_STEER_TEMPLATES = (
    'You mentioned "{quote}". Before we move on, how would you handle this part: {aspect}?',
    'You said "{quote}". One more angle I would like to hear about: {aspect}. How does that '
    "fit in here?",
    'Building on "{quote}", where does this come in for you: {aspect}?',
)
_STAR_LEAD_INS = (
    'You mentioned "{quote}".',
    'You said "{quote}".',
    'I want to pick up on "{quote}".',
)
_STAR_PROBES = {
    "situation": "Can you set the scene first: where were you, and what was at stake?",
    "task": "What exactly were you responsible for there, and what did success look like?",
    "action": "What did you personally do at that point, step by step?",
    "result": "How did it turn out in the end, and how did you know?",
    "reflection": "Looking back, what would you do differently now?",
    "learning": "Looking back, what would you do differently now?",
}


def _stable_index(text: str, modulo: int) -> int:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % modulo


_WEAK_EDGE_WORDS = frozenset(
    """
    a an the and or but so to of in on at by for from with as is was are were be it its that
    this my our your their we i you they he she um uh basically like just then which who
    """.split()
)
_QUOTE_SEARCH_RADIUS = 20
_WORDS_BEFORE_ANCHOR = 4
_QUOTE_TRAILING_PUNCTUATION = ".,;:!?\u2026\u3002\uff01\uff1f-\u2013\u2014 "


def _bare(word: str) -> str:
    return word.strip(".,;:!?()[]'\u2019\u2026-").lower()


def _is_anchor(word: str, index: int) -> bool:
    """A word worth quoting around: a number, a named tool, or a capitalised name."""
    bare = _bare(word)
    if any(char.isdigit() for char in word) or bare in _KNOWN_TOOLS:
        return True
    capitalised = len(bare) >= 2 and word[0].isupper()
    return index > 0 and capitalised and bare.capitalize() not in _CAPITALISED_NOT_NAMES


def _quote_in(answer: str, sentence: _Sentence) -> str | None:
    """The best 3-8 word window of ``sentence``, verbatim, centred on its most specific word."""
    words = list(_QUOTE_WORD.finditer(sentence.text))
    if len(words) < _MIN_QUOTE_WORDS:
        return None
    texts = [word.group() for word in words]
    numbered = [i for i, text in enumerate(texts) if any(char.isdigit() for char in text)]
    named = [i for i, text in enumerate(texts) if _is_anchor(text, i)]
    anchors = numbered or named
    anchor = anchors[0] if anchors else None
    preferred = max(0, anchor - 2) if anchor is not None else 0
    best: tuple[tuple[bool, bool, bool, bool, bool, int, int], str] | None = None
    for size in range(_MIN_QUOTE_WORDS, min(_MAX_QUOTE_WORDS, len(words)) + 1):
        lowest = max(0, preferred - _QUOTE_SEARCH_RADIUS)
        highest = min(len(words) - size, preferred + _QUOTE_SEARCH_RADIUS)
        for first in range(lowest, highest + 1):
            last = first + size - 1
            phrase = answer[
                sentence.start + words[first].start() : sentence.start + words[last].end()
            ]
            if _UNQUOTABLE.search(phrase) or phrase.count("(") != phrase.count(")"):
                continue
            quote = phrase.rstrip(_QUOTE_TRAILING_PUNCTUATION)
            if not _bare(texts[first]) or len(quote.split()) < _MIN_QUOTE_WORDS:
                continue
            rank = (
                anchor is None or anchor - _WORDS_BEFORE_ANCHOR <= first <= anchor <= last,
                _bare(texts[first]) not in _WEAK_EDGE_WORDS,
                _bare(texts[last]) not in _WEAK_EDGE_WORDS
                and not (last < len(words) - 1 and _bare(texts[last]).isdigit()),
                last == len(words) - 1 or texts[last][-1] in ",.;:!?",
                first == 0 or texts[first - 1][-1] in ",.;:!?",
                size,
                -abs(first - preferred),
            )
            if best is None or rank > best[0]:
                best = (rank, quote)
    return best[1] if best is not None else None


def _quotable_phrase(answer: str) -> str | None:
    """3-8 words copied verbatim from the most specific sentence, else the first quotable one."""
    analysed = analyse(answer)
    if analysed.words < _MIN_ANSWER_WORDS_TO_QUOTE:
        return None
    ranked = sorted(
        range(len(analysed.sentences)),
        key=lambda index: (-_sentence_specifics(analysed.sentences[index]).total, index),
    )
    for index in ranked:
        quote = _quote_in(answer, analysed.sentences[index])
        if quote is not None:
            return quote
    return None


def _aspect(point: BankPoint) -> str:
    text = point.point.rstrip(".")
    if star_element(point) is not None and ":" in text:
        text = text.split(":", 1)[1].strip()
    if len(text) > 1 and not text[1].isupper():
        text = text[0].lower() + text[1:]
    return text


def follow_up_text(question: BankQuestion, answer: str, scores: Sequence[CriterionScore]) -> str:
    """A follow-up that quotes the candidate's own words and, if points were missed, steers.

    Falls back to the bank's ``follow_up`` when the answer is too short to quote.
    """
    quote = _quotable_phrase(answer) if answer.strip() else None
    if quote is None:
        return question.follow_up
    if _value_of(scores, "coverage") <= 2:
        missed = assess_coverage(question, analyse(answer)).missed
        if missed:
            element = star_element(missed[0]) if question.track == "behavioral" else None
            if element is not None:
                lead_in = _STAR_LEAD_INS[_stable_index(answer, len(_STAR_LEAD_INS))]
                return f"{lead_in.format(quote=quote)} {_STAR_PROBES[element]}"
            template = _STEER_TEMPLATES[_stable_index(answer, len(_STEER_TEMPLATES))]
            return template.format(quote=quote, aspect=_aspect(missed[0]))
    template = _PROBE_TEMPLATES[_stable_index(answer, len(_PROBE_TEMPLATES))]
    return template.format(quote=quote)
