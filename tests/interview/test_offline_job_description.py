"""A whole offline interview over the WebSocket with a pasted job description: the questions
it asks follow the job's topics."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from server.config import Settings
from server.llm.base import InterviewBrief
from server.llm.offline import BankQuestion
from server.llm.offline.focus import planned_targets
from server.store.models import InterviewPlan
from tests.wsclient import InterviewClient, LiveServer, answer_everything, new_session

JOB = (
    "Own our event pipeline: Kafka consumers, message queues and background jobs that must run "
    "exactly once. You will tune retries and dead-letter queues, keep the messaging layer "
    "reliable, and add Redis caching where reads are hot. Queues, caching and observability "
    "with Prometheus and Grafana are the core of the role."
)


@pytest.fixture
async def live(settings: Settings, tmp_path: Path) -> AsyncIterator[LiveServer]:
    tuned = settings.model_copy(update={"offline_pace_ms": 0})
    async with LiveServer(tuned).running() as server:
        yield server


async def test_an_offline_interview_asks_about_the_job_description(live: LiveServer) -> None:
    """Every planned question targets terms of the job description (what the room can show
    beside it), they are asked in that order, and the report names the best answer."""
    session = await new_session(live.http, question_count=3, job_description=JOB)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    ended = await answer_everything(client)
    assert ended["status"] == "finished"
    await client.close()

    detail = await session.detail()
    assert detail["job_description"] == JOB
    async with live.app.state.services.sessionmaker() as db:
        pinned = await db.scalar(
            select(InterviewPlan.questions).where(
                InterviewPlan.interview_id == uuid.UUID(session.interview_id)
            )
        )
    planned = [BankQuestion.from_dict(item) for item in pinned]
    brief = InterviewBrief(session.interview_id, "backend", "mid", (), JOB, "", 3)
    shown = planned_targets(planned, brief)
    assert all(shown[question.id] for question in planned), shown
    assert {"queues", "caching"} & {term for terms in shown.values() for term in terms}
    asked = [t["question"] for t in detail["turns"] if t["kind"] == "question"]
    assert len(asked) == 3
    assert "lean towards the job description you shared" in asked[0]
    for text, question in zip(asked, planned, strict=True):
        assert question.text in text  # asked in the planned order
    # Each main question's turn.start names the terms it was chosen for: the room shows them.
    starts = [s for s in client.of_type("turn.start") if s["kind"] == "question"]
    assert [s["targets"] for s in starts] == [list(shown[q.id]) for q in planned]
    assert client.of_type("report")[0]["strengths"][0].startswith("Your best answer was to")


async def test_without_a_job_description_no_question_claims_a_target(live: LiveServer) -> None:
    session = await new_session(live.http, question_count=1)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    await answer_everything(client)
    await client.close()
    assert [s["targets"] for s in client.of_type("turn.start")] == [
        [] for _ in client.of_type("turn.start")
    ]
