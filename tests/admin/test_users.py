"""Admin: finding accounts, reading them and their interviews, changing a role."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from server.store.models import Interview, InterviewStatus, Report
from tests.admin.people import make_admin, sign_up


async def _interview(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    created = await client.post(
        "/api/interviews", json={"track": "backend", "level": "mid"}, headers=headers
    )
    assert created.status_code == 201, created.text
    interview_id: str = created.json()["id"]
    return interview_id


async def _finish_with_report(app: FastAPI, interview_id: str, score: float) -> None:
    async with app.state.services.sessionmaker() as session:
        await session.execute(
            update(Interview)
            .where(Interview.id == uuid.UUID(interview_id))
            .values(status=InterviewStatus.finished, finished_at=datetime.now(UTC))
        )
        session.add(
            Report(
                interview_id=uuid.UUID(interview_id),
                overall_score=score,
                strengths=["Clear structure"],
                weaknesses=["Few numbers"],
                next_steps=["Quantify", "Compare", "Summarise"],
                rubric_version="v1",
                provider="offline",
            )
        )
        await session.commit()


async def test_accounts_are_found_by_part_of_their_email_newest_first_a_page_at_a_time(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The search ignores case, treats % and _ as themselves, and pages newest first."""
    admin = await make_admin(app, client)
    tag = uuid.uuid4().hex[:10]
    people = [await sign_up(client, f"{tag}-{n}@example.com") for n in range(3)]
    await _interview(client, people[0].headers)

    first = await client.get(
        "/api/admin/users", params={"email": tag.upper(), "limit": 2}, headers=admin.headers
    )
    assert first.status_code == 200, first.text
    page = first.json()
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)
    assert [item["email"] for item in page["items"]] == [people[2].email, people[1].email]
    second = await client.get(
        "/api/admin/users", params={"email": tag, "limit": 2, "offset": 2}, headers=admin.headers
    )
    [oldest] = second.json()["items"]
    assert oldest["id"] == str(people[0].id)
    assert oldest["interview_count"] == 1
    assert oldest["role"] == "candidate"
    assert oldest["disabled_at"] is None
    assert oldest["credit_balance"] >= 0

    wildcard = await client.get(
        "/api/admin/users", params={"email": f"{tag}%"}, headers=admin.headers
    )
    assert wildcard.json()["total"] == 0


async def test_an_accounts_detail_lists_its_interviews_and_an_admin_reads_their_reports(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await make_admin(app, client)
    candidate = await sign_up(client)
    older = await _interview(client, candidate.headers)
    newer = await _interview(client, candidate.headers)
    await _finish_with_report(app, older, 3.5)

    detail = await client.get(f"/api/admin/users/{candidate.id}", headers=admin.headers)
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert (body["email"], body["interview_count"]) == (candidate.email, 2)
    assert [(i["id"], i["status"], i["overall_score"]) for i in body["interviews"]] == [
        (newer, "created", None),
        (older, "finished", 3.5),
    ]

    report = await client.get(
        f"/api/admin/users/{candidate.id}/interviews/{older}", headers=admin.headers
    )
    assert report.status_code == 200, report.text
    assert report.json()["report"]["overall_score"] == 3.5
    assert report.json()["report"]["strengths"] == ["Clear structure"]
    # Someone else's interview under this account's path is not found.
    stranger = await sign_up(client)
    theirs = await _interview(client, stranger.headers)
    elsewhere = await client.get(
        f"/api/admin/users/{candidate.id}/interviews/{theirs}", headers=admin.headers
    )
    assert elsewhere.status_code == 404
    missing = await client.get(f"/api/admin/users/{uuid.uuid4()}", headers=admin.headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "user_not_found")


async def test_an_admin_promotes_and_demotes_an_account_but_cannot_lower_their_own_role(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await make_admin(app, client)
    candidate = await sign_up(client)
    assert (await client.get("/api/admin/users", headers=candidate.headers)).status_code == 404

    promoted = await client.patch(
        f"/api/admin/users/{candidate.id}/role", json={"role": "admin"}, headers=admin.headers
    )
    assert (promoted.status_code, promoted.json()["role"]) == (200, "admin")
    # The same token now reaches the admin API: the role is read on every request.
    assert (await client.get("/api/admin/users", headers=candidate.headers)).status_code == 200
    demoted = await client.patch(
        f"/api/admin/users/{candidate.id}/role", json={"role": "candidate"}, headers=admin.headers
    )
    assert demoted.json()["role"] == "candidate"
    assert (await client.get("/api/admin/users", headers=candidate.headers)).status_code == 404

    own = await client.patch(
        f"/api/admin/users/{admin.id}/role", json={"role": "candidate"}, headers=admin.headers
    )
    assert own.status_code == 409
    assert "your own administrator role" in own.json()["detail"]
    me = await client.get("/api/me", headers=admin.headers)
    assert me.json()["role"] == "admin"

    log = await client.get(
        "/api/admin/audit",
        params={"target_type": "user", "target_id": str(candidate.id)},
        headers=admin.headers,
    )
    changes = [(e["action"], e["detail"]) for e in log.json()["items"]]
    assert changes == [
        ("user.role", {"from": "admin", "to": "candidate"}),
        ("user.role", {"from": "candidate", "to": "admin"}),
    ]


async def test_an_unknown_role_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await make_admin(app, client)
    candidate = await sign_up(client)
    response = await client.patch(
        f"/api/admin/users/{candidate.id}/role", json={"role": "owner"}, headers=admin.headers
    )
    assert response.status_code == 422
