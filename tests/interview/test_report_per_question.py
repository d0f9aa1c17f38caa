"""The report over REST, question by question: follow-ups folded in, what a strong answer
covers and drills, and nothing of the rubric before the report exists."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI

from server.interview import records
from server.llm.base import QuestionRubric
from server.llm.offline.bank import FileQuestionSource
from server.store.models import (
    AnswerSource,
    InterviewPlan,
    Report,
    Score,
    Turn,
    TurnKind,
    TurnOutcome,
)
from tests.conftest import bearer, register

SPEC = {"track": "backend", "level": "junior", "question_count": 2}
INDEX_QUESTION = "backend-junior-03"  # "What is a database index ...?"
HTTP_QUESTION = "backend-junior-02"


def _bank_question(question_id: str) -> dict[str, object]:
    bank = FileQuestionSource().bank["backend"]
    return next(q for q in bank if q.id == question_id).as_dict()


async def _record(app: FastAPI, interview_id: str, *, with_report: bool) -> None:
    """Question 1 answered with coverage 2 and a skipped follow-up; question 2 answered well
    and never followed up."""
    start = datetime.now(UTC)
    turns = [
        (TurnKind.question, "What is an index?", "An index is a sorted B-tree lookup.", 2),
        (TurnKind.follow_up, "How do you check it is used?", None, None),
        (TurnKind.question, "What do the HTTP methods mean?", "GET reads, POST creates.", 4),
    ]
    async with app.state.services.sessionmaker() as db:
        iid = uuid.UUID(interview_id)
        db.add(
            InterviewPlan(
                interview_id=iid,
                questions=[_bank_question(INDEX_QUESTION), _bank_question(HTTP_QUESTION)],
            )
        )
        for index, (kind, question, answer, value) in enumerate(turns):
            turn = Turn(
                interview_id=iid,
                index=index,
                kind=kind,
                question=question,
                answer=answer,
                answer_source=AnswerSource.typed if answer else None,
                outcome=TurnOutcome.answered if answer else TurnOutcome.skipped,
                asked_at=start + timedelta(seconds=index),
                answered_at=start + timedelta(seconds=index + 20),
            )
            db.add(turn)
            await db.flush()
            for criterion in ("coverage", "structure", "specificity", "clarity") if value else ():
                db.add(
                    Score(
                        turn_id=turn.id,
                        criterion=criterion,
                        value=value,
                        evidence=answer or "",
                        suggestion=f"Add more {criterion}.",
                        rubric_version="1",
                    )
                )
        if with_report:
            db.add(
                Report(
                    interview_id=iid,
                    overall_score=2.5,
                    strengths=["Clear"],
                    weaknesses=["Few points"],
                    next_steps=["One", "Two", "Three"],
                    rubric_version="1",
                    provider="offline",
                )
            )
        await db.commit()


async def test_the_report_shows_each_main_question_with_its_follow_ups_rubric_and_drills(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    session = await register(client)
    interview_id = (
        await client.post("/api/interviews", json=SPEC, headers=bearer(session))
    ).json()["id"]
    await _record(app, interview_id, with_report=True)

    report = (await client.get(f"/api/interviews/{interview_id}", headers=bearer(session))).json()[
        "report"
    ]

    first, second = report["questions"]
    assert (first["number"], first["question"], first["outcome"]) == (
        1,
        "What is an index?",
        "answered",
    )
    assert first["follow_up_turns"] == [
        {"question": "How do you check it is used?", "outcome": "skipped", "score": None}
    ]
    assert first["score"] == 1.5  # (2 + 1.0 for the skipped follow-up) / 2: one question
    assert second["follow_up_turns"] == [] and second["score"] == 4.0  # none asked: absent
    index_points = [p["point"] for p in _bank_question(INDEX_QUESTION)["points"]]  # type: ignore[union-attr]
    assert first["strong_answer"][: len(index_points)] == index_points
    assert first["pitfalls"] and first["pitfalls"][0].startswith("Indexes make every query")
    assert first["missed_points"] == [
        "Avoids full table scans on filtered columns",
        "Slower writes and extra storage",
        "Choosing which columns to index",
    ]
    # The first two missed points, then the weak criteria, at most four drills.
    assert [d["focus"] for d in first["drills"]] == ["point", "point", "structure", "specificity"]
    assert "Add more structure." in first["drills"][2]["text"]
    assert second["missed_points"] == [] and second["drills"] == []  # all criteria at 4

    link = (
        await client.post(f"/api/interviews/{interview_id}/share", headers=bearer(session))
    ).json()
    shared = (await client.get(f"/api/shared/{link['token']}")).json()
    assert shared["report"]["questions"] == report["questions"]


async def test_no_rubric_reaches_the_candidate_before_the_report_exists(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """A live interview's detail has no report, so none of its expected points."""
    session = await register(client)
    interview_id = (
        await client.post("/api/interviews", json=SPEC, headers=bearer(session))
    ).json()["id"]
    await _record(app, interview_id, with_report=False)

    response = await client.get(f"/api/interviews/{interview_id}", headers=bearer(session))

    assert response.json()["report"] is None
    assert "Slower writes and extra storage" not in response.text


async def test_the_rubrics_stored_with_the_interview_come_before_the_plans_snapshot(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """A question written for this interview (no bank id) shows its own rubric."""
    session = await register(client)
    interview_id = (
        await client.post("/api/interviews", json=SPEC, headers=bearer(session))
    ).json()["id"]
    await _record(app, interview_id, with_report=True)
    written = [
        QuestionRubric(1, None, "How would you index the orders table?", ("Composite index",), ()),
        QuestionRubric(2, None, "What do the methods mean?", ("Safe methods",), ("PUT is PATCH",)),
    ]
    await records.save_rubrics(app.state.services.sessionmaker, uuid.UUID(interview_id), written)

    report = (await client.get(f"/api/interviews/{interview_id}", headers=bearer(session))).json()[
        "report"
    ]

    assert [q["strong_answer"] for q in report["questions"]] == [
        ["Composite index"],
        ["Safe methods"],
    ]
    assert report["questions"][1]["pitfalls"] == ["PUT is PATCH"]
