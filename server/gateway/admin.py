"""The admin socket (/ws/admin): the live monitor of every interview on every process, and
steering a live interview (a hidden note to the interviewer, more time, end it).

Administrators only: anyone else is closed with 4404, as if the path did not exist. The
monitor is fed by the live store's ``Monitor`` (summaries published a few times a second by
the processes driving the interviews), never by the interviews' token streams. Watching one
interview's words is the interview socket's job (an administrator may open it read-only).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.websockets import WebSocket, WebSocketDisconnect

from server.admin import audit
from server.auth import service as auth_service
from server.config import Settings
from server.errors import NotAuthenticated
from server.gateway.connection import close_socket
from server.gateway.gateway import TokenBucket, origin_allowed
from server.interview.commands import EndByAdmin, Envelope, ExtendAnswer, NoteToInterviewer
from server.interview.monitor import fresh, now_ms
from server.interview.sessions import SessionManager
from server.live.base import LiveStore
from server.live.fanout import Fanout
from server.protocol import (
    CONTROL,
    AdminClientFrame,
    CloseCode,
    ErrorCode,
    Hello,
    MonitorSnapshot,
    Ping,
    Pong,
    SteerCommand,
    SteerEnd,
    SteerExtend,
    SteerNote,
    admin_client_frame_adapter,
    error_frame,
)
from server.store.models import AdminNote, Role, User

log = logging.getLogger(__name__)

OUTBOX_MAX = 1000
# An administrator demoted (or disabled) while their socket is open is closed within this.
RECHECK_S = 30.0


class AdminConnection:
    """One admin socket: an outbox and its writer. It also stands in the fan-out of the
    interviews it steers (as an observer), so their runners' answers reach it."""

    observer = True

    def __init__(self, websocket: WebSocket, admin: User) -> None:
        self.id = uuid.uuid4().hex
        self.websocket = websocket
        self.admin_id = admin.id
        self.steering: set[str] = set()
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        self.closed = False

    def send(self, payload: str) -> None:
        if self.closed:
            return
        if self._outbox.qsize() >= OUTBOX_MAX:
            self.close(CloseCode.slow_consumer, "too slow reading the monitor; reconnect")
            return
        self._outbox.put_nowait(payload)

    # EventSink: runners' replies arrive as control frames; events of steered interviews
    # are not wanted here (the interview socket watches them).
    def send_control(self, payload: str) -> None:
        self.send(payload)

    def deliver(self, seq: int, payload: str) -> None:
        return None

    def repair(self) -> None:
        return None

    def close(self, code: int, reason: str, *, urgent: bool = False) -> None:
        if not self.closed:
            self.closed = True
            self._outbox.put_nowait(f"\0{code} {reason}")

    async def write(self) -> None:
        while True:
            payload = await self._outbox.get()
            if payload.startswith("\0"):
                code, _, reason = payload[1:].partition(" ")
                await close_socket(self.websocket, int(code), reason)
                return
            await self.websocket.send_text(payload)


class AdminGateway:
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
        self.connections: set[AdminConnection] = set()
        fanout.on_monitor = self._on_monitor

    # --- the monitor ----------------------------------------------------------------------

    def _on_monitor(self, payload: str) -> None:
        """A published update, relayed as it is (summaries carry their candidate's email):
        nothing is parsed here, whatever the number of interviews or admin sockets."""
        for connection in list(self.connections):
            connection.send(payload)

    async def snapshot(self) -> MonitorSnapshot:
        """Every live interview, as the monitor shows it (also /api/admin/monitor)."""
        now = now_ms()
        live = fresh(await self.live.monitor.entries(), now)
        if live.stale or live.stale_processes:
            await self.live.monitor.forget(live.stale, live.stale_processes)
        sessions = sorted(live.sessions.values(), key=lambda s: s.started_ms)
        return MonitorSnapshot(
            seq=CONTROL, epoch="", sessions=sessions, alive=live.alive, at_ms=now
        )

    # --- a socket -------------------------------------------------------------------------

    async def serve(self, websocket: WebSocket) -> None:
        await websocket.accept()
        if not origin_allowed(websocket, self.settings.cors_origins):
            await close_socket(websocket, CloseCode.origin_not_allowed, "origin not allowed")
            return
        try:
            admin = await self._authenticate(websocket)
        except WebSocketDisconnect:
            return
        if admin is None:
            return
        connection = AdminConnection(websocket, admin)
        connection.send((await self.snapshot()).model_dump_json())
        self.connections.add(connection)
        writer = asyncio.create_task(connection.write())
        reader = asyncio.create_task(self._read(connection))
        recheck = asyncio.create_task(self._recheck(connection))
        try:
            await asyncio.wait({writer, reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.connections.discard(connection)
            for task in (reader, writer, recheck):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            for interview_id in connection.steering:
                with contextlib.suppress(Exception):
                    await self.fanout.leave(interview_id, connection)
            await close_socket(websocket, 1000, "")

    async def _authenticate(self, websocket: WebSocket) -> User | None:
        try:
            async with asyncio.timeout(self.settings.ws_hello_timeout_s):
                message = await websocket.receive()
        except TimeoutError:
            await close_socket(websocket, CloseCode.not_authenticated, "expected a hello frame")
            return None
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        try:
            hello = admin_client_frame_adapter.validate_json(message.get("text") or "")
        except ValidationError:
            await close_socket(websocket, CloseCode.malformed_frame, "expected a hello frame")
            return None
        if not isinstance(hello, Hello):
            await close_socket(websocket, CloseCode.not_authenticated, 'expected "hello" first')
            return None
        try:
            claims = await auth_service.access_claims(
                self.live.counters, self.sessionmaker, hello.token, secret=self.settings.jwt_secret
            )
        except NotAuthenticated as exc:
            await close_socket(websocket, CloseCode.not_authenticated, exc.message)
            return None
        async with self.sessionmaker() as session:
            user = await session.get(User, claims.user_id)
        if user is None or user.role is not Role.admin or user.disabled_at is not None:
            await close_socket(websocket, CloseCode.interview_not_found, "not found")
            return None
        return user

    async def _recheck(self, connection: AdminConnection) -> None:
        """Close the socket once its account is no longer an active administrator."""
        while True:
            await asyncio.sleep(RECHECK_S)
            if not await self._still_admin(connection):
                return

    async def _still_admin(self, connection: AdminConnection) -> bool:
        async with self.sessionmaker() as session:
            if await auth_service.is_active_admin(session, connection.admin_id):
                return True
        connection.close(CloseCode.interview_not_found, "not found")
        return False

    async def _read(self, connection: AdminConnection) -> None:
        bucket = TokenBucket(self.settings.ws_frames_per_second, self.settings.ws_frame_burst)
        while True:
            message = await connection.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if not bucket.take():
                connection.closed = True  # nothing more is queued; close it now
                await close_socket(
                    connection.websocket,
                    CloseCode.rate_limited,
                    "too many frames; slow down and reconnect",
                )
                return
            try:
                frame: AdminClientFrame = admin_client_frame_adapter.validate_json(
                    message.get("text") or ""
                )
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"][1:]) or "frame"
                connection.send(error_frame(ErrorCode.malformed_frame, f"{where}: {first['msg']}"))
                continue
            if isinstance(frame, Ping):
                connection.send(Pong(seq=CONTROL, epoch="", t=frame.t).model_dump_json())
            elif isinstance(frame, Hello):
                connection.send(error_frame(ErrorCode.malformed_frame, "already said hello"))
            else:
                await self._steer(connection, frame)

    async def _steer(self, connection: AdminConnection, frame: SteerCommand) -> None:
        """Record the action, then hand it to the interview's runner, wherever it runs;
        the runner answers this socket (steer.ack, or an error if it cannot apply now)."""
        interview_id = frame.interview_id
        if not await self._still_admin(connection):
            return
        snapshot = await self.live.events.snapshot(interview_id)
        if snapshot is None:
            connection.send(
                error_frame(ErrorCode.interview_not_found, "no live interview with that id")
            )
            return
        async with self.sessionmaker() as session:
            admin = await session.get(User, connection.admin_id)
            assert admin is not None
            command: NoteToInterviewer | ExtendAnswer | EndByAdmin
            detail: dict[str, object]
            if isinstance(frame, SteerNote):
                note = AdminNote(
                    interview_id=uuid.UUID(interview_id), admin_id=admin.id, text=frame.text
                )
                session.add(note)
                await session.flush()
                command = NoteToInterviewer(note_id=note.id, text=frame.text)
                detail = {"text": frame.text}
            elif isinstance(frame, SteerExtend):
                command = ExtendAnswer(turn=frame.turn, seconds=frame.seconds)
                detail = {"turn": frame.turn, "seconds": frame.seconds}
            else:
                assert isinstance(frame, SteerEnd)
                command = EndByAdmin()
                detail = {}
            audit.record(
                session,
                admin,
                f"interview.{frame.type.removeprefix('steer.')}",
                target_type="interview",
                target_id=interview_id,
                detail=detail,
            )
            await session.commit()
        if interview_id not in connection.steering:
            connection.steering.add(interview_id)
            await self.fanout.join(interview_id, connection)
        await self.sessions.submit(interview_id, Envelope(command=command, origin=connection.id))
