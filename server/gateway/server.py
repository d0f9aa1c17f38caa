"""uvicorn's server, with a drain step before it closes connections on SIGTERM.

uvicorn closes open WebSockets with 1012 the moment shutdown starts and runs the
app's lifespan shutdown only after they are gone; draining first lets the gateway
hand its interviews back and send "going away" (1001) so clients resume elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import Any

import uvicorn

log = logging.getLogger(__name__)


def find_gateway(app: Any) -> Any:
    """Walk uvicorn's middleware wrappers down to our app's gateway, if there is one."""
    for _ in range(10):
        state = getattr(app, "state", None)
        services = getattr(state, "services", None) if state is not None else None
        if services is not None:
            return services.gateway
        app = getattr(app, "app", None)
        if app is None:
            return None
    return None


class GatewayServer(uvicorn.Server):
    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()  # stop accepting before handing interviews back
        gateway = find_gateway(self.config.loaded_app)
        if gateway is not None:
            timeout = self.config.timeout_graceful_shutdown or 10
            try:
                async with asyncio.timeout(timeout):
                    await gateway.drain()
                    # Give writers a moment to deliver the close frames.
                    with contextlib.suppress(Exception):
                        await asyncio.sleep(0.2)
            except TimeoutError:
                log.error("drain did not finish in %s s", timeout)
        await super().shutdown(sockets)
