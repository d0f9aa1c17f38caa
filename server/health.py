"""Liveness (/healthz) and readiness (/readyz) probes for load balancers and compose."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from server import __version__
from server.deps import ServicesDep

router = APIRouter(tags=["health"])
CHECK_TIMEOUT_S = 2.0


class DependencyStatus(BaseModel):
    ok: bool
    backend: str
    latency_ms: float
    error: str | None = None


class Readiness(BaseModel):
    status: str
    checks: dict[str, DependencyStatus]


class Liveness(BaseModel):
    status: str
    version: str


async def _check(backend: str, probe: Callable[[], Awaitable[object]]) -> DependencyStatus:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            await probe()
    except Exception as exc:
        error = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
        return DependencyStatus(ok=False, backend=backend, latency_ms=_ms(started), error=error)
    return DependencyStatus(ok=True, backend=backend, latency_ms=_ms(started))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


@router.get("/healthz", response_model=Liveness)
async def healthz() -> Liveness:
    """The process is up and serving requests."""
    return Liveness(status="ok", version=__version__)


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(services: ServicesDep) -> JSONResponse:
    """The database and the live store both answer."""
    engine, live = services.engine, services.live

    async def ping_db() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    database, live_status = await asyncio.gather(
        _check(engine.dialect.name, ping_db), _check(live.name, live.ping)
    )
    ready = database.ok and live_status.ok
    body = Readiness(
        status="ok" if ready else "unavailable", checks={"database": database, "live": live_status}
    )
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
