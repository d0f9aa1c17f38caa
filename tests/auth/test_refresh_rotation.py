"""Refresh tokens rotate on every use; a reused one ends its sign-in, an honest race does not."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import jwt
from fastapi import FastAPI
from sqlalchemy import func, select

from server.auth import tokens
from server.store.models import RefreshToken, RefreshTokenFamily
from tests.auth.conftest import MakeApp, client_at
from tests.conftest import TEST_SECRET, bearer, register, unique_email

PASSWORD = "correct-horse-battery"


def _jti(refresh_token: str) -> str:
    claims: dict[str, Any] = jwt.decode(refresh_token, options={"verify_signature": False})
    return str(claims["jti"])


async def _refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post("/api/auth/refresh", json={"refresh_token": refresh_token})


async def test_each_refresh_returns_a_new_refresh_token_and_spends_the_old(
    client: httpx.AsyncClient,
) -> None:
    """R1 → R2 → R3; then R1 again (its successor already used) is theft: R3 dies too."""
    first = (await register(client))["refresh_token"]
    second = await _refresh(client, first)
    assert second.status_code == 200
    r2 = second.json()["refresh_token"]
    assert _jti(r2) != _jti(first)
    assert (await client.get("/api/me", headers=bearer(second.json()))).status_code == 200

    third = await _refresh(client, r2)
    assert third.status_code == 200
    r3 = third.json()["refresh_token"]
    assert _jti(r3) not in {_jti(first), _jti(r2)}

    reused = await _refresh(client, first)
    assert reused.status_code == 401
    assert reused.json()["code"] == "refresh_token_reused"
    after_theft = await _refresh(client, r3)
    assert after_theft.status_code == 401


async def test_a_spent_token_after_the_grace_window_revokes_the_whole_sign_in(
    make_app: MakeApp,
) -> None:
    """With no grace, presenting a spent token at all revokes every token of that sign-in."""
    app = await make_app(refresh_reuse_grace_s=0)
    async with client_at(app, "198.51.100.1") as client:
        r1 = (await register(client))["refresh_token"]
        rotated = await _refresh(client, r1)
        assert rotated.status_code == 200
        r2 = rotated.json()["refresh_token"]
        await asyncio.sleep(0.01)

        reused = await _refresh(client, r1)
        assert reused.status_code == 401
        assert reused.json()["code"] == "refresh_token_reused"
        assert (await _refresh(client, r2)).status_code == 401


async def test_a_retried_refresh_within_the_grace_window_gets_the_same_successor(
    client: httpx.AsyncClient,
) -> None:
    """A lost answer retried with the old token gets the successor again; the chain goes on."""
    r1 = (await register(client))["refresh_token"]
    first = await _refresh(client, r1)
    retried = await _refresh(client, r1)
    assert first.status_code == retried.status_code == 200
    assert _jti(first.json()["refresh_token"]) == _jti(retried.json()["refresh_token"])
    assert (await client.get("/api/me", headers=bearer(retried.json()))).status_code == 200

    onward = await _refresh(client, retried.json()["refresh_token"])
    assert onward.status_code == 200


async def test_the_same_token_sent_twice_at_once_gets_one_successor(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """Two tabs refreshing together both succeed, with one successor and no revocation."""
    session = await register(client)
    answers = await asyncio.gather(*(_refresh(client, session["refresh_token"]) for _ in range(2)))
    assert [a.status_code for a in answers] == [200, 200]
    successors = {_jti(a.json()["refresh_token"]) for a in answers}
    assert len(successors) == 1

    async with app.state.services.sessionmaker() as db:
        family_id = await db.scalar(
            select(RefreshToken.family_id).where(RefreshToken.id == uuid.UUID(successors.pop()))
        )
        family = await db.get(RefreshTokenFamily, family_id)
        assert family is not None and family.revoked_at is None
        tokens_in_family = await db.scalar(
            select(func.count()).where(RefreshToken.family_id == family_id)
        )
    assert tokens_in_family == 2  # the spent one and its single successor
    assert (await _refresh(client, answers[1].json()["refresh_token"])).status_code == 200


async def test_reuse_in_one_sign_in_leaves_the_others_alone(client: httpx.AsyncClient) -> None:
    """Theft detected on the laptop's sign-in does not sign the phone out."""
    email = unique_email()
    laptop = await register(client, email, PASSWORD)
    phone = (
        await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    ).json()
    r2 = (await _refresh(client, laptop["refresh_token"])).json()["refresh_token"]
    await _refresh(client, r2)
    assert (await _refresh(client, laptop["refresh_token"])).status_code == 401

    still = await _refresh(client, phone["refresh_token"])
    assert still.status_code == 200


async def test_a_refresh_token_without_a_recorded_id_is_refused(client: httpx.AsyncClient) -> None:
    """Tokens from before rotation (no jti), or naming an unknown id, need a new sign-in."""
    session = await register(client)
    user_id = uuid.UUID(session["user"]["id"])
    legacy = tokens.issue_token(
        secret=TEST_SECRET, user_id=user_id, token_version=0, type="refresh", ttl_s=600
    )
    unknown = tokens.issue_token(
        secret=TEST_SECRET,
        user_id=user_id,
        token_version=0,
        type="refresh",
        ttl_s=600,
        token_id=uuid.uuid4(),
    )
    for token in (legacy, unknown):
        response = await _refresh(client, token)
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
