"""Admin: the live monitor as a REST snapshot (what the admin socket's first frame carries)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from server.deps import ServicesDep
from server.protocol import SessionSummary

router = APIRouter()


class MonitorSnapshotPublic(BaseModel):
    sessions: list[SessionSummary]
    alive: dict[str, int] = Field(
        description="Unix ms each gateway process last said it is running."
    )
    at_ms: int


@router.get("/monitor", response_model=MonitorSnapshotPublic)
async def monitor_snapshot(services: ServicesDep) -> MonitorSnapshotPublic:
    """Every live interview on every gateway process, as the live monitor shows it."""
    snapshot = await services.admin_gateway.snapshot()
    return MonitorSnapshotPublic(
        sessions=snapshot.sessions, alive=snapshot.alive, at_ms=snapshot.at_ms
    )
