"""Admin: granting and removing credits, through the ledger, never below zero."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from server.payments import ledger
from server.store.models import CreditEntry, User
from tests.admin.people import Person, make_admin, sign_up


async def _ledger(app: FastAPI, person: Person) -> tuple[int, int, list[CreditEntry]]:
    """(cached balance, ledger sum, entries oldest first)."""
    async with app.state.services.sessionmaker() as session:
        balance = await session.scalar(select(User.credit_balance).where(User.id == person.id))
        total = await ledger.ledger_balance(session, person.id)
        entries = list(
            await session.scalars(
                select(CreditEntry).where(CreditEntry.user_id == person.id).order_by(CreditEntry.id)
            )
        )
    assert balance is not None
    return balance, total, entries


async def _adjust(
    client: httpx.AsyncClient, admin: Person, person: Person, delta: Any, reason: Any
) -> httpx.Response:
    return await client.post(
        f"/api/admin/users/{person.id}/credits",
        json={"delta": delta, "reason": reason},
        headers=admin.headers,
    )


async def _audit(client: httpx.AsyncClient, admin: Person, person: Person) -> list[dict[str, Any]]:
    log = await client.get(
        "/api/admin/audit",
        params={"action": "credits", "target_id": str(person.id)},
        headers=admin.headers,
    )
    assert log.status_code == 200, log.text
    items: list[dict[str, Any]] = log.json()["items"]
    return items


async def test_a_grant_adds_a_ledger_entry_and_is_audited_with_the_reason_and_the_admin(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await make_admin(app, client)
    candidate = await sign_up(client)
    before, _, _ = await _ledger(app, candidate)

    granted = await _adjust(client, admin, candidate, 5, "  Goodwill after the outage  ")
    assert granted.status_code == 200, granted.text
    assert granted.json()["credit_balance"] == before + 5

    balance, total, entries = await _ledger(app, candidate)
    assert balance == total == before + 5
    entry = entries[-1]
    assert (entry.delta, entry.reason) == (5, "admin_grant")
    assert entry.external_ref.startswith("admin:")
    [audited] = await _audit(client, admin, candidate)
    assert audited["action"] == "credits.grant"
    assert (audited["admin_id"], audited["admin_email"]) == (str(admin.id), admin.email)
    assert audited["detail"] == {
        "delta": 5,
        "reason": "Goodwill after the outage",
        "balance": before + 5,
        "external_ref": entry.external_ref,
        "admin_id": str(admin.id),
    }


async def test_a_removal_takes_credits_away_down_to_zero_but_never_below(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await make_admin(app, client)
    candidate = await sign_up(client)
    before, _, _ = await _ledger(app, candidate)
    await _adjust(client, admin, candidate, 3, "Top-up")

    removed = await _adjust(client, admin, candidate, -2, "Refund reversed")
    assert removed.status_code == 200, removed.text
    assert removed.json()["credit_balance"] == before + 1
    balance, total, entries = await _ledger(app, candidate)
    assert balance == total == before + 1
    assert (entries[-1].delta, entries[-1].reason) == (-2, "admin_removal")

    refused = await _adjust(client, admin, candidate, -(before + 2), "Too much")
    assert refused.status_code == 409
    assert refused.json()["code"] == "balance_too_low"
    assert refused.json()["detail"] == (
        f"Removing {before + 2} credits would take the balance below zero: "
        f"the account has {before + 1}."
    )
    after, total_after, entries_after = await _ledger(app, candidate)
    assert after == total_after == before + 1
    assert len(entries_after) == len(entries)
    assert [e["action"] for e in await _audit(client, admin, candidate)] == [
        "credits.remove",
        "credits.grant",
    ]

    emptied = await _adjust(client, admin, candidate, -(before + 1), "Account closed")
    assert emptied.json()["credit_balance"] == 0


@pytest.mark.parametrize(
    ("delta", "reason"),
    [(0, "Nothing"), (1001, "Too many"), (-1001, "Too many"), (1, ""), (1, "   "), (1, "x" * 201)],
)
async def test_an_adjustment_out_of_bounds_or_without_a_reason_is_refused(
    app: FastAPI, client: httpx.AsyncClient, delta: int, reason: str
) -> None:
    admin = await make_admin(app, client)
    candidate = await sign_up(client)
    response = await _adjust(client, admin, candidate, delta, reason)
    assert response.status_code == 422, response.text
    assert await _audit(client, admin, candidate) == []


async def test_credits_for_an_unknown_account_are_not_found(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await make_admin(app, client)
    ghost = Person(id=uuid.uuid4(), email="nobody@example.com", headers={}, refresh_token="")
    response = await _adjust(client, admin, ghost, 1, "Nobody")
    assert response.status_code == 404
