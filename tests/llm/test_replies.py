"""Reading a reply: its kind, wrong claims, "we" answers and the follow-up they lead to
(the offline rules, and the provider-neutral rules every interviewer shares)."""

from __future__ import annotations

import pytest

from server.llm.base import (
    PERSONAL_ROLE_FOCUS,
    AnswerScore,
    CriterionScore,
    InterviewBrief,
    TurnRecord,
    TurnRequest,
    cap_coverage,
    says_we_not_i,
)
from server.llm.offline.interviewer import PERSONAL_ROLE_QUESTION, OfflineInterviewer

BRIEF = InterviewBrief("00000000-0000-0000-0000-000000000001", "backend", "mid", (), "", "", 2)
ON_TOPIC_WE = (
    "We moved from server-side sessions to short-lived JWTs signed with rotated keys, because "
    "our services needed to verify tokens without a database lookup; we kept refresh tokens in "
    "an httpOnly cookie so revocation stayed possible."
)


async def _score(answer: str, kind: str = "question") -> tuple[OfflineInterviewer, AnswerScore]:
    offline = OfflineInterviewer(pace_ms=0)
    rubric = (await offline.plan(BRIEF))[0]
    assert rubric.question_id == "backend-mid-11"  # sessions vs JWTs: the cases below fit it
    turn = TurnRecord(0, kind, rubric.question_id, rubric.question, answer, "answered")  # type: ignore[arg-type]
    return offline, await offline.score_answer(BRIEF, turn)


@pytest.mark.parametrize(
    ("answer", "reply"),
    [
        ("Do you mean for reads or for writes?", "clarification"),
        ("Sorry, could you clarify what kind of API you mean?", "clarification"),
        ("Is this for a public API or an internal one?", "clarification"),
        ("Maybe short-lived JWTs with refresh tokens, since sessions need a lookup?", "answer"),
        ("I don't know, sorry.", "dont_know"),
        (
            "I like cheese sandwiches with pickles and mustard on a sunny day at the beach.",
            "off_topic",
        ),
        (ON_TOPIC_WE, "answer"),
    ],
)
async def test_the_offline_rules_classify_each_reply(answer: str, reply: str) -> None:
    _, score = await _score(answer)
    assert score.reply == reply


async def test_a_known_misconception_is_an_incorrect_statement_that_caps_coverage() -> None:
    _, score = await _score("JWTs are encrypted, so you can put secrets in them, and I use them.")
    assert score.incorrect_statements == ("JWTs are encrypted, so you can put secrets in them",)
    assert score.criteria[0].criterion == "coverage" and score.criteria[0].value <= 2
    assert score.follow_up_focus and "JWTs are encrypted" in score.follow_up_focus


async def test_an_answer_told_as_we_is_followed_up_on_the_candidates_own_part() -> None:
    offline, score = await _score(ON_TOPIC_WE)
    assert (score.follow_up_focus, score.follow_up_worthy) == (PERSONAL_ROLE_FOCUS, True)
    history = [TurnRecord(0, "question", "backend-mid-11", "Q", ON_TOPIC_WE, "answered", score)]
    turn = TurnRequest(1, "follow_up", 1, "backend-mid-11", False)
    words = [w async for w in offline.stream_turn(BRIEF, history, turn)]
    assert "".join(words) == PERSONAL_ROLE_QUESTION


async def test_a_follow_up_answer_may_earn_another_follow_up() -> None:
    """Nothing forces follow_up_worthy off on a follow-up: the engine's limit decides."""
    _, score = await _score("I don't know.", kind="follow_up")
    assert score.follow_up_worthy is True


def test_we_without_i_is_told_apart_from_an_answer_that_says_what_i_did() -> None:
    assert says_we_not_i("We shipped it and our latency halved.")
    assert says_we_not_i("We\u2019ve rebuilt it.")
    assert not says_we_not_i("We shipped it; I wrote the migration.")
    assert not says_we_not_i("I shipped it.")
    assert not says_we_not_i("The team shipped it.")
    assert not says_we_not_i("We would add an index, and we can cache the page.")


def test_coverage_is_capped_only_when_something_wrong_was_said() -> None:
    criteria = tuple(CriterionScore(c, 5, "", "") for c in ("coverage", "structure"))
    right = AnswerScore(criteria, "r", False)
    wrong = AnswerScore(criteria, "r", False, incorrect_statements=("a wrong claim",))
    assert cap_coverage(right) == right
    assert [c.value for c in cap_coverage(wrong).criteria] == [2, 5]
