"""The report per main question: its score by the overall rule with its follow-ups folded in,
what a strong answer covers (the question's private rubric) and a drill per weakness.

Computed in code from the scored turns and the rubrics, whichever interviewer ran the
interview, so it always agrees with the scores. A follow-up that was never asked is simply
absent: it is neither a zero nor counted. The rubric is private until the interview is over:
callers build this only for a finished interview's report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from server.llm import overall
from server.llm.base import CRITERIA, CriterionScore, QuestionRubric, TurnRecord
from server.llm.offline.meaning import content_stems, words_of

WEAK_BELOW = 3.0  # a criterion whose mean within a question is below this gets a drill
COVERED_SHARE = 0.5  # a point counts as covered when the answers use half its content words
MAX_DRILLS = 4
MAX_MISSED_DRILLS = 2
# Longer expected points are model-answer sentences: shown, never judged word by word.
MAX_POINT_WORDS = 12


@dataclass(frozen=True, slots=True)
class FollowUpResult:
    """A follow-up that was asked, as it went."""

    question: str
    outcome: str  # answered | skipped | timed_out
    score: float | None  # the mean of its criterion scores; None: not scored


@dataclass(frozen=True, slots=True)
class Drill:
    """One concrete practice exercise for one weakness."""

    focus: str  # a criterion, "point" (a missed expected point) or "unanswered"
    text: str


@dataclass(frozen=True, slots=True)
class QuestionReport:
    number: int  # 1-based main question
    question: str  # as the interviewer asked it
    outcome: str  # of the main question's own turn
    result: overall.QuestionResult  # its score and counts, as the overall score counts it
    follow_ups: tuple[FollowUpResult, ...]
    strong_answer: tuple[str, ...]  # the rubric's expected points
    pitfalls: tuple[str, ...]
    missed_points: tuple[str, ...]  # expected points the answers left out
    drills: tuple[Drill, ...]


def question_reports(
    history: Sequence[TurnRecord],
    rubrics: Sequence[QuestionRubric],
    *,
    behavioral: bool = False,
) -> list[QuestionReport]:
    """One entry per main question asked, in order; ``rubrics`` are matched by number (a
    question without one gets no strong answer and no missed-point drills)."""
    grouped = by_question(history)
    by_number = {r.number: r for r in rubrics}
    reports = []
    for result, group in grouped:
        rubric = by_number.get(result.number)
        points = rubric.expected_points if rubric else ()
        scored = [t for t in group if _answered(t) and t.score and t.score.criteria]
        missed = _missed_points(points, scored)
        reports.append(
            QuestionReport(
                number=result.number,
                question=group[0].question,
                outcome=group[0].outcome,
                result=result,
                follow_ups=tuple(
                    FollowUpResult(
                        question=t.question,
                        outcome=t.outcome,
                        score=t.score.average if _answered(t) and t.score else None,
                    )
                    for t in group
                    if t.kind == "follow_up"
                ),
                strong_answer=points,
                pitfalls=rubric.pitfalls if rubric else (),
                missed_points=missed,
                drills=_drills(result.number, scored, missed, behavioral=behavioral),
            )
        )
    return reports


def by_question(
    history: Sequence[TurnRecord],
) -> list[tuple[overall.QuestionResult, list[TurnRecord]]]:
    """The turns grouped by main question (a follow-up joins the question before it), each
    group with its result by the overall rule."""
    groups: list[list[TurnRecord]] = []
    for turn in history:
        if turn.kind == "question" or not groups:
            groups.append([])
        groups[-1].append(turn)
    results = overall.question_results(
        [
            overall.TurnResult(
                kind=t.kind,
                answered=_answered(t),
                values=[c.value for c in t.score.criteria] if t.score else [],
            )
            for t in history
        ]
    )
    return list(zip(results, groups, strict=True))


def _answered(turn: TurnRecord) -> bool:
    return bool(turn.answer and turn.answer.strip())


def _missed_points(points: Sequence[str], scored: Sequence[TurnRecord]) -> tuple[str, ...]:
    """The expected points the question's answers did not make, judged only when the scorer
    found coverage short (below 4): a point whose content words the answers mostly lack."""
    if not points or not scored:
        return ()
    coverage = _mean(scored, "coverage")
    if coverage is None or coverage >= 4:
        return ()
    said = set(content_stems(words_of(" ".join(t.answer or "" for t in scored))))
    missed = []
    for point in points:
        if len(point.split()) > MAX_POINT_WORDS:
            continue
        wanted = set(content_stems(words_of(point)))
        if wanted and len(wanted & said) < COVERED_SHARE * len(wanted):
            missed.append(point)
    return tuple(missed)


def _mean(turns: Sequence[TurnRecord], criterion: str) -> float | None:
    values = [
        c.value for t in turns if t.score for c in t.score.criteria if c.criterion == criterion
    ]
    return sum(values) / len(values) if values else None


def _lowest(turns: Sequence[TurnRecord], criterion: str) -> CriterionScore | None:
    found = [c for t in turns if t.score for c in t.score.criteria if c.criterion == criterion]
    return min(found, key=lambda c: c.value) if found else None


def _drills(
    number: int, scored: Sequence[TurnRecord], missed: Sequence[str], *, behavioral: bool
) -> tuple[Drill, ...]:
    """A drill per missed point (the first two) and per weak criterion, at most four."""
    if not scored:
        return (
            Drill(
                "unanswered",
                f"Answer question {number} aloud in about two minutes, even partially: start "
                "from the points a strong answer covers, one sentence on each.",
            ),
        )
    drills = [
        Drill(
            "point",
            f'Explain "{point}" aloud in two or three sentences with one example, then answer '
            f"question {number} again with it included.",
        )
        for point in missed[:MAX_MISSED_DRILLS]
    ]
    for criterion in CRITERIA:
        mean = _mean(scored, criterion)
        if mean is None or mean >= WEAK_BELOW or (criterion == "coverage" and missed):
            continue
        lowest = _lowest(scored, criterion)
        note = lowest.suggestion.strip() if lowest else ""
        hint = f" {note}" if note and note[-1] in ".!?" else ""
        drills.append(Drill(criterion, _criterion_drill(criterion, number, behavioral) + hint))
    return tuple(drills[:MAX_DRILLS])


def _criterion_drill(criterion: str, number: int, behavioral: bool) -> str:
    if criterion == "coverage":
        return (
            f"List what a strong answer to question {number} covers, then answer it again "
            "aloud in two minutes and tick off each point as you make it."
        )
    if criterion == "structure":
        if behavioral:
            return (
                f"Retell your story for question {number} in STAR order: one sentence each on "
                "the situation and your task, most of the time on what you did, then the "
                "measured result."
            )
        return (
            f"Answer question {number} again aloud in four parts: your answer in one "
            "sentence, the steps, one trade-off, and a one-line summary."
        )
    if criterion == "specificity":
        return (
            f"Answer question {number} again with one real example from your own work: name "
            "the tool or system and give one number (a latency, a size, a cost or a date)."
        )
    return (
        f"Record your answer to question {number} in under ninety seconds, leading with the "
        "main point; replay it and cut filler words and any sentence over about 25 words."
    )
