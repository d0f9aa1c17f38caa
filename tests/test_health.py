"""Liveness and readiness probes."""

from __future__ import annotations

import gc
from pathlib import Path

import httpx

from server.app import GC_THRESHOLDS, create_app
from tests.conftest import make_settings


async def test_healthz_answers_while_the_process_is_up(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.headers["x-request-id"]


async def test_readyz_reports_each_dependency(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "live"}
    assert all(check["ok"] for check in body["checks"].values())


async def test_readyz_is_503_and_names_the_dependency_that_is_down(
    database_url: str, tmp_path: Path
) -> None:
    """With Redis unreachable the database still reports ok and the live store does not."""
    settings = make_settings(
        database_url, "test:down:", tmp_path, redis_url="redis://127.0.0.1:1/0"
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["live"] == {
        **body["checks"]["live"],
        "ok": False,
        "backend": "redis",
    }
    assert body["checks"]["live"]["error"]


async def test_a_caller_supplied_request_id_is_echoed_and_a_bad_one_replaced(
    client: httpx.AsyncClient,
) -> None:
    good = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert good.headers["x-request-id"] == "abc-123"
    bad = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert bad.headers["x-request-id"] != "bad id\twith spaces"
    assert len(bad.headers["x-request-id"]) == 32


async def test_a_started_process_keeps_its_startup_objects_out_of_the_collector(
    database_url: str, tmp_path: Path
) -> None:
    """The collector runs at GC_THRESHOLDS and what startup built is frozen: both keep the
    collector's passes short under load (server/app.py)."""
    # CPython's defaults and nothing frozen, whatever an earlier app in this process did.
    gc.set_threshold(700, 10, 10)
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    app = create_app(make_settings(database_url, "test:gc:", tmp_path))
    async with app.router.lifespan_context(app):
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_freeze_count() > 10_000  # the modules, the app, the routes
    # Short middle passes must not bring full passes sooner: CPython looks at the oldest
    # generation once every (t1 + 1) * (t2 + 1) young collections, 121 by default.
    _, middle, oldest = GC_THRESHOLDS
    assert middle <= 2
    assert (middle + 1) * (oldest + 1) >= 11 * 11
