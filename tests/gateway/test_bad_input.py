"""Bad input gets its documented code, and nobody else notices.

Each test runs while a bystander interview streams on the same server; the bystander
must finish its turn untouched, and the victim interview's state must not change.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from server.auth import tokens
from server.config import Settings
from server.interview.state import LiveState
from server.protocol import MAX_ANSWER_CHARS, MAX_FRAME_BYTES
from tests.conftest import TEST_SECRET
from tests.wsclient import InterviewClient, LiveServer, Session, new_session


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[LiveServer]:
    tuned = settings.model_copy(update={"offline_pace_ms": 10, "ws_hello_timeout_s": 0.5})
    async with LiveServer(tuned).running() as server:
        yield server


class Bystander:
    """Another candidate's interview streaming while the bad input happens."""

    def __init__(self, live: LiveServer) -> None:
        self.live = live

    async def __aenter__(self) -> Bystander:
        self.session = await new_session(self.live.http, question_count=1)
        self.client = InterviewClient(
            self.live.ws_url(self.session.interview_id), self.session.token
        )
        await self.client.connect()
        await self.client.until("turn.delta")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if exc[0] is None:
            end = await self.client.until("turn.end")  # streamed on, in order (recv checks seq)
            assert end["interrupted"] is False
            assert self.client.turn_texts()[0] == end["text"]
        await self.client.close()


async def _victim(live: LiveServer) -> tuple[Session, InterviewClient]:
    session = await new_session(live.http, question_count=1)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    await client.until("turn.end")
    return session, client


async def _state(live: LiveServer, interview_id: str) -> tuple[int, str, str] | None:
    """The interview's live data, but for the time of the last append."""
    snapshot = await live.app.state.services.live.events.snapshot(interview_id)
    return None if snapshot is None else (snapshot.seq, snapshot.state, snapshot.text)


async def _never_started(live: LiveServer, interview_id: str) -> bool:
    """Still as prepared when it was created: no event, no runner, status created."""
    snapshot = await live.app.state.services.live.events.snapshot(interview_id)
    assert snapshot is not None
    state = LiveState.decode(snapshot.state)
    return (snapshot.seq, state.status.value, state.phase.value) == (0, "created", "waiting") and (
        not live.app.state.services.sessions.runs(interview_id)
    )


async def _raw_close(url: str, *frames: str | bytes) -> tuple[int | None, str]:
    async with connect(url, max_size=2**20) as ws:
        for frame in frames:
            await ws.send(frame)
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        except ConnectionClosed as closed:
            assert closed.rcvd is not None
            return closed.rcvd.code, closed.rcvd.reason


def _hello(token: str, **extra: Any) -> str:
    return orjson.dumps({"type": "hello", "token": token, "last_seq": 0, **extra}).decode()


@pytest.mark.parametrize(
    ("frame", "code", "fragment"),
    [
        ("{not json", "malformed_frame", "JSON object"),
        ('["answer"]', "malformed_frame", '"type"'),
        ('{"type": "teleport"}', "unknown_type", "unknown frame type"),
        ('{"type": "answer", "text": 42}', "malformed_frame", "text"),
        ('{"type": "answer", "text": ""}', "malformed_frame", "text"),
        ('{"type": "hello", "token": "x"}', "malformed_frame", "already said hello"),
        (
            orjson.dumps({"type": "answer", "text": "a" * (MAX_ANSWER_CHARS + 1)}).decode(),
            "answer_too_long",
            "8000",
        ),
        ('{"type": "answer", "text": "an answer", "turn": 7}', "wrong_turn", "turn 7"),
        ('{"type": "answer", "text": "an answer", "turn": "0"}', "malformed_frame", "turn"),
        ('{"type": "skip", "turn": true}', "malformed_frame", "turn"),
        ('{"type": "skip", "turn": 1.0}', "malformed_frame", "turn"),
        ('{"type": "skip", "turn": 10001}', "malformed_frame", "turn"),
        ('{"type": "skip", "turn": -1}', "malformed_frame", "turn"),
        ('{"type": "ping", "t": 1e999}', "malformed_frame", "finite"),
        ('{"type": "ping", "t": "now"}', "malformed_frame", "t"),
        (
            orjson.dumps({"type": "answer", "text": "\x00\x07 \t\x1b"}).decode(),
            "malformed_frame",
            "some text",
        ),
    ],
    ids=[
        "not-json",
        "not-object",
        "unknown-type",
        "wrong-type",
        "empty-answer",
        "second-hello",
        "answer-too-long",
        "wrong-turn",
        "turn-as-string",
        "turn-as-bool",
        "turn-as-float",
        "turn-out-of-range",
        "turn-negative",
        "ping-infinite",
        "ping-string",
        "answer-only-control-characters",
    ],
)
async def test_a_bad_frame_gets_an_error_and_changes_nothing(
    live: LiveServer, frame: str, code: str, fragment: str
) -> None:
    session, victim = await _victim(live)
    before = await _state(live, session.interview_id)
    async with Bystander(live):
        await victim.send(frame)
        error = await victim.recv()
        assert error["type"] == "error" and error["seq"] == 0
        assert error["code"] == code and fragment in error["message"]
        assert error["retryable"] is False
        await victim.send({"type": "ping", "t": 1.5})  # the socket is still open and usable
        assert (await victim.recv())["type"] == "pong"
    assert await _state(live, session.interview_id) == before


async def test_a_binary_frame_outside_a_recording_gets_an_error(live: LiveServer) -> None:
    _, victim = await _victim(live)
    assert victim.ws is not None
    await victim.ws.send(b"\x00\x01")
    error = await victim.recv()
    assert error["code"] == "audio_not_started" and "audio.start" in error["message"]


async def test_an_oversized_frame_closes_with_4413(live: LiveServer) -> None:
    session, victim = await _victim(live)
    before = await _state(live, session.interview_id)
    async with Bystander(live):
        await victim.send(orjson.dumps({"type": "answer", "text": "x" * MAX_FRAME_BYTES}).decode())
        code, reason = await victim.closed_with()
    assert code == 4413 and str(MAX_FRAME_BYTES) in reason
    assert await _state(live, session.interview_id) == before


@pytest.mark.parametrize(
    "text", ["é" * (MAX_FRAME_BYTES // 2 + 10), "x" * (100 * 1024)], ids=["multibyte", "100KiB"]
)
async def test_the_frame_limit_counts_bytes_and_always_answers_4413(
    live: LiveServer, text: str
) -> None:
    """16 KiB means bytes on the wire (not characters), and 100 KiB gets 4413 too, not 1009."""
    session, victim = await _victim(live)
    before = await _state(live, session.interview_id)
    frame = orjson.dumps({"type": "answer", "text": text}).decode()
    assert len(frame) < MAX_FRAME_BYTES or len(text) > 64 * 1024
    async with Bystander(live):
        assert victim.ws is not None
        await victim.ws.send(frame)
        code, reason = await victim.closed_with()
    assert code == 4413 and reason == f"frames are limited to {MAX_FRAME_BYTES} bytes"
    assert await _state(live, session.interview_id) == before


async def test_control_characters_in_an_answer_are_removed_before_anything_stores_it(
    live: LiveServer,
) -> None:
    """A NUL once wedged an interview (the database refused the turn): text is cleaned at
    the edge, so what is accepted, stored and scored is the same clean text."""
    session, victim = await _victim(live)
    turn = victim.of_type("turn.end")[-1]["turn"]
    raw = "I would use a queue\x00 and retry\x07 with backoff.\r\nThen e\u0301tags."
    clean = "I would use a queue and retry with backoff.\nThen \u00e9tags."
    await victim.send({"type": "answer", "text": raw, "turn": turn})
    accepted = await victim.until("answer.accepted")
    assert accepted["text"] == clean
    assert (await victim.until("score", "error"))["type"] == "score"
    await victim.send({"type": "end"})
    assert (await victim.until("ended"))["status"] == "finished"
    detail = await session.detail()
    assert detail["turns"][0]["answer"] == clean


@pytest.mark.parametrize(
    "extra",
    [{"last_seq": 2**64 - 1}, {"last_seq": "5"}, {"last_seq": True}, {"last_seq": -1}],
    ids=["last-seq-huge", "last-seq-string", "last-seq-bool", "last-seq-negative"],
)
async def test_a_hello_with_an_out_of_range_or_mistyped_number_closes_with_4400(
    live: LiveServer, extra: dict[str, Any]
) -> None:
    session = await new_session(live.http, question_count=1)
    async with Bystander(live):
        code, reason = await _raw_close(
            live.ws_url(session.interview_id), _hello(session.token, **extra)
        )
    assert code == 4400 and "last_seq" in reason
    assert await _never_started(live, session.interview_id)


async def test_a_flood_of_frames_closes_with_4429(live: LiveServer) -> None:
    session, victim = await _victim(live)
    before = await _state(live, session.interview_id)
    async with Bystander(live):
        for n in range(60):
            try:
                await victim.send({"type": "ping", "t": n})
            except ConnectionClosed:
                break
        code, _ = await victim.closed_with()
    assert code == 4429
    assert await _state(live, session.interview_id) == before


@pytest.mark.parametrize("case", ["answer-first", "binary-first", "not-json-first", "no-hello"])
async def test_anything_but_a_hello_first_is_refused(live: LiveServer, case: str) -> None:
    session = await new_session(live.http, question_count=1)
    url = live.ws_url(session.interview_id)
    frames: dict[str, tuple[str | bytes, ...]] = {
        "answer-first": ('{"type": "answer", "text": "hi"}',),
        "binary-first": (b"\x01\x02",),
        "not-json-first": ("hello?",),
        "no-hello": (),
    }
    expected = {
        "answer-first": 4401,
        "binary-first": 4400,
        "not-json-first": 4400,
        "no-hello": 4401,
    }
    async with Bystander(live):
        code, reason = await _raw_close(url, *frames[case])
    assert code == expected[case], reason
    if case == "answer-first":
        assert reason == 'expected "hello" as the first frame, got "answer"'
    assert await _never_started(live, session.interview_id)


async def test_expired_forged_and_foreign_credentials_are_refused(live: LiveServer) -> None:
    owner = await new_session(live.http, question_count=1)
    intruder = await new_session(live.http, question_count=1)
    user_id = uuid.UUID(
        str(tokens.decode_token(owner.token, secret=TEST_SECRET, expected_type="access").user_id)
    )
    expired = tokens.issue_token(
        secret=TEST_SECRET, user_id=user_id, token_version=0, type="access", ttl_s=-5
    )
    forged = tokens.issue_token(
        secret="f" * 40, user_id=user_id, token_version=0, type="access", ttl_s=600
    )
    url = live.ws_url(owner.interview_id)
    async with Bystander(live):
        assert (await _raw_close(url, _hello(expired)))[0] == 4401
        assert (await _raw_close(url, _hello(forged)))[0] == 4401
        assert (await _raw_close(url, _hello("not-a-token")))[0] == 4401
        # Someone else's interview and a missing one look the same: 4404.
        assert await _raw_close(url, _hello(intruder.token)) == (4404, "no such interview")
        missing = live.ws_url(str(uuid.uuid4()))
        assert await _raw_close(missing, _hello(owner.token)) == (4404, "no such interview")
        assert (await _raw_close(live.ws_url("not-a-uuid"), _hello(owner.token)))[0] == 4404
    assert await _never_started(live, owner.interview_id)


async def test_a_second_answer_for_the_same_turn_is_refused_and_the_first_stands(
    live: LiveServer,
) -> None:
    """The runner judges commands one at a time: the second answer finds no open question."""
    session, victim = await _victim(live)
    turn = victim.of_type("turn.end")[-1]["turn"]
    async with Bystander(live):
        await victim.send({"type": "answer", "text": "The first answer.", "turn": turn})
        await victim.send({"type": "answer", "text": "A second try.", "turn": turn})
        refusal = await victim.until("error")
        assert refusal["seq"] == 0 and refusal["code"] == "not_listening"
        assert refusal["retryable"] is True
        accepted = victim.of_type("answer.accepted") or [await victim.until("answer.accepted")]
        assert [a["text"] for a in accepted] == ["The first answer."]
        await victim.until("score", "error")
    detail = await session.detail()
    assert [t["answer"] for t in detail["turns"]] == ["The first answer."]


async def test_a_command_after_the_end_is_refused_with_interview_finished(
    live: LiveServer,
) -> None:
    session, victim = await _victim(live)
    await victim.send({"type": "end"})
    await victim.until("ended")
    before = await _state(live, session.interview_id)
    async with Bystander(live):
        await victim.send({"type": "skip"})
        refusal = await victim.until("error")
        assert refusal["code"] == "interview_finished" and refusal["seq"] == 0
    assert await _state(live, session.interview_id) == before


async def test_a_page_from_another_site_cannot_open_the_socket(live: LiveServer) -> None:
    """Browsers do not apply CORS to upgrades: the gateway checks Origin itself (4403)."""
    session = await new_session(live.http, question_count=1)
    url = live.ws_url(session.interview_id)
    hello = _hello(session.token)
    async with connect(url, origin="https://evil.example") as ws:  # type: ignore[arg-type]
        with pytest.raises(ConnectionClosed) as closed:
            await ws.send(hello)  # may already find it closed
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4403, "origin not allowed")
    assert await _never_started(live, session.interview_id)
    # The server's own pages (same host) and clients that send no Origin are served.
    own = f"http://127.0.0.1:{live.port}"
    for origin in (own, None):
        async with connect(url, origin=origin) as ws:  # type: ignore[arg-type]
            await ws.send(hello)
            ready = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
            assert ready["type"] == "ready"


async def test_a_configured_cors_origin_may_open_the_socket(settings: Settings) -> None:
    tuned = settings.model_copy(update={"cors_origins": ["https://app.example"]})
    async with LiveServer(tuned).running() as server:
        session = await new_session(server.http, question_count=1)
        async with connect(
            server.ws_url(session.interview_id),
            origin="https://app.example",  # type: ignore[arg-type]
        ) as ws:
            await ws.send(_hello(session.token))
            assert orjson.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "ready"
