"""The WebSocket gateway: handshake and auth, frame validation, resume, limits, drain.

It holds sockets and nothing else: the engine decides, the live store carries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from server.auth import service as auth_service
from server.config import Settings
from server.errors import NotAuthenticated
from server.gateway.connection import CONTROL, Connection
from server.gateway.protocol import (
    CLIENT_FRAME_TYPES,
    MAX_ANSWER_CHARS,
    MAX_FRAME_BYTES,
    Answer,
    ClientFrame,
    CloseCode,
    End,
    ErrorCode,
    Hello,
    Interrupt,
    Phase,
    Ping,
    Ready,
    Resync,
    Skip,
    client_frame_adapter,
)
from server.interview.records import ENDED
from server.interview.sessions import SessionManager
from server.live.base import LiveStore
from server.live.fanout import Fanout
from server.store.models import Interview

log = logging.getLogger(__name__)

STATE_WAIT_S = 5.0


class _Reject(Exception):
    def __init__(self, code: CloseCode, reason: str) -> None:
        self.code = code
        self.reason = reason


class _TokenBucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.updated = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def error_frame(code: ErrorCode, message: str, *, retryable: bool, epoch: str = "") -> str:
    return orjson.dumps(
        {
            "type": "error",
            "seq": CONTROL,
            "epoch": epoch,
            "code": code.value,
            "message": message,
            "retryable": retryable,
        }
    ).decode()


class InterviewGateway:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        live: LiveStore,
        fanout: Fanout,
        sessions: SessionManager,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.live = live
        self.fanout = fanout
        self.sessions = sessions
        self.connections: set[Connection] = set()
        self.draining = False

    # --- handshake ------------------------------------------------------------------------

    async def serve(self, websocket: WebSocket, interview_id: str) -> None:
        await websocket.accept()  # close codes only reach the client on an accepted socket
        if self.draining:
            await websocket.close(CloseCode.going_away, "server going away; reconnect")
            return
        try:
            hello = await self._receive_hello(websocket)
            interview = await self._authorise(hello, interview_id)
        except _Reject as reject:
            await _close(websocket, reject.code, reject.reason)
            return
        except WebSocketDisconnect:
            return
        await self._run_connection(websocket, interview, hello)

    async def _receive_hello(self, websocket: WebSocket) -> Hello:
        try:
            async with asyncio.timeout(self.settings.ws_hello_timeout_s):
                message = await websocket.receive()
        except TimeoutError:
            raise _Reject(
                CloseCode.not_authenticated,
                f"expected a hello frame within {self.settings.ws_hello_timeout_s:g} s",
            ) from None
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        text = message.get("text")
        if text is None:
            raise _Reject(CloseCode.malformed_frame, "expected a JSON text frame, got binary")
        if len(text) > MAX_FRAME_BYTES:
            raise _Reject(
                CloseCode.frame_too_large, f"frames are limited to {MAX_FRAME_BYTES} bytes"
            )
        try:
            raw = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise _Reject(CloseCode.malformed_frame, "expected a JSON object") from None
        kind = raw.get("type") if isinstance(raw, dict) else None
        if kind != "hello":
            raise _Reject(
                CloseCode.not_authenticated, f'expected "hello" as the first frame, got "{kind}"'
            )
        try:
            return Hello.model_validate(raw)
        except ValidationError as exc:
            raise _Reject(CloseCode.malformed_frame, _first_error(exc)) from None

    async def _authorise(self, hello: Hello, interview_id: str) -> Interview:
        try:
            wanted = uuid.UUID(interview_id)
        except ValueError:
            raise _Reject(CloseCode.interview_not_found, "no such interview") from None
        async with self.sessionmaker() as session:
            try:
                user = await auth_service.user_from_access_token(
                    session, hello.token, secret=self.settings.jwt_secret
                )
            except NotAuthenticated as exc:
                raise _Reject(CloseCode.not_authenticated, exc.message) from None
            interview = await session.get(Interview, wanted)
        if interview is None or interview.owner_id != user.id:
            raise _Reject(CloseCode.interview_not_found, "no such interview")
        return interview

    # --- a connected client ------------------------------------------------------------------

    async def _run_connection(
        self, websocket: WebSocket, interview: Interview, hello: Hello
    ) -> None:
        interview_id = str(interview.id)
        ended = interview.status in ENDED
        if not ended:
            await self.live.touch_presence([interview_id], self.settings.lease_ttl_ms * 2)
            await self.sessions.ensure_running(interview_id, interview)
        connection = Connection(
            websocket,
            interview_id,
            self.live,
            last_seq=hello.last_seq,
            queue_max=self.settings.ws_send_queue_max,
        )
        # Join the fan-out BEFORE reading the log: live events queue up meanwhile, and the
        # writer drops the ones the replay already sent. No gap, no duplicate.
        await self.fanout.join(interview_id, connection)
        self.connections.add(connection)
        writer: asyncio.Task[None] | None = None
        reader: asyncio.Task[None] | None = None
        try:
            state, text = await self._wait_for_state(interview_id)
            if not state and not ended and await self.sessions.restart(interview_id, interview):
                state, text = await self._wait_for_state(interview_id)
            if not state:
                if ended:
                    await _close(websocket, CloseCode.interview_finished, "the interview has ended")
                else:
                    await _close(websocket, 1011, "the interview is not ready; try again")
                return
            initial = await self._handshake_frames(connection, interview, hello, state, text)
            if ended or state.get("phase") == Phase.ended.value:
                connection.close(CloseCode.interview_finished, "the interview has ended")
            writer = asyncio.create_task(connection.write(initial))
            reader = asyncio.create_task(self._read(connection, state.get("epoch", "")))
            must_close = asyncio.create_task(connection.must_close.wait())
            await asyncio.wait({writer, reader, must_close}, return_when=asyncio.FIRST_COMPLETED)
            must_close.cancel()
        finally:
            for task in (reader, writer):
                if task is not None:
                    task.cancel()
                    # Awaiting also retrieves an exception of a task that already failed.
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            if connection.close_code is not None:
                await _close(websocket, connection.close_code, connection.close_reason)
            self.connections.discard(connection)
            await self.fanout.leave(interview_id, connection)

    async def _wait_for_state(self, interview_id: str) -> tuple[dict[str, str], str]:
        """The live state and turn text; a runner that just started may need a moment."""
        local = self.sessions.runners.get(interview_id)
        if local is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STATE_WAIT_S):
                    await local[0].state_ready.wait()
            # Our own runner is ready: an empty state now means it lost it (stale runner).
            return await self.live.get_snapshot(interview_id)
        deadline = time.monotonic() + STATE_WAIT_S
        while True:
            state, text = await self.live.get_snapshot(interview_id)
            if state.get("epoch") or time.monotonic() > deadline or self.draining:
                return state, text
            await asyncio.sleep(0.01)

    async def _handshake_frames(
        self,
        connection: Connection,
        interview: Interview,
        hello: Hello,
        state: dict[str, str],
        text: str,
    ) -> list[tuple[int, str]]:
        interview_id = str(interview.id)
        epoch = state["epoch"]
        read = await self.live.read_log(interview_id, hello.last_seq)
        head = int(state.get("seq", "0"))  # the seq that ``text`` and ``state`` describe
        frames: list[tuple[int, str]] = []
        resync_reason = None
        if hello.last_seq > 0 and ((hello.epoch and hello.epoch != epoch) or hello.last_seq > head):
            resync_reason = "epoch_changed"
        elif read.oldest_seq and hello.last_seq < read.oldest_seq - 1:
            resync_reason = "history_trimmed"
        deadline = state.get("deadline_ms")
        ready = Ready(
            seq=CONTROL,
            epoch=epoch,
            interview_id=interview_id,
            status=state.get("status", interview.status.value),
            phase=Phase(state.get("phase", Phase.waiting.value)),
            turn=int(state["turn"]) if state.get("turn") else None,
            kind="follow_up" if state.get("kind") == "follow_up" else "question",
            text=text,
            question_number=int(state.get("qnum", "1")),
            question_count=interview.question_count,
            answer_deadline_ms=int(deadline) if deadline else None,
            provider=state.get("provider", interview.provider),
            model=state.get("model", interview.model),
            offline=state.get("offline", "1") == "1",
            head_seq=head,
            resumed=resync_reason is None,
        )
        frames.append((CONTROL, ready.model_dump_json()))
        if resync_reason is not None:
            # The client reloads the transcript over REST and continues from head.
            frames.append(
                (
                    CONTROL,
                    Resync(
                        seq=CONTROL,
                        epoch=epoch,
                        reason=resync_reason,
                        head_seq=head,
                        message="The events you missed are no longer available; "
                        "reload the interview and continue from head_seq.",
                    ).model_dump_json(),
                )
            )
            connection.last_sent = head
            return frames
        frames.extend((entry.seq, entry.payload) for entry in read.entries)
        return frames

    async def _read(self, connection: Connection, epoch: str) -> None:
        websocket = connection.websocket
        bucket = _TokenBucket(self.settings.ws_frames_per_second, self.settings.ws_frame_burst)
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if not bucket.take():
                connection.close(
                    CloseCode.rate_limited, "too many frames; slow down and reconnect", urgent=True
                )
                return
            text = message.get("text")
            if text is None:
                connection.send_control(
                    error_frame(
                        ErrorCode.malformed_frame,
                        "expected a JSON text frame, got binary",
                        retryable=False,
                        epoch=epoch,
                    )
                )
                continue
            if len(text) > MAX_FRAME_BYTES:
                connection.close(
                    CloseCode.frame_too_large,
                    f"frames are limited to {MAX_FRAME_BYTES} bytes",
                    urgent=True,
                )
                return
            frame_or_error = _parse(text, epoch)
            if isinstance(frame_or_error, str):
                connection.send_control(frame_or_error)
                continue
            await self._handle(connection, frame_or_error, epoch)

    async def _handle(self, connection: Connection, frame: ClientFrame, epoch: str) -> None:
        interview_id = connection.interview_id
        if isinstance(frame, Ping):
            connection.send_control(
                orjson.dumps(
                    {"type": "pong", "seq": CONTROL, "epoch": epoch, "t": frame.t}
                ).decode()
            )
            return
        if isinstance(frame, Hello):
            connection.send_control(
                error_frame(
                    ErrorCode.malformed_frame, "already said hello", retryable=False, epoch=epoch
                )
            )
            return
        state = await self.live.get_state(interview_id)
        phase = state.get("phase")
        if phase == Phase.ended.value:
            connection.send_control(
                error_frame(
                    ErrorCode.interview_finished,
                    "the interview has ended",
                    retryable=False,
                    epoch=epoch,
                )
            )
            return
        if isinstance(frame, Answer | Skip):
            if phase not in (Phase.listening.value, Phase.asking.value):
                connection.send_control(
                    error_frame(
                        ErrorCode.not_listening,
                        f"no question is waiting for an answer (the interview is {phase})",
                        retryable=True,
                        epoch=epoch,
                    )
                )
                return
            if frame.turn is not None and str(frame.turn) != state.get("turn"):
                connection.send_control(
                    error_frame(
                        ErrorCode.wrong_turn,
                        f"turn {frame.turn} is not open; the open turn is {state.get('turn')}",
                        retryable=False,
                        epoch=epoch,
                    )
                )
                return
        command: dict[str, Any] = frame.model_dump()
        if isinstance(frame, Answer | Skip) and frame.turn is None:
            command["turn"] = int(state["turn"]) if state.get("turn") else None
        await self.sessions.submit(interview_id, command)
        if isinstance(frame, Answer | Skip | Interrupt | End):
            await self.sessions.ensure_running(interview_id)

    # --- shutdown ----------------------------------------------------------------------------

    async def drain(self) -> None:
        """Hand interviews back, then tell every client to reconnect elsewhere."""
        self.draining = True
        await self.sessions.drain()
        for connection in list(self.connections):
            connection.close(CloseCode.going_away, "server going away; reconnect", urgent=True)


def _parse(text: str, epoch: str) -> ClientFrame | str:
    """The frame, or an error frame (as JSON text) saying what was wrong with it."""
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError:
        return error_frame(
            ErrorCode.malformed_frame, "expected a JSON object", retryable=False, epoch=epoch
        )
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        return error_frame(
            ErrorCode.malformed_frame,
            'expected a JSON object with a "type"',
            retryable=False,
            epoch=epoch,
        )
    if raw["type"] not in CLIENT_FRAME_TYPES:
        return error_frame(
            ErrorCode.unknown_type,
            f'unknown frame type "{raw["type"][:40]}"; expected one of '
            + ", ".join(sorted(CLIENT_FRAME_TYPES)),
            retryable=False,
            epoch=epoch,
        )
    if raw["type"] == "answer" and isinstance(raw.get("text"), str):
        if len(raw["text"]) > MAX_ANSWER_CHARS:
            return error_frame(
                ErrorCode.answer_too_long,
                f"answers are limited to {MAX_ANSWER_CHARS} characters; "
                f"this one has {len(raw['text'])}",
                retryable=False,
                epoch=epoch,
            )
    try:
        return client_frame_adapter.validate_python(raw)
    except ValidationError as exc:
        return error_frame(
            ErrorCode.malformed_frame, _first_error(exc), retryable=False, epoch=epoch
        )


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"] if not isinstance(p, int)) or "frame"
    return f"{where}: {error['msg']}"


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.application_state is WebSocketState.CONNECTED:
        with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect, TimeoutError):
            async with asyncio.timeout(2):
                await websocket.close(code, reason[:120])
