"""The grader's checklist on hand-written transcripts: each rule broken once is flagged by
its own check, and a clean interview has nothing flagged."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tests.quality.checklist import Transcript, Turn, grade

GOOD = {"coverage": 4, "structure": 4, "specificity": 4, "clarity": 4}
POINTS = ["Index as a sorted lookup structure like a B-tree", "Slower writes and extra storage"]
QUESTION = "What is a database index, and what does adding one cost?"


def _report(overall: float, scores: list[float | None], **text: list[str]) -> dict[str, Any]:
    return {
        "overall_score": overall,
        "questions": [{"number": n, "score": s} for n, s in enumerate(scores, start=1)],
        "strengths": text.get("strengths", ["Clear."]),
        "weaknesses": text.get("weaknesses", ["Vague."]),
        "next_steps": text.get("next_steps", ["One.", "Two.", "Three."]),
    }


def _clean() -> Transcript:
    return Transcript(
        turns=[
            Turn(
                0,
                "question",
                1,
                f"Hello. {QUESTION}",
                "A B-tree index speeds reads.",
                "strong",
                GOOD,
            ),
            Turn(
                1,
                "follow_up",
                1,
                "You said it speeds reads: what happens to writes?",
                "Writes get slower.",
                "strong",
                GOOD,
            ),
        ],
        planned={1: QUESTION},
        expected_points={1: POINTS},
        report=_report(4.0, [4.0]),
    )


def _with_turn(transcript: Transcript, index: int, **changes: Any) -> Transcript:
    turns = list(transcript.turns)
    turns[index] = replace(turns[index], **changes)
    return replace(transcript, turns=turns)


def test_a_clean_interview_has_nothing_flagged() -> None:
    assert grade(_clean()).passed


def test_two_questions_in_one_turn_are_flagged() -> None:
    broken = _with_turn(_clean(), 0, spoken=f"{QUESTION} And why?")

    assert [f.turn for f in grade(broken).failed("one_question_per_turn")] == [0]


def test_an_expected_point_spoken_by_the_interviewer_is_flagged() -> None:
    broken = _with_turn(
        _clean(), 1, spoken="Think of an index as a sorted lookup structure like a B-tree: why?"
    )

    assert [f.turn for f in grade(broken).failed("no_leaked_answers")] == [1]


def test_an_expected_point_the_candidate_said_first_may_be_quoted_back() -> None:
    said = "An index is a sorted lookup structure like a B-tree, so reads are fast."
    quoted = _with_turn(_with_turn(_clean(), 0, answer=said), 1, spoken=f'You said "{said}" Why?')

    assert not grade(quoted).failed("no_leaked_answers")


def test_a_follow_up_off_the_answer_and_the_topic_is_flagged() -> None:
    broken = _with_turn(_clean(), 1, spoken="What is your favourite holiday destination?")

    assert [f.turn for f in grade(broken).failed("follow_up_on_point")] == [1]


def test_a_rewarded_wrong_claim_is_flagged() -> None:
    broken = _with_turn(_clean(), 0, intent="wrong", answer="Indexes make every query faster.")

    assert [f.turn for f in grade(broken).failed("wrong_claims_challenged")] == [0]
    challenged = _with_turn(broken, 0, scores={**GOOD, "coverage": 2})
    assert not grade(challenged).failed("wrong_claims_challenged")


def test_a_rewarded_non_answer_is_flagged() -> None:
    broken = _with_turn(_clean(), 0, intent="dont_know", answer="I don't know.")

    assert [f.turn for f in grade(broken).failed("non_answers_not_rewarded")] == [0]


def test_a_report_that_disagrees_with_the_scores_is_flagged() -> None:
    drifted = replace(_clean(), report=_report(4.6, [4.0]))
    invented = replace(_clean(), report=_report(4.0, [4.0], strengths=["You scored 4.7 of 5."]))
    honest = replace(_clean(), report=_report(4.0, [4.0], strengths=["You scored 4.0 of 5."]))

    assert grade(drifted).failed("report_consistent")
    assert grade(invented).failed("report_consistent")
    assert not grade(honest).failed("report_consistent")
