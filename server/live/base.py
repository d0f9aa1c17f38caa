"""The live-store interface every gateway process talks to.

Per interview it keeps: a small state hash (phase, turn, seq, ...), the text of the
turn being spoken, an ordered event log capped in length, a command inbox, a lease
saying which process drives the interview, and presence (is any client connected).
Events and commands reach other processes through ONE subscription per process.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum


class TextMode(StrEnum):
    keep = "k"
    set = "s"
    append = "a"


@dataclass(frozen=True, slots=True)
class LogEntry:
    seq: int
    payload: str


@dataclass(frozen=True, slots=True)
class LogRead:
    entries: list[LogEntry]
    oldest_seq: int  # oldest seq still in the log; 0 when the log is empty


@dataclass(slots=True)
class LiveListener:
    """Callbacks a gateway process installs to receive what its subscription delivers."""

    on_event: Callable[[str, int, str], None]  # (interview id, seq, payload)
    on_poke: Callable[[str], None]  # a command is waiting for this interview
    on_stale: Callable[[str], None]  # an append was refused: another process owns it now
    on_reconnect: Callable[[], None]  # the subscription was re-established; repair gaps


class LiveStore(ABC):
    name: str

    # --- infrastructure -----------------------------------------------------------

    @abstractmethod
    async def ping(self) -> None:
        """Raise if the store cannot be reached."""

    @abstractmethod
    async def hit(self, key: str, window_s: int) -> tuple[int, int]:
        """Count one event against ``key`` in a fixed window.

        Returns the count in the current window (this hit included) and the
        seconds until the window resets.
        """

    async def start(self, listener: LiveListener) -> None:
        """Begin delivering subscribed events and pokes to ``listener``."""
        self.listener = listener

    @abstractmethod
    async def close(self) -> None: ...

    # --- fan-out ------------------------------------------------------------------

    @abstractmethod
    async def subscribe(self, interview_id: str) -> None:
        """Receive this interview's events and pokes in this process."""

    @abstractmethod
    async def unsubscribe(self, interview_id: str) -> None: ...

    # --- state and log -----------------------------------------------------------

    @abstractmethod
    async def create_state(self, interview_id: str, fields: dict[str, str]) -> bool:
        """Create the state unless it exists. Returns whether it was created."""

    @abstractmethod
    async def get_state(self, interview_id: str) -> dict[str, str]:
        """The state hash, or {} when the store has none."""

    @abstractmethod
    async def get_snapshot(self, interview_id: str) -> tuple[dict[str, str], str]:
        """State and current turn text, read atomically."""

    @abstractmethod
    def append(
        self,
        interview_id: str,
        seq: int,
        payload: str,
        fields: dict[str, str],
        text_mode: TextMode = TextMode.keep,
        text: str = "",
    ) -> None:
        """Queue an event: log it, update state and text, publish it; all at once.

        Appends are applied in call order. ``seq`` must be the state's seq + 1,
        otherwise the append is refused and ``on_stale`` is called.
        """

    @abstractmethod
    async def flush(self) -> None:
        """Wait until every append queued so far is applied (refusals go to ``on_stale``)."""

    @abstractmethod
    async def read_log(self, interview_id: str, after_seq: int) -> LogRead: ...

    @abstractmethod
    async def expire(self, interview_id: str, ttl_s: int) -> None:
        """Let an ended interview's live data disappear after ``ttl_s``."""

    # --- commands ----------------------------------------------------------------

    @abstractmethod
    async def push_command(self, interview_id: str, command: str) -> None:
        """Queue a command for whoever drives the interview and poke it."""

    @abstractmethod
    async def pop_commands(self, interview_id: str) -> list[str]: ...

    # --- ownership and presence ------------------------------------------------

    @abstractmethod
    async def acquire_lease(self, interview_id: str, holder: str, ttl_ms: int) -> bool: ...

    @abstractmethod
    async def renew_leases(
        self, holder: str, interview_ids: Iterable[str], ttl_ms: int
    ) -> dict[str, bool]: ...

    @abstractmethod
    async def release_lease(self, interview_id: str, holder: str) -> None: ...

    @abstractmethod
    async def lease_holder(self, interview_id: str) -> str | None: ...

    @abstractmethod
    async def unleased(self, interview_ids: Iterable[str]) -> list[str]:
        """The interviews among ``interview_ids`` that nobody holds a lease on (one round trip)."""

    @abstractmethod
    async def touch_presence(self, interview_ids: Iterable[str], ttl_ms: int) -> None: ...

    @abstractmethod
    async def has_presence(self, interview_id: str) -> bool: ...
