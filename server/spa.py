"""Serves the built client (``client/dist``) from the same origin as the API, when present."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.routing import Match, Route
from starlette.types import Scope

# Paths that belong to the API: the client's catch-all never answers them, so a wrong method
# there is a 405 from the API's own route (with its Allow header) and a wrong path a JSON 404.
API_PREFIXES = (
    "/api/",
    "/ws/",
    "/healthz",
    "/readyz",
    "/metrics",
    "/docs",
    "/openapi.json",
    "/redoc",
)


class _ClientRoute(Route):
    """``GET /{path}`` for everything that is not the API."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = scope.get("path", "")
        if scope.get("type") == "http" and (path == "/api" or path.startswith(API_PREFIXES)):
            return Match.NONE, {}
        return super().matches(scope)


def mount_client(app: FastAPI, dist: Path) -> bool:
    index = dist / "index.html"
    if not index.is_file():
        return False
    if (dist / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=dist / "assets"), name="assets")
    root = dist.resolve()

    async def client_route(request: Request) -> Response:
        path = request.path_params["path"]
        candidate = (root / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(root):
            return FileResponse(candidate)
        # Client-side routes (/interviews/123) all load the app shell.
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    app.router.routes.append(
        _ClientRoute("/{path:path}", client_route, methods=["GET"], include_in_schema=False)
    )
    return True
