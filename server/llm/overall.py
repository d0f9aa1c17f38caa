"""The overall score: one rule, whichever interviewer ran the interview, shown with its parts.

A main question and its follow-ups are one question. Each turn counts as the mean of its
criterion scores when it was answered and scored, as 1.0 when it was skipped or timed out
with nothing said, and not at all when its answer could not be scored. A question's score
is the mean of its turns; the overall score is the mean of the questions' scores, rounded
to one decimal. So a follow-up refines its question instead of weighing as a question of
its own, and a weak answer is not counted twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

RULE = (
    "The mean of the questions' scores. A question's score is the mean of its answer and its "
    "follow-ups' answers (each the mean of its criterion scores); a question skipped or timed "
    "out with nothing said counts 1.0."
)
UNANSWERED = 1.0


@dataclass(frozen=True, slots=True)
class TurnResult:
    kind: str  # "question" or "follow_up"
    answered: bool  # a non-blank answer was given
    values: Sequence[int]  # its criterion scores (empty: not scored)


@dataclass(frozen=True, slots=True)
class QuestionResult:
    number: int  # 1-based main question
    follow_ups: int
    answered: int  # turns of this question with an answer (the question and its follow-ups)
    unanswered: int  # turns skipped or timed out with nothing said
    score: float | None  # None: nothing in it could be counted


def question_results(turns: Sequence[TurnResult]) -> list[QuestionResult]:
    groups: list[list[TurnResult]] = []
    for turn in turns:
        if turn.kind == "question" or not groups:
            groups.append([])
        groups[-1].append(turn)
    results = []
    for number, group in enumerate(groups, start=1):
        counted = [
            sum(t.values) / len(t.values) if t.answered else UNANSWERED
            for t in group
            if not t.answered or t.values
        ]
        results.append(
            QuestionResult(
                number=number,
                follow_ups=sum(1 for t in group if t.kind == "follow_up"),
                answered=sum(1 for t in group if t.answered),
                unanswered=sum(1 for t in group if not t.answered),
                score=round(sum(counted) / len(counted), 2) if counted else None,
            )
        )
    return results


def overall(results: Sequence[QuestionResult]) -> float | None:
    scores = [r.score for r in results if r.score is not None]
    if not scores:
        return None
    return round(min(5.0, max(1.0, sum(scores) / len(scores))), 1)
