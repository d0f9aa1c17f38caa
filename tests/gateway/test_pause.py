"""Pausing between questions, over a real socket: the next question waits, no clock runs,
a reconnect finds the pause, and the interview records it for the report."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.config import Settings
from tests.wsclient import (
    STRONG_ANSWER,
    InterviewClient,
    LiveServer,
    answer_everything,
    new_session,
)


@pytest.fixture
async def live(database_url: str, settings: Settings, tmp_path: Path) -> AsyncIterator[LiveServer]:
    tuned = settings.model_copy(update={"offline_pace_ms": 2, "max_follow_ups": 0})
    async with LiveServer(tuned).running() as server:
        yield server


async def _quiet(client: InterviewClient, seconds: float) -> list[str]:
    """Frame types received within ``seconds`` (nothing should come while paused)."""
    seen = []
    try:
        while True:
            seen.append((await client.recv(timeout=seconds))["type"])
    except TimeoutError:
        return seen


async def test_a_pause_asked_during_a_question_begins_after_it_and_waits_for_resume(
    live: LiveServer,
) -> None:
    session = await new_session(live.http, question_count=2)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    first = await client.until("turn.end")
    await client.send({"type": "pause"})
    requested = await client.until("pause.requested")
    assert requested["turn"] == first["turn"] and requested["phase"] == "listening"
    # Another tab (or a reload) learns of the requested pause from ready.
    other = InterviewClient(live.ws_url(session.interview_id), session.token)
    assert (await other.connect())["pause_requested"] is True
    await other.close()
    await client.send({"type": "answer", "text": STRONG_ANSWER, "turn": first["turn"]})
    score = await client.until("score")
    assert score["phase"] == "paused"
    paused = await client.until("interview.paused")
    assert paused["phase"] == "paused" and paused["turn"] == first["turn"] + 1
    assert await _quiet(client, 1.5) == []  # the next question waits
    # An answer while paused is refused: no question is open.
    await client.send({"type": "answer", "text": "early", "turn": first["turn"] + 1})
    refused = await client.until("error")
    assert refused["code"] == "not_listening" and refused["seq"] == 0
    await client.send({"type": "resume"})
    resumed = await client.until("interview.resumed")
    assert resumed["paused_s"] >= 1 and resumed["phase"] == "asking"
    second = await client.until("turn.start")
    assert second["question_number"] == 2
    ended = await answer_everything(client)
    assert ended["status"] == "finished"
    await client.close()
    detail = await session.detail()
    assert detail["pauses"] == 1 and detail["paused_s"] >= 1
    # The report shows how its overall score is made: one entry per main question.
    report = detail["report"]
    assert [q["number"] for q in report["questions"]] == [1, 2]
    scores = [q["score"] for q in report["questions"]]
    assert report["overall_score"] == round(sum(scores) / len(scores), 1)
    assert "mean of the questions' scores" in report["overall_rule"]


async def test_resume_before_the_pause_begins_cancels_it(live: LiveServer) -> None:
    session = await new_session(live.http, question_count=2)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    first = await client.until("turn.end")
    await client.send({"type": "pause"})
    await client.until("pause.requested")
    await client.send({"type": "resume"})
    cancelled = await client.until("interview.resumed")
    assert cancelled["paused_s"] == 0 and cancelled["phase"] == "listening"
    await client.send({"type": "answer", "text": STRONG_ANSWER, "turn": first["turn"]})
    assert (await client.until("score"))["phase"] == "asking"
    assert (await client.until("turn.start"))["question_number"] == 2
    await client.close()
    assert (await session.detail())["pauses"] == 0


async def test_resume_with_nothing_paused_is_refused(live: LiveServer) -> None:
    session = await new_session(live.http, question_count=1)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    await client.until("turn.end")
    await client.send({"type": "resume"})
    refused = await client.until("error")
    assert refused["code"] == "not_listening" and refused["seq"] == 0
    await client.close()


async def test_a_reconnecting_candidate_finds_the_pause_and_can_resume(live: LiveServer) -> None:
    session = await new_session(live.http, question_count=2)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    first = await client.until("turn.end")
    await client.send({"type": "pause"})
    await client.until("pause.requested")
    await client.send({"type": "skip", "turn": first["turn"]})
    await client.until("interview.paused")
    await client.close()

    again = InterviewClient(live.ws_url(session.interview_id), session.token)
    ready = await again.connect()
    assert ready["phase"] == "paused" and ready["answer_deadline_ms"] is None
    await asyncio.sleep(0.2)
    await again.send({"type": "resume"})
    await again.until("interview.resumed")
    assert (await again.until("turn.start"))["question_number"] == 2
    await again.close()


async def test_the_interview_list_carries_each_interviews_criterion_averages(
    live: LiveServer,
) -> None:
    """What the dashboard's per-criterion trend is drawn from, and the detail agrees."""
    session = await new_session(live.http, question_count=1)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    await answer_everything(client)
    await client.close()
    listed = await session.request("GET", "/api/interviews")
    (item,) = [i for i in listed["items"] if i["id"] == session.interview_id]
    detail = await session.detail()
    values = {s["criterion"]: s["value"] for s in detail["turns"][0]["scores"]}
    assert item["criteria"] == {c: float(v) for c, v in values.items()}
    assert detail["criteria"] == item["criteria"]
