"""The WebSocket gateway: handshake and auth, frame size and shape, rate limits, relay, drain.

It holds sockets and nothing else: the interview's runner accepts or refuses commands (and
says why), the engine emits events, the live store carries them; the gateway relays bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from urllib.parse import urlsplit

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.websockets import WebSocket, WebSocketDisconnect

from server.auth import service as auth_service
from server.auth.tokens import TokenClaims
from server.config import Settings
from server.errors import NotAuthenticated
from server.gateway.admission import StartAdmission
from server.gateway.connection import Connection, close_socket
from server.interview.commands import Envelope
from server.interview.service import InterviewNotFound
from server.interview.sessions import Attached, LiveView, SessionManager
from server.live.base import LiveStore
from server.live.connect import LIVE_STORE_DOWN
from server.live.fanout import Fanout
from server.logs import log_throttled
from server.metrics import ACTIVE_SOCKETS, FRAMES_IN
from server.protocol import (
    AUDIO_BYTES_PER_SECOND,
    AUDIO_FORMAT,
    AUDIO_SAMPLE_RATE,
    CLIENT_FRAME_TYPES,
    CONTROL,
    MAX_ANSWER_CHARS,
    AudioCancel,
    AudioEnd,
    AudioStart,
    ClientFrame,
    CloseCode,
    ErrorCode,
    Hello,
    Phase,
    Ping,
    Pong,
    Ready,
    Resync,
    client_frame_adapter,
    error_frame,
)
from server.voice.uploads import Recorder, VoiceService

log = logging.getLogger(__name__)

SIGNED_OUT = "your session was signed out; sign in again"
# Audio may arrive faster than it is spoken (a resume resends what was not acknowledged),
# up to this many times real time after a burst of this many seconds of it.
AUDIO_SPEEDUP = 4
AUDIO_BURST_S = 30
EXPIRED = "your session expired; refresh it and reconnect"


class _Reject(Exception):
    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


class _FrameError(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        self.code = code
        self.message = message


def origin_allowed(websocket: WebSocket, cors_origins: list[str]) -> bool:
    """Browsers do not apply CORS to WebSocket upgrades: a page from another site could open
    one with a signed-in user's token. Allowed: no Origin (not a browser), the server's own
    origin, and the configured CORS origins."""
    origin = websocket.headers.get("origin")
    if origin is None or origin in cors_origins:
        return True
    host = websocket.headers.get("host", "")
    return urlsplit(origin).netloc.lower() == host.lower() and bool(host)


class TokenBucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.updated = time.monotonic()

    def take(self, amount: float = 1) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < amount:
            return False
        self.tokens -= amount
        return True


class InterviewGateway:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        live: LiveStore,
        fanout: Fanout,
        sessions: SessionManager,
        voice: VoiceService,
    ) -> None:
        self.settings = settings
        self.voice = voice
        self.sessionmaker = sessionmaker
        self.live = live
        self.fanout = fanout
        self.sessions = sessions
        self.connections: set[Connection] = set()
        self.draining = False
        # Admission: a burst of hellos is served many at a time while the process has
        # time to spare, a few at a time once it is busy, so starting interviews cannot
        # crowd out the streams already running in this process.
        self._starts = StartAdmission(
            settings.ws_concurrent_starts, settings.ws_concurrent_starts_idle
        )
        fanout.on_revoked = self._revoked

    def _revoked(self, user_id: str, token_version: int) -> None:
        """The user signed out everywhere (or changed password): close their sockets."""
        for connection in list(self.connections):
            if connection.user_id == user_id and connection.token_version < token_version:
                connection.close(CloseCode.not_authenticated, SIGNED_OUT, urgent=True)

    # --- handshake ------------------------------------------------------------------------

    async def serve(self, websocket: WebSocket, interview_id: str) -> None:
        await websocket.accept()  # close codes only reach the client on an accepted socket
        ACTIVE_SOCKETS.inc()
        try:
            await self._serve(websocket, interview_id)
        finally:
            ACTIVE_SOCKETS.dec()

    async def _serve(self, websocket: WebSocket, interview_id: str) -> None:
        if not origin_allowed(websocket, self.settings.cors_origins):
            await close_socket(websocket, CloseCode.origin_not_allowed, "origin not allowed")
            return
        if self.draining:
            await websocket.close(CloseCode.going_away, "server going away; reconnect")
            return
        try:
            hello = await self._receive_hello(websocket)
            async with self._starts:  # _open leaves nothing behind when it raises
                connection, initial, ended = await self._open(websocket, interview_id, hello)
        except _Reject as reject:
            await close_socket(websocket, reject.code, reject.reason)
            return
        except WebSocketDisconnect:
            return
        except LIVE_STORE_DOWN as exc:
            # Redis restarting or failing over: expected, and the client reconnects (1011).
            # One line a second with a count, not a traceback per socket.
            log_throttled(log, "live store unavailable at hello; closed with 1011", error=repr(exc))
            await close_socket(websocket, 1011, "the live store is unavailable; reconnect")
            return
        try:
            await self._run_connection(connection, initial, ended)
        finally:
            await self._forget(connection)

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
        FRAMES_IN.inc()
        text = message.get("text")
        if text is None:
            raise _Reject(CloseCode.malformed_frame, "expected a JSON text frame, got binary")
        try:
            frame = _parse(text)
        except _FrameError as error:
            close = (
                CloseCode.frame_too_large
                if error.code is ErrorCode.frame_too_large
                else CloseCode.malformed_frame
            )
            raise _Reject(close, error.message) from None
        if not isinstance(frame, Hello):
            raise _Reject(
                CloseCode.not_authenticated,
                f'expected "hello" as the first frame, got "{frame.type}"',
            )
        return frame

    async def _open(
        self, websocket: WebSocket, interview_id: str, hello: Hello
    ) -> tuple[Connection, list[tuple[int, str]], bool]:
        """Authenticate, authorise, start the interview if needed; the first frames to send."""
        try:
            wanted = str(uuid.UUID(interview_id))
        except ValueError:
            raise _Reject(CloseCode.interview_not_found, "no such interview") from None
        try:
            claims = auth_service.decode_access(hello.token, secret=self.settings.jwt_secret)
        except NotAuthenticated as exc:
            raise _Reject(CloseCode.not_authenticated, exc.message) from None
        user_id = claims.user_id
        connection = Connection(
            websocket,
            wanted,
            self.live.events,
            last_seq=hello.last_seq,
            queue_max=self.settings.ws_send_queue_max,
            user_id=str(user_id),
            token_version=claims.token_version,
            expires_at=claims.expires_at,
        )
        self.connections.add(connection)
        try:
            try:
                # The checks run while the session manager reads the live store (and, for a
                # new interview, takes its lease): a start waits one round trip, not three.
                attached = await self.sessions.attach(
                    wanted, user_id, checks=self._checks(connection, claims)
                )
            except InterviewNotFound:
                # Not theirs: an administrator may still watch it (read-only), if it is live.
                if not await self._is_admin(user_id):
                    raise _Reject(CloseCode.interview_not_found, "no such interview") from None
                self.fanout.observe(wanted, connection)
                attached = Attached(live=True, fresh=False)
            view = await self.sessions.view(
                wanted, fresh=attached.fresh, candidate=not connection.observer
            )
            if view is None:
                if attached.live and not connection.observer:
                    raise _Reject(1011, "the interview is not ready; try again")
                raise _Reject(CloseCode.interview_finished, "the interview has ended")
            initial = await self._handshake_frames(connection, hello, view)
        except BaseException:
            await self._forget(connection)
            raise
        return connection, initial, not attached.live or view.state.phase is Phase.ended

    async def _checks(self, connection: Connection, claims: TokenClaims) -> None:
        """The token is not revoked, and the socket has joined the interview's fan-out.

        Joined BEFORE anything is read for the socket's view or started: live events queue
        up meanwhile (nothing is sent before the checks pass), and the writer drops the
        ones the replay already sent. No gap, no duplicate; and a runner started after this
        reaches the socket through the fan-out alone."""
        revoked, joined = await asyncio.gather(
            auth_service.check_not_revoked(self.live.counters, self.sessionmaker, claims),
            self.fanout.join(connection.interview_id, connection),
            return_exceptions=True,  # both finish before either failure is handled
        )
        for outcome in (revoked, joined):
            if isinstance(outcome, NotAuthenticated):
                raise _Reject(CloseCode.not_authenticated, outcome.message)
            if isinstance(outcome, BaseException):
                raise outcome

    async def _is_admin(self, user_id: uuid.UUID) -> bool:
        async with self.sessionmaker() as session:
            return await auth_service.is_active_admin(session, user_id)

    async def _forget(self, connection: Connection) -> None:
        if connection in self.connections:
            self.connections.discard(connection)
            await self.fanout.leave(connection.interview_id, connection)

    async def _handshake_frames(
        self, connection: Connection, hello: Hello, view: LiveView
    ) -> list[tuple[int, str]]:
        state, head = view.state, view.seq
        connection.for_epoch(state.epoch)
        resync_reason = None
        if hello.last_seq > 0 and (
            (hello.epoch and hello.epoch != state.epoch) or hello.last_seq > head
        ):
            resync_reason = "epoch_changed"
        entries = []
        # Events after ``view.published_before`` reach this socket through the fan-out.
        if resync_reason is None and hello.last_seq < view.published_before:
            read = await self.live.events.read_log(connection.interview_id, hello.last_seq)
            if read.oldest_seq and hello.last_seq < read.oldest_seq - 1:
                resync_reason = "history_trimmed"
            entries = read.entries
        ready = Ready(
            seq=CONTROL,
            epoch=state.epoch,
            interview_id=connection.interview_id,
            status=state.status.value,
            phase=state.phase,
            turn=state.turn,
            kind=state.kind,
            text=view.text,
            question_number=state.question_number,
            question_count=state.question_count,
            answer_deadline_ms=state.deadline_ms if state.phase is Phase.listening else None,
            provider=state.provider,
            model=state.model,
            offline=state.offline,
            pause_requested=state.pause_requested,
            head_seq=head,
            resumed=resync_reason is None,
        )
        frames = [(CONTROL, ready.model_dump_json())]
        if resync_reason is not None:
            # The client reloads the transcript over REST and continues from head.
            resync = Resync(
                seq=CONTROL,
                epoch=state.epoch,
                reason=resync_reason,
                head_seq=head,
                message="The events you missed are no longer available; "
                "reload the interview and continue from head_seq.",
            )
            frames.append((CONTROL, resync.model_dump_json()))
            connection.last_sent = head
            return frames
        frames.extend((entry.seq, entry.payload) for entry in entries)
        return frames

    # --- a connected client ------------------------------------------------------------------

    async def _run_connection(
        self, connection: Connection, initial: list[tuple[int, str]], ended: bool
    ) -> None:
        if ended:
            connection.close(CloseCode.interview_finished, "the interview has ended")
        # Two tasks per socket: an urgent close (slow consumer, drain) cancels the writer.
        writer = connection.start_writer(initial)
        reader = asyncio.create_task(self._read(connection))
        # The token the socket signed in with expires: the client refreshes it and resumes.
        expiry = asyncio.get_running_loop().call_later(
            max(0.0, connection.expires_at - time.time()),
            lambda: connection.close(CloseCode.not_authenticated, EXPIRED, urgent=True),
        )
        try:
            await asyncio.wait({writer, reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            expiry.cancel()
            for task in (reader, writer):
                task.cancel()
                # Awaiting also retrieves an exception of a task that already failed.
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if connection.close_code is not None:
                await close_socket(
                    connection.websocket, connection.close_code, connection.close_reason
                )

    async def _read(self, connection: Connection) -> None:
        recorder = self.voice.recorder(connection.interview_id, connection.send_control)
        try:
            await self._read_frames(connection, recorder)
        finally:
            recorder.close()

    async def _read_frames(self, connection: Connection, recorder: Recorder) -> None:
        websocket = connection.websocket
        bucket = TokenBucket(self.settings.ws_frames_per_second, self.settings.ws_frame_burst)
        audio = TokenBucket(
            AUDIO_SPEEDUP * AUDIO_BYTES_PER_SECOND, AUDIO_BURST_S * AUDIO_BYTES_PER_SECOND
        )
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            FRAMES_IN.inc()
            data = message.get("bytes")
            if data is not None:  # a chunk of a recording: limited by bytes, not frames
                if not audio.take(len(data)):
                    connection.close(
                        CloseCode.rate_limited,
                        "audio is arriving too fast; slow down and reconnect",
                        urgent=True,
                    )
                    return
                await recorder.chunk(data)
                continue
            if not bucket.take():
                connection.close(
                    CloseCode.rate_limited, "too many frames; slow down and reconnect", urgent=True
                )
                return
            try:
                frame = _parse(message.get("text") or "")
            except _FrameError as error:
                connection.send_control(error_frame(error.code, error.message))
                continue
            if isinstance(frame, Ping):
                pong = Pong(seq=CONTROL, epoch="", t=frame.t)
                connection.send_control(pong.model_dump_json())
            elif isinstance(frame, Hello):
                connection.send_control(
                    error_frame(ErrorCode.malformed_frame, "already said hello")
                )
            elif isinstance(frame, AudioStart):
                await recorder.start(frame)
            elif isinstance(frame, AudioEnd):
                await recorder.end(frame)
            elif isinstance(frame, AudioCancel):
                await recorder.cancel(frame)
            elif connection.observer:
                connection.send_control(
                    error_frame(
                        ErrorCode.read_only, "this socket watches the interview; it cannot act"
                    )
                )
            else:
                # Phase and turn are the runner's to judge; it answers the sender if it refuses.
                envelope = Envelope(command=frame, origin=connection.id)
                await self.sessions.submit(connection.interview_id, envelope)

    # --- shutdown ----------------------------------------------------------------------------

    async def drain(self) -> None:
        """Hand interviews back, then tell every client to reconnect elsewhere."""
        self.draining = True
        await self.sessions.drain()
        for connection in list(self.connections):
            connection.close(CloseCode.going_away, "server going away; reconnect", urgent=True)


def _parse(text: str) -> ClientFrame:
    """The frame, validated once by its model; a _FrameError says what was wrong with it.

    Its size is the transport's to limit (``server/gateway/server.py``)."""
    try:
        return client_frame_adapter.validate_json(text)
    except ValidationError as exc:
        raise _FrameError(*_describe(exc.errors()[0])) from None


def _describe(error: ErrorDetails) -> tuple[ErrorCode, str]:
    """Turn pydantic's first complaint into one of the protocol's codes and a plain message."""
    kind, loc = error["type"], error["loc"]
    if kind == "json_invalid" or (kind == "model_attributes_type" and not loc):
        return ErrorCode.malformed_frame, "expected a JSON object"
    if kind in ("union_tag_not_found", "model_attributes_type", "dict_type") and len(loc) <= 1:
        return ErrorCode.malformed_frame, 'expected a JSON object with a "type"'
    if kind == "union_tag_invalid":
        ctx = error.get("ctx") or {}
        tag = str(ctx.get("tag", ""))[:40]
        return (
            ErrorCode.unknown_type,
            f'unknown frame type "{tag}"; expected one of ' + ", ".join(sorted(CLIENT_FRAME_TYPES)),
        )
    if kind == "string_too_long" and loc[-1:] == ("text",) and loc[:1] == ("answer",):
        length = len(str(error.get("input", "")))
        return (
            ErrorCode.answer_too_long,
            f"answers are limited to {MAX_ANSWER_CHARS} characters; this one has {length}",
        )
    if loc[:1] == ("audio.start",) and loc[1:2] in (("format",), ("sample_rate",), ("channels",)):
        return (
            ErrorCode.audio_format_unsupported,
            f"audio must be {AUDIO_FORMAT}, {AUDIO_SAMPLE_RATE} Hz, mono; "
            f"{loc[1]} was {str(error.get('input', ''))[:40]!r}",
        )
    where = ".".join(str(p) for p in loc[1:] if not isinstance(p, int)) or "frame"
    return ErrorCode.malformed_frame, f"{where}: {error['msg']}"
