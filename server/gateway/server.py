"""uvicorn's server and WebSocket transport, with the protocol's limits and a drain step.

uvicorn closes open WebSockets with 1012 the moment shutdown starts and runs the
app's lifespan shutdown only after they are gone; draining first lets the gateway
hand its interviews back and send "going away" (1001) so clients resume elsewhere.

The transport enforces the frame limit (``MAX_FRAME_BYTES``, counted in bytes from the
frame header, before the payload is buffered) and answers it with the protocol's 4413;
a client whose keepalive lapses while events wait for it is told 4503 (slow consumer).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import Any

import uvicorn
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import CloseCode as WsCloseCode
from websockets.protocol import State
from websockets.server import ServerProtocol

from server.protocol import MAX_FRAME_BYTES, CloseCode

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


FRAME_TOO_LARGE = f"frames are limited to {MAX_FRAME_BYTES} bytes"
SLOW_CONSUMER = "too slow reading events; reconnect to resume"
# A peer that stopped reading is dropped this long after its close frame is queued.
ABORT_AFTER_S = 10.0
# After refusing a frame, input is read (and dropped) this long before the socket closes.
LINGER_S = 1.0
# The ASGI extension (``scope["extensions"]``) through which a socket's writer sends a text
# frame at once: ``{"send": Callable[[str], bool]}`` (``GatewayWebSocketProtocol.send_text_now``).
SEND_NOW_EXTENSION = "gateway.send_text_now"


class _LimitedServerProtocol(ServerProtocol):
    """websockets' server side, closing an over-long frame with the protocol's code."""

    def fail(self, code: int, reason: str = "") -> None:
        if code == WsCloseCode.MESSAGE_TOO_BIG:
            code, reason = CloseCode.frame_too_large, FRAME_TOO_LARGE
        super().fail(code, reason)


class GatewayWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol with the gateway's limits (see module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assert not self.config.ws_per_message_deflate, "the gateway sends uncompressed frames"
        self._lingering = False
        self.conn = _LimitedServerProtocol(
            max_size=self.config.ws_max_size, logger=logging.getLogger("uvicorn.error")
        )

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        # The app's task is created but has not run: it sees the scope with this in it.
        self.scope.setdefault("extensions", {})[SEND_NOW_EXTENSION] = {"send": self.send_text_now}

    def send_text_now(self, text: str) -> bool:
        """Write a text frame now, as ``send`` does when it need not wait; False when it
        would have to (the peer's buffer is full, or the socket is closing or closed) and
        nothing is written: the caller then awaits ``send``, which waits or raises.

        ``send`` is a coroutine: a frame handed to a socket's writer task goes out one turn
        of the event loop later, when the loop gets to that task, ~10 ms at the 99th
        percentile while hundreds of interviews stream."""
        if (
            not self.writable.is_set()
            or self.disconnected
            or self.close_sent
            or self.conn.state is not State.OPEN
        ):
            return False
        self.conn.send_text(text.encode())
        self.transport.write(b"".join(self.conn.data_to_send()))
        return True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        size = getattr(self.config, "gateway_send_buffer_bytes", None)
        if sock is not None and size:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)

    def handle_parser_exception(self) -> None:
        """A frame the protocol refuses (4413 above all): close, but linger a moment.

        uvicorn closes the TCP connection at once; input the peer sent meanwhile is then
        unread, the kernel resets the connection, and the peer may never see the close
        frame that says why. Reading (and discarding) for a moment lets it arrive."""
        if self._lingering:
            return  # more input after the failure: discarded by the protocol
        self._lingering = True
        assert self.conn.close_sent is not None
        code, reason = self.conn.close_sent.code, self.conn.close_sent.reason
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        self.close_timer = self.loop.call_later(LINGER_S, self.transport.close)

    def keepalive_timeout(self) -> None:
        if self.close_sent or self.transport.is_closing():
            return
        if self.transport.get_write_buffer_size() == 0:
            super().keepalive_timeout()  # silent and nothing owed: a dead peer (1011)
            return
        # Events are waiting for a peer that stopped reading: say why (behind what it is
        # owed) with a closing handshake, and keep reading for its reply: closing a socket
        # with unread input resets it, and the peer would lose the frame. Dropped if silent.
        self.pong_timer = None
        self.pending_ping_payload = None
        code, reason = CloseCode.slow_consumer, SLOW_CONSUMER
        self.conn.send_close(code, reason)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        self.close_timer = self.loop.call_later(ABORT_AFTER_S, self.transport.abort)
