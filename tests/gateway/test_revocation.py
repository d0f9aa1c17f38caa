"""A revoked or expired session closes its open sockets (4401), and nobody else's."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from server.auth import tokens
from server.config import Settings
from tests.conftest import TEST_SECRET
from tests.wsclient import InterviewClient, LiveServer, new_session


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[LiveServer]:
    async with LiveServer(settings.model_copy(update={"offline_pace_ms": 20})).running() as server:
        yield server


async def test_signing_out_everywhere_closes_the_open_socket_at_once(live: LiveServer) -> None:
    session = await new_session(live.http, question_count=1)
    bystander = await new_session(live.http, question_count=1)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    other = InterviewClient(live.ws_url(bystander.interview_id), bystander.token)
    await client.connect()
    await other.connect()
    await client.until("turn.delta")
    async with httpx.AsyncClient(base_url=live.http) as http:
        signed_out = await http.post(
            "/api/auth/logout-all", headers={"Authorization": f"Bearer {session.token}"}
        )
    assert signed_out.status_code == 204
    started = time.monotonic()
    code, reason = await client.closed_with(timeout=5)
    assert (code, reason) == (4401, "your session was signed out; sign in again")
    assert time.monotonic() - started < 2
    # Someone else's interview streams on; the old token cannot come back.
    await other.until("turn.end")
    with pytest.raises(ConnectionClosed) as refused:
        await client.connect()
    assert refused.value.rcvd is not None and refused.value.rcvd.code == 4401


async def test_a_socket_is_closed_when_its_token_expires_and_resumes_with_a_fresh_one(
    live: LiveServer,
) -> None:
    session = await new_session(live.http, question_count=1)
    claims = tokens.decode_token(session.token, secret=TEST_SECRET, expected_type="access")
    short = tokens.issue_token(
        secret=TEST_SECRET,
        user_id=uuid.UUID(str(claims.user_id)),
        token_version=claims.token_version,
        type="access",
        ttl_s=2,
    )
    client = InterviewClient(live.ws_url(session.interview_id), short)
    await client.connect()
    code, reason = await client.closed_with(timeout=6)
    assert (code, reason) == (4401, "your session expired; refresh it and reconnect")
    client.token = session.token  # what the client's refresh gives it
    ready = await client.connect()
    assert ready["resumed"] is True  # nothing missed, nothing repeated (recv checks seq)
    ended_turns = client.of_type("turn.end")
    end = ended_turns[-1] if ended_turns else await client.until("turn.end")
    assert client.turn_texts()[end["turn"]] == end["text"]
    await client.send({"type": "answer", "text": "A complete answer.", "turn": end["turn"]})
    assert (await client.until("answer.accepted"))["turn"] == end["turn"]
