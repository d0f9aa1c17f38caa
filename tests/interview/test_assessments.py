"""What the scorer read in an answer, and the interview's rubrics, survive a reload from the
database (another process resuming the interview sees the same)."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI

from server.interview import records
from server.llm.base import AnswerScore, CriterionScore, QuestionRubric, TurnRecord
from tests.conftest import bearer, register


async def _interview(client: httpx.AsyncClient) -> uuid.UUID:
    session = await register(client)
    created = await client.post(
        "/api/interviews",
        json={"track": "backend", "level": "mid", "question_count": 2},
        headers=bearer(session),
    )
    assert created.status_code == 201, created.text
    return uuid.UUID(created.json()["id"])


async def test_a_scores_reading_survives_a_reload(app: FastAPI, client: httpx.AsyncClient) -> None:
    """Reply kind, incorrect statements, notes and follow-up focus come back as saved; a
    clarification (no criteria) comes back as one, not as an unscored answer."""
    interview_id = await _interview(client)
    sessionmaker = app.state.services.sessionmaker
    score = AnswerScore(
        criteria=(CriterionScore("coverage", 2, "quote", "Fix the claim."),),
        rubric_version="gemini-2",
        follow_up_worthy=True,
        reply="answer",
        incorrect_statements=("JWTs are encrypted",),
        notes="Confident but wrong on JWTs.",
        follow_up_focus='the wrong claim "JWTs are encrypted"',
    )
    clarification = AnswerScore((), "gemini-2", False, reply="clarification")
    for index, scored in enumerate((score, clarification)):
        record = TurnRecord(index, "question", None, "Q?", "A.", "answered", scored)
        await records.save_turn(
            sessionmaker, interview_id, record, source="typed", asked_ms=1, answered_ms=2
        )

    loaded = await records.load(sessionmaker, interview_id)

    assert loaded is not None
    assert [t.score for t in loaded.history] == [score, clarification]


async def test_the_first_plan_is_kept_and_a_second_one_gets_it_back(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Two runners planning at once: the first plan stored wins, and both go on with it."""
    interview_id = await _interview(client)
    sessionmaker = app.state.services.sessionmaker
    first = [
        QuestionRubric(1, None, "Q1?", ("p1",), ("m1",)),
        QuestionRubric(2, "b-2", "Q2?", ("p2",), ()),
    ]
    second = [QuestionRubric(1, None, "Other?", ("x",), ())]

    assert list(await records.save_rubrics(sessionmaker, interview_id, first)) == first
    assert list(await records.save_rubrics(sessionmaker, interview_id, second)) == first
    loaded = await records.load(sessionmaker, interview_id)
    assert loaded is not None and list(loaded.facts.rubrics) == first
