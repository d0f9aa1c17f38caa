"""Admin: the live monitor as a REST snapshot (what the admin socket's first frame carries)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from server.deps import ServicesDep
from server.interview.monitor import now_ms
from server.protocol import SessionSummary

router = APIRouter()


class MonitorSnapshotPublic(BaseModel):
    sessions: list[SessionSummary]
    at_ms: int


@router.get("/monitor", response_model=MonitorSnapshotPublic)
async def monitor_snapshot(services: ServicesDep) -> MonitorSnapshotPublic:
    """Every live interview on every gateway process, as the live monitor shows it."""
    return MonitorSnapshotPublic(sessions=await services.admin_gateway.snapshot(), at_ms=now_ms())
