"""Buying credits against the REAL razorpay SDK, pointed at a local fake of Razorpay's API.

After every test that uses ``shop``, every account's cached balance must equal its ledger.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from server.app import create_app
from server.store.models import CreditEntry, User
from tests.admin.people import Person, make_admin, sign_up
from tests.conftest import make_settings
from tests.fakes.razorpay import FakeRazorpay, SignedWebhook


@dataclass
class Shop:
    """The app with buying switched on, its client, and the fake Razorpay behind it."""

    app: FastAPI
    http: httpx.AsyncClient
    razorpay: FakeRazorpay

    async def buyer(self) -> Person:
        return await sign_up(self.http)

    async def admin(self) -> Person:
        return await make_admin(self.app, self.http)

    async def order(self, person: Person, pack: str = "five") -> dict[str, Any]:
        response = await self.http.post(
            "/api/payments/orders", json={"pack": pack}, headers=person.headers
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def verify(self, person: Person, confirmation: dict[str, Any]) -> httpx.Response:
        return await self.http.post(
            "/api/payments/verify", json=confirmation, headers=person.headers
        )

    async def deliver(self, hook: SignedWebhook) -> httpx.Response:
        return await self.http.post(
            "/api/payments/webhook", content=hook.body, headers=hook.headers
        )

    async def balance(self, person: Person) -> int:
        me = await self.http.get("/api/me", headers=person.headers)
        return int(me.json()["credits"])

    async def purchases(self, person: Person) -> list[CreditEntry]:
        async with self.app.state.services.sessionmaker() as db:
            rows = await db.scalars(
                select(CreditEntry).where(
                    CreditEntry.user_id == person.id, CreditEntry.reason == "purchase"
                )
            )
            return list(rows)


async def balances_match_ledger(app: FastAPI) -> None:
    async with app.state.services.sessionmaker() as db:
        sums = dict(
            (
                await db.execute(
                    select(CreditEntry.user_id, func.sum(CreditEntry.delta)).group_by(
                        CreditEntry.user_id
                    )
                )
            ).all()
        )
        for user_id, cached in await db.execute(select(User.id, User.credit_balance)):
            assert cached == int(sums.get(user_id, 0)), f"user {user_id}: balance != ledger"


def shop_settings(
    database_url: str, prefix: str, root: Path, razorpay: FakeRazorpay, **overrides: Any
) -> Any:
    return make_settings(
        database_url,
        prefix,
        root,
        razorpay_key_id=razorpay.key_id,
        razorpay_key_secret=razorpay.key_secret,
        razorpay_webhook_secret=razorpay.webhook_secret,
        razorpay_base_url=razorpay.base_url,
        razorpay_timeout_s=1.0,
        **overrides,
    )


@pytest.fixture
async def razorpay() -> AsyncIterator[FakeRazorpay]:
    async with FakeRazorpay() as fake:
        yield fake


@pytest.fixture
async def shop(
    database_url: str, redis_prefix: str, tmp_path: Path, razorpay: FakeRazorpay
) -> AsyncIterator[Shop]:
    settings = shop_settings(
        database_url, f"{redis_prefix}{uuid.uuid4().hex[:8]}:", tmp_path, razorpay
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield Shop(app, http, razorpay)
            await balances_match_ledger(app)
