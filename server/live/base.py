"""The live store every gateway process shares, as four small protocols.

- ``EventLog``: per interview, an opaque state (the engine's typed ``LiveState``, encoded),
  the text of the turn being spoken and an ordered, capped event log; appends reach every
  process through ONE subscription per process, with pokes and replies on the same channel.
- ``Leases``: which process drives an interview, and whether any client is connected.
- ``CommandInbox``: commands for a runner in another process.
- ``Counters``: fixed-window counters (rate limits) and small cached values.

Every key of one interview shares the hash tag ``{interview_id}`` so the multi-key
append stays on one shard of a Redis Cluster.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class LogEntry:
    seq: int
    payload: str


@dataclass(frozen=True, slots=True)
class LogRead:
    entries: list[LogEntry]
    oldest_seq: int  # oldest seq still in the log; 0 when the log is empty


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An interview's live data, read atomically."""

    seq: int  # seq of the newest event; ``state`` and ``text`` describe the log up to it
    state: str  # the engine's encoded state
    text: str  # the current turn's text so far
    active_ms: int  # unix ms of the last append
    facts: str = ""  # what the interview was created with, if asked for and prepared
    failures: int = 0  # times a runner failed while driving it (see ``record_failure``)


@dataclass(frozen=True, slots=True)
class TextUpdate:
    """What an append does to the current turn's text."""

    mode: str  # "k" keep, "s" set, "a" append
    text: str = ""


KEEP_TEXT = TextUpdate("k")


@dataclass(slots=True)
class LiveListener:
    """Callbacks a gateway process installs to receive what its subscription delivers."""

    on_event: Callable[[str, int, str], None]  # (interview id, seq, payload)
    on_poke: Callable[[str], None]  # a command is waiting for this interview
    on_reply: Callable[[str, str, str], None]  # (interview id, connection id, payload)
    on_stale: Callable[[str], None]  # an append was refused: another process owns it now
    on_reconnect: Callable[[], None]  # the subscription was re-established; repair gaps
    # A user's tokens older than this version were revoked: (user id, token version).
    on_revoked: Callable[[str, int], None]


class EventLog(Protocol):
    async def start(self, listener: LiveListener) -> None:
        """Begin delivering subscribed events, pokes and replies to ``listener``."""

    async def close(self) -> None: ...

    async def subscribe(self, interview_ids: Iterable[str]) -> None:
        """Receive these interviews' events in this process (one command for many).

        Returns once the subscription is in effect: whatever is appended, poked or replied
        afterwards, by any process, is delivered.
        """

    async def unsubscribe(self, interview_id: str) -> None: ...

    async def create(
        self, interview_id: str, state: str, *, facts: str = "", ttl_s: int = 0
    ) -> bool:
        """Create the interview's live data at seq 0 unless it exists; whether it was created.

        ``facts`` (opaque) are kept beside it for the runner that starts it; with ``ttl_s``
        both vanish after that long unless the interview starts (its first append keeps
        the state for good).
        """

    async def snapshot(self, interview_id: str, *, with_facts: bool = False) -> Snapshot | None:
        """The live data, read atomically; ``facts`` only when asked for."""

    async def snapshots(self, interview_ids: Iterable[str]) -> dict[str, Snapshot | None]:
        """Many snapshots in one round trip."""

    def append(
        self,
        interview_id: str,
        seq: int,
        payload: str,
        state: str | None,
        text: TextUpdate = KEEP_TEXT,
    ) -> None:
        """Queue an event: log it, replace the state (if given), update the text, publish it.

        Applied atomically and in call order. ``seq`` must be the stored seq + 1, otherwise
        the append is refused and ``on_stale`` is called: that fences a process that lost
        its lease.
        """

    async def flush(self) -> None:
        """Wait until every append queued so far is applied (refusals go to ``on_stale``)."""

    async def read_log(self, interview_id: str, after_seq: int) -> LogRead: ...

    async def record_failure(self, interview_id: str) -> int:
        """Count a runner failing on the interview, beside its state (and gone with it);
        the new count, 0 if the interview has no live data."""

    async def expire(self, interview_id: str, ttl_s: int) -> None:
        """Let an ended interview's live data disappear after ``ttl_s``."""

    async def reply(self, interview_id: str, connection_id: str, payload: str) -> None:
        """Send a frame to one connection of the interview, in whichever process holds it."""

    async def poke(self, interview_id: str) -> None:
        """Wake whoever drives the interview (its inbox has something)."""

    async def announce_revocation(self, user_id: str, token_version: int) -> None:
        """Tell every process that the user's tokens before ``token_version`` are revoked."""


class Leases(Protocol):
    async def acquire(self, interview_id: str, holder: str, ttl_ms: int) -> bool: ...

    async def renew(
        self, holder: str, interview_ids: Iterable[str], ttl_ms: int
    ) -> dict[str, bool]: ...

    async def release(self, interview_id: str, holder: str) -> None: ...

    async def holder(self, interview_id: str) -> str | None: ...

    async def unleased(self, interview_ids: Iterable[str]) -> list[str]:
        """The interviews among ``interview_ids`` that nobody holds a lease on (one round trip)."""

    async def touch_presence(self, interview_ids: Iterable[str], ttl_ms: int) -> None: ...

    async def has_presence(self, interview_id: str) -> bool: ...


class CommandInbox(Protocol):
    async def push(self, interview_id: str, command: str) -> None:
        """Queue a command for whoever drives the interview (then poke it)."""

    async def pop(self, interview_id: str) -> list[str]: ...

    async def expire(self, interview_id: str, ttl_s: int) -> None: ...


class Counters(Protocol):
    async def hit(self, key: str, window_s: int) -> tuple[int, int]:
        """Count one event against ``key`` in a fixed window.

        Returns the count in the current window (this hit included) and the seconds until
        the window resets.
        """

    async def get_int(self, key: str) -> int | None: ...

    async def set_int(self, key: str, value: int, ttl_s: int) -> None: ...


@dataclass(frozen=True, slots=True)
class LiveStore:
    """The four protocols of one backend, and the connection they share."""

    name: str
    events: EventLog
    leases: Leases
    inbox: CommandInbox
    counters: Counters
    ping: Callable[[], Awaitable[None]]  # raises when the store cannot be reached
    close: Callable[[], Awaitable[None]]  # closes every connection (events flushed first)
