"""Test helpers for live interviews: a real uvicorn server in the test's loop, and a client
speaking the protocol over a real ``websockets`` connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from server.app import create_app
from server.cli import uvicorn_config
from server.config import Settings
from server.gateway.server import GatewayServer
from server.protocol import server_frame_adapter

STRONG_ANSWER = (
    "First, I would start from the user's problem and the constraints. In my last role at "
    "Acme I led a team of four engineers and we rebuilt the checkout service: we added an "
    "index on the orders table, introduced a Redis cache with a 60 second TTL, and moved "
    "slow work to a queue with retries and idempotency keys. Because we measured p95 latency "
    "before and after, we could show it dropped from 900 ms to 120 ms, and conversion rose "
    "by 3%. The trade-off was more moving parts, so we added dashboards, alerts and a runbook. "
    "Finally, I would validate input, return clear errors, and write tests for the edge cases."
)


class LiveServer:
    """A real uvicorn server (our GatewayServer) on 127.0.0.1, in the current event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app: FastAPI = create_app(settings)
        self.server = GatewayServer(
            uvicorn_config(settings, host="127.0.0.1", port=0, app=self.app)
        )
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        port: int = self.server.servers[0].sockets[0].getsockname()[1]
        return port

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, interview_id: str) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/interviews/{interview_id}"

    async def slow_reader(self, interview_id: str, token: str) -> ClientConnection:
        """A socket with a 4 KiB receive buffer that has said hello: pausing its reading soon
        fills the server's send buffer (a client that stopped reading)."""
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.connect(("127.0.0.1", self.port))
        ws = await connect(self.ws_url(interview_id), sock=raw, max_size=2**20)
        await ws.send(orjson.dumps({"type": "hello", "token": token, "last_seq": 0}).decode())
        return ws

    async def start(self) -> LiveServer:
        self._task = asyncio.create_task(self.server.serve())
        # Generous: a busy CI machine (installs running beside the suite) has taken over
        # 15 s to bring the first app of a worker up; this only guards against a hang.
        deadline = time.monotonic() + 60
        while not self.server.started:
            if self._task.done():
                self._task.result()
            if time.monotonic() > deadline:
                raise TimeoutError("server did not start")
            await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        if self._task is None:
            return
        self.server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self._task, timeout=30)
        self._task = None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[LiveServer]:
        await self.start()
        try:
            yield self
        finally:
            await self.stop()


@dataclass
class Session:
    """A signed-in candidate with one interview, reachable over REST."""

    http: str
    token: str
    interview_id: str
    headers: dict[str, str] = field(default_factory=dict)

    async def detail(self) -> dict[str, Any]:
        return await self.request("GET", f"/api/interviews/{self.interview_id}")

    async def request(self, method: str, path: str) -> dict[str, Any]:
        """Call the REST API as this candidate; the JSON body ({} for none)."""
        async with httpx.AsyncClient(base_url=self.http, timeout=10) as client:
            response = await client.request(method, path, headers=self.headers)
            response.raise_for_status()
            body: dict[str, Any] = response.json() if response.content else {}
            return body


async def new_session(
    http: str,
    *,
    question_count: int = 2,
    track: str = "backend",
    level: str = "mid",
    job_description: str = "",
) -> Session:
    import uuid

    async with httpx.AsyncClient(base_url=http, timeout=10) as client:
        auth = await client.post(
            "/api/auth/register",
            json={"email": f"ws-{uuid.uuid4().hex[:10]}@example.com", "password": "password-123"},
        )
        assert auth.status_code == 201, auth.text
        token = auth.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        created = await client.post(
            "/api/interviews",
            json={
                "track": track,
                "level": level,
                "question_count": question_count,
                "job_description": job_description,
            },
            headers=headers,
        )
        assert created.status_code == 201, created.text
        return Session(http, token, created.json()["id"], headers)


class InterviewClient:
    """One WebSocket connection speaking protocol v1; validates every frame it receives."""

    def __init__(self, url: str, token: str, *, max_size: int = 2**20) -> None:
        self.url = url
        self.max_size = max_size
        self.token = token
        self.ws: ClientConnection | None = None
        self.frames: list[dict[str, Any]] = []
        self.last_seq = 0
        self.epoch: str | None = None
        self.ready: dict[str, Any] | None = None

    async def connect(self, *, last_seq: int | None = None, **hello: Any) -> dict[str, Any]:
        self.ws = await connect(self.url, max_size=self.max_size, open_timeout=10)
        frame = {
            "type": "hello",
            "token": self.token,
            "last_seq": self.last_seq if last_seq is None else last_seq,
            **({"epoch": self.epoch} if self.epoch else {}),
            **hello,
        }
        await self.send(frame)
        ready = await self.recv()
        assert ready["type"] == "ready", ready
        self.ready = ready
        self.epoch = ready["epoch"]
        return ready

    async def send(self, frame: dict[str, Any] | str) -> None:
        assert self.ws is not None
        await self.ws.send(frame if isinstance(frame, str) else orjson.dumps(frame).decode())

    async def recv(self, timeout: float = 10.0) -> dict[str, Any]:
        assert self.ws is not None
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        frame: dict[str, Any] = orjson.loads(raw)
        server_frame_adapter.validate_python(frame)  # every frame matches the protocol module
        if frame["seq"]:
            assert frame["epoch"] == self.epoch, f"an event of another epoch: {frame}"
            assert frame["seq"] == self.last_seq + 1, (
                f"expected seq {self.last_seq + 1}, got {frame['seq']}: {frame}"
            )
            self.last_seq = frame["seq"]
        self.frames.append(frame)
        return frame

    async def until(self, *types: str, timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            frame = await self.recv(max(0.01, deadline - time.monotonic()))
            if frame["type"] in types:
                return frame

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def closed_with(self, timeout: float = 10.0) -> tuple[int | None, str]:
        """Read until the server closes; returns its close code and reason."""
        assert self.ws is not None
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                await self.recv(max(0.01, deadline - time.monotonic()))
        except ConnectionClosed as closed:
            rcvd = closed.rcvd
            return (rcvd.code, rcvd.reason) if rcvd else (None, "")
        raise AssertionError("the server did not close the socket")

    def turn_texts(self) -> dict[int, str]:
        """Interviewer text per turn, reassembled from deltas (a repeated turn.start resets it)."""
        texts: dict[int, str] = {}
        for frame in self.frames:
            if frame["type"] == "turn.start":
                texts[frame["turn"]] = ""
            elif frame["type"] == "turn.delta":
                texts[frame["turn"]] = texts.get(frame["turn"], "") + frame["text"]
        return texts

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == kind]


async def answer_everything(client: InterviewClient, answer: str = STRONG_ANSWER) -> dict[str, Any]:
    """Answer each question as it ends until the interview ends; returns the ended frame."""
    while True:
        frame = await client.until("turn.end", "ended", timeout=30)
        if frame["type"] == "ended":
            return frame
        await client.send({"type": "answer", "text": answer, "turn": frame["turn"]})
