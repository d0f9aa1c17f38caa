"""In-process live store: the embedded default for a single gateway process.

Same semantics as the Redis store (run by the same contract tests): appends are applied
in order and delivered asynchronously, seq gaps are refused, leases and presence expire,
uploads expire ``ttl_s`` after their last write.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from server.live.base import (
    KEEP_TEXT,
    ChunkAppend,
    Claim,
    LiveListener,
    LiveStore,
    LogEntry,
    LogRead,
    MonitorEntries,
    Snapshot,
    StartClaim,
    TextUpdate,
    Upload,
    UploadStatus,
)


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class _Interview:
    state: str
    facts: str = ""
    seq: int = 0
    text: str = ""
    active_ms: int = field(default_factory=_now_ms)
    failures: int = 0
    log: deque[LogEntry] = field(default_factory=deque)
    expires_at: float | None = None


class MemoryEventLog:
    def __init__(self, *, log_cap: int = 10_000) -> None:
        self.log_cap = log_cap
        self._interviews: dict[str, _Interview] = {}
        self._subscribed: set[str] = set()
        self._appended = 0  # appends so far: each one's number
        self.listener: LiveListener | None = None

    async def start(self, listener: LiveListener) -> None:
        self.listener = listener

    async def close(self) -> None:
        self._interviews.clear()

    def _get(self, interview_id: str) -> _Interview | None:
        interview = self._interviews.get(interview_id)
        if interview and interview.expires_at is not None:
            if interview.expires_at <= time.monotonic():
                del self._interviews[interview_id]
                return None
        return interview

    def _later(self, callback: object, *args: object) -> None:
        # Delivered on the next loop iteration, like a message coming back from Redis.
        asyncio.get_running_loop().call_soon(callback, *args)  # type: ignore[arg-type]

    async def subscribe(self, interview_ids: Iterable[str]) -> None:
        self._subscribed.update(interview_ids)

    async def unsubscribe(self, interview_id: str) -> None:
        self._subscribed.discard(interview_id)

    def _deliver_event(self, interview_id: str, seq: int, payload: str) -> None:
        if interview_id in self._subscribed and self.listener is not None:
            self.listener.on_event(interview_id, seq, payload)

    def _deliver_poke(self, interview_id: str) -> None:
        if interview_id in self._subscribed and self.listener is not None:
            self.listener.on_poke(interview_id)

    def _deliver_reply(self, interview_id: str, connection_id: str, payload: str) -> None:
        if interview_id in self._subscribed and self.listener is not None:
            self.listener.on_reply(interview_id, connection_id, payload)

    async def create(
        self, interview_id: str, state: str, *, facts: str = "", ttl_s: int = 0
    ) -> bool:
        if self._get(interview_id) is not None:
            return False
        expires_at = time.monotonic() + ttl_s if ttl_s > 0 else None
        self._interviews[interview_id] = _Interview(state=state, facts=facts, expires_at=expires_at)
        return True

    async def snapshot(self, interview_id: str, *, with_facts: bool = False) -> Snapshot | None:
        interview = self._get(interview_id)
        if interview is None:
            return None
        facts = interview.facts if with_facts else ""
        return Snapshot(
            interview.seq,
            interview.state,
            interview.text,
            interview.active_ms,
            facts,
            interview.failures,
        )

    async def record_failure(self, interview_id: str) -> int:
        interview = self._get(interview_id)
        if interview is None:
            return 0
        interview.failures += 1
        return interview.failures

    async def snapshots(self, interview_ids: Iterable[str]) -> dict[str, Snapshot | None]:
        return {iid: await self.snapshot(iid) for iid in interview_ids}

    def append(
        self,
        interview_id: str,
        seq: int,
        payload: str,
        state: str | None,
        text: TextUpdate = KEEP_TEXT,
    ) -> int:
        self._appended += 1
        number = self._appended
        interview = self._get(interview_id)
        if interview is None or seq != interview.seq + 1:
            if self.listener is not None:
                self._later(self.listener.on_stale, interview_id, number)
            return number
        interview.log.append(LogEntry(seq, payload))
        while len(interview.log) > self.log_cap:
            interview.log.popleft()
        interview.seq = seq
        if seq == 1:
            interview.expires_at = None  # prepared with a time limit; started now
        interview.active_ms = _now_ms()
        if state is not None:
            interview.state = state
        if text.mode == "s":
            interview.text = text.text
        elif text.mode == "a":
            interview.text += text.text
        self._later(self._deliver_event, interview_id, seq, payload)
        return number

    async def flush(self) -> None:
        return None  # appends are applied synchronously

    async def read_log(self, interview_id: str, after_seq: int) -> LogRead:
        interview = self._get(interview_id)
        if interview is None or not interview.log:
            return LogRead([], 0)
        oldest = interview.log[0].seq
        start = max(0, after_seq - oldest + 1)
        return LogRead([interview.log[i] for i in range(start, len(interview.log))], oldest)

    async def expire(self, interview_id: str, ttl_s: int) -> None:
        interview = self._get(interview_id)
        if interview is not None:
            interview.expires_at = time.monotonic() + ttl_s

    async def reply(self, interview_id: str, connection_id: str, payload: str) -> None:
        self._later(self._deliver_reply, interview_id, connection_id, payload)

    async def poke(self, interview_id: str) -> None:
        self._later(self._deliver_poke, interview_id)

    async def announce_revocation(self, user_id: str, token_version: int) -> None:
        if self.listener is not None:
            self._later(self.listener.on_revoked, user_id, token_version)


class MemoryLeases:
    def __init__(self, events: MemoryEventLog) -> None:
        self._events = events
        self._leases: dict[str, tuple[str, float]] = {}
        self._presence: dict[str, float] = {}

    def _holder(self, interview_id: str) -> str | None:
        lease = self._leases.get(interview_id)
        if lease is None or lease[1] <= time.monotonic():
            self._leases.pop(interview_id, None)
            return None
        return lease[0]

    async def acquire(self, interview_id: str, holder: str, ttl_ms: int) -> bool:
        current = self._holder(interview_id)
        if current is not None and current != holder:
            return False
        self._leases[interview_id] = (holder, time.monotonic() + ttl_ms / 1000)
        return True

    async def claim_start(self, interview_id: str, holder: str, ttl_ms: int) -> StartClaim | None:
        snapshot = await self._events.snapshot(interview_id, with_facts=True)
        if snapshot is None:
            return None
        prepared = snapshot.seq == 0 and bool(snapshot.facts)
        return StartClaim(snapshot, prepared and await self.acquire(interview_id, holder, ttl_ms))

    async def renew(
        self, holder: str, interview_ids: Iterable[str], ttl_ms: int
    ) -> dict[str, bool]:
        result = {}
        for interview_id in interview_ids:
            ok = self._holder(interview_id) == holder
            if ok:
                self._leases[interview_id] = (holder, time.monotonic() + ttl_ms / 1000)
            result[interview_id] = ok
        return result

    async def release(self, interview_id: str, holder: str) -> None:
        if self._holder(interview_id) == holder:
            del self._leases[interview_id]

    async def holder(self, interview_id: str) -> str | None:
        return self._holder(interview_id)

    async def unleased(self, interview_ids: Iterable[str]) -> list[str]:
        return [iid for iid in interview_ids if self._holder(iid) is None]

    async def touch_presence(self, interview_ids: Iterable[str], ttl_ms: int) -> None:
        until = time.monotonic() + ttl_ms / 1000
        for interview_id in interview_ids:
            self._presence[interview_id] = until

    async def has_presence(self, interview_id: str) -> bool:
        return self._presence.get(interview_id, 0.0) > time.monotonic()

    async def present(self, interview_ids: Iterable[str]) -> set[str]:
        now = time.monotonic()
        return {iid for iid in interview_ids if self._presence.get(iid, 0.0) > now}


class MemoryInbox:
    def __init__(self, events: MemoryEventLog) -> None:
        self._events = events
        self._commands: dict[str, deque[str]] = {}

    async def push(self, interview_id: str, command: str) -> None:
        self._commands.setdefault(interview_id, deque()).append(command)
        await self._events.poke(interview_id)

    async def pop(self, interview_id: str) -> list[str]:
        commands = self._commands.pop(interview_id, None)
        return list(commands) if commands else []

    async def expire(self, interview_id: str, ttl_s: int) -> None:
        # Nothing reads an ended interview's inbox; drop it rather than keep a timer.
        self._commands.pop(interview_id, None)


class MemoryCounters:
    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}
        self._values: dict[str, tuple[float, int]] = {}

    async def hit(self, key: str, window_s: int) -> tuple[int, int]:
        now = time.monotonic()
        if len(self._windows) > 10_000:
            self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
        resets_at, count = self._windows.get(key, (0.0, 0))
        if resets_at <= now:
            resets_at, count = now + window_s, 0
        count += 1
        self._windows[key] = (resets_at, count)
        return count, max(1, int(resets_at - now + 0.999))

    async def get_int(self, key: str) -> int | None:
        entry = self._values.get(key)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]

    async def set_int(self, key: str, value: int, ttl_s: int) -> None:
        now = time.monotonic()
        if len(self._values) > 100_000:
            self._values = {k: v for k, v in self._values.items() if v[0] > now}
        self._values[key] = (now + ttl_s, value)


@dataclass
class _Upload:
    turn: int
    sample_rate: int
    expires_at: float  # time.monotonic() after which it is gone
    next_chunk: int = 0
    size: int = 0
    status: UploadStatus = "open"
    claimed_ms: int = 0
    result: str = ""
    audio: bytearray | None = field(default_factory=bytearray)  # None once finished

    def view(self) -> Upload:
        return Upload(
            self.turn,
            self.sample_rate,
            self.next_chunk,
            self.size,
            self.status,
            self.claimed_ms,
            self.result,
        )


_UPLOAD_SWEEP_S = 10.0


class MemoryUploads:
    """Uploads in a dict, each expiring ``ttl_s`` after its last write (checked on access;
    expired ones nobody asks for again are swept out now and then)."""

    def __init__(self) -> None:
        self._uploads: dict[tuple[str, str], _Upload] = {}
        self._next_sweep = 0.0

    def _get(self, interview_id: str, upload_id: str) -> _Upload | None:
        key = (interview_id, upload_id)
        upload = self._uploads.get(key)
        if upload is not None and upload.expires_at <= time.monotonic():
            del self._uploads[key]
            return None
        return upload

    def _sweep(self, now: float) -> None:
        if now >= self._next_sweep:
            self._next_sweep = now + _UPLOAD_SWEEP_S
            self._uploads = {k: u for k, u in self._uploads.items() if u.expires_at > now}

    async def open(
        self, interview_id: str, upload_id: str, *, turn: int, sample_rate: int, ttl_s: int
    ) -> tuple[Upload, bool]:
        existing = self._get(interview_id, upload_id)
        if existing is not None:
            return existing.view(), False
        now = time.monotonic()
        self._sweep(now)
        upload = _Upload(turn=turn, sample_rate=sample_rate, expires_at=now + ttl_s)
        self._uploads[(interview_id, upload_id)] = upload
        return upload.view(), True

    async def append(
        self,
        interview_id: str,
        upload_id: str,
        index: int,
        data: bytes,
        *,
        max_bytes: int,
        ttl_s: int,
    ) -> ChunkAppend:
        upload = self._get(interview_id, upload_id)
        if upload is None:
            return ChunkAppend("missing", 0, 0)
        if upload.status != "open" or upload.audio is None:
            return ChunkAppend("closed", upload.next_chunk, upload.size)
        if index < upload.next_chunk:
            return ChunkAppend("duplicate", upload.next_chunk, upload.size)
        if index > upload.next_chunk:
            return ChunkAppend("gap", upload.next_chunk, upload.size)
        if upload.size + len(data) > max_bytes:
            return ChunkAppend("too_large", upload.next_chunk, upload.size)
        upload.audio += data
        upload.next_chunk += 1
        upload.size += len(data)
        upload.expires_at = time.monotonic() + ttl_s
        return ChunkAppend("ok", upload.next_chunk, upload.size)

    async def claim(
        self, interview_id: str, upload_id: str, *, chunks: int, stale_ms: int
    ) -> Claim:
        upload = self._get(interview_id, upload_id)
        if upload is None:
            return Claim("missing", None)
        if upload.status == "done":
            return Claim("done", upload.view())
        if upload.next_chunk != chunks:
            return Claim("incomplete", upload.view())
        now = _now_ms()
        if upload.status == "transcribing" and now - upload.claimed_ms < stale_ms:
            return Claim("busy", upload.view())
        upload.status = "transcribing"
        upload.claimed_ms = now
        return Claim("claimed", upload.view())

    async def release(self, interview_id: str, upload_id: str) -> None:
        upload = self._get(interview_id, upload_id)
        if upload is not None and upload.status == "transcribing":
            upload.status = "open"
            upload.claimed_ms = 0

    async def audio(self, interview_id: str, upload_id: str) -> bytes | None:
        upload = self._get(interview_id, upload_id)
        if upload is None or upload.audio is None:
            return None
        return bytes(upload.audio)

    async def finish(self, interview_id: str, upload_id: str, result: str, *, ttl_s: int) -> None:
        upload = self._get(interview_id, upload_id)
        if upload is None:
            return
        upload.status = "done"
        upload.result = result
        upload.audio = None
        upload.expires_at = time.monotonic() + ttl_s

    async def get(self, interview_id: str, upload_id: str) -> Upload | None:
        upload = self._get(interview_id, upload_id)
        return None if upload is None else upload.view()

    async def discard(self, interview_id: str, upload_id: str) -> None:
        self._uploads.pop((interview_id, upload_id), None)


class MemoryMonitor:
    def __init__(self, events: MemoryEventLog) -> None:
        self._events = events
        self._entries: dict[str, str] = {}
        self._alive: dict[str, int] = {}

    async def publish(
        self,
        entries: Mapping[str, str],
        removed: Sequence[str],
        payload: str,
        *,
        process: str,
        alive_ms: int | None,
    ) -> None:
        self._entries.update(entries)
        for interview_id in removed:
            self._entries.pop(interview_id, None)
        if alive_ms is None:
            self._alive.pop(process, None)
        else:
            self._alive[process] = alive_ms
        listener = self._events.listener
        if listener is not None:
            asyncio.get_running_loop().call_soon(listener.on_monitor, payload)

    async def entries(self) -> MonitorEntries:
        return MonitorEntries(dict(self._entries), dict(self._alive))

    async def forget(self, interview_ids: Sequence[str], processes: Sequence[str] = ()) -> None:
        for interview_id in interview_ids:
            self._entries.pop(interview_id, None)
        for process in processes:
            self._alive.pop(process, None)


def memory_live_store(*, log_cap: int = 10_000) -> LiveStore:
    events = MemoryEventLog(log_cap=log_cap)

    async def ping() -> None:
        return None

    return LiveStore(
        name="memory",
        events=events,
        leases=MemoryLeases(events),
        inbox=MemoryInbox(events),
        counters=MemoryCounters(),
        uploads=MemoryUploads(),
        monitor=MemoryMonitor(events),
        ping=ping,
        close=events.close,
    )
