"""Side loads for ``interview bench``: work added to an engine run to measure what it costs
the streaming interviews (the run is repeated without it for comparison)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import subprocess
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson
from websockets.asyncio.client import ClientConnection, connect

from server.protocol import Hello


@dataclass(frozen=True)
class SideContext:
    urls: list[str]  # the side load's own interviews (``SideLoad.interviews`` of them)
    token: str  # the candidate account that owns every interview of the run
    ports: list[int]  # the gateway processes
    watch_url: str | None  # one streaming interview
    env: dict[str, str]  # the gateways' environment (to run the CLI against the same stores)
    cli: list[str]
    cwd: Path


class SideLoad(Protocol):
    label: str  # how the run is named, e.g. "+10 voice"
    interviews: int  # extra interviews the run creates for it

    async def prepare(self, context: SideContext) -> None: ...

    async def during(self) -> None:
        """Runs while the interviews stream (awaited before the run's figures are kept)."""

    async def close(self) -> None: ...

    def report(self, result: dict[str, Any]) -> None:
        """Add its figures to the run's result, with a one-line summary under "side"."""


class AdminLoad:
    """``count`` admin monitors open on the gateways (round-robin) and one administrator
    watching a streaming interview, each reading every frame it is sent."""

    interviews = 0

    def __init__(self, count: int) -> None:
        self.count = count
        self.label = f"+{count} admins"
        self.frames: Counter[str] = Counter()
        self.bytes = 0
        self.errors: Counter[str] = Counter()
        self._sockets: list[ClientConnection] = []
        self._readers: list[asyncio.Task[None]] = []

    async def prepare(self, context: SideContext) -> None:
        token = await _admin_token(context)
        hello = Hello(type="hello", token=token).model_dump_json()
        urls = [
            f"ws://127.0.0.1:{context.ports[i % len(context.ports)]}/ws/admin"
            for i in range(self.count)
        ]
        if context.watch_url is not None:
            urls.append(context.watch_url)
        for url in urls:
            ws = await connect(url, compression=None, max_size=2**24, open_timeout=30)
            await ws.send(hello)
            self._sockets.append(ws)
            self._readers.append(asyncio.create_task(self._read(ws)))

    async def _read(self, ws: ClientConnection) -> None:
        # The frame's type from its first bytes, not a parse: this runs in the load
        # generator's event loop, and parsing large monitor updates there would delay the
        # candidates' tokens it timestamps (measuring the harness, not the gateway).
        try:
            async for raw in ws:
                head = raw[:160] if isinstance(raw, str) else raw[:160].decode(errors="replace")
                kind = head.partition('"type":"')[2].partition('"')[0] or "?"
                self.frames[kind] += 1
                self.bytes += len(raw)
        except Exception as exc:
            self.errors[f"admin socket: {type(exc).__name__}"] += 1

    async def during(self) -> None:
        return None

    async def close(self) -> None:
        for ws in self._sockets:
            with contextlib.suppress(Exception):
                await ws.close()
        for task in self._readers:
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)

    def report(self, result: dict[str, Any]) -> None:
        frames = ", ".join(f"{kind} {n}" for kind, n in sorted(self.frames.items()))
        result["side"] = (
            f"{self.count} monitors and 1 watcher; {self.bytes / 1e6:.1f} MB received: {frames}"
        )
        if self.errors:
            result["errors"] = {**result.get("errors", {}), **self.errors}


async def _admin_token(context: SideContext) -> str:
    """An administrator made with the real CLI against the run's database, signed in."""
    email = f"bench-admin-{secrets.token_hex(4)}@example.com"
    password = secrets.token_urlsafe(16)
    made = await asyncio.to_thread(
        subprocess.run,
        [*context.cli, "create-admin", email, "--password", password],
        env=context.env,
        cwd=context.cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        raise RuntimeError(f"create-admin failed: {made.stderr.strip()[-300:]}")
    request = urllib.request.Request(
        f"http://127.0.0.1:{context.ports[0]}/api/auth/login",
        data=orjson.dumps({"email": email, "password": password}),
        headers={"Content-Type": "application/json"},
    )

    def login() -> str:
        with urllib.request.urlopen(request, timeout=30) as response:
            token: str = orjson.loads(response.read())["access_token"]
            return token

    return await asyncio.to_thread(login)
