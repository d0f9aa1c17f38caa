"""The offline end-of-interview report: the best answer, strengths and weaknesses with quotes
from the answers, and three next steps.

A main question and its follow-ups are one question, grouped and scored by the rule of
``server.llm.overall`` (the rule the engine applies to every report), so the report and the
overall score agree: a follow-up refines its question
instead of counting as an answer of its own. Sentences are built from
parts that fit every count ("your answer", "both answers", "2 of 3 answers"), so no template
can read "1 answers" or "had no a clear result".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from server.llm import overall
from server.llm.base import CRITERIA, CriterionScore, ReportDraft
from server.llm.offline.bank import BankQuestion
from server.llm.offline.meaning import analyse, question_kind
from server.llm.offline.scoring import (
    LONG_SENTENCE_WORDS,
    LONG_WORDS,
    RUBRIC_VERSION,
    SHORT_WORDS,
    SPECIFICITY_ORDER,
    Clarity,
    assess_clarity,
    assess_coverage,
    assess_specificity,
    assess_structure,
    clause_cut,
)

_STRENGTH_THRESHOLD = 3.5
_QUOTE_CHARS = 100  # about 16 words
_MIN_QUOTE_WORDS = 3
_QUOTE_TRAILING = " .,;:!?\u2026-\u2013\u2014"
_DANGLING = frozenset(
    "a an the and or but so to of in on at by for from with as is was are were be this that "
    "these those my our your their its we i you they it which who if than then".split()
)
# Shorter than base.TRACK_LABELS: they read inside a sentence ("two data and ML answers").
_REPORT_TRACK_LABELS = {
    "backend": "backend",
    "frontend": "frontend",
    "data_ml": "data and ML",
    "product": "product",
    "behavioral": "behavioral",
}
_STRENGTH_PHRASES = {
    "coverage": "You covered the key points well",
    "structure": "Your answers were well structured",
    "specificity": "You backed your answers with concrete detail",
    "clarity": "You expressed yourself clearly",
}
_CRITERION_LABELS = {
    "coverage": "coverage of the key points",
    "structure": "structure",
    "specificity": "specific detail",
    "clarity": "clarity",
}
# Why an answer was the best, by its best criterion; the coverage one counts points instead.
_BEST_BECAUSE = {
    "structure": "its reasoning was easy to follow from start to finish",
    "specificity": "it backed its points with concrete detail",
    "clarity": "it was clear and to the point",
}
# Each follows "lacked": a noun phrase with its own article, so none can read "no a".
_STRUCTURE_GAPS = {
    "situation": "a clear situation",
    "task": "a clear statement of your task",
    "action": "an account of what you personally did",
    "result": "a clear result",
    "sequencing": "clear steps such as first, then and finally",
    "reasoning": "the reasons behind your choices",
    "trade_offs": "the trade-offs you weighed",
    "examples": "an example to ground the point",
    "layout": "a closing summary",
}
_SPECIFICITY_GAPS = {
    "quantity": "numbers or measured results",
    "action": "a clear account of what you personally did",
    "named": "the names of the tools or systems involved",
    "example": "a real example from your own work",
}


@dataclass(frozen=True)
class _Turn:
    kind: str
    answer: str  # "" when nothing was said
    scores: tuple[CriterionScore, ...]


@dataclass(frozen=True)
class _Question:
    """A main question with its follow-ups, as the overall score counts it."""

    number: int
    question: BankQuestion | None
    turns: tuple[_Turn, ...]
    score: float | None  # as overall.QuestionResult.score

    @property
    def scored(self) -> list[_Turn]:
        return [t for t in self.turns if t.answer.strip() and t.scores]

    @property
    def answered(self) -> bool:
        return any(t.answer.strip() for t in self.turns)

    @property
    def text(self) -> str:
        """Everything said for it, the follow-ups included: what its gaps are judged on."""
        return "\n".join(t.answer for t in self.scored)

    def mean(self, criterion: str) -> float | None:
        values = [s.value for t in self.scored for s in t.scores if s.criterion == criterion]
        return sum(values) / len(values) if values else None

    def name(self) -> str:
        topic = _topic(self.question)
        return f"question {self.number} ({topic})" if topic else f"question {self.number}"


# ---------------------------------------------------------------------------- wording


def _noun(count: int, noun: str) -> str:
    return noun if count == 1 else noun + "s"


def _count(count: int, noun: str) -> str:
    """'1 answer', '2 answers'."""
    return f"{count} {_noun(count, noun)}"


def _share(part: int, total: int, noun: str) -> str:
    """'your answer', 'both answers', 'all 3 answers', '2 of 3 answers'."""
    if total == 1:
        return f"your {noun}"
    if part == total:
        return f"both {noun}s" if total == 2 else f"all {total} {noun}s"
    return f"{part} of {total} {noun}s"


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def _topic(question: BankQuestion | None) -> str:
    if question is None or not question.topics:
        return ""
    return " ".join(question.topics[0].replace("-", " ").replace("_", " ").split())


def _quote(evidence: str) -> str | None:
    """A short quote from an answer, verbatim: cut at the first line break or double quote
    (a quote inside a quote would unbalance the sentence), then where a clause ends."""
    text = evidence.split("\n", 1)[0].split('"', 1)[0].strip()
    quote = clause_cut(text, _QUOTE_CHARS).rstrip(_QUOTE_TRAILING)
    if len(quote) < len(evidence.strip()):  # cut short: not on a word that leads on
        words = quote.split(" ")
        while len(words) > _MIN_QUOTE_WORDS and words[-1].lower() in _DANGLING:
            words.pop()
        quote = " ".join(words).rstrip(_QUOTE_TRAILING)
    return quote if len(quote.split()) >= _MIN_QUOTE_WORDS else None


def _quoted_points(points: Sequence[str]) -> str:
    return " and ".join(f'"{point.replace(chr(34), chr(39))}"' for point in points)


def _label(track: str) -> str:
    return _REPORT_TRACK_LABELS.get(track, track.replace("_", " "))


# ---------------------------------------------------------------------------- evidence


def _evidence(
    questions: Sequence[_Question], criterion: str, *, best: bool, used: set[str]
) -> str | None:
    """A quote from the answer that scored highest (or lowest) on ``criterion``, main answers
    before follow-ups when they tie, and none already quoted (added to ``used``). Praise
    quotes only answers that earned it on ``criterion``, criticism only ones that did not."""
    candidates = [
        (score.value, turn.kind != "question", score.evidence)
        for question in questions
        for turn in question.scored
        for score in turn.scores
        if score.criterion == criterion and (score.value >= 3) == best
    ]
    ranked = sorted(candidates, key=lambda c: (-c[0] if best else c[0], c[1]))
    for _, _, evidence in ranked:
        quote = _quote(evidence)
        if quote is not None and quote not in used:
            used.add(quote)
            return quote
    return None


def _missed_points(questions: Sequence[_Question]) -> list[str]:
    """Key points left out, most often first (a follow-up that covered one counts)."""
    counts: Counter[str] = Counter()
    for question in questions:
        if question.question is not None:
            missed = assess_coverage(question.question, analyse(question.text)).missed
            counts.update(point.point for point in missed)
    return [point for point, _ in counts.most_common()]


def _dominant_clarity_issue(clarities: Sequence[Clarity]) -> tuple[str, int]:
    """The most common clarity problem and how many answers had it, or ("none", 0)."""
    issues = Counter(clarity.issue for clarity in clarities if clarity.issue != "none")
    return issues.most_common(1)[0] if issues else ("none", 0)


# ---------------------------------------------------------------------------- the report


def build_report(
    turns: Sequence[tuple[BankQuestion | None, str | None, Sequence[CriterionScore]]],
    *,
    track: str,
    kinds: Sequence[str] = (),
) -> ReportDraft:
    """Summarise an interview into an overall score, strengths, weaknesses and 3 next steps.

    ``kinds`` gives each turn's kind ("question" or "follow_up"); without it every turn is a
    main question. A follow-up belongs to the main question before it. The overall score is
    ``server.llm.overall``'s: a blank or missing answer counts 1.0, an answer without
    scores is not counted, a question is the mean of its turns.
    """
    kind_of = list(kinds) + ["question"] * (len(turns) - len(kinds))
    grouped: list[tuple[BankQuestion | None, list[_Turn]]] = []
    for (question, answer, scores), kind in zip(turns, kind_of, strict=False):
        turn = _Turn(kind, answer or "", tuple(scores))
        if kind == "question" or not grouped:
            grouped.append((question, []))
        grouped[-1][1].append(turn)
    questions = [
        _Question(number, question, tuple(group), _results(group)[0].score)
        for number, (question, group) in enumerate(grouped, start=1)
    ]
    scored = [q for q in questions if q.scored]
    if not scored:
        return _nothing_to_assess(track, questions)
    overall_score = overall.overall(_results([t for q in questions for t in q.turns]))
    assert overall_score is not None  # a question was scored

    means: dict[str, float] = {}
    for criterion in CRITERIA:
        values = [m for q in scored if (m := q.mean(criterion)) is not None]
        if values:
            means[criterion] = sum(values) / len(values)
    strongest_first = sorted(means, key=lambda c: (-means[c], CRITERIA.index(c)))
    used: set[str] = set()  # every quote appears once in the report
    return ReportDraft(
        overall_score=overall_score,
        strengths=_strengths(strongest_first, means, questions, scored, used),
        weaknesses=_weaknesses(strongest_first, means, questions, scored, track, used),
        next_steps=_next_steps(strongest_first[::-1], means, questions, scored, track),
        rubric_version=RUBRIC_VERSION,
    )


def _results(turns: Sequence[_Turn]) -> list[overall.QuestionResult]:
    return overall.question_results(
        [
            overall.TurnResult(t.kind, bool(t.answer.strip()), [s.value for s in t.scores])
            for t in turns
        ]
    )


def _nothing_to_assess(track: str, questions: Sequence[_Question]) -> ReportDraft:
    label = _label(track)
    total = len(questions)
    if any(q.answered for q in questions):
        reason = "None of your answers could be scored, so there is nothing to assess yet"
    elif total == 0:
        reason = "No answers were given in this interview, so there is nothing to assess yet"
    else:
        which = {1: "the one question", 2: "either question"}.get(
            total, f"any of the {total} questions"
        )
        reason = f"No answers were given to {which}, so there is nothing to assess yet"
    return ReportDraft(
        overall_score=1.0,
        strengths=[],
        weaknesses=[f"{reason}; the score reflects that, not your ability."],
        next_steps=[
            f"Start with one {label} question and answer it out loud in about two minutes, "
            "even if the answer is incomplete.",
            "Write down three projects or experiences you could draw examples from before "
            "your next session.",
            f"Take another {label} mock interview and aim to answer every question: answer "
            "first, then your reasons, then one example.",
        ],
        rubric_version=RUBRIC_VERSION,
    )


def _best_answer(scored: Sequence[_Question], used: set[str]) -> str:
    """Which answer was the best, at what score, why, and its words that show it."""
    best = max(scored, key=lambda q: (q.score or 0.0, -q.number))
    question_means = {c: m for c in CRITERIA if (m := best.mean(c)) is not None}
    criterion = max(question_means, key=lambda c: (question_means[c], -CRITERIA.index(c)))
    if criterion == "coverage" and best.question is not None and best.question.points:
        missed = assess_coverage(best.question, analyse(best.text)).missed
        total = len(best.question.points)
        covered = total - len(missed)
        because = f"it covered {'all ' if covered == total else f'{covered} of '}{total} key points"
    elif criterion == "coverage":
        because = "it covered what the question was looking for"
    else:
        because = _BEST_BECAUSE[criterion]
    quote = _evidence([best], criterion, best=True, used=used)
    if question_means[criterion] < 3:
        because = f"its {_CRITERION_LABELS[criterion]} was its strongest side"
    example = f', as in "{quote}"' if quote else ""
    score = f"{best.score:.1f} of 5" if best.score is not None else "unscored"
    if len(scored) == 1:
        return f"Your answer to {best.name()} scored {score}: {because}{example}."
    return f"Your best answer was to {best.name()}, at {score}: {because}{example}."


def _strengths(
    strongest_first: Sequence[str],
    means: dict[str, float],
    questions: Sequence[_Question],
    scored: Sequence[_Question],
    used: set[str],
) -> list[str]:
    strengths = [_best_answer(scored, used)]
    for criterion in strongest_first:
        if means[criterion] < _STRENGTH_THRESHOLD or len(strengths) == 3:
            break
        quote = _evidence(questions, criterion, best=True, used=used)
        example = f', for example "{quote}"' if quote else ""
        strengths.append(
            f"{_STRENGTH_PHRASES[criterion]} ({means[criterion]:.1f} of 5 on average){example}."
        )
    return strengths


def _weaknesses(
    strongest_first: Sequence[str],
    means: dict[str, float],
    questions: Sequence[_Question],
    scored: Sequence[_Question],
    track: str,
    used: set[str],
) -> list[str]:
    weaknesses: list[str] = []
    total = len(questions)
    answered = sum(1 for q in questions if q.answered)
    if answered < total:
        missing = total - answered
        counted = "that one counts" if missing == 1 else "each of those counts"
        weaknesses.append(
            f"You answered {answered} of {total} main questions: you skipped or ran out of time "
            f"on {missing} of {total}, and {counted} as 1.0 in the overall score."
        )
    follow_ups_missed = sum(
        1 for q in questions for t in q.turns if t.kind != "question" and not t.answer.strip()
    )
    if follow_ups_missed:
        each = "it counts" if follow_ups_missed == 1 else "each counts"
        weaknesses.append(
            f"You left {_count(follow_ups_missed, 'follow-up')} unanswered; {each} 1.0 "
            "within its question, which pulled that question's score down."
        )
    # The best criterion is already named as a strength, even when it is below the threshold.
    for criterion in list(reversed(strongest_first))[: len(strongest_first) - 1]:
        if means[criterion] < _STRENGTH_THRESHOLD:
            weaknesses.append(
                _weakness(criterion, means[criterion], questions, scored, track, used)
            )
    if not weaknesses and all(mean >= _STRENGTH_THRESHOLD for mean in means.values()):
        lowest = strongest_first[-1]
        weaknesses.append(
            f"No area scored below {_STRENGTH_THRESHOLD} of 5; {_CRITERION_LABELS[lowest]} at "
            f"{means[lowest]:.1f} has the most room to grow."
        )
    return weaknesses[:3]


def _weakness(
    criterion: str,
    mean: float,
    questions: Sequence[_Question],
    scored: Sequence[_Question],
    track: str,
    used: set[str],
) -> str:
    lead = f"{_CRITERION_LABELS[criterion].capitalize()} averaged {mean:.1f} of 5"
    quote = _evidence(questions, criterion, best=False, used=used)
    said = f' (you said "{quote}")' if quote else ""
    analysed = [(analyse(q.text), _kind(q)) for q in scored]
    total = len(scored)
    if criterion == "coverage":
        missed = _missed_points(scored)[:2]
        if missed:
            whose = "your answer" if total == 1 else "your answers"
            return f"{lead}; {whose} missed points such as {_quoted_points(missed)}."
        return f"{lead}; some of what the questions were looking for was left out{said}."
    if criterion == "structure":
        behavioral = track == "behavioral"
        structures = [
            assess_structure(answer, behavioral=behavioral, kind=kind) for answer, kind in analysed
        ]
        gaps = Counter(structure.missing[0] for structure in structures if structure.missing)
        if gaps:
            gap, affected = gaps.most_common(1)[0]
            return (
                f"{lead}; {_share(affected, total, 'answer')} lacked {_STRUCTURE_GAPS[gap]}{said}."
            )
        return f"{lead}; some answers were too short to show how your reasoning fits together."
    if criterion == "specificity":
        kinds = Counter(
            gap
            for answer, kind in analysed
            for gap in assess_specificity(answer, kind=kind).missing
        )
        if kinds:
            kind = min(kinds, key=lambda k: (-kinds[k], SPECIFICITY_ORDER.index(k)))
            share = _share(kinds[kind], total, "answer")
            return f"{lead}; {share} lacked {_SPECIFICITY_GAPS[kind]}{said}."
        return f"{lead}; the details were there but their impact was not always clear{said}."
    clarities = [assess_clarity(answer) for answer, _ in analysed]
    issue, affected = _dominant_clarity_issue(clarities)
    if issue == "short":
        share = _share(affected, total, "answer")
        return f"{lead}; {share} came in under {SHORT_WORDS} words{said}."
    if issue == "filler":
        fillers = Counter(clarity.top_filler for clarity in clarities if clarity.top_filler)
        count = sum(clarity.filler_count for clarity in clarities)
        top = fillers.most_common(1)[0][0]
        return f'{lead}; filler words such as "{top}" came up {_times(count)}.'
    if issue == "long_sentences":
        return f"{lead}; sentences often ran past {LONG_SENTENCE_WORDS} words{said}."
    if issue == "long":
        return f"{lead}; {_share(affected, total, 'answer')} ran past {LONG_WORDS} words."
    return f"{lead}; your answers could lead more directly with the main point{said}."


def _kind(question: _Question) -> str:
    """What the rubric may demand of the question's answer, as scoring judged it."""
    return question_kind(question.question) if question.question is not None else "design"


def _practice_step(criterion: str, scored: Sequence[_Question], track: str) -> str:
    label = _label(track)
    if criterion == "coverage":
        missed = _missed_points(scored)[:2]
        if missed:
            return (
                f"Practise two {label} answers that explicitly cover {_quoted_points(missed)}, "
                "saying one clear sentence about each."
            )
        return (
            "Before each answer, jot down the three or four areas the question touches and "
            f"check them off as you speak; practise this on two {label} questions."
        )
    if criterion == "structure":
        if track == "behavioral":
            return (
                "Rehearse two stories from your own work in STAR order: a short situation and "
                "task, most of the time on your own actions, then a measured result and what "
                "you learned."
            )
        return (
            f"Answer three {label} questions aloud using the pattern headline, steps, "
            "trade-off, summary, and keep each to about two minutes."
        )
    if criterion == "specificity":
        return (
            "Write down three numbers from your recent work, such as a latency, a cost, a "
            "deadline or a percentage, and use one in each of your next practice answers."
        )
    issue, _ = _dominant_clarity_issue([assess_clarity(analyse(q.text)) for q in scored])
    if issue == "short":
        return (
            f"Practise two {label} answers of four to six sentences each: your answer, two "
            "reasons and one example, in about ninety seconds."
        )
    if issue == "long":
        return (
            f"Answer two {label} questions against a two-minute timer and stop as soon as you "
            "have given your summary."
        )
    return (
        "Record yourself answering two questions, then replay the recording and cut filler "
        "words and any sentence longer than about 25 words."
    )


def _rework_step(scored: Sequence[_Question], track: str) -> str | None:
    """Redo the weakest answer with the fix its weakest score suggested."""
    weakest = min(scored, key=lambda q: (q.score or 0.0, q.number))
    if weakest.score is None or weakest.score >= 4.0 or len(scored) < 2:
        return None
    lowest = min(weakest.scored[0].scores, key=lambda s: (s.value, CRITERIA.index(s.criterion)))
    suggestion = lowest.suggestion.strip()
    if not suggestion or suggestion[-1] not in ".!?":
        return None
    if track == "behavioral":
        return (
            f"Retell your story for {weakest.name()}, which scored {weakest.score:.1f} of 5, "
            f"aloud in STAR order: situation, task, action, result. {suggestion}"
        )
    return (
        f"Rework your answer to {weakest.name()}, which scored {weakest.score:.1f} of 5, and "
        f"say it aloud again. {suggestion}"
    )


def _next_steps(
    weakest_first: Sequence[str],
    means: dict[str, float],
    questions: Sequence[_Question],
    scored: Sequence[_Question],
    track: str,
) -> list[str]:
    """Exactly three steps: answering everything (if something was skipped), the weakest
    criterion, the most-missed points, the weakest answer to rework, then the rest."""
    skipped = any(not q.answered for q in questions)
    answer_everything = (
        "Answer every question in your next session, even briefly: a partial answer scores "
        "better than a skipped one."
    )
    practise_again = (
        f"Take another {_label(track)} mock interview next week and compare your scores "
        "criterion by criterion.",
        "Pick the question you found hardest, write out a model answer, then say it aloud "
        "without notes.",
    )
    weak = [c for c in weakest_first if means[c] < _STRENGTH_THRESHOLD]
    missed_points = [_practice_step("coverage", scored, track)] if _missed_points(scored) else []
    rework = _rework_step(scored, track)
    candidates = [
        *([answer_everything] if skipped else []),
        *(_practice_step(criterion, scored, track) for criterion in weak[:1]),
        *missed_points,
        *([rework] if rework else []),
        *(_practice_step(criterion, scored, track) for criterion in weak[1:]),
        *practise_again,
        *(_practice_step(criterion, scored, track) for criterion in weakest_first),
        answer_everything,
    ]
    steps: list[str] = []
    for step in candidates:
        if step not in steps:
            steps.append(step)
    return steps[:3]
