"""The report per main question: follow-ups folded in, what a strong answer covers, drills."""

from __future__ import annotations

from server.llm.base import AnswerScore, CriterionScore, QuestionRubric, TurnRecord
from server.llm.question_report import question_reports

RUBRIC_1 = QuestionRubric(
    number=1,
    question_id="backend-junior-03",
    question="What is a database index?",
    expected_points=(
        "Index as a sorted lookup structure like a B-tree",
        "Slower writes and extra storage",
    ),
    pitfalls=("Indexes make every query faster, so index every column",),
)


def _score(coverage: int, structure: int, specificity: int, clarity: int) -> AnswerScore:
    values = {
        "coverage": coverage,
        "structure": structure,
        "specificity": specificity,
        "clarity": clarity,
    }
    return AnswerScore(
        criteria=tuple(
            CriterionScore(c, v, "quoted words", f"Improve the {c} of this answer.")
            for c, v in values.items()
        ),
        rubric_version="test",
        follow_up_worthy=False,
    )


def _turn(
    index: int,
    kind: str,
    answer: str | None,
    score: AnswerScore | None = None,
    outcome: str = "answered",
) -> TurnRecord:
    return TurnRecord(
        index=index,
        kind=kind,  # type: ignore[arg-type]
        question_id=None,
        question=f"Question text {index}?",
        answer=answer,
        outcome=outcome,  # type: ignore[arg-type]
        score=score,
    )


def test_follow_ups_fold_into_their_main_question_and_unasked_ones_are_absent() -> None:
    """Question 1 lists its one follow-up; question 2, which had none, lists none."""
    history = [
        _turn(0, "question", "An index is a B-tree for lookups.", _score(4, 4, 4, 4)),
        _turn(1, "follow_up", "It slows writes.", _score(2, 2, 2, 2)),
        _turn(2, "question", "A cache keeps hot data.", _score(3, 3, 3, 3)),
    ]

    first, second = question_reports(history, [RUBRIC_1])

    assert [f.question for f in first.follow_ups] == ["Question text 1?"]
    assert first.follow_ups[0].score == 2.0
    assert first.result.score == 3.0  # (4 + 2) / 2: the follow-up refines, not a question
    assert second.follow_ups == () and second.result.follow_ups == 0
    assert second.result.score == 3.0  # nothing invented for the follow-up never asked


def test_a_skipped_follow_up_weighs_within_its_question_not_as_a_question() -> None:
    """One question answered at 5 with a skipped follow-up: one question, not two."""
    history = [
        _turn(0, "question", "A full answer.", _score(5, 5, 5, 5)),
        _turn(1, "follow_up", None, outcome="skipped"),
    ]

    (only,) = question_reports(history, [])

    assert only.result.score == 3.0 and only.result.unanswered == 1
    assert only.follow_ups[0].outcome == "skipped" and only.follow_ups[0].score is None


def test_a_strong_answer_shows_the_rubric_and_missed_points_get_a_drill_each() -> None:
    """Coverage was short and the answer never spoke of writes or storage: that point is
    named as missed, with a drill that quotes it; the point it made is not."""
    history = [_turn(0, "question", "An index is a sorted B-tree lookup.", _score(2, 4, 4, 4))]

    (only,) = question_reports(history, [RUBRIC_1])

    assert only.strong_answer == RUBRIC_1.expected_points
    assert only.pitfalls == RUBRIC_1.pitfalls
    assert only.missed_points == ("Slower writes and extra storage",)
    assert [d.focus for d in only.drills] == ["point"]
    assert '"Slower writes and extra storage"' in only.drills[0].text


def test_each_weak_criterion_gets_a_drill_with_the_scorers_advice() -> None:
    """Structure and clarity below 3: one drill each, carrying the scorer's suggestion;
    the strong criteria get none."""
    history = [_turn(0, "question", "An index is a sorted B-tree lookup.", _score(4, 2, 4, 1))]

    (only,) = question_reports(history, [RUBRIC_1])

    assert [d.focus for d in only.drills] == ["structure", "clarity"]
    assert only.drills[0].text.endswith("Improve the structure of this answer.")
    assert only.missed_points == ()  # coverage was strong: no point is second-guessed


def test_an_unanswered_question_gets_a_drill_to_answer_it() -> None:
    history = [_turn(0, "question", None, outcome="timed_out")]

    (only,) = question_reports(history, [RUBRIC_1])

    assert only.result.score == 1.0
    assert [d.focus for d in only.drills] == ["unanswered"]
    assert only.missed_points == ()


def test_a_behavioral_interview_drills_structure_in_star_order() -> None:
    history = [_turn(0, "question", "We shipped it.", _score(4, 1, 4, 4))]

    (only,) = question_reports(history, [], behavioral=True)

    assert "STAR" in only.drills[0].text
