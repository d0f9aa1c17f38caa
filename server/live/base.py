"""The live store every gateway process shares, as four small protocols.

- ``EventLog``: per interview, an opaque state (the engine's typed ``LiveState``, encoded),
  the text of the turn being spoken and an ordered, capped event log; appends reach every
  process through ONE subscription per process, with pokes and replies on the same channel.
- ``Leases``: which process drives an interview, and whether any client is connected.
- ``CommandInbox``: commands for a runner in another process.
- ``Counters``: fixed-window counters (rate limits) and small cached values.
- ``Uploads``: recordings of spoken answers, chunk by chunk, until they are transcribed.
- ``Monitor``: a summary of every live interview for the admin console, kept fresh by the
  processes that drive them and published to every process (never the token stream).

Every key of one interview shares the hash tag ``{interview_id}`` so the multi-key
append stays on one shard of a Redis Cluster.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol


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
class StartClaim:
    """An interview's live data with its facts, and whether its lease came with them."""

    snapshot: Snapshot
    leased: bool


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
    # An append was refused (another process owns the interview now, or its live state is
    # gone): (interview id, the refused append's number, as ``append`` returned it).
    on_stale: Callable[[str, int], None]
    on_reconnect: Callable[[], None]  # the subscription was re-established; repair gaps
    # A user's tokens older than this version were revoked: (user id, token version).
    on_revoked: Callable[[str, int], None]
    # A monitor update published by some process (``Monitor.publish``), as published.
    on_monitor: Callable[[str], None] = lambda payload: None


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
    ) -> int:
        """Queue an event: log it, replace the state (if given), update the text, publish it.

        Applied atomically and in call order. ``seq`` must be the stored seq + 1, otherwise
        the append is refused and ``on_stale`` is called: that fences a process that lost
        its lease. Returns the append's number, its place in this process's line (they
        increase): a refusal names it, so that a runner is stopped only by refusals of
        its own appends, not by those of a runner it replaced.
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

    async def claim_start(self, interview_id: str, holder: str, ttl_ms: int) -> StartClaim | None:
        """The live data with its facts, read atomically (None: there is none); and when the
        interview was prepared and never started (seq 0, facts kept), its lease for
        ``holder`` in the same step, as ``acquire`` takes it: a hello starts a new
        interview in one round trip."""

    async def renew(
        self, holder: str, interview_ids: Iterable[str], ttl_ms: int
    ) -> dict[str, bool]: ...

    async def release(self, interview_id: str, holder: str) -> None: ...

    async def holder(self, interview_id: str) -> str | None: ...

    async def unleased(self, interview_ids: Iterable[str]) -> list[str]:
        """The interviews among ``interview_ids`` that nobody holds a lease on (one round trip)."""

    async def touch_presence(self, interview_ids: Iterable[str], ttl_ms: int) -> None: ...

    async def has_presence(self, interview_id: str) -> bool: ...

    async def present(self, interview_ids: Iterable[str]) -> set[str]:
        """The interviews among ``interview_ids`` with a client connected (one round trip)."""


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


UploadStatus = Literal["open", "transcribing", "done"]


@dataclass(frozen=True, slots=True)
class Upload:
    """One recording of an answer, as the live store holds it."""

    turn: int
    sample_rate: int
    next_chunk: int  # chunks received in order (0, 1, ...): the next index expected
    size: int  # bytes of audio received
    status: UploadStatus
    claimed_ms: int = 0  # when its transcription was claimed (status "transcribing")
    result: str = ""  # the transcription's result, opaque (status "done")


AppendOutcome = Literal["ok", "duplicate", "gap", "too_large", "closed", "missing"]


@dataclass(frozen=True, slots=True)
class ChunkAppend:
    outcome: AppendOutcome  # ok: stored; duplicate: already had it; gap: an earlier one is
    # missing; too_large: it would pass max_bytes (nothing stored); closed: audio.end came;
    # missing: no such upload (expired, cancelled, never opened)
    next_chunk: int  # the next index expected after this call (0 when missing)
    size: int  # bytes stored after this call


ClaimOutcome = Literal["claimed", "busy", "done", "incomplete", "missing"]


@dataclass(frozen=True, slots=True)
class Claim:
    outcome: ClaimOutcome  # claimed: this caller transcribes it now; busy: another caller
    # does (claimed less than stale_ms ago); done: transcribed (see upload.result);
    # incomplete: fewer chunks than announced; missing: no such upload
    upload: Upload | None


class Uploads(Protocol):
    """Recordings of spoken answers (audio + metadata), each under the interview's hash tag
    so any process can take over an upload; everything expires ``ttl_s`` after it was last
    written."""

    async def open(
        self, interview_id: str, upload_id: str, *, turn: int, sample_rate: int, ttl_s: int
    ) -> tuple[Upload, bool]:
        """Create the upload unless it exists; (the upload as stored, whether it was created).

        A new upload is open, with no chunk, and expires ``ttl_s`` from now. An existing
        upload (whatever its status) is returned unchanged and its expiry is not extended
        (the caller compares turn and sample rate)."""

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
        """Store chunk ``index`` if it is the next one expected, atomically (one round trip).

        The first that applies: "missing"; "closed" unless the status is "open";
        "duplicate" if ``index < next_chunk``; "gap" if ``index > next_chunk``; "too_large"
        if ``size + len(data) > max_bytes``; else "ok": the chunk is appended to the audio
        and the upload expires ``ttl_s`` from now. Anything but "ok" stores nothing and
        leaves the expiry alone. ``next_chunk`` and ``size`` are the upload's after the call.
        """

    async def claim(
        self, interview_id: str, upload_id: str, *, chunks: int, stale_ms: int
    ) -> Claim:
        """Close the upload at ``chunks`` chunks and claim its transcription, atomically.

        The first that applies: "missing" (``upload`` None); "done", whatever ``chunks``;
        "incomplete" if ``next_chunk != chunks`` (nothing changes: an open upload stays open
        for the chunks to be resent); "busy" if it is "transcribing" and was claimed less
        than ``stale_ms`` ago; else "claimed": status "transcribing", ``claimed_ms`` now. A
        claim older than ``stale_ms`` (its claimer died) is taken over that way. ``upload``
        is as stored after the call. "now" is the store's clock (on Redis the server's
        TIME: one clock for every process). A claim does not extend the upload's expiry."""

    async def release(self, interview_id: str, upload_id: str) -> None:
        """Give up a claim (the transcription failed): status "open" again, so the next
        claim takes it at once; nothing unless it is "transcribing"."""

    async def audio(self, interview_id: str, upload_id: str) -> bytes | None:
        """The audio received, in chunk order (b"" before the first chunk); None if the upload
        is missing or finished (``finish`` drops the audio)."""

    async def finish(self, interview_id: str, upload_id: str, result: str, *, ttl_s: int) -> None:
        """Store the transcription's result (status "done") and drop the audio; the upload
        (with its result) then expires ``ttl_s`` from now. Nothing if it is missing."""

    async def get(self, interview_id: str, upload_id: str) -> Upload | None: ...

    async def discard(self, interview_id: str, upload_id: str) -> None:
        """Forget the upload and its audio (cancelled); nothing if it is missing."""


@dataclass(frozen=True, slots=True)
class MonitorEntries:
    """What the monitor stores: summaries by interview id, and when each process last said
    it is running (Unix ms by process)."""

    summaries: dict[str, str]
    alive: dict[str, int]


class Monitor(Protocol):
    """What the admin console's live monitor shows, shared by every process.

    Each process stores the summaries of the interviews it drives (opaque strings keyed by
    interview id, each carrying its own timestamp) when they change, and when it last said
    it is running; it publishes what changed, and every process's listener receives the
    published payload (``LiveListener.on_monitor``). Nothing of a process that died is
    removed by anyone: readers drop what is too old, and ``forget`` it.
    """

    async def publish(
        self,
        entries: Mapping[str, str],
        removed: Sequence[str],
        payload: str,
        *,
        process: str,
        alive_ms: int | None,
    ) -> None:
        """Store ``entries``, delete ``removed``, record ``process`` as running at
        ``alive_ms`` (``None``: it leaves, forget it), then publish ``payload`` to every
        process."""

    async def entries(self) -> MonitorEntries:
        """Every stored summary, and every process's latest sign of life."""

    async def forget(self, interview_ids: Sequence[str], processes: Sequence[str] = ()) -> None:
        """Delete these summaries and processes (stale ones: nobody refreshes them)."""


@dataclass(frozen=True, slots=True)
class LiveStore:
    """The protocols of one backend, and the connection they share."""

    name: str
    events: EventLog
    leases: Leases
    inbox: CommandInbox
    counters: Counters
    uploads: Uploads
    monitor: Monitor
    ping: Callable[[], Awaitable[None]]  # raises when the store cannot be reached
    close: Callable[[], Awaitable[None]]  # closes every connection (events flushed first)
