"""What the admin console's live monitor shows: each process summarises the interviews it
drives, a few times a second, into the live store's ``Monitor`` (never the token stream).

- Every ``INTERVAL_S`` the summaries that changed (phase, question, turn, connection,
  usage) are stored and published. A round looks only at the interviews something happened
  to (the session manager tells: a runner took one, emitted or ended, a candidate socket
  here joined or left; the usage tee: a provider call). Whether a candidate is connected
  to another process is asked of the live store, in one call a round, for each such
  interview every ``PRESENCE_POLL_S`` (a share of them a round) and at once for one whose
  candidate just left this process. A summary whose only news is
  its latest event's time is republished at most every ``EVENT_REFRESH_S``, the oldest
  first and a tenth of all per round, so a process streaming hundreds of interviews never
  summarises them all at once.
  An interview this process stopped driving is removed in the same publication.
- An unchanged summary is not republished: the process says it is running, about every
  ``HEARTBEAT_S``, in every publication's ``alive`` (an empty one if nothing else is due).
  Republishing every summary as its own heartbeat cost a process driving 3,000 interviews
  750 summaries (~200 KB stored and published) a round, and the streams' tail with it.
- A process that dies stops saying it is running: readers drop its summaries once neither
  their own ``seen_ms`` nor their process is under ``STALE_MS`` old (``fresh``), so an
  interview moves to its new process within a few seconds.
- Tokens and cost come from the provider calls this process made for the interview (the
  usage sink is teed here): after a takeover they count from the takeover (the interview's
  row has the full totals).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select

from server.aio import stop_task
from server.interview.engine import InterviewRunner
from server.interview.sessions import SessionManager
from server.live.base import LiveStore, MonitorEntries
from server.llm.base import CallRecord
from server.protocol import CONTROL, MonitorUpdate, SessionSummary
from server.store.models import User

log = logging.getLogger(__name__)

INTERVAL_S = 0.5
HEARTBEAT_S = 2.0
EVENT_REFRESH_S = 5.0
STALE_MS = 6_000
# A candidate connected to another process is known from the presence that process
# refreshes every few seconds (and keeps for twice the lease): asking every round about
# every such interview cost a process whose candidates are mostly elsewhere one command
# per interview twice a second, for news no fresher than the presence itself.
PRESENCE_POLL_S = 2.0
EMAIL_CACHE_MAX = 50_000
# Between two yields to the event loop: summaries built (~5 µs each with their JSON),
# runners looked at (~1 µs each). A burst of thousands of starts (or a takeover) must not
# pause every stream of the process while the round goes through them.
BUILD_SLICE = 64
SCAN_SLICE = 256

T = TypeVar("T")


async def _slices(items: Sequence[T], size: int) -> AsyncIterator[Sequence[T]]:
    """``items`` ``size`` at a time, yielding to the event loop between two."""
    for start in range(0, len(items), size):
        if start:
            await asyncio.sleep(0)
        yield items[start : start + size]


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(slots=True)
class _Usage:
    tokens_in: int = 0
    tokens_out: int = 0
    cost_micro_usd: int = 0
    last_ttft_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Fresh:
    """What the monitor holds that is still live, and what is stale (to ``forget``)."""

    sessions: dict[str, SessionSummary]
    alive: dict[str, int]
    stale: list[str]
    stale_processes: list[str]


def fresh(entries: MonitorEntries, now: int) -> Fresh:
    """Decode stored summaries, keeping those whose process said it is running, or that
    were themselves published, within ``STALE_MS``."""
    alive = {process: ms for process, ms in entries.alive.items() if now - ms <= STALE_MS}
    sessions: dict[str, SessionSummary] = {}
    stale: list[str] = []
    for interview_id, encoded in entries.summaries.items():
        try:
            summary = SessionSummary.model_validate_json(encoded)
        except ValueError:
            stale.append(interview_id)
            continue
        if now - max(summary.seen_ms, alive.get(summary.process, 0)) > STALE_MS:
            stale.append(interview_id)
        else:
            sessions[interview_id] = summary
    return Fresh(sessions, alive, stale, [p for p in entries.alive if p not in alive])


def refreshes_due(
    published_at: Mapping[str, float], candidates: Sequence[str], total: int, now: float
) -> list[str]:
    """Which of the ``candidates`` (unchanged summaries whose interview had events since)
    to publish again this round: those not published for ``EVENT_REFRESH_S``, the oldest
    first, at most a tenth of the ``total`` per round. Once spread out, each is republished
    every ``EVENT_REFRESH_S``; a burst of starts, all first published in one round, spreads
    over ten rounds."""
    share = max(1, math.ceil(total * INTERVAL_S / EVENT_REFRESH_S))
    due = [iid for iid in candidates if now - published_at.get(iid, 0.0) >= EVENT_REFRESH_S]
    due.sort(key=lambda iid: published_at.get(iid, 0.0))
    return due[:share]


@dataclass(slots=True)
class _Published:
    key: tuple[object, ...]  # ``_key`` as last stored
    connected: bool
    last_event_ms: int
    at: float  # monotonic


class MonitorPublisher:
    """Built before the interviewer (its ``on_call`` is part of the usage sink), started
    with the session manager whose runners it summarises."""

    def __init__(self, live: LiveStore, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.live = live
        self.clock = clock
        self.sessions: SessionManager | None = None
        self._usage: dict[str, _Usage] = {}
        self._emails: dict[str, str] = {}  # owner id → email, for the summaries
        self._published: dict[str, _Published] = {}
        self._touched: set[str] = set()  # interviews something happened to since the round
        self._remote: set[str] = set()  # driven here, no candidate socket here
        self._present: set[str] = set()  # of those, with a candidate elsewhere when asked
        self._presence_turn: dict[str, None] = {}  # ``_remote`` in the order to ask them
        self._moved: set[str] = set()  # unchanged but for new events: refreshed in turn
        self._alive_at = -math.inf  # monotonic time this process last said it is running
        self._task: asyncio.Task[None] | None = None

    def on_call(self, interview_id: str, call: CallRecord) -> None:
        """The usage sink's tee: a provider call made for an interview this process drives."""
        if not interview_id:
            return
        usage = self._usage.setdefault(interview_id, _Usage())
        usage.tokens_in += call.prompt_tokens
        usage.tokens_out += call.output_tokens
        usage.cost_micro_usd += call.cost_micro_usd
        if call.kind == "turn" and call.ttft_ms is not None:
            usage.last_ttft_ms = call.ttft_ms
        self._touched.add(interview_id)

    def attach(self, sessions: SessionManager) -> None:
        """Summarise the runners of ``sessions``, told by it what happens to them."""
        self.sessions = sessions
        sessions.on_change = self._touched.add

    def start(self, sessions: SessionManager) -> None:
        self.attach(sessions)
        self._task = asyncio.create_task(self._run(), name="monitor-publish")

    async def close(self) -> None:
        await stop_task(self._task, within_s=3)
        # Leave nothing behind for the monitor to show until it goes stale.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                await self.live.monitor.publish(
                    {},
                    list(self._published),
                    self._removal(),
                    process=self._holder,
                    alive_ms=None,
                )

    @property
    def _holder(self) -> str:
        assert self.sessions is not None
        return self.sessions.holder

    def _removal(self) -> str:
        return MonitorUpdate(
            seq=CONTROL, epoch="", sessions=[], removed=list(self._published), at_ms=now_ms()
        ).model_dump_json()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(INTERVAL_S)
            try:
                await self.publish_once()
            except Exception as exc:  # the live store may be restarting: next round
                log.debug("monitor publish failed", extra={"error": repr(exc)})

    async def publish_once(self) -> None:
        touched = self._touched.copy()  # the set itself is what the session manager tells
        self._touched.clear()
        try:
            await self._publish(touched)
        except BaseException:
            self._touched |= touched  # looked at again next round
            raise

    async def _publish(self, touched: set[str]) -> None:
        assert self.sessions is not None
        sessions, fanout = self.sessions, self.sessions.fanout
        # Only the interviews something happened to are looked at (a process driving
        # thousands looked at every one twice a second: ~13 ms of its loop a round, and a
        # millisecond and a half on the token latency p99 of every stream beside them).
        looked: dict[str, InterviewRunner] = {}
        removed: list[str] = []
        new_remote: list[str] = []
        async for some in _slices(list(touched), SCAN_SLICE):
            for interview_id in some:
                runner = sessions.runner(interview_id)
                if runner is not None:
                    looked[interview_id] = runner
                    if fanout.has_candidate(interview_id):
                        self._local(interview_id)
                    elif interview_id not in self._remote:
                        self._remote.add(interview_id)
                        self._presence_turn[interview_id] = None
                        new_remote.append(interview_id)
                    continue
                self._usage.pop(interview_id, None)
                self._local(interview_id)
                self._moved.discard(interview_id)
                if interview_id in self._published:
                    removed.append(interview_id)
        # A socket on this process counts at once; a candidate elsewhere is asked of the
        # live store (its presence is refreshed every few seconds), in one call.
        present = self._present
        if self._remote:
            asked = self._presence_due(new_remote)
            answered = await self.live.leases.present(asked)
            for interview_id in asked:
                if interview_id in answered:
                    present.add(interview_id)
                else:
                    present.discard(interview_id)
                if interview_id in looked:
                    continue
                published = self._published.get(interview_id)
                if published is not None and published.connected != (interview_id in present):
                    runner = sessions.runner(interview_id)
                    if runner is not None:
                        looked[interview_id] = runner
        await self._learn_emails(looked.values())
        clock = self.clock()
        changed: list[tuple[InterviewRunner, bool, tuple[object, ...]]] = []
        async for some_looked in _slices(list(looked.values()), SCAN_SLICE):
            for runner in some_looked:
                interview_id = runner.interview_id
                connected = interview_id not in self._remote or interview_id in present
                key = self._key(runner, connected)
                published = self._published.get(interview_id)
                if published is None or published.key != key:
                    changed.append((runner, connected, key))
                elif runner.last_event_ms > published.last_event_ms:
                    self._moved.add(interview_id)
        due = refreshes_due(
            {iid: self._published[iid].at for iid in self._moved},
            list(self._moved),
            len(self._published),
            clock,
        )
        for interview_id in due:
            runner = sessions.runner(interview_id)
            if runner is not None:
                connected = self._published[interview_id].connected
                changed.append((runner, connected, self._key(runner, connected)))
        if not changed and not removed and clock - self._alive_at < HEARTBEAT_S:
            return
        now = now_ms()
        summaries: list[SessionSummary] = []
        stored: dict[str, str] = {}
        async for some_changed in _slices(changed, BUILD_SLICE):
            for runner, connected, _ in some_changed:
                summary = self._summary(runner, connected, now)
                summaries.append(summary)
                stored[summary.interview_id] = summary.model_dump_json()
        update = MonitorUpdate(
            seq=CONTROL,
            epoch="",
            sessions=summaries,
            removed=removed,
            alive={self._holder: now},
            at_ms=now,
        )
        await self.live.monitor.publish(
            stored, removed, update.model_dump_json(), process=self._holder, alive_ms=now
        )
        self._alive_at = clock
        for (_, connected, key), summary in zip(changed, summaries, strict=True):
            self._published[summary.interview_id] = _Published(
                key, connected, summary.last_event_ms, clock
            )
            self._moved.discard(summary.interview_id)
        for interview_id in removed:
            del self._published[interview_id]

    def _key(self, runner: InterviewRunner, connected: bool) -> tuple[object, ...]:
        """What makes a summary worth publishing at once. Not the time of the last event: a
        streaming interview changes it at every delta, and republishing every summary twice
        a second cost 5 % of a process streaming 300 interviews (``refreshes_due`` carries
        it, slower)."""
        state = runner.state
        assert state is not None
        usage = self._usage.get(runner.interview_id)
        return (
            state.phase,
            state.question_number,
            state.turn,
            connected,
            state.provider,
            state.model,
            self._emails.get(state.owner_id, ""),
            None
            if usage is None
            else (usage.tokens_in, usage.tokens_out, usage.cost_micro_usd, usage.last_ttft_ms),
        )

    def _local(self, interview_id: str) -> None:
        """Not (or no longer) an interview whose candidate is asked of the live store."""
        self._remote.discard(interview_id)
        self._present.discard(interview_id)
        self._presence_turn.pop(interview_id, None)

    def _presence_due(self, new_remote: list[str]) -> list[str]:
        """Whose presence elsewhere to ask this round: those whose candidate just left this
        process, and the next share of the others in turn, so each is asked every
        ``PRESENCE_POLL_S``."""
        share = math.ceil(len(self._remote) * INTERVAL_S / PRESENCE_POLL_S)
        fresh = set(new_remote)
        turn = self._presence_turn
        due = list(new_remote)
        for interview_id in list(itertools.islice(turn, share + len(fresh))):
            if interview_id in fresh:
                continue
            del turn[interview_id]  # to the back of the line
            turn[interview_id] = None
            due.append(interview_id)
            if len(due) - len(fresh) >= share:
                break
        return due

    async def _learn_emails(self, runners: Iterable[InterviewRunner]) -> None:
        """Candidates' emails not yet known, read once per owner (admin sockets relay the
        summaries as published, without parsing them). An interview started where it was
        created brings its email along; one taken over from the database does not."""
        owners: set[str] = set()
        for runner in runners:
            assert runner.state is not None
            owners.add(runner.state.owner_id)
            if runner.owner_email:
                self._emails.setdefault(runner.state.owner_id, runner.owner_email)
        unknown = [uuid.UUID(owner) for owner in owners - self._emails.keys()]
        if not unknown:
            return
        assert self.sessions is not None
        async with self.sessions.deps.sessionmaker() as session:
            rows = await session.execute(select(User.id, User.email).where(User.id.in_(unknown)))
            found = {str(user_id): email for user_id, email in rows.all()}
        # An account deleted meanwhile is asked about once, not twice a second.
        self._emails.update({str(owner): found.get(str(owner), "") for owner in unknown})
        if len(self._emails) > EMAIL_CACHE_MAX:  # the others are read again when next looked at
            self._emails = {owner: self._emails[owner] for owner in owners if owner in self._emails}

    def _summary(self, runner: InterviewRunner, connected: bool, now: int) -> SessionSummary:
        state = runner.state
        assert state is not None and self.sessions is not None
        usage = self._usage.get(runner.interview_id) or _Usage()
        return SessionSummary(
            interview_id=runner.interview_id,
            owner_id=state.owner_id,
            candidate=self._emails.get(state.owner_id, ""),
            track=runner.brief.track,
            level=runner.brief.level,
            phase=state.phase,
            question_number=state.question_number,
            question_count=state.question_count,
            turn=state.turn,
            connected=connected,
            process=self.sessions.holder,
            provider=state.provider,
            model=state.model,
            tokens_in=usage.tokens_in,
            tokens_out=usage.tokens_out,
            cost_usd=usage.cost_micro_usd / 1_000_000,
            last_ttft_ms=usage.last_ttft_ms,
            last_event_ms=runner.last_event_ms,
            started_ms=runner.started_ms,
            seen_ms=now,
        )
