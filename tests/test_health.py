"""Liveness and readiness probes."""

from __future__ import annotations

import gc
from collections import Counter
from pathlib import Path

import httpx
import pytest

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


def _passes(thresholds: tuple[int, int, int]) -> Counter[int]:
    """Collections by generation while objects pile up, as when interviews start."""
    passes: Counter[int] = Counter()

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            passes[info["generation"]] += 1

    saved = gc.get_threshold()
    gc.collect()
    gc.freeze()  # what the tests built so far stays out of it, as start-up's objects do
    gc.callbacks.append(count)
    gc.set_threshold(*thresholds)
    try:
        kept: list[list[None]] = []
        for _ in range(1_500_000):
            kept.append([])
            if len(kept) > 200_000:
                del kept[:100_000]
    finally:
        gc.callbacks.remove(count)
        gc.set_threshold(*saved)
        gc.unfreeze()
    return passes


def test_the_middle_generation_is_collected_often_and_the_oldest_no_more_often() -> None:
    """GC_THRESHOLDS walk what a burst of starts leaves behind in small middle passes
    without bringing full passes sooner than CPython's own 10 and 10 (server/app.py).
    The young threshold is scaled down to make enough collections."""
    _, middle, oldest = GC_THRESHOLDS
    ours = _passes((500, middle, oldest))
    cpython = _passes((500, 10, 10))
    assert sum(ours.values()) == pytest.approx(sum(cpython.values()), rel=0.05)
    assert ours[1] + ours[2] >= 3 * (cpython[1] + cpython[2])  # one in three, not eleven
    assert cpython[2] >= 5
    assert ours[2] <= cpython[2] + 2  # as often, give or take another thread's objects
