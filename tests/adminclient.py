"""A test client of the admin socket (/ws/admin) that keeps the monitor's current view."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

from server.protocol import admin_server_frame_adapter


class AdminClient:
    def __init__(self, url: str, token: str) -> None:
        self.url = url  # ws://host:port/ws/admin
        self.token = token
        self.ws: ClientConnection | None = None
        self.sessions: dict[str, dict[str, Any]] = {}

    async def connect(self) -> dict[str, Any]:
        self.ws = await connect(self.url)
        await self.ws.send(orjson.dumps({"type": "hello", "token": self.token}).decode())
        snapshot = await self.recv()
        assert snapshot["type"] == "monitor.snapshot", snapshot
        self.sessions = {s["interview_id"]: s for s in snapshot["sessions"]}
        return snapshot

    async def recv(self, timeout: float = 10) -> dict[str, Any]:
        assert self.ws is not None
        frame: dict[str, Any] = orjson.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        admin_server_frame_adapter.validate_python(frame)  # every frame is the protocol's
        if frame["type"] == "monitor.update":
            for summary in frame["sessions"]:
                self.sessions[summary["interview_id"]] = summary
            for gone in frame["removed"]:
                self.sessions.pop(gone, None)
        return frame

    async def until(self, kind: str, timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            frame = await self.recv(max(0.01, deadline - time.monotonic()))
            if frame["type"] == kind:
                return frame

    async def watch_until(self, done: Callable[[], bool], timeout: float = 10) -> None:
        """Read monitor frames until ``done()`` holds for the sessions shown."""
        deadline = time.monotonic() + timeout
        while not done():
            await self.recv(max(0.01, deadline - time.monotonic()))

    async def send(self, frame: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send(orjson.dumps(frame).decode())

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
