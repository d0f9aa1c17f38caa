"""Admin: the audit log lists every change, newest first, with who made it; filters work."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.admin.people import Person, make_admin, sign_up


async def _log(
    client: httpx.AsyncClient, admin: Person, **params: Any
) -> tuple[int, list[dict[str, Any]]]:
    response = await client.get("/api/admin/audit", params=params, headers=admin.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    return body["total"], body["items"]


async def test_every_change_is_listed_newest_first_with_the_admins_email(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await make_admin(app, client)
    other_admin = await make_admin(app, client)
    target = await sign_up(client)
    base = f"/api/admin/users/{target.id}"
    await client.patch(f"{base}/role", json={"role": "admin"}, headers=admin.headers)
    await client.patch(f"{base}/role", json={"role": "candidate"}, headers=admin.headers)
    await client.post(f"{base}/credits", json={"delta": 2, "reason": "Gift"}, headers=admin.headers)
    await client.post(f"{base}/disable", headers=admin.headers)
    await client.post(f"{base}/enable", headers=other_admin.headers)

    total, items = await _log(client, admin, target_type="user", target_id=str(target.id))
    assert total == 5
    assert [(e["action"], e["admin_email"]) for e in items] == [
        ("user.enable", other_admin.email),
        ("user.disable", admin.email),
        ("credits.grant", admin.email),
        ("user.role", admin.email),
        ("user.role", admin.email),
    ]
    assert [e["created_at"] for e in items] == sorted(
        (e["created_at"] for e in items), reverse=True
    )
    assert all(e["target_type"] == "user" and e["target_id"] == str(target.id) for e in items)

    total, page = await _log(client, admin, target_id=str(target.id), limit=2, offset=1)
    assert total == 5
    assert [e["id"] for e in page] == [e["id"] for e in items[1:3]]
    _, by_prefix = await _log(client, admin, target_id=str(target.id), action="user.")
    assert [e["action"] for e in by_prefix] == [
        "user.enable",
        "user.disable",
        "user.role",
        "user.role",
    ]
    _, exact = await _log(client, admin, target_id=str(target.id), action="credits.grant")
    assert [e["detail"]["reason"] for e in exact] == ["Gift"]
    total, by_admin = await _log(client, admin, admin_id=str(other_admin.id))
    assert (total, [e["action"] for e in by_admin]) == (1, ["user.enable"])


async def test_an_action_filter_is_a_prefix_not_a_pattern(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await make_admin(app, client)
    target = await sign_up(client)
    await client.post(
        f"/api/admin/users/{target.id}/credits",
        json={"delta": 1, "reason": "Gift"},
        headers=admin.headers,
    )
    _, items = await _log(client, admin, target_id=str(target.id), action="credits_")
    assert items == []
    refused = await client.get(
        "/api/admin/audit", params={"action": "credits%"}, headers=admin.headers
    )
    assert refused.status_code == 422
