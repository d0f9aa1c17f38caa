"""In-process live store: the embedded default for a single gateway process.

Same semantics as ``RedisLive`` (tested by the same tests): appends are applied in
order and delivered asynchronously, seq gaps are refused, leases and presence expire.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from server.live.base import LiveStore, LogEntry, LogRead, TextMode


@dataclass
class _Session:
    state: dict[str, str] = field(default_factory=dict)
    text: str = ""
    log: deque[LogEntry] = field(default_factory=deque)
    commands: deque[str] = field(default_factory=deque)
    expires_at: float | None = None


class MemoryLive(LiveStore):
    name = "memory"

    def __init__(self, *, log_cap: int = 10_000) -> None:
        self.log_cap = log_cap
        self._windows: dict[str, tuple[float, int]] = {}
        self._sessions: dict[str, _Session] = {}
        self._leases: dict[str, tuple[str, float]] = {}
        self._presence: dict[str, float] = {}
        self._subscribed: set[str] = set()

    # --- infrastructure -------------------------------------------------------------

    async def ping(self) -> None:
        return None

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

    async def close(self) -> None:
        self._windows.clear()
        self._sessions.clear()

    # --- fan-out ------------------------------------------------------------------

    async def subscribe(self, interview_id: str) -> None:
        self._subscribed.add(interview_id)

    async def unsubscribe(self, interview_id: str) -> None:
        self._subscribed.discard(interview_id)

    def _deliver_event(self, interview_id: str, seq: int, payload: str) -> None:
        if interview_id in self._subscribed:
            self.listener.on_event(interview_id, seq, payload)

    def _deliver_poke(self, interview_id: str) -> None:
        if interview_id in self._subscribed:
            self.listener.on_poke(interview_id)

    # --- state and log -----------------------------------------------------------

    def _session(self, interview_id: str) -> _Session | None:
        session = self._sessions.get(interview_id)
        if session and session.expires_at is not None and session.expires_at <= time.monotonic():
            del self._sessions[interview_id]
            return None
        return session

    async def create_state(self, interview_id: str, fields: dict[str, str]) -> bool:
        if self._session(interview_id) is not None:
            return False
        self._sessions[interview_id] = _Session(state=dict(fields))
        return True

    async def get_state(self, interview_id: str) -> dict[str, str]:
        session = self._session(interview_id)
        return dict(session.state) if session else {}

    async def get_snapshot(self, interview_id: str) -> tuple[dict[str, str], str]:
        session = self._session(interview_id)
        return (dict(session.state), session.text) if session else ({}, "")

    def append(
        self,
        interview_id: str,
        seq: int,
        payload: str,
        fields: dict[str, str],
        text_mode: TextMode = TextMode.keep,
        text: str = "",
    ) -> None:
        session = self._session(interview_id)
        current = int(session.state.get("seq", "0")) if session else -1
        if session is None or seq != current + 1:
            asyncio.get_running_loop().call_soon(self.listener.on_stale, interview_id)
            return
        session.log.append(LogEntry(seq, payload))
        while len(session.log) > self.log_cap:
            session.log.popleft()
        session.state.update(fields)
        session.state["seq"] = str(seq)
        session.state["active_ms"] = str(int(time.time() * 1000))
        if text_mode is TextMode.set:
            session.text = text
        elif text_mode is TextMode.append:
            session.text += text
        # Delivered on the next loop iteration, like a message coming back from Redis.
        asyncio.get_running_loop().call_soon(self._deliver_event, interview_id, seq, payload)

    async def flush(self) -> None:
        return None  # appends are applied synchronously

    async def read_log(self, interview_id: str, after_seq: int) -> LogRead:
        session = self._session(interview_id)
        if session is None or not session.log:
            return LogRead([], 0)
        oldest = session.log[0].seq
        start = max(0, after_seq - oldest + 1)
        entries = [session.log[i] for i in range(start, len(session.log))]
        return LogRead(entries, oldest)

    async def expire(self, interview_id: str, ttl_s: int) -> None:
        session = self._session(interview_id)
        if session is not None:
            session.expires_at = time.monotonic() + ttl_s

    # --- commands ----------------------------------------------------------------

    async def push_command(self, interview_id: str, command: str) -> None:
        session = self._session(interview_id)
        if session is None:
            return
        session.commands.append(command)
        asyncio.get_running_loop().call_soon(self._deliver_poke, interview_id)

    async def pop_commands(self, interview_id: str) -> list[str]:
        session = self._session(interview_id)
        if session is None:
            return []
        commands = list(session.commands)
        session.commands.clear()
        return commands

    # --- ownership and presence ------------------------------------------------

    def _holder(self, interview_id: str) -> str | None:
        lease = self._leases.get(interview_id)
        if lease is None or lease[1] <= time.monotonic():
            self._leases.pop(interview_id, None)
            return None
        return lease[0]

    async def acquire_lease(self, interview_id: str, holder: str, ttl_ms: int) -> bool:
        current = self._holder(interview_id)
        if current is not None and current != holder:
            return False
        self._leases[interview_id] = (holder, time.monotonic() + ttl_ms / 1000)
        return True

    async def renew_leases(
        self, holder: str, interview_ids: Iterable[str], ttl_ms: int
    ) -> dict[str, bool]:
        result = {}
        for interview_id in interview_ids:
            ok = self._holder(interview_id) == holder
            if ok:
                self._leases[interview_id] = (holder, time.monotonic() + ttl_ms / 1000)
            result[interview_id] = ok
        return result

    async def release_lease(self, interview_id: str, holder: str) -> None:
        if self._holder(interview_id) == holder:
            del self._leases[interview_id]

    async def lease_holder(self, interview_id: str) -> str | None:
        return self._holder(interview_id)

    async def unleased(self, interview_ids: Iterable[str]) -> list[str]:
        return [iid for iid in interview_ids if self._holder(iid) is None]

    async def touch_presence(self, interview_ids: Iterable[str], ttl_ms: int) -> None:
        until = time.monotonic() + ttl_ms / 1000
        for interview_id in interview_ids:
            self._presence[interview_id] = until

    async def has_presence(self, interview_id: str) -> bool:
        return self._presence.get(interview_id, 0.0) > time.monotonic()
