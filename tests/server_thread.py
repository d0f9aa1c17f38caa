"""A real server in its own thread and event loop, for tests driven by synchronous code
(Schemathesis, Hypothesis)."""

from __future__ import annotations

import asyncio
import threading
import time

from server.app import create_app
from server.cli import uvicorn_config
from server.config import Settings
from server.gateway.server import GatewayServer


class ServerThread:
    """``create_app`` under our uvicorn server (the `serve` configuration), own thread and loop."""

    def __init__(self, app_settings: Settings) -> None:
        config = uvicorn_config(
            app_settings, host="127.0.0.1", port=0, app=create_app(app_settings)
        )
        self.server = GatewayServer(config)
        self.thread = threading.Thread(target=self._run, name="fuzz-server", daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self.server.serve())
        except BaseException as exc:  # reported by start()
            self.error = exc

    @property
    def url(self) -> str:
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if self.error or not self.thread.is_alive():
                raise RuntimeError(f"server did not start: {self.error!r}")
            if time.monotonic() > deadline:
                raise TimeoutError("server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
