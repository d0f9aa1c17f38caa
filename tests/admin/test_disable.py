"""Admin: a disabled account cannot sign in or use a token; its live interviews end."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from websockets.exceptions import ConnectionClosed

from server.config import Settings
from server.store.models import Interview, Report, Turn
from tests.admin.people import Person, log_in, make_admin, sign_up
from tests.wsclient import STRONG_ANSWER, InterviewClient, LiveServer, new_session

DISABLED = {"code": "account_disabled", "detail": "This account is disabled."}


async def _disable(client: httpx.AsyncClient, admin: Person, user_id: uuid.UUID) -> httpx.Response:
    return await client.post(f"/api/admin/users/{user_id}/disable", headers=admin.headers)


async def test_a_disabled_account_cannot_sign_in_refresh_or_use_the_tokens_it_holds(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await make_admin(app, client)
    candidate = await sign_up(client)

    disabled = await _disable(client, admin, candidate.id)
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["disabled_at"] is not None

    me = await client.get("/api/me", headers=candidate.headers)
    assert (me.status_code, me.json()) == (401, DISABLED)
    login = await log_in(client, candidate)
    assert (login.status_code, login.json()) == (401, DISABLED)
    refreshed = await client.post(
        "/api/auth/refresh", json={"refresh_token": candidate.refresh_token}
    )
    assert (refreshed.status_code, refreshed.json()) == (401, DISABLED)
    # Without the password nobody learns that the account is disabled.
    guess = await client.post(
        "/api/auth/login", json={"email": candidate.email, "password": "not-the-password"}
    )
    assert (guess.status_code, guess.json()["code"]) == (401, "invalid_credentials")
    # Disabling again changes nothing.
    again = await _disable(client, admin, candidate.id)
    assert again.json()["disabled_at"] == disabled.json()["disabled_at"]


async def test_enabling_lets_the_account_sign_in_again_but_old_tokens_stay_revoked(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await make_admin(app, client)
    candidate = await sign_up(client)
    await _disable(client, admin, candidate.id)

    enabled = await client.post(f"/api/admin/users/{candidate.id}/enable", headers=admin.headers)
    assert (enabled.status_code, enabled.json()["disabled_at"]) == (200, None)
    login = await log_in(client, candidate)
    assert login.status_code == 200, login.text
    fresh = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert (await client.get("/api/me", headers=fresh)).status_code == 200
    old = await client.get("/api/me", headers=candidate.headers)
    assert (old.status_code, old.json()["code"]) == (401, "not_authenticated")

    log = await client.get(
        "/api/admin/audit", params={"target_id": str(candidate.id)}, headers=admin.headers
    )
    assert [e["action"] for e in log.json()["items"]] == ["user.enable", "user.disable"]


async def test_an_admin_cannot_disable_their_own_account(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await make_admin(app, client)
    response = await _disable(client, admin, admin.id)
    assert response.status_code == 409
    assert response.json()["detail"] == "You cannot disable your own account."
    assert (await client.get("/api/me", headers=admin.headers)).status_code == 200
    missing = await _disable(client, admin, uuid.uuid4())
    assert missing.status_code == 404


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[LiveServer]:
    async with LiveServer(settings.model_copy(update={"offline_pace_ms": 20})).running() as server:
        yield server


async def test_disabling_ends_a_live_interview_on_its_open_socket_then_closes_it(
    live: LiveServer,
) -> None:
    """The candidate hears ``ended`` (with the report of what was answered), then 4401."""
    session = await new_session(live.http, question_count=3)
    bystander = await new_session(live.http, question_count=1)
    socket = InterviewClient(live.ws_url(session.interview_id), session.token)
    other = InterviewClient(live.ws_url(bystander.interview_id), bystander.token)
    await socket.connect()
    await other.connect()
    first = await socket.until("turn.end")
    await socket.send({"type": "answer", "text": STRONG_ANSWER, "turn": first["turn"]})
    await socket.until("score")

    async with httpx.AsyncClient(base_url=live.http, timeout=20) as http:
        admin = await make_admin(live.app, http)
        user_id = uuid.UUID((await http.get("/api/me", headers=session.headers)).json()["id"])
        disabled = await _disable(http, admin, user_id)
        assert disabled.status_code == 200, disabled.text

    report = await socket.until("report")
    ended = await socket.until("ended")
    assert (ended["status"], ended["reason"]) == ("finished", "ended by an administrator")
    assert report["seq"] < ended["seq"]
    code, reason = await socket.closed_with(timeout=5)
    assert (code, reason) == (4401, "your session was signed out; sign in again")
    with pytest.raises(ConnectionClosed) as refused:
        await socket.connect()
    assert refused.value.rcvd is not None and refused.value.rcvd.code == 4401
    # Someone else's interview goes on.
    await other.until("turn.end")

    async with live.app.state.services.sessionmaker() as db:
        interview = await db.get(Interview, uuid.UUID(session.interview_id))
        assert interview is not None and interview.status == "finished"
        saved = await db.get(Report, interview.id)
        assert saved is not None and saved.overall_score == report["overall_score"]
        turns = list(
            await db.scalars(
                select(Turn).where(Turn.interview_id == interview.id).order_by(Turn.index)
            )
        )
    assert turns[0].answer == STRONG_ANSWER
    assert turns[0].outcome == "answered"
