"""The overall score's one rule, the report's per-question breakdown, and the words around
an unanswered question."""

from __future__ import annotations

from server.llm.base import InterviewBrief, TurnRecord, TurnRequest
from server.llm.offline.interviewer import OfflineInterviewer
from server.llm.offline.scoring import clause_cut
from server.llm.overall import TurnResult, overall, question_results


def test_follow_ups_refine_their_question_instead_of_counting_as_questions() -> None:
    turns = [
        TurnResult("question", True, [4, 4, 4, 4]),
        TurnResult("follow_up", True, [2, 2, 2, 2]),
        TurnResult("question", False, []),  # skipped: 1.0
        TurnResult("question", True, [5, 5, 5, 5]),
        TurnResult("follow_up", True, []),  # could not be scored: not counted
    ]
    results = question_results(turns)
    assert [(r.number, r.follow_ups, r.answered, r.unanswered) for r in results] == [
        (1, 1, 2, 0),
        (2, 0, 0, 1),
        (3, 1, 2, 0),
    ]
    assert [r.score for r in results] == [3.0, 1.0, 5.0]
    assert overall(results) == 3.0  # (3 + 1 + 5) / 3
    # Counted as questions of their own, a weak follow-up would weigh twice: (5 + 1 + 5) / 3.
    weak_follow_up = question_results(
        [
            TurnResult("question", True, [5] * 4),
            TurnResult("follow_up", True, [1] * 4),
            TurnResult("question", True, [5] * 4),
        ]
    )
    assert overall(weak_follow_up) == 4.0
    assert overall(question_results([TurnResult("question", True, [])])) is None


def test_quotes_are_cut_where_a_clause_ends_never_mid_phrase() -> None:
    sentence = (
        "Over two quarters our weekly active users grew by forty percent, mostly from the "
        "referral programme we launched in March, and churn fell to three percent"
    )
    cut = clause_cut(sentence, 100)
    assert sentence.startswith(cut)
    assert cut.endswith("forty percent")
    assert not cut.endswith("grew by")
    assert clause_cut("short enough", 100) == "short enough"
    # No clause boundary: a word boundary, still a prefix.
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa"
    assert clause_cut(words, 20) == "alpha beta gamma"


def _record(outcome: str, answer: str | None) -> TurnRecord:
    return TurnRecord(
        index=0,
        kind="question",
        question_id=None,
        question="Tell me about a system you built.",
        answer=answer,
        outcome=outcome,  # type: ignore[arg-type]
    )


def test_the_interviewer_does_not_thank_anyone_for_an_answer_never_sent() -> None:
    interviewer = OfflineInterviewer(pace_ms=0)
    brief = InterviewBrief(
        interview_id="i",
        track="backend",
        level="mid",
        topics=(),
        question_count=3,
        job_description="",
        resume_text="",
    )
    request = TurnRequest(
        index=1, kind="question", question_number=2, question_id=None, is_first=False
    )
    timed_out = interviewer.turn_text(brief, [_record("timed_out", None)], request, None)
    assert timed_out.startswith("We're out of time on that one")
    assert "Thank" not in timed_out and "helpful" not in timed_out
    skipped = interviewer.turn_text(brief, [_record("skipped", None)], request, None)
    assert skipped.startswith("No problem")
    answered = interviewer.turn_text(brief, [_record("answered", "We sharded it.")], request, None)
    assert "out of time" not in answered
