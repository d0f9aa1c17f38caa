"""The interview resource over REST: create, list, read, delete, and what is refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from server.interview.schemas import MAX_JOB_DESCRIPTION_CHARS
from server.store.models import (
    AnswerSource,
    Interview,
    InterviewStatus,
    Report,
    Score,
    Turn,
    TurnKind,
    TurnOutcome,
)
from tests.conftest import bearer, register

SPEC = {
    "track": "frontend",
    "level": "senior",
    "topics": ["React", "performance", "react"],
    "job_description": "Lead the web platform team.",
    "resume_text": "Eight years of React and TypeScript.",
    "question_count": 6,
    "answer_time_limit_s": 240,
}


async def _interview_count(app: FastAPI, user_id: str) -> int:
    async with app.state.services.sessionmaker() as db:
        count = await db.scalar(
            select(func.count())
            .select_from(Interview)
            .where(Interview.owner_id == uuid.UUID(user_id))
        )
    return int(count or 0)


async def test_an_interview_is_created_listed_read_and_deleted(client: httpx.AsyncClient) -> None:
    session = await register(client)
    created = await client.post("/api/interviews", json=SPEC, headers=bearer(session))
    assert created.status_code == 201
    body = created.json()
    assert body["status"] == "created"
    assert body["topics"] == ["react", "performance"]  # normalised and de-duplicated
    assert (body["provider"], body["model"]) == ("offline", "offline-v1")
    assert body["question_count"] == 6 and body["answer_time_limit_s"] == 240

    listed = (await client.get("/api/interviews", headers=bearer(session))).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == body["id"]

    detail = await client.get(f"/api/interviews/{body['id']}", headers=bearer(session))
    assert detail.status_code == 200
    full = detail.json()
    assert full["job_description"] == SPEC["job_description"]
    assert full["resume_text"] == SPEC["resume_text"]
    assert full["turns"] == [] and full["report"] is None
    assert full["cost_usd"] == 0

    deleted = await client.delete(f"/api/interviews/{body['id']}", headers=bearer(session))
    assert deleted.status_code == 204
    gone = await client.get(f"/api/interviews/{body['id']}", headers=bearer(session))
    assert gone.status_code == 404
    assert (await client.get("/api/interviews", headers=bearer(session))).json()["total"] == 0


async def test_reading_an_interview_returns_its_transcript_scores_and_report(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """What the engine records (turns, scores, report) comes back in order over REST."""
    session = await register(client)
    interview_id = (
        await client.post("/api/interviews", json=SPEC, headers=bearer(session))
    ).json()["id"]
    start = datetime.now(UTC)
    async with app.state.services.sessionmaker() as db:
        iid = uuid.UUID(interview_id)
        for index in (1, 0):  # inserted out of order on purpose
            turn = Turn(
                interview_id=iid,
                index=index,
                kind=TurnKind.question if index == 0 else TurnKind.follow_up,
                question=f"Question {index}?",
                answer=f"Answer {index}.",
                answer_source=AnswerSource.typed,
                outcome=TurnOutcome.answered,
                asked_at=start + timedelta(seconds=index),
                answered_at=start + timedelta(seconds=index + 30),
            )
            db.add(turn)
            await db.flush()
            db.add(
                Score(
                    turn_id=turn.id,
                    criterion="clarity",
                    value=4,
                    evidence=f"Answer {index}",
                    suggestion="Lead with the outcome.",
                    rubric_version="1",
                )
            )
        db.add(
            Report(
                interview_id=iid,
                overall_score=3.5,
                strengths=["Clear"],
                weaknesses=["Few numbers"],
                next_steps=["Quantify results", "Practise STAR", "Name trade-offs"],
                rubric_version="1",
                provider="offline",
            )
        )
        await db.commit()

    full = (await client.get(f"/api/interviews/{interview_id}", headers=bearer(session))).json()
    assert [t["index"] for t in full["turns"]] == [0, 1]
    assert full["turns"][1]["kind"] == "follow_up"
    assert full["turns"][0]["scores"][0]["value"] == 4
    assert full["report"]["next_steps"][0] == "Quantify results"
    assert full["overall_score"] == 3.5
    listed = (await client.get("/api/interviews", headers=bearer(session))).json()
    assert listed["items"][0]["overall_score"] == 3.5


async def test_the_list_is_paginated_newest_first(client: httpx.AsyncClient, app: FastAPI) -> None:
    session = await register(client)
    owner = uuid.UUID(session["user"]["id"])
    base = datetime.now(UTC)
    async with app.state.services.sessionmaker() as db:  # more than the free credits allow
        for n in range(7):
            db.add(
                Interview(
                    owner_id=owner,
                    track="backend",
                    level="junior",
                    question_count=n + 1,
                    answer_time_limit_s=60,
                    provider="offline",
                    model="offline-v1",
                    created_at=base + timedelta(minutes=n),
                )
            )
        await db.commit()

    first = (await client.get("/api/interviews?limit=3", headers=bearer(session))).json()
    second = (await client.get("/api/interviews?limit=3&offset=3", headers=bearer(session))).json()
    last = (await client.get("/api/interviews?limit=3&offset=6", headers=bearer(session))).json()
    counts = [i["question_count"] for page in (first, second, last) for i in page["items"]]
    assert counts == [7, 6, 5, 4, 3, 2, 1]
    assert first["total"] == 7 and first["limit"] == 3 and second["offset"] == 3
    too_big = await client.get("/api/interviews?limit=1000", headers=bearer(session))
    assert too_big.status_code == 422


async def test_another_users_interview_is_404_on_every_endpoint(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """Ids never leak existence: someone else's interview looks exactly like a missing one."""
    owner = await register(client)
    intruder = await register(client)
    interview_id = (await client.post("/api/interviews", json=SPEC, headers=bearer(owner))).json()[
        "id"
    ]
    missing_id = str(uuid.uuid4())
    for target in (interview_id, missing_id):
        read = await client.get(f"/api/interviews/{target}", headers=bearer(intruder))
        delete = await client.delete(f"/api/interviews/{target}", headers=bearer(intruder))
        assert (read.status_code, delete.status_code) == (404, 404)
        assert (
            read.json()
            == delete.json()
            == {
                "code": "interview_not_found",
                "detail": "No such interview.",
            }
        )
    assert (await client.get("/api/interviews", headers=bearer(intruder))).json()["total"] == 0
    # The owner's interview survived the attempts.
    assert (
        await client.get(f"/api/interviews/{interview_id}", headers=bearer(owner))
    ).status_code == 200


async def test_interview_endpoints_need_a_valid_token(client: httpx.AsyncClient) -> None:
    some_id = uuid.uuid4()
    forged = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.invalid"}
    for headers in ({}, forged):
        responses = [
            await client.post("/api/interviews", json=SPEC, headers=headers),
            await client.get("/api/interviews", headers=headers),
            await client.get(f"/api/interviews/{some_id}", headers=headers),
            await client.delete(f"/api/interviews/{some_id}", headers=headers),
        ]
        assert [r.status_code for r in responses] == [401] * 4


BAD_SPECS: list[tuple[str, dict[str, Any], str]] = [
    ("unknown level", {**SPEC, "level": "principal"}, "level"),
    ("unknown track", {**SPEC, "track": "devops"}, "track"),
    (
        "oversize job description",
        {**SPEC, "job_description": "x" * (MAX_JOB_DESCRIPTION_CHARS + 1)},
        "job_description",
    ),
    ("too many questions", {**SPEC, "question_count": 16}, "question_count"),
    ("time limit too short", {**SPEC, "answer_time_limit_s": 5}, "answer_time_limit_s"),
    ("too many topics", {**SPEC, "topics": [f"t{n}" for n in range(11)]}, "topics"),
    ("bad topic", {**SPEC, "topics": ["<script>"]}, "topics"),
    ("wrong type", {**SPEC, "question_count": "five"}, "question_count"),
]


@pytest.mark.parametrize(("case", "payload", "field"), BAD_SPECS, ids=[c[0] for c in BAD_SPECS])
async def test_bad_interview_input_gets_a_field_level_422_and_spends_nothing(
    client: httpx.AsyncClient, app: FastAPI, case: str, payload: dict[str, Any], field: str
) -> None:
    session = await register(client)
    response = await client.post("/api/interviews", json=payload, headers=bearer(session))
    assert response.status_code == 422, case
    body = response.json()
    assert body["detail"][0]["loc"][:2] == ["body", field]
    assert field in body["message"]
    assert (await client.get("/api/me", headers=bearer(session))).json()["credits"] == 3
    assert await _interview_count(app, session["user"]["id"]) == 0


async def test_malformed_json_gets_422_and_spends_nothing(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    session = await register(client)
    response = await client.post(
        "/api/interviews",
        content=b'{"track": "backend", "level": ',
        headers={**bearer(session), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"
    assert (await client.get("/api/me", headers=bearer(session))).json()["credits"] == 3
    assert await _interview_count(app, session["user"]["id"]) == 0


async def test_a_malformed_interview_id_gets_422(client: httpx.AsyncClient) -> None:
    session = await register(client)
    response = await client.get("/api/interviews/not-a-uuid", headers=bearer(session))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "interview_id"]


async def test_a_request_body_over_the_cap_is_refused_with_413(client: httpx.AsyncClient) -> None:
    session = await register(client)
    response = await client.post(
        "/api/interviews",
        json={**SPEC, "resume_text": "x" * 600_000},
        headers=bearer(session),
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert (await client.get("/api/me", headers=bearer(session))).json()["credits"] == 3


async def test_statuses_are_reported_as_stored(client: httpx.AsyncClient, app: FastAPI) -> None:
    session = await register(client)
    interview_id = (
        await client.post("/api/interviews", json=SPEC, headers=bearer(session))
    ).json()["id"]
    async with app.state.services.sessionmaker() as db:
        interview = await db.get(Interview, uuid.UUID(interview_id))
        assert interview is not None
        interview.status = InterviewStatus.finished
        interview.finished_at = datetime.now(UTC)
        await db.commit()
    body = (await client.get(f"/api/interviews/{interview_id}", headers=bearer(session))).json()
    assert body["status"] == "finished" and body["finished_at"].endswith("Z")


async def test_a_report_is_private_until_shared_and_a_revoked_link_stops_working(
    client: httpx.AsyncClient,
) -> None:
    owner = await register(client)
    intruder = await register(client)
    spec = {**SPEC, "resume_text": "My private resume", "job_description": "Secret JD"}
    interview_id = (await client.post("/api/interviews", json=spec, headers=bearer(owner))).json()[
        "id"
    ]
    detail = (await client.get(f"/api/interviews/{interview_id}", headers=bearer(owner))).json()
    assert detail["share_token"] is None  # off by default

    # Nobody else can switch sharing on or off.
    for method in ("POST", "DELETE"):
        response = await client.request(
            method, f"/api/interviews/{interview_id}/share", headers=bearer(intruder)
        )
        assert response.status_code == 404

    link = (
        await client.post(f"/api/interviews/{interview_id}/share", headers=bearer(owner))
    ).json()
    assert link["path"] == f"/shared/{link['token']}" and len(link["token"]) >= 24
    again = (
        await client.post(f"/api/interviews/{interview_id}/share", headers=bearer(owner))
    ).json()
    assert again == link  # idempotent

    shared = await client.get(f"/api/shared/{link['token']}")  # no sign-in needed
    assert shared.status_code == 200
    body = shared.json()
    assert body["id"] == interview_id and body["turns"] == []
    for private in ("resume_text", "job_description", "cost_usd", "share_token", "tokens_in"):
        assert private not in body
    assert "My private resume" not in shared.text and "Secret JD" not in shared.text

    revoked = await client.delete(f"/api/interviews/{interview_id}/share", headers=bearer(owner))
    assert revoked.status_code == 204
    gone = await client.get(f"/api/shared/{link['token']}")
    assert gone.status_code == 404 and gone.json()["code"] == "not_found"
    renewed = (
        await client.post(f"/api/interviews/{interview_id}/share", headers=bearer(owner))
    ).json()
    assert renewed["token"] != link["token"]  # an old link never comes back


async def test_an_unknown_share_token_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/shared/not-a-real-token")).status_code == 404
    assert (await client.get("/api/shared/x")).status_code == 422
