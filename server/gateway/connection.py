"""One client socket: a bounded outbox drained by a single writer that resumes by seq.

The writer sends each log event exactly once and in order: events already sent are
dropped, and a gap (an event lost on the way, e.g. while Redis restarted) is filled
from the interview's log before going on. The next event for a writer with nothing to do
is written at once, without waking the writer (``SEND_NOW_EXTENSION``).

Every event a socket is sent is of the epoch its ``ready`` named. One of another epoch
(the live state was rebuilt, or a straggler of the old log arrived late after a Redis
restart) closes the socket with 1012 instead: the client reconnects and resynchronises,
and never mixes two event logs whose seqs restart from 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from typing import Final

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from server.gateway.server import SEND_NOW_EXTENSION
from server.live.base import EventLog
from server.metrics import FRAMES_OUT, TOKEN_LATENCY
from server.protocol import CONTROL, SERVICE_RESTART, CloseCode, TurnDelta

log = logging.getLogger(__name__)

_CLOSE: Final = -1
_REPAIR: Final = -2
# How a turn.delta is told from other events without parsing it: its type comes right after
# seq, epoch and phase (the field order of server/protocol.py), before any text. Searching
# only the head keeps it cheap for large events; an escaped quote inside a string value
# can never match.
_DELTA_TYPE: Final = f'"type":"{TurnDelta.model_fields["type"].default}"'
_DELTA_TYPE_WITHIN: Final = 128
_UNTIMED: Final = 0.0
# A logged event's epoch comes right after its seq (server/protocol.py's field order).
_EPOCH_WITHIN: Final = 64
EPOCH_CHANGED_REASON: Final = "the interview's event log changed; reconnect"


class _ForeignEpoch(Exception):
    """A logged event of another epoch than the socket's ``ready``."""


class Connection:
    def __init__(
        self,
        websocket: WebSocket,
        interview_id: str,
        events: EventLog,
        *,
        last_seq: int,
        queue_max: int,
        user_id: str = "",
        token_version: int = 0,
        expires_at: float = float("inf"),
        observer: bool = False,
    ) -> None:
        self.id = uuid.uuid4().hex  # where the runner sends a refusal of this socket's command
        self.observer = observer  # an administrator watching: read-only, not the candidate
        self.websocket = websocket
        self.interview_id = interview_id
        self.events = events
        self.last_sent = last_seq
        self._epoch_field = ""  # '"epoch":"<epoch>"' once ``ready`` is built (``for_epoch``)
        self.queue_max = queue_max
        self.user_id = user_id  # who signed in, with which token version, until when (unix s)
        self.token_version = token_version
        self.expires_at = expires_at
        # (seq, payload, when a turn.delta arrived here by time.perf_counter(), else 0)
        self._queue: asyncio.Queue[tuple[int, str, float]] = asyncio.Queue()
        self.close_code: int | None = None
        self.close_reason = ""
        self.connected_at = time.monotonic()
        self._writer: asyncio.Task[None] | None = None
        # Whether the writer waits for the outbox with everything before it sent.
        self._parked = False
        # Writes a text frame at once if the socket can take it (uvicorn with the gateway's
        # protocol; absent elsewhere, e.g. in starlette's test client).
        extension = websocket.scope.get("extensions", {}).get(SEND_NOW_EXTENSION)
        self._send_now: Callable[[str], bool] | None = extension["send"] if extension else None

    def for_epoch(self, epoch: str) -> None:
        """The epoch of the socket's ``ready``: the only one whose events it is sent."""
        self._epoch_field = f'"epoch":"{epoch}"'

    def _own_epoch(self, payload: str) -> bool:
        return payload.find(self._epoch_field, 0, _EPOCH_WITHIN) != -1

    # --- fed by the fan-out (EventSink) -------------------------------------------------

    def deliver(self, seq: int, payload: str) -> None:
        if self.close_code is not None:
            return
        if self._queue.qsize() >= self.queue_max:
            # A client that does not read must not grow our memory: cut it off; it can resume.
            self.close(
                CloseCode.slow_consumer, "too slow reading events; reconnect to resume", urgent=True
            )
            return
        timed = payload.find(_DELTA_TYPE, 0, _DELTA_TYPE_WITHIN) != -1
        arrived = time.perf_counter() if timed else _UNTIMED
        if (
            self._parked
            and seq == self.last_sent + 1
            and payload
            and self._send_now is not None
            and self._queue.empty()
            and self._own_epoch(payload)
            and self._send_now(payload)
        ):
            # The writer had nothing left to send: this is what it would do, a turn sooner.
            self.last_sent = seq
            FRAMES_OUT.inc()
            if arrived:
                TOKEN_LATENCY.observe(time.perf_counter() - arrived)
            return
        self._queue.put_nowait((seq, payload, arrived))

    def repair(self) -> None:
        self._queue.put_nowait((_REPAIR, "", _UNTIMED))

    # --- fed by the reader ------------------------------------------------------------

    def send_control(self, payload: str) -> None:
        if self.close_code is None:
            self._queue.put_nowait((CONTROL, payload, _UNTIMED))

    def close(self, code: int, reason: str, *, urgent: bool = False) -> None:
        """Close after what is already queued, or at once when ``urgent``."""
        if self.close_code is None:
            self.close_code = code
            self.close_reason = reason
            self._queue.put_nowait((_CLOSE, "", _UNTIMED))
            if urgent and self._writer is not None:
                # Stop at once, even mid-send to a client that does not read.
                self._writer.cancel()

    # --- the single writer ------------------------------------------------------------------

    def start_writer(self, initial: list[tuple[int, str]]) -> asyncio.Task[None]:
        self._writer = asyncio.create_task(self.write(initial))
        return self._writer

    async def write(self, initial: list[tuple[int, str]]) -> None:
        """Send the handshake frames and replay, then live events, until closed."""
        ws = self.websocket
        try:
            for seq, payload in initial:
                await self._send(seq, payload)
            while True:
                self._parked = True
                try:
                    seq, payload, arrived = await self._queue.get()
                finally:
                    self._parked = False
                if seq == _CLOSE:
                    break
                if seq == _REPAIR:
                    await self._fill_gap(None)
                    continue
                if seq > self.last_sent + 1:
                    await self._fill_gap(seq)
                if await self._send(seq, payload) and arrived:
                    TOKEN_LATENCY.observe(time.perf_counter() - arrived)
        except (RuntimeError, OSError, WebSocketDisconnect) as exc:  # the peer went away
            log.debug("socket write ended", extra={"error": repr(exc)})
            return
        except _ForeignEpoch:
            self.close(SERVICE_RESTART, EPOCH_CHANGED_REASON)
        if ws.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
                await ws.close(self.close_code or 1000, self.close_reason[:120])

    async def _send(self, seq: int, payload: str) -> bool:
        """Whether the frame was written (not one already sent, nor an empty one)."""
        if seq != CONTROL:
            if payload and not self._own_epoch(payload):
                raise _ForeignEpoch()
            if seq <= self.last_sent:
                return False  # already sent (replay and live overlap)
            self.last_sent = seq
        if not payload:
            return False
        await self.websocket.send_text(payload)
        FRAMES_OUT.inc()
        return True

    async def _fill_gap(self, upto_seq: int | None) -> None:
        read = await self.events.read_log(self.interview_id, self.last_sent)
        for entry in read.entries:
            if upto_seq is not None and entry.seq >= upto_seq:
                break
            await self._send(entry.seq, entry.payload)


async def close_socket(websocket: WebSocket, code: int, reason: str) -> None:
    """Close with ``code`` if the socket is still open (bounded: a peer may not answer)."""
    if websocket.application_state is WebSocketState.CONNECTED:
        with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect, TimeoutError):
            async with asyncio.timeout(2):
                await websocket.close(code, reason[:120])
