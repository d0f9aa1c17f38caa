"""An event for a socket whose writer has nothing to do is written at once, not a turn of
the event loop later; anything else keeps the writer's order, and a socket that cannot
take a frame now gets it once it can."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from server.config import Settings
from server.gateway.connection import Connection
from server.gateway.server import GatewayWebSocketProtocol
from server.protocol import CONTROL, Phase, Pong, TurnDelta
from tests.wsclient import InterviewClient, LiveServer, new_session


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[LiveServer]:
    async with LiveServer(settings.model_copy(update={"offline_pace_ms": 1})).running() as server:
        yield server


async def _listening(live: LiveServer) -> tuple[InterviewClient, Connection]:
    """A candidate connected and hearing nothing: the first question is fully asked."""
    session = await new_session(live.http, question_count=1)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    await client.until("turn.end")
    (connection,) = live.app.state.services.gateway.connections
    started = time.monotonic()
    while connection.last_sent < client.last_seq or connection._queue.qsize():
        assert time.monotonic() - started < 5
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # the writer is back waiting for its outbox
    return client, connection


def _delta(client: InterviewClient, seq: int, text: str) -> str:
    assert client.epoch is not None
    return TurnDelta(
        seq=seq, epoch=client.epoch, phase=Phase.asking, turn=0, text=text
    ).model_dump_json()


async def test_an_event_for_a_writer_with_nothing_to_do_is_written_without_waiting(
    live: LiveServer,
) -> None:
    client, connection = await _listening(live)
    seq = client.last_seq + 1
    connection.deliver(seq, _delta(client, seq, "at once"))
    # No await in between: the frame is on its way before the loop runs anything else.
    assert connection.last_sent == seq
    frame = await client.recv()
    assert (frame["seq"], frame["text"]) == (seq, "at once")


async def test_an_event_behind_a_queued_frame_keeps_its_place(live: LiveServer) -> None:
    client, connection = await _listening(live)
    seq = client.last_seq + 1
    connection.send_control(Pong(seq=CONTROL, epoch="", t=1.5).model_dump_json())
    connection.deliver(seq, _delta(client, seq, "after the pong"))
    assert connection.last_sent == seq - 1  # queued behind the pong: the writer sends both
    first, second = await client.recv(), await client.recv()
    assert (first["type"], first["t"]) == ("pong", 1.5)
    assert (second["seq"], second["text"]) == (seq, "after the pong")
    # Already sent, or out of order (a gap the writer fills from the log): never written now.
    connection.deliver(seq, _delta(client, seq, "again"))
    assert connection.last_sent == seq
    connection.deliver(seq + 1, _delta(client, seq + 1, "next"))
    assert (await client.recv())["text"] == "next"


async def test_a_socket_that_cannot_take_more_gets_the_rest_through_its_writer(
    settings: Settings,
) -> None:
    """A peer that stops reading: frames are written at once until its buffer is full, then
    queued (nothing is written past the buffer's limit), and all of them arrive, in order,
    once it reads again."""
    tuned = settings.model_copy(update={"offline_pace_ms": 1, "ws_send_buffer_bytes": 4096})
    async with LiveServer(tuned).running() as live:
        session = await new_session(live.http, question_count=1)
        ws = await live.slow_reader(session.interview_id, session.token)
        client = InterviewClient(live.ws_url(session.interview_id), session.token)
        client.ws = ws
        client.ready = await client.recv()
        client.epoch = client.ready["epoch"]
        await client.until("turn.end")
        (connection,) = live.app.state.services.gateway.connections
        (protocol,) = (
            p
            for p in live.server.server_state.connections
            if isinstance(p, GatewayWebSocketProtocol)
        )
        await asyncio.sleep(0.1)
        ws.transport.pause_reading()
        first = client.last_seq + 1
        text = "x" * 1000
        written_at_once = 0
        seq = first
        for seq in range(first, first + 400):
            connection.deliver(seq, _delta(client, seq, text))
            if connection.last_sent == seq:
                written_at_once += 1
            else:
                break
        assert 0 < written_at_once < 400, written_at_once
        assert not protocol.writable.is_set()  # stopped at the buffer's limit
        assert protocol.send_text_now("not now") is False
        for later in range(seq + 1, seq + 5):
            connection.deliver(later, _delta(client, later, text))
        ws.transport.resume_reading()
        for expected in range(first, seq + 5):
            frame = await client.recv()
            assert frame["seq"] == expected
        await client.close()
        started = time.monotonic()
        while live.app.state.services.gateway.connections:
            assert time.monotonic() - started < 5
            await asyncio.sleep(0.02)
        assert protocol.send_text_now("closed") is False
