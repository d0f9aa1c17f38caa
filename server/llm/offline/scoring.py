"""Offline answer scoring: analyse an answer, score it on the rubric, choose a follow-up.

Deterministic and explainable: every score cites the sentence of the answer that earned it.
Coverage is scored on meaning (``meaning.py``): the points an answer makes in sentences, the
misconceptions it asserts, matched on whole words that survive typos and inflection.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from server.llm.base import (
    CRITERIA,
    PERSONAL_ROLE_FOCUS,
    CriterionScore,
    ReplyKind,
    says_we_not_i,
)
from server.llm.offline.bank import (
    STAR_ELEMENTS,
    BankMisconception,
    BankPoint,
    BankQuestion,
    star_element,
)
from server.llm.offline.meaning import (
    STOPWORDS,
    Answer,
    Meaning,
    Sentence,
    content_stems,
    foreign_language,
    phrase_at,
    question_kind,
    reference_for,
    stem,
    understand,
    words_of,
)
from server.llm.offline.meaning import (
    analyse as analyse,
)

RUBRIC_VERSION = "offline-2"  # scoring by meaning (model answers, misconceptions)
EVIDENCE_MAX_CHARS = 200


# ---------------------------------------------------------------------------- text analysis

_Sentence = Sentence
_Answer = Answer
_TOKEN = re.compile(r"[^\W_][\w+#./-]*(?<![./-])")


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
    meaning: Meaning
    model_answer: tuple[str, ...]
    meaning_track: str = ""


def assess_coverage(question: BankQuestion, answer: _Answer) -> _Coverage:
    """The points ``answer`` makes (and the misconceptions it asserts) out of ``question``'s:
    a keyword list, the question restated or an off-topic answer makes none."""
    meaning = understand(question, answer)
    reference, _ = reference_for(question)
    evidence = meaning.evidence or (meaning.asserted[0][1] if meaning.asserted else None)
    evidence = evidence or _first(answer)
    if not meaning.expected:
        return _Coverage(3, evidence, (), meaning, ())
    share = meaning.fraction
    if reference.model_answer and question.track != "behavioral":
        # Behavioral model answers describe a good story; they share no words with one.
        # Saying what the model answer says can lift a partial answer, never sink a full one.
        share = max(share, 0.75 * share + 0.25 * min(1.0, meaning.model_overlap / 0.5))
    value = int(1 + 4 * share + 0.5) - 2 * len(meaning.asserted)
    if meaning.says_nothing:
        value = 1
    missed = meaning.missed if not meaning.says_nothing else reference.points
    return _Coverage(
        max(1, min(5, value)), evidence, missed, meaning, reference.model_answer, question.track
    )


def _coverage_suggestion(coverage: _Coverage) -> str:
    meaning = coverage.meaning
    if not meaning.expected:
        return (
            "This question is not in the question bank, so no expected points were checked: "
            "coverage follows your structure, detail and clarity. Make sure you answer every "
            "part of the question."
        )
    nearest = " (scored against the closest question in the bank)" if meaning.nearest else ""
    if meaning.asserted:
        claim = meaning.asserted[0][0].claim.rstrip(".")
        correction = (
            f" More accurately: {coverage.model_answer[0]}"
            if coverage.model_answer and coverage.meaning_track != "behavioral"
            else ""
        )
        return (
            f'Your answer suggests that "{claim}", a common misconception, and it cost you '
            f"coverage{nearest}.{correction}"
        )
    if meaning.keyword_list:
        return (
            "Turn the terms into sentences: say what each one does here and why it matters; "
            "a list of keywords earns no coverage."
        )
    if meaning.restated:
        return "Restating the question earns no coverage: answer it, starting with your main point."
    if meaning.off_topic:
        return "Answer the question that was asked: start with one sentence that addresses it."
    if coverage.missed:
        return (
            f'Cover "{coverage.missed[0].point}"{nearest}: say how it applies to this question '
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
        "|as a result|since|thus|that way|this way|otherwise|which lets|which avoids"
        "|to avoid|to prevent|this ensures|which ensures|so the|so we|so it|so a|so you"
        "|so users|so i|which is why|hence"
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


# How many of the five signs of organised reasoning each kind of question fairly asks for,
# and which to suggest first: a definition needs reasons and an example, not a step list.
_STRUCTURE_NEEDS = {"concept": 3, "design": 4, "experience": 4}
_STRUCTURE_ORDER = {
    "concept": ("reasoning", "examples", "trade_offs", "layout", "sequencing"),
    "design": ("sequencing", "reasoning", "trade_offs", "examples", "layout"),
    "experience": ("sequencing", "reasoning", "examples", "trade_offs", "layout"),
}


def assess_structure(answer: _Answer, *, behavioral: bool, kind: str = "design") -> _Structure:
    if behavioral:
        structure = _assess_star(answer)
    else:
        structure = _assess_reasoning(answer, kind)
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


def _assess_reasoning(answer: _Answer, kind: str) -> _Structure:
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
    order = _STRUCTURE_ORDER.get(kind, _STRUCTURE_ORDER["design"])
    missing = tuple(name for name in order if name not in present)
    best = max(per_sentence, key=lambda item: item[:2], default=None)
    evidence = best[2] if best is not None and best[0] > 0 else _first(answer)
    needs = _STRUCTURE_NEEDS.get(kind, 4)
    value = 1 + int(4 * min(1.0, len(present) / needs) + 0.5)
    return _Structure(value, evidence, missing if value < 5 else (), reflected=False)


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
    kind: str = "experience"


# What each kind of question fairly asks for, in the order to suggest it: a definition is
# not marked down for lacking "I built", a design for lacking a story of your own.
_SPECIFICITY_NEEDS = {
    "concept": ("example", "named", "quantity"),
    "design": ("quantity", "named", "example", "action"),
    "experience": SPECIFICITY_ORDER,
    "story": SPECIFICITY_ORDER,
}
_SPECIFICITY_NEEDED = {"concept": 2, "design": 3, "experience": 4, "story": 4}
_CONCEPT_EXAMPLE_SUGGESTION = (
    'Illustrate the idea with one concrete case, for example "say a user retries a payment...".'
)


def assess_specificity(answer: _Answer, *, kind: str = "experience") -> _Specificity:
    scored = [(_sentence_specifics(s), s) for s in answer.sentences]
    totals = {
        kind: sum(getattr(specifics, kind) for specifics, _ in scored) for kind in SPECIFICITY_ORDER
    }
    order = _SPECIFICITY_NEEDS.get(kind, SPECIFICITY_ORDER)
    best = max(scored, key=lambda item: item[0].total, default=None)
    evidence = best[1] if best is not None and best[0].total > 0 else _first(answer)
    present = sum(1 for name in SPECIFICITY_ORDER if totals[name] > 0)
    needed = _SPECIFICITY_NEEDED.get(kind, 4)
    value = 1 + int(4 * min(1.0, present / needed) + 0.5)
    missing = tuple(name for name in order if totals[name] == 0) if value < 5 else ()
    return _Specificity(value, evidence, missing, kind)


def _specificity_suggestion(specificity: _Specificity) -> str:
    if specificity.missing:
        first = specificity.missing[0]
        if first == "example" and specificity.kind == "concept":
            return _CONCEPT_EXAMPLE_SUGGESTION
        return _SPECIFICITY_SUGGESTIONS[first]
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
    said = [stem(token) for s in answer.sentences for token in s.tokens if token not in STOPWORDS]
    repetitive = answer.words >= 60 and len(set(said)) < 0.4 * len(said)
    value -= 2 if repetitive else 0
    if answer.words < SHORT_WORDS:
        issue = "short"
    elif filler_rate >= 2:
        issue = "filler"
    elif average_sentence > LONG_SENTENCE_WORDS:
        issue = "long_sentences"
    elif answer.words > LONG_WORDS or repetitive:
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
# Under this many words an answer cannot earn more than 2 on any criterion.
SHORT_ANSWER_WORDS = 15


def english_only_note(language: str) -> str:
    return (
        f"Scoring is English-only: this answer looks like {language}, so it could not be "
        "scored on its content. Answer in English to get a real score and feedback."
    )


def score_answer(question: BankQuestion, answer: str) -> list[CriterionScore]:
    """Score ``answer`` on each of ``CRITERIA``, in that order, with evidence and a suggestion.

    Coverage counts the expected points the answer makes in sentences (a keyword list, the
    question restated or an off-topic ramble makes none) less the misconceptions it asserts;
    structure and specificity are held near coverage, so cue words and length cannot carry a
    score alone; an answer in another language gets a note, not a silent low score.
    """
    if not answer.strip():
        return [CriterionScore(name, 1, "", _EMPTY_ANSWER_SUGGESTION) for name in CRITERIA]
    analysed = analyse(answer)
    language = foreign_language(answer)
    if language is not None:
        evidence = _excerpt(answer, _first(analysed))
        note = english_only_note(language)
        return [CriterionScore(name, 1, evidence, note) for name in CRITERIA]
    behavioral = question.track == "behavioral"
    kind = question_kind(question)
    coverage = assess_coverage(question, analysed)
    structure = assess_structure(analysed, behavioral=behavioral, kind=kind)
    specificity = assess_specificity(analysed, kind=kind)
    clarity = assess_clarity(analysed)
    meaning = coverage.meaning
    values = {
        "coverage": coverage.value,
        "structure": structure.value,
        "specificity": specificity.value,
        "clarity": clarity.value,
    }
    if meaning.expected:
        # Organisation and detail only count around the points actually made.
        cap = (
            2
            if meaning.says_nothing or not meaning.covered
            else 3 + math.ceil(2 * meaning.fraction)
        )
        values["structure"] = min(values["structure"], cap)
        values["specificity"] = min(values["specificity"], cap)
        if meaning.says_nothing:
            values["clarity"] = min(values["clarity"], 2)
    else:
        others = (structure.value, specificity.value, clarity.value)
        values["coverage"] = min(4, int(sum(others) / len(others) + 0.5))
    if analysed.words < SHORT_ANSWER_WORDS:
        # A line or two cannot average above 2: take the excess off the delivery criteria first.
        for name in ("clarity", "structure", "specificity", "coverage"):
            excess = sum(values.values()) - 2 * len(values)
            if excess > 0:
                values[name] = max(1, values[name] - excess)
    return [
        CriterionScore(
            "coverage",
            values["coverage"],
            _excerpt(answer, coverage.evidence),
            _coverage_suggestion(coverage),
        ),
        CriterionScore(
            "structure",
            values["structure"],
            _excerpt(answer, structure.evidence),
            _structure_suggestion(structure, behavioral=behavioral),
        ),
        CriterionScore(
            "specificity",
            values["specificity"],
            _excerpt(answer, specificity.evidence),
            _specificity_suggestion(specificity),
        ),
        CriterionScore(
            "clarity",
            values["clarity"],
            _excerpt(answer, clarity.evidence),
            _clarity_suggestion(clarity),
        ),
    ]


def _value_of(scores: Sequence[CriterionScore], criterion: str) -> int:
    for score in scores:
        if score.criterion == criterion:
            return score.value
    raise ValueError(f"scores have no {criterion!r} criterion; expected one per {CRITERIA}")


STRONG_MEAN = 3.5


def _is_strong(scores: Sequence[CriterionScore]) -> bool:
    """Most points made and well enough delivered to be worth probing one level deeper."""
    values = [_value_of(scores, name) for name in CRITERIA]
    return _value_of(scores, "coverage") >= 4 and sum(values) / len(values) >= STRONG_MEAN


def needs_follow_up(question: BankQuestion, answer: str, scores: Sequence[CriterionScore]) -> bool:
    """True when a non-empty answer deserves another turn: it missed most key points, stayed
    vague, asserted a misconception, drifted off the question, said "I don't know", or was
    strong enough to probe one level deeper. A middling answer moves on."""
    if not answer.strip():
        return False
    if foreign_language(answer) is not None:
        return True
    meaning = understand(question, analyse(answer))
    if meaning.asserted or meaning.says_nothing or meaning.dont_know:
        return True
    if _value_of(scores, "coverage") <= 2 or _value_of(scores, "specificity") <= 2:
        return True
    return _is_strong(scores)


# ---------------------------------------------------------------------------- follow-ups

_MIN_QUOTE_WORDS, MAX_QUOTE_WORDS = 3, 14
_MIN_ANSWER_WORDS_TO_QUOTE = 5
_UNQUOTABLE = re.compile(r"[\"\u201c\u201d\n]")
# Where a clause ends; a quote is always one or more whole clauses, so it never stops at
# "we did not" or drops the "not" of "we did not cache it".
_CLAUSE_BREAK = re.compile(
    r"[,;:()\u2013\u2014]\s*|\s(?=(?:but|because|although|though|whereas"
    r"|while|unless|so that|so|which|except|and)\s)"
)
# A clause that starts like this leans on the one before it; quoted alone it misleads.
_DEPENDENT_START = re.compile(
    r"^(?:and|or|but|so|because|although|though|whereas|while|unless|if|which|that|then|who"
    r"|except|not|than|as|since|when|to)\b",
    re.IGNORECASE,
)
_QUOTE_TRAILING_PUNCTUATION = ".,;:!?\u2026\u3002\uff01\uff1f\u0964-\u2013\u2014 "

_PROBE_TEMPLATES = {
    "story": (
        'You mentioned "{quote}". What made that the right call at the time, and how did you '
        "know it worked?",
        'You said "{quote}". What exactly did you do there, step by step?',
        'Let\'s go deeper on "{quote}". What happened next, and what came of it?',
        'Going back to "{quote}": what would you do differently next time, and why?',
    ),
    "experience": (
        'You mentioned "{quote}". What made that the right choice, and how did you know it worked?',
        'You said "{quote}". Can you walk me through a specific moment when that mattered, with '
        "the numbers involved?",
        'Let\'s go deeper on "{quote}". What exactly did you do there, and what came of it?',
        'Going back to "{quote}": what would you do differently next time, and why?',
    ),
    "design": (
        'You mentioned "{quote}". Why is that the right choice here, and what would you give up '
        "with it?",
        'You said "{quote}". How would that work in practice, step by step?',
        'Let\'s go deeper on "{quote}". What could go wrong with it, and how would you notice?',
        'Going back to "{quote}": when would you choose differently, and why?',
    ),
    "concept": (
        'You mentioned "{quote}". Why is that so? Explain it as you would to a new teammate.',
        'You said "{quote}". Can you give me a concrete case where that matters?',
        'Let\'s go deeper on "{quote}". What goes wrong if someone ignores it?',
        'Going back to "{quote}": where have you seen that play out in practice?',
    ),
}
# Steering without naming what was missed: the candidate has to find it.
_STEER_TEMPLATES = (
    'You said "{quote}". That is one part of it. What else would you need to get right for '
    "this to hold up in practice?",
    'Building on "{quote}": what other considerations would shape your answer here?',
    'You mentioned "{quote}". Is that the whole picture? Talk me through what you would '
    "still need to think about.",
)
_DEEPER_PROBES = {
    "design": 'You said "{quote}". Suppose the load grew tenfold overnight: which part of '
    "that breaks first, and what would you change?",
    "concept": 'You said "{quote}". When would that stop holding, or when would you choose '
    "differently? Give me a concrete case.",
    "experience": 'You mentioned "{quote}". If you did it again tomorrow, what would you '
    "change, and why?",
    "story": 'You mentioned "{quote}". How did the other people involved see it, and what '
    "would you do differently now?",
}
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
_SCAFFOLDS = {
    "concept": "That's all right, let's build it up step by step. In your own words, what "
    "problem is this about? Start with the simplest situation where it would matter, even a "
    "small one.",
    "design": "That's all right, let's make it smaller. If you only had to make this work for "
    "a handful of users, what is the simplest version you would build, and what are its "
    "pieces?",
    "experience": "That's all right. Think of anything that comes close, a course, a side "
    "project or something you watched a teammate do. What was it, and what part did you play?",
    "story": "That's all right, it doesn't have to be a big moment. Think of any time at work, "
    "at school or on a side project that comes close. Where were you, and what happened?",
}
_GENERIC_CHALLENGE = "Are you sure that holds? Walk me through what actually happens in that case."
_FOREIGN_FOLLOW_UP = (
    "Could you give me that answer in English? I can only follow and score answers in "
    "English. Take your time: {question}"
)


def _stable_index(text: str, modulo: int) -> int:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % modulo


def _clauses(answer: str, sentence: _Sentence) -> list[tuple[int, int]]:
    """The clauses of ``sentence`` as spans of ``answer``, trimmed of edge punctuation."""
    spans: list[tuple[int, int]] = []
    start = 0
    text = sentence.text
    for match in _CLAUSE_BREAK.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    out = []
    for first, last in spans:
        piece = text[first:last]
        stripped = piece.rstrip(_QUOTE_TRAILING_PUNCTUATION)
        lead = len(piece) - len(piece.lstrip())
        if stripped.strip():
            out.append((sentence.start + first + lead, sentence.start + first + len(stripped)))
    return out


def _quotable(phrase: str) -> bool:
    words = phrase.split()
    return (
        _MIN_QUOTE_WORDS <= len(words) <= MAX_QUOTE_WORDS
        and not _UNQUOTABLE.search(phrase)
        and phrase.count("(") == phrase.count(")")
        and not _DEPENDENT_START.match(phrase)
    )


def _quote_in(answer: str, sentence: _Sentence, *, prefer: str = "") -> str | None:
    """The most specific whole clause of ``sentence`` (or the whole sentence), verbatim."""
    candidates: list[str] = []
    whole = sentence.text.rstrip(_QUOTE_TRAILING_PUNCTUATION)
    if _quotable(whole):
        candidates.append(whole)
    candidates += [answer[a:b] for a, b in _clauses(answer, sentence) if _quotable(answer[a:b])]
    if not candidates:
        return None

    def rank(phrase: str) -> tuple[bool, int, int, bool]:
        analysed = analyse(phrase)
        specifics = sum(_sentence_specifics(s).total for s in analysed.sentences)
        has_preferred = bool(prefer) and prefer in phrase
        return (has_preferred, specifics, -abs(len(phrase.split()) - 8), phrase == whole)

    return max(candidates, key=rank)


def _quotable_phrase(answer: str, sentences: Sequence[_Sentence] | None = None) -> str | None:
    """Whole clauses copied verbatim from the most specific sentence, else the first
    quotable one; never a fragment that changes what the candidate said."""
    analysed = analyse(answer)
    if analysed.words < _MIN_ANSWER_WORDS_TO_QUOTE:
        return None
    pool = list(sentences) if sentences is not None else list(analysed.sentences)
    ranked = sorted(
        range(len(pool)), key=lambda index: (-_sentence_specifics(pool[index]).total, index)
    )
    for index in ranked:
        quote = _quote_in(answer, pool[index])
        if quote is not None:
            return quote
    return None


def _challenge(misconception: BankMisconception, sentence: _Sentence, answer: str) -> str:
    cue_words = {w for cue in misconception.cues for w in cue.split()}
    clauses = [answer[a:b] for a, b in _clauses(answer, sentence)]
    clauses = [c for c in clauses if _quotable(c)]
    quote = max(
        clauses,
        key=lambda c: sum(w.lower().strip(".,") in cue_words for w in c.split()),
        default=None,
    )
    whole = sentence.text.rstrip(_QUOTE_TRAILING_PUNCTUATION)
    if quote is None or not any(w.lower().strip(".,") in cue_words for w in quote.split()):
        quote = whole if len(whole.split()) <= 20 and '"' not in whole else None
    challenge = misconception.challenge or _GENERIC_CHALLENGE
    if quote is None:
        return f'Earlier you suggested that "{misconception.claim.rstrip(".")}". {challenge}'
    return f'You said "{quote}". {challenge}'


_OPEN_PROMPTS = {
    "concept": "Can you say a bit more? Explain it as you would to a new teammate, with a "
    "concrete case.",
    "design": "Can you say a bit more? Walk me through how you would approach it, step by step.",
    "experience": "Can you say a bit more? Pick one real case and walk me through it.",
    "story": "Can you say a bit more? Pick one real moment and walk me through what happened.",
}


def _reveals(text: str, question: BankQuestion, missed: Sequence[BankPoint], answer: str) -> bool:
    """``text`` names a point the answer missed (by a distinctive keyword that neither the
    question nor the answer used): asking it would give the answer away."""
    known = set(content_stems(words_of(question.text + " " + answer)))
    said = words_of(text)
    for point in missed:
        for keyword in point.keywords:
            words = words_of(keyword)
            stems = content_stems(words)
            if stems and len(keyword) >= 6 and not set(stems) <= known:
                if phrase_at(words, said) is not None:
                    return True
    return False


def _redirect(question: BankQuestion, meaning: Meaning) -> str:
    if meaning.keyword_list:
        return (
            "You listed a few terms. Pick the one that matters most here and explain, in a "
            "couple of sentences, how it works and why you would use it."
        )
    if meaning.restated:
        return (
            "You've restated the question; now let's hear your answer. What is the first "
            "thing you would say, in one sentence, and why?"
        )
    return (
        f"Let's come back to the question itself: {question.text} Start with the one "
        "sentence that answers it most directly."
    )


def follow_up_text(question: BankQuestion, answer: str, scores: Sequence[CriterionScore]) -> str:
    """The next thing an interviewer would say about ``answer``: a challenge of a
    misconception it asserted, a redirect when it missed the question, an easier, scaffolded
    prompt after "I don't know", a deeper probe of a strong answer, or a question on a whole
    clause of the candidate's own words. It never names an expected point.

    Falls back to the bank's ``follow_up`` when the answer is too short to quote.
    """
    if not answer.strip():
        return question.follow_up
    if foreign_language(answer) is not None:
        return _FOREIGN_FOLLOW_UP.format(question=question.text)
    kind = question_kind(question)
    analysed = analyse(answer)
    meaning = understand(question, analysed)
    if meaning.dont_know:
        return _SCAFFOLDS[kind]
    if meaning.asserted:
        misconception, sentence = meaning.asserted[0]
        return _challenge(misconception, sentence, answer)
    if meaning.says_nothing:
        return _redirect(question, meaning)
    quote = _quotable_phrase(answer)
    if quote is None:
        if _reveals(question.follow_up, question, meaning.missed, answer):
            return _OPEN_PROMPTS[kind]
        return question.follow_up
    if _is_strong(scores) and not meaning.missed:
        return _DEEPER_PROBES[kind].format(quote=quote)
    if _value_of(scores, "coverage") <= 2 and meaning.missed:
        element = star_element(meaning.missed[0]) if question.track == "behavioral" else None
        if element is not None:
            lead_in = _STAR_LEAD_INS[_stable_index(answer, len(_STAR_LEAD_INS))]
            return f"{lead_in.format(quote=quote)} {_STAR_PROBES[element]}"
        template = _STEER_TEMPLATES[_stable_index(answer, len(_STEER_TEMPLATES))]
        return template.format(quote=quote)
    if _is_strong(scores):
        return _DEEPER_PROBES[kind].format(quote=quote)
    templates = _PROBE_TEMPLATES[kind]
    return templates[_stable_index(answer, len(templates))].format(quote=quote)


# ---------------------------------------------------------------------------- the reply

_CLARIFYING = _cues(
    "do you mean|did you mean|could you clarify|can you clarify|could you repeat|can you repeat"
    "|could you rephrase|can you rephrase|what do you mean|when you say|are you asking"
    "|should i assume|can i assume|may i assume|is this about|just to clarify|to clarify"
    "|which one|what kind of|how much detail|do you want me to"
)
_CLARIFYING_MAX_WORDS = 30
# A short reply that is itself a question ("Is this for a mobile app?"); a tentative answer
# ("Maybe a cache?") is not one.
_QUESTION_START = re.compile(
    r"(?:sorry,?\s+)?(?:what|which|who|when|where|do|does|did|should|can|could|would|is|are"
    r"|may|shall|am)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ReplyAssessment:
    """What the reply was, and the interviewer's private reading of it."""

    reply: ReplyKind
    incorrect_statements: tuple[str, ...]
    notes: str
    follow_up_focus: str | None


def assess_reply(
    question: BankQuestion, answer: str, scores: Sequence[CriterionScore]
) -> ReplyAssessment:
    """Classify the reply (an answer, a clarifying question, "I don't know", off topic) and
    note what a follow-up should probe: a wrong claim first, then "we" without "I", then the
    first key point missed."""
    analysed = analyse(answer)
    text = answer.strip()
    asks_back = text.endswith("?") and _QUESTION_START.match(text) is not None
    if (
        text
        and analysed.words <= _CLARIFYING_MAX_WORDS
        and "?" in text
        and (_CLARIFYING.search(analysed.cue_text) or asks_back)
    ):
        return ReplyAssessment(
            "clarification", (), "The candidate asked a clarifying question.", None
        )
    meaning = understand(question, analysed)
    wrong = tuple(dict.fromkeys(m.claim for m, _ in meaning.asserted))
    if meaning.dont_know:
        return ReplyAssessment(
            "dont_know", wrong, "The candidate said they do not know.", "a smaller first step"
        )
    if meaning.off_topic:
        return ReplyAssessment(
            "off_topic", wrong, "The answer did not address the question.", question.text
        )
    focus: str | None = None
    notes: list[str] = []
    if wrong:
        focus = f'the wrong claim "{wrong[0].rstrip(".")}"'
        notes.append(f"States something incorrect: {wrong[0]}")
    elif says_we_not_i(answer):
        focus = PERSONAL_ROLE_FOCUS
        notes.append('Describes the work as "we" only.')
    elif meaning.missed:
        focus = f"the missing point: {meaning.missed[0].point}"
    if meaning.missed:
        notes.append("Missed: " + "; ".join(p.point for p in meaning.missed))
    low = [c.criterion for c in scores if c.value <= 2]
    if low:
        notes.append("Weak on " + ", ".join(low) + ".")
    return ReplyAssessment("answer", wrong, " ".join(notes), focus)
