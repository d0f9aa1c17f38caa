"""Free text on REST is cleaned at the edge: it is stored as it will be shown, never a 500."""

from __future__ import annotations

import httpx

from tests.conftest import bearer, register

RAW = "Led the\x00 payments\x07 team.\r\nCafe\u0301 owner.\x1b"
CLEAN = "Led the payments team.\nCaf\u00e9 owner."


async def test_control_characters_in_a_resume_and_job_description_are_removed(
    client: httpx.AsyncClient,
) -> None:
    session = await register(client)
    created = await client.post(
        "/api/interviews",
        json={"track": "backend", "level": "mid", "resume_text": RAW, "job_description": RAW},
        headers=bearer(session),
    )
    assert created.status_code == 201, created.text
    detail = await client.get(f"/api/interviews/{created.json()['id']}", headers=bearer(session))
    assert (detail.json()["resume_text"], detail.json()["job_description"]) == (CLEAN, CLEAN)


async def test_half_a_character_is_refused_with_a_422_that_names_the_field(
    client: httpx.AsyncClient,
) -> None:
    session = await register(client)
    body = '{"track": "backend", "level": "mid", "resume_text": "broken \\ud800 text"}'
    refused = await client.post(
        "/api/interviews",
        content=body,
        headers={**bearer(session), "content-type": "application/json"},
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"][0]["loc"] == ["body", "resume_text"]
    listed = await client.get("/api/interviews", headers=bearer(session))
    assert listed.json()["total"] == 0  # nothing was created, no credit spent
