"""The admin socket: the live monitor of every interview, and steering one (a hidden note,
more time, ending it); and an administrator watching an interview read-only."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from server.auth import service as auth_service
from server.config import Settings
from server.interview.monitor import STALE_MS
from server.store.models import AdminAction, AdminNote
from tests.adminclient import AdminClient
from tests.wsclient import InterviewClient, LiveServer, Session, new_session

PASSWORD = "admin-password-123"


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[LiveServer]:
    tuned = settings.model_copy(update={"offline_pace_ms": 5, "max_follow_ups": 0})
    async with LiveServer(tuned).running() as server:
        yield server


async def _admin_token(live: LiveServer) -> str:
    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    async with live.app.state.services.sessionmaker() as session:
        await auth_service.create_or_promote_admin(session, email=email, password=PASSWORD)
        await session.commit()
    async with httpx.AsyncClient(base_url=live.http, timeout=10) as http:
        login = await http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        token: str = login.json()["access_token"]
        return token


def _admin_url(live: LiveServer) -> str:
    return f"ws://127.0.0.1:{live.port}/ws/admin"


async def _candidate(live: LiveServer, questions: int = 2) -> tuple[Session, InterviewClient]:
    session = await new_session(live.http, question_count=questions)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    return session, client


async def _closed_with(url: str, hello: dict[str, Any]) -> tuple[int | None, str]:
    async with connect(url) as ws:
        await ws.send(orjson.dumps(hello).decode())
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        except ConnectionClosed as closed:
            assert closed.rcvd is not None
            return closed.rcvd.code, closed.rcvd.reason


async def test_only_an_administrator_opens_the_admin_socket(live: LiveServer) -> None:
    url = f"ws://127.0.0.1:{live.port}/ws/admin"
    session, client = await _candidate(live)
    assert await _closed_with(url, {"type": "hello", "token": session.token}) == (4404, "not found")
    code, _ = await _closed_with(url, {"type": "hello", "token": "forged"})
    assert code == 4401
    admin = AdminClient(_admin_url(live), await _admin_token(live))
    await admin.connect()
    # An administrator disabled by another one: every token stops working at once.
    other = await _admin_token(live)
    async with httpx.AsyncClient(base_url=live.http, timeout=10) as http:
        me = await http.get("/api/me", headers={"Authorization": f"Bearer {other}"})
        disabled = await http.post(
            f"/api/admin/users/{me.json()['id']}/disable",
            headers={"Authorization": f"Bearer {admin.token}"},
        )
        assert disabled.status_code == 200, disabled.text
    code, _ = await _closed_with(url, {"type": "hello", "token": other})
    assert code == 4401
    await admin.close()
    await client.close()


async def test_the_monitor_lists_live_interviews_as_they_start_and_drops_them_as_they_end(
    live: LiveServer,
) -> None:
    admin = AdminClient(_admin_url(live), await _admin_token(live))
    await admin.connect()
    candidates = [await _candidate(live, questions=1) for _ in range(3)]
    ids = {session.interview_id for session, _ in candidates}
    await admin.watch_until(lambda: ids <= admin.sessions.keys())
    shown = admin.sessions[candidates[0][0].interview_id]
    assert shown["candidate"].endswith("@example.com")
    assert (shown["track"], shown["question_count"], shown["connected"]) == ("backend", 1, True)
    assert shown["process"] == live.app.state.services.sessions.holder

    async with httpx.AsyncClient(base_url=live.http, timeout=10) as http:
        listed = await http.get(
            "/api/admin/monitor", headers={"Authorization": f"Bearer {admin.token}"}
        )
        assert listed.status_code == 200
        assert ids <= {s["interview_id"] for s in listed.json()["sessions"]}
        # A candidate does not even see that the monitor exists.
        refused = await http.get("/api/admin/monitor", headers=candidates[0][0].headers)
        assert refused.status_code == 404

    session, client = candidates[0]
    await client.send({"type": "end"})
    await client.until("ended")
    await admin.watch_until(lambda: session.interview_id not in admin.sessions)
    for _, other in candidates:
        await other.close()
    await admin.close()


async def test_the_monitor_shows_a_candidate_leaving_and_coming_back(live: LiveServer) -> None:
    """Nothing happens in the interview meanwhile (it waits for an answer): the summary
    changes because the candidate's socket left this process, and again when it returns."""
    admin = AdminClient(_admin_url(live), await _admin_token(live))
    await admin.connect()
    session, client = await _candidate(live, questions=2)
    await client.until("turn.end")

    def shown() -> dict[str, Any]:
        summary: dict[str, Any] = admin.sessions.get(session.interview_id, {})
        return summary

    await admin.watch_until(lambda: shown().get("phase") == "listening" and shown()["connected"])
    await client.close()
    await admin.watch_until(lambda: shown().get("connected") is False)
    assert shown()["phase"] == "listening"
    back = InterviewClient(live.ws_url(session.interview_id), session.token)
    await back.connect()
    await admin.watch_until(lambda: shown().get("connected") is True)
    await asyncio.gather(back.close(), admin.close())


async def test_an_interview_waiting_quietly_stays_listed_without_its_summary_being_resent(
    live: LiveServer,
) -> None:
    """An interview waiting for an answer changes nothing: its summary is published once,
    and the process's sign of life (``alive``, every 2 s) keeps it listed past the 6 s a
    summary lives alone, on the socket and in a new snapshot."""
    admin = AdminClient(_admin_url(live), await _admin_token(live))
    await admin.connect()
    session, client = await _candidate(live, questions=2)
    await client.until("turn.end")  # the first question asked: now listening
    holder = live.app.state.services.sessions.holder
    await admin.watch_until(
        lambda: admin.sessions.get(session.interview_id, {}).get("phase") == "listening"
    )
    published = admin.sessions[session.interview_id]["seen_ms"]
    resent, beats = 0, []
    deadline = time.monotonic() + (STALE_MS + 1_500) / 1000
    while time.monotonic() < deadline:
        frame = await admin.until("monitor.update")
        resent += sum(s["interview_id"] == session.interview_id for s in frame["sessions"])
        beats += [frame["alive"][holder]] if holder in frame["alive"] else []
    assert resent == 0
    assert len(beats) >= 3 and beats[-1] - published > STALE_MS
    again = AdminClient(_admin_url(live), admin.token)
    snapshot = await again.connect()
    assert again.sessions[session.interview_id]["seen_ms"] == published
    assert snapshot["alive"][holder] >= beats[-1]
    async with httpx.AsyncClient(base_url=live.http, timeout=10) as http:
        listed = await http.get(
            "/api/admin/monitor", headers={"Authorization": f"Bearer {admin.token}"}
        )
        assert session.interview_id in {s["interview_id"] for s in listed.json()["sessions"]}
        assert listed.json()["alive"][holder] >= beats[-1]
    await asyncio.gather(client.close(), admin.close(), again.close())


async def test_a_hidden_note_shapes_the_next_turn_and_the_candidate_never_sees_it(
    live: LiveServer,
) -> None:
    session, client = await _candidate(live, questions=2)
    admin = AdminClient(_admin_url(live), await _admin_token(live))
    await admin.connect()
    end = await client.until("turn.end")
    note = "probe deeper on connection pooling"
    await admin.send({"type": "steer.note", "interview_id": session.interview_id, "text": note})
    ack = await admin.until("steer.ack")
    assert (ack["interview_id"], ack["action"]) == (session.interview_id, "steer.note")

    await client.send({"type": "answer", "text": "I would cache the results.", "turn": end["turn"]})
    start = await client.until("turn.start")
    assert start["kind"] == "follow_up"
    shaped = await client.until("turn.end")
    assert "connection pooling" in shaped["text"]
    assert all(note not in orjson.dumps(frame).decode() for frame in client.frames)

    async with live.app.state.services.sessionmaker() as db:
        (saved,) = (
            await db.scalars(
                select(AdminNote).where(AdminNote.interview_id == uuid.UUID(session.interview_id))
            )
        ).all()
        assert (saved.text, saved.turn) == (note, shaped["turn"])
        actions = (
            await db.scalars(
                select(AdminAction).where(AdminAction.target_id == session.interview_id)
            )
        ).all()
        assert [a.action for a in actions] == ["interview.note"]
    detail = await session.detail()
    assert note not in orjson.dumps(detail).decode()
    await client.close()
    await admin.close()


async def test_more_time_for_the_open_answer_reaches_the_candidate(live: LiveServer) -> None:
    session, client = await _candidate(live)
    admin = AdminClient(_admin_url(live), await _admin_token(live))
    await admin.connect()
    end = await client.until("turn.end")
    await admin.send(
        {
            "type": "steer.extend",
            "interview_id": session.interview_id,
            "turn": end["turn"],
            "seconds": 120,
        }
    )
    assert (await admin.until("steer.ack"))["action"] == "steer.extend"
    extended = await client.until("answer.extended")
    assert extended["seconds"] == 120
    assert extended["answer_deadline_ms"] == end["answer_deadline_ms"] + 120_000
    assert extended["phase"] == "listening"

    # Not while no answer is open, nor for another turn: refused, nothing changes.
    await admin.send(
        {
            "type": "steer.extend",
            "interview_id": session.interview_id,
            "turn": end["turn"] + 5,
            "seconds": 60,
        }
    )
    refused = await admin.until("error")
    assert refused["code"] == "wrong_turn"
    await client.close()
    await admin.close()


async def test_an_administrator_ends_an_interview_with_a_report_on_what_was_answered(
    live: LiveServer,
) -> None:
    session, client = await _candidate(live, questions=3)
    admin = AdminClient(_admin_url(live), await _admin_token(live))
    await admin.connect()
    end = await client.until("turn.end")
    await client.send({"type": "answer", "text": "A thorough answer.", "turn": end["turn"]})
    await client.until("score")
    await admin.send({"type": "steer.end", "interview_id": session.interview_id})
    assert (await admin.until("steer.ack"))["action"] == "steer.end"
    ended = await client.until("ended")
    assert (ended["status"], ended["reason"]) == ("finished", "ended by an administrator")
    detail = await session.detail()
    assert detail["status"] == "finished" and detail["report"] is not None
    await admin.send({"type": "steer.end", "interview_id": str(uuid.uuid4())})
    assert (await admin.until("error"))["code"] == "interview_not_found"
    await client.close()
    await admin.close()


async def test_an_administrator_watches_an_interview_read_only(live: LiveServer) -> None:
    session, client = await _candidate(live)
    token = await _admin_token(live)
    watcher = InterviewClient(live.ws_url(session.interview_id), token)
    ready = await watcher.connect()
    assert ready["interview_id"] == session.interview_id
    end = await watcher.until("turn.end")
    assert watcher.turn_texts()[end["turn"]] == end["text"]
    await watcher.send({"type": "answer", "text": "not mine to give", "turn": end["turn"]})
    refused = await watcher.until("error")
    assert refused["code"] == "read_only"
    # The candidate answers; the watcher sees it as it happens.
    await client.send({"type": "answer", "text": "The candidate's answer.", "turn": end["turn"]})
    accepted = await watcher.until("answer.accepted")
    assert accepted["text"] == "The candidate's answer."
    # Watching is not being there: the interview counts as connected by its candidate only.
    fanout = live.app.state.services.gateway.fanout
    await client.close()
    deadline = time.monotonic() + 5
    while session.interview_id in fanout.local_interviews():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    await watcher.close()

    # A candidate cannot watch someone else's interview.
    _, other = await _candidate(live)
    stranger = InterviewClient(live.ws_url(session.interview_id), other.token)
    with pytest.raises(ConnectionClosed):
        await stranger.connect()
    await other.close()


async def test_a_demoted_administrator_cannot_steer_and_is_closed(live: LiveServer) -> None:
    session, client = await _candidate(live)
    admin = AdminClient(_admin_url(live), await _admin_token(live))
    await admin.connect()
    boss = await _admin_token(live)
    async with httpx.AsyncClient(base_url=live.http, timeout=10) as http:
        me = await http.get("/api/me", headers={"Authorization": f"Bearer {admin.token}"})
        demoted = await http.patch(
            f"/api/admin/users/{me.json()['id']}/role",
            json={"role": "candidate"},
            headers={"Authorization": f"Bearer {boss}"},
        )
        assert demoted.status_code == 200, demoted.text
    await admin.send({"type": "steer.end", "interview_id": session.interview_id})
    assert admin.ws is not None
    with pytest.raises(ConnectionClosed):
        await admin.until("steer.ack")
    assert admin.ws.close_code == 4404
    await client.send({"type": "ping", "t": 1})
    assert (await client.until("pong"))["t"] == 1  # the interview goes on
    await client.close()


async def test_the_admin_socket_refuses_other_sites_and_floods(live: LiveServer) -> None:
    token = await _admin_token(live)
    async with connect(_admin_url(live), origin="https://evil.example") as ws:  # type: ignore[arg-type]
        await ws.wait_closed()
        assert ws.close_code == 4403
    admin = AdminClient(_admin_url(live), token)
    await admin.connect()
    assert admin.ws is not None
    with pytest.raises(ConnectionClosed):
        for _ in range(200):
            await admin.send({"type": "ping", "t": 1})
        while True:
            await admin.recv()
    assert admin.ws.close_code == 4429
