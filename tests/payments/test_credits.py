"""The credit ledger: balances, spending, and no double application under concurrency."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from server.payments import ledger
from server.store.models import CreditEntry, Interview, User
from tests.conftest import bearer, register

NEW_INTERVIEW = {"track": "backend", "level": "mid"}


async def _counts(app: FastAPI, user_id: str) -> tuple[int, int, int]:
    """(cached balance, ledger sum, interviews) for one user."""
    uid = uuid.UUID(user_id)
    async with app.state.services.sessionmaker() as db:
        interviews = await db.scalar(
            select(func.count()).select_from(Interview).where(Interview.owner_id == uid)
        )
        user = await db.get(User, uid)
        assert user is not None
        return user.credit_balance, await ledger.ledger_balance(db, uid), int(interviews or 0)


async def test_a_new_user_has_the_sign_up_credits_in_the_ledger(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    session = await register(client)
    assert await _counts(app, session["user"]["id"]) == (3, 3, 0)
    async with app.state.services.sessionmaker() as db:
        entries = (
            await db.scalars(
                select(CreditEntry).where(CreditEntry.user_id == uuid.UUID(session["user"]["id"]))
            )
        ).all()
    assert [(e.delta, e.reason) for e in entries] == [(3, "signup_bonus")]


async def test_creating_interviews_until_credits_run_out_gives_402(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    """Three interviews succeed, the fourth gets 402 and writes nothing."""
    session = await register(client)
    for expected_left in (2, 1, 0):
        created = await client.post("/api/interviews", json=NEW_INTERVIEW, headers=bearer(session))
        assert created.status_code == 201
        me = await client.get("/api/me", headers=bearer(session))
        assert me.json()["credits"] == expected_left

    refused = await client.post("/api/interviews", json=NEW_INTERVIEW, headers=bearer(session))
    assert refused.status_code == 402
    assert refused.json()["code"] == "insufficient_credits"
    assert "credits" in refused.json()["detail"]
    assert await _counts(app, session["user"]["id"]) == (0, 0, 3)


async def test_ten_concurrent_creates_with_one_credit_left_create_exactly_one(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    session = await register(client)
    for _ in range(2):
        assert (
            await client.post("/api/interviews", json=NEW_INTERVIEW, headers=bearer(session))
        ).status_code == 201

    responses = await asyncio.gather(
        *(
            client.post("/api/interviews", json=NEW_INTERVIEW, headers=bearer(session))
            for _ in range(10)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [402] * 9
    assert await _counts(app, session["user"]["id"]) == (0, 0, 3)


async def test_a_grant_with_the_same_external_reference_is_applied_once(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    session = await register(client)
    uid = uuid.UUID(session["user"]["id"])
    ref = f"pay_{uuid.uuid4().hex}"

    async def grant() -> bool:
        async with app.state.services.sessionmaker() as db:
            applied = await ledger.grant(db, uid, 5, reason="purchase", external_ref=ref)
            await db.commit()
            return applied

    results = [await grant(), await grant()]
    assert results == [True, False]
    assert await _counts(app, session["user"]["id"]) == (8, 8, 0)
