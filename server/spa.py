"""Serves the built client (``client/dist``) from the same origin as the API, when present."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from server.errors import error_body

_API_PREFIXES = ("api/", "ws/", "healthz", "readyz", "docs", "openapi.json", "redoc")


def mount_client(app: FastAPI, dist: Path) -> bool:
    index = dist / "index.html"
    if not index.is_file():
        return False
    if (dist / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=dist / "assets"), name="assets")
    root = dist.resolve()

    @app.get("/{path:path}", include_in_schema=False)
    async def client_route(path: str, request: Request) -> Response:
        if path.startswith(_API_PREFIXES):
            return JSONResponse(error_body("not_found", "Not found."), status_code=404)
        candidate = (root / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(root):
            return FileResponse(candidate)
        # Client-side routes (/interviews/123) all load the app shell.
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    return True
