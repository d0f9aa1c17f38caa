"""``WS /ws/interviews/{id}``: the live interview socket, and ``WS /ws/admin``: the admin
console's monitor and steering (protocol in ``docs/protocol.md``)."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from server.deps import ServicesDep

router = APIRouter()


@router.websocket("/ws/interviews/{interview_id}")
async def interview_socket(websocket: WebSocket, interview_id: str, services: ServicesDep) -> None:
    await services.gateway.serve(websocket, interview_id)


@router.websocket("/ws/admin")
async def admin_socket(websocket: WebSocket, services: ServicesDep) -> None:
    await services.admin_gateway.serve(websocket)
