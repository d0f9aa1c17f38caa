"""Generation belongs to the interview, not the socket: drops, resumes, interrupts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

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
async def live(settings: Settings) -> AsyncIterator[LiveServer]:
    tuned = settings.model_copy(update={"offline_pace_ms": 15})
    async with LiveServer(tuned).running() as server:
        yield server


async def test_a_dropped_socket_resumes_with_exactly_the_missed_events(live: LiveServer) -> None:
    """The reassembled interviewer text equals the database's, byte for byte."""
    session = await new_session(live.http, question_count=2)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    await client.until("turn.delta")
    await client.until("turn.delta")
    seen_before_drop = client.last_seq
    await client.close()  # mid-stream: the interviewer keeps talking meanwhile
    await asyncio.sleep(0.4)

    ready = await client.connect()  # hello carries last_seq and epoch
    assert ready["resumed"] is True
    assert ready["head_seq"] > seen_before_drop  # events were produced while away
    # recv() asserts every seq is exactly last + 1: no gap, no duplicate, in order.
    first_after = await client.recv()
    assert first_after["seq"] == seen_before_drop + 1

    ended = await answer_everything(client)
    assert ended["status"] == "finished"
    detail = await session.detail()
    texts = client.turn_texts()
    assert [texts[t["index"]] for t in detail["turns"]] == [t["question"] for t in detail["turns"]]


async def test_reconnecting_from_zero_replays_the_whole_interview(live: LiveServer) -> None:
    session = await new_session(live.http, question_count=1)
    first = InterviewClient(live.ws_url(session.interview_id), session.token)
    await first.connect()
    await first.until("turn.end")
    await first.close()

    second = InterviewClient(live.ws_url(session.interview_id), session.token)
    ready = await second.connect()
    assert ready["resumed"] is True and ready["phase"] == "listening"
    while second.last_seq < ready["head_seq"]:
        await second.recv()
    assert [f["seq"] for f in second.frames if f["seq"]] == [
        f["seq"] for f in first.frames if f["seq"]
    ][: len(second.frames) - 1]
    assert second.turn_texts() == first.turn_texts()


async def test_an_unknown_epoch_is_told_to_resync(live: LiveServer) -> None:
    """A client whose history belongs to another epoch reloads over REST and continues."""
    session = await new_session(live.http, question_count=1)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    await client.until("turn.end")
    await client.close()
    client.epoch = "not-the-epoch"
    ready = await client.connect(last_seq=3)
    assert ready["resumed"] is False
    resync = await client.recv()
    assert resync["type"] == "resync" and resync["reason"] == "epoch_changed"
    assert resync["head_seq"] == ready["head_seq"]
    # What the client needs to rebuild the open turn comes with ready.
    assert (ready["turn"], ready["kind"], ready["phase"]) == (0, "question", "listening")
    assert ready["text"] == client.of_type("turn.end")[0]["text"]


async def test_a_socket_of_the_old_epoch_is_closed_to_resync_when_the_state_is_rebuilt(
    live: LiveServer,
) -> None:
    """The live state is lost and rebuilt (a new epoch, whose seqs start from 1 again)
    while a socket that followed the old log is open: that socket is closed with 1012 and
    resynchronises on reconnecting. It is never sent the new log's events as if they
    continued the old one (those below its last seq would be dropped as already seen)."""
    session = await new_session(live.http, question_count=2)
    first = InterviewClient(live.ws_url(session.interview_id), session.token)
    old = await first.connect()
    await first.until("turn.end")
    await live.app.state.services.live.events.expire(session.interview_id, 0)

    second = InterviewClient(live.ws_url(session.interview_id), session.token)
    rebuilt = await second.connect()  # finds the state gone: the interview is rebuilt
    assert rebuilt["epoch"] != old["epoch"]
    # recv() asserts every event is of the socket's epoch and follows the last seq.
    assert await first.closed_with() == (1012, "the interview's event log changed; reconnect")
    ready = await first.connect()
    assert (ready["epoch"], ready["resumed"]) == (rebuilt["epoch"], False)
    assert (await first.recv())["type"] == "resync"
    first.last_seq = ready["head_seq"]  # what a client does on resync (docs/protocol.md)
    await second.close()
    ended = await answer_everything(first)
    assert ended["status"] == "finished"


async def test_interrupt_stops_the_interviewer_within_200_ms_and_keeps_what_was_said(
    live: LiveServer,
) -> None:
    session = await new_session(live.http, question_count=1)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    await client.until("turn.delta")
    await client.until("turn.delta")
    sent = time.monotonic()
    await client.send({"type": "interrupt"})
    end = await client.until("turn.end")
    stopped_after = time.monotonic() - sent
    assert end["interrupted"] is True
    assert stopped_after < 0.2, f"took {stopped_after * 1000:.0f} ms"
    # Nothing more is streamed for that turn, and the partial text is what was said.
    partial = client.turn_texts()[0]
    assert partial == end["text"]
    assert partial.startswith("Hello, and welcome")
    assert len(partial.split()) < 40

    await client.send({"type": "answer", "text": STRONG_ANSWER, "turn": 0})
    await answer_everything(client)  # a follow-up may come first
    detail = await session.detail()
    assert detail["turns"][0]["question"] == partial


async def test_an_answer_sent_while_the_question_streams_stops_it_and_is_accepted(
    live: LiveServer,
) -> None:
    session = await new_session(live.http, question_count=1)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    await client.until("turn.delta")
    await client.send({"type": "answer", "text": STRONG_ANSWER})
    end = await client.until("turn.end")
    accepted = await client.until("answer.accepted")
    assert end["interrupted"] is True and accepted["turn"] == 0
    await answer_everything(client)
