"""``WS /ws/interviews/{id}``: the live interview socket, and ``WS /ws/admin``: the admin
console's monitor and steering (protocol in ``docs/protocol.md``)."""

from __future__ import annotations

import re

from fastapi import APIRouter, WebSocket
from starlette.types import ASGIApp, Receive, Scope, Send

from server.deps import ServicesDep
from server.logs import request_id_var
from server.middleware import request_id_of

router = APIRouter()

INTERVIEW_SOCKET = "/ws/interviews/{interview_id}"  # as a route would declare it
INTERVIEW_SOCKET_PATH = re.compile(
    re.escape(INTERVIEW_SOCKET).replace(r"\{interview_id\}", "([^/]+)")
)


class InterviewSocketRoute:
    """``WS /ws/interviews/{id}``, served ahead of the HTTP middleware and the router.

    Interview sockets are the hot path: hundreds may open within a second, and every token
    frame of every interview is a send. The HTTP middleware has nothing to do for them (no
    body, no response headers; the gateway checks the Origin itself), while the route,
    dependency resolution and the exception wrapper around every send cost CPU on each.
    Added as the outermost middleware, so the rest of the app never sees these sockets.
    """

    path = INTERVIEW_SOCKET

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or not (
            match := INTERVIEW_SOCKET_PATH.fullmatch(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        token = request_id_var.set(request_id_of(scope))  # the socket's log lines share it
        try:
            gateway = scope["app"].state.services.gateway
            await gateway.serve(WebSocket(scope, receive, send), match[1])
        finally:
            request_id_var.reset(token)


@router.websocket("/ws/admin")
async def admin_socket(websocket: WebSocket, services: ServicesDep) -> None:
    await services.admin_gateway.serve(websocket)
