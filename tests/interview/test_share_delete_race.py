"""Deleting an interview while its share link is switched on or off: 404 or success, never 500."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest

from server.config import Settings
from tests.conftest import bearer, make_settings, register

RACES = 30


@pytest.fixture
def settings(database_url: str, redis_prefix: str, tmp_path: Path) -> Settings:
    # Every race spends a credit on a fresh interview.
    return make_settings(
        database_url, f"{redis_prefix}{uuid.uuid4().hex[:8]}:", tmp_path, free_credits=RACES * 2
    )


@pytest.mark.parametrize("toggle", ["share", "unshare"])
async def test_deleting_an_interview_while_its_share_link_changes_never_fails_with_500(
    client: httpx.AsyncClient, toggle: str
) -> None:
    """DELETE and POST/DELETE .../share sent together, many times: each answers 2xx or 404."""
    headers = bearer(await register(client))
    outcomes: set[tuple[int, int]] = set()
    for _ in range(RACES):
        created = await client.post(
            "/api/interviews", json={"track": "backend", "level": "mid"}, headers=headers
        )
        assert created.status_code == 201, created.text
        path = f"/api/interviews/{created.json()['id']}"
        if toggle == "unshare":
            assert (await client.post(f"{path}/share", headers=headers)).status_code == 200
        method = "POST" if toggle == "share" else "DELETE"
        deleted, toggled = await asyncio.gather(
            client.delete(path, headers=headers),
            client.request(method, f"{path}/share", headers=headers),
        )
        assert deleted.status_code == 204, deleted.text
        assert toggled.status_code in (200, 204, 404), toggled.text
        if toggled.status_code == 404:
            assert toggled.json()["code"] == "interview_not_found"
        outcomes.add((deleted.status_code, toggled.status_code))
        # Whatever the order, the interview and its share link are gone afterwards.
        assert (await client.get(path, headers=headers)).status_code == 404
        assert (await client.post(f"{path}/share", headers=headers)).status_code == 404
    assert outcomes
