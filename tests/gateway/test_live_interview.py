"""A whole interview over a real WebSocket against a real uvicorn server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.config import Settings
from tests.wsclient import InterviewClient, LiveServer, answer_everything, new_session


@pytest.fixture
async def live(database_url: str, settings: Settings, tmp_path: Path) -> AsyncIterator[LiveServer]:
    tuned = settings.model_copy(update={"offline_pace_ms": 2})
    async with LiveServer(tuned).running() as server:
        yield server


async def test_a_typed_interview_runs_end_to_end_and_matches_the_database(
    live: LiveServer,
) -> None:
    """Questions stream as deltas, answers are scored, the report arrives, REST agrees."""
    session = await new_session(live.http, question_count=2)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    ready = await client.connect()
    assert ready["offline"] is True and ready["provider"] == "offline"
    assert ready["question_count"] == 2

    ended = await answer_everything(client)
    assert ended["status"] == "finished"
    await client.close()

    starts = client.of_type("turn.start")
    assert starts[0]["turn"] == 0 and starts[0]["kind"] == "question"
    assert len(client.of_type("turn.delta")) > 3  # streamed, not sent whole
    ends = client.of_type("turn.end")
    texts = client.turn_texts()
    for end in ends:
        assert texts[end["turn"]] == end["text"]  # deltas add up to the full text
    assert "Hello, and welcome" in ends[0]["text"]
    scores = client.of_type("score")
    assert scores and all(len(s["criteria"]) == 4 for s in scores)
    report = client.of_type("report")[0]
    assert len(report["next_steps"]) == 3 and 1 <= report["overall_score"] <= 5

    detail = await session.detail()
    assert detail["status"] == "finished" and detail["finished_at"]
    assert [t["question"] for t in detail["turns"]] == [e["text"] for e in ends]
    assert [t["answer"] for t in detail["turns"]] == [
        a["text"] for a in client.of_type("answer.accepted")
    ]
    assert all(
        t["outcome"] == "answered" and t["answer_source"] == "typed" for t in detail["turns"]
    )
    for turn, score in zip(detail["turns"], scores, strict=True):
        assert [s["value"] for s in turn["scores"]] == [c["value"] for c in score["criteria"]]
        for criterion in turn["scores"]:
            assert criterion["evidence"] in turn["answer"]
    assert detail["report"]["overall_score"] == report["overall_score"]
    assert detail["report"]["next_steps"] == report["next_steps"]
    assert detail["report"]["provider"] == "offline"


async def test_every_event_says_the_phase_it_leaves_the_interview_in(live: LiveServer) -> None:
    """The client renders the phase it is told: after a skip that is asking, not scoring."""
    session = await new_session(live.http, question_count=2)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    assert (await client.connect())["phase"] in ("waiting", "asking")
    first = await client.until("turn.end")
    assert first["phase"] == "listening"
    await client.send({"type": "skip", "turn": first["turn"]})
    skipped = await client.until("answer.skipped")
    assert skipped["phase"] == "asking"
    assert (await client.until("turn.start"))["phase"] == "asking"
    second = await client.until("turn.end")
    await client.send({"type": "answer", "text": "We cached it.", "turn": second["turn"]})
    assert (await client.until("answer.accepted"))["phase"] == "scoring"
    scored = await client.until("score", "error")
    assert scored["phase"] in ("asking", "reporting")  # a follow-up, or the end
    await client.send({"type": "end"})
    assert (await client.until("ended"))["phase"] == "ended"
    phases = {f["type"]: f["phase"] for f in client.frames if f["seq"]}
    assert phases["turn.delta"] == "asking"
    late = InterviewClient(live.ws_url(session.interview_id), session.token)
    assert (await late.connect())["phase"] == "ended"
