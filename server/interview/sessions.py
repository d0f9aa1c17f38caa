"""Per-process supervisor of interview runners: attach, commands, leases, presence, takeover, drain.

The gateway talks to live interviews only through this: ``attach`` (ownership and start),
``view`` (what a socket's ``ready`` describes) and ``submit`` (a command, handed straight to
a runner in this process, or through the live store's inbox to one elsewhere).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from server.aio import stop_tasks
from server.interview import records
from server.interview import service as interview_service
from server.interview.commands import Envelope
from server.interview.engine import EngineDeps, InterviewRunner, initial_state, now_ms
from server.interview.service import InterviewNotFound
from server.interview.state import LiveState
from server.live.base import Snapshot, StartClaim
from server.live.fanout import Fanout
from server.metrics import LIVE_INTERVIEWS
from server.protocol import SERVICE_RESTART, Phase
from server.store.models import Interview, InterviewStatus

log = logging.getLogger(__name__)

JANITOR_INTERVAL_S = 30.0
# Upkeep (lease renewal, presence, orphans) looks after one share of the interviews at a time,
# so each is still renewed every third of its lease, but a process driving thousands does not
# renew them all at once: 3,000 renewals in one go are ~35 ms of this process's loop.
MAINTAIN_SHARES = 4


def maintenance_share(interview_ids: Iterable[str], part: int) -> list[str]:
    """The interviews of share ``part`` (0 to ``MAINTAIN_SHARES`` - 1): each interview is in
    exactly one, the same one every time in this process."""
    return [iid for iid in interview_ids if hash(iid) % MAINTAIN_SHARES == part]


STATE_WAIT_S = 5.0
DRAIN_RUNNERS_S = 5.0  # for every runner to stop when the process shuts down
CLEANUP_STEP_S = 5.0  # each step of a finished runner's clean-up
# A prepared interview nobody starts leaves the live store after this; one started later
# is rebuilt from the database.
PREPARED_TTL_S = 24 * 3600
LIVE_STATE_LOST_REASON = "the interview's live state was lost; reconnect"


@dataclass(frozen=True, slots=True)
class LiveView:
    """An interview as a connecting socket sees it: the state, the turn's text, the head seq."""

    state: LiveState
    text: str
    seq: int
    # Events up to this seq may have been published before the socket joined the fan-out
    # (the rest reach it live): only those are read from the log.
    published_before: int


@dataclass(frozen=True, slots=True)
class Attached:
    live: bool  # the interview is not over
    fresh: bool  # this call started its runner here


@dataclass(slots=True)
class _Running:
    runner: InterviewRunner
    task: asyncio.Task[None]


class SessionManager:
    """Starts a runner for an interview when this process can take its lease, and keeps it."""

    def __init__(self, deps: EngineDeps, fanout: Fanout) -> None:
        self.deps = deps
        self.live = deps.live
        self.fanout = fanout
        self.holder = uuid.uuid4().hex
        self.marker = records.LiveMarker(deps.sessionmaker)
        self._running: dict[str, _Running] = {}
        self._cleaning: set[asyncio.Task[Any] | None] = set()  # runner tasks in ``_after_run``
        self._attaching: dict[str, int] = {}  # interviews a socket here is being attached to
        self._tasks: list[asyncio.Task[None]] = []
        self._draining = False
        # Told when what the admin monitor shows of an interview may have changed: its
        # runner took it, emitted or ended, or a candidate socket here joined or left. The
        # monitor looks at those interviews only, not at every runner twice a second.
        self.on_change: Callable[[str], None] = lambda interview_id: None
        fanout.on_candidate = lambda interview_id: self.on_change(interview_id)

    @property
    def lease_ttl_ms(self) -> int:
        return self.deps.settings.lease_ttl_ms

    def runs(self, interview_id: str) -> bool:
        return interview_id in self._running

    def running_count(self) -> int:
        return len(self._running)

    def runner(self, interview_id: str) -> InterviewRunner | None:
        """The runner driving the interview here, once it has its state (for the monitor)."""
        running = self._running.get(interview_id)
        if running is None or running.runner.state is None or running.task.done():
            return None
        return running.runner

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._maintain(), name="sessions-maintain"),
            asyncio.create_task(self._janitor(), name="sessions-janitor"),
        ]

    async def close(self) -> None:
        self._draining = True  # the upkeep loops stop even if a cancellation gets swallowed
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=3)
        await self.drain()
        await self.marker.drain()

    # --- what the gateway asks ---------------------------------------------------------

    async def attach(
        self,
        interview_id: str,
        user_id: uuid.UUID,
        checks: Awaitable[object] | None = None,
    ) -> Attached:
        """Check that ``user_id`` owns the interview and that someone drives it if it is live.

        Raises InterviewNotFound for a missing interview and for someone else's alike. A
        running interview is authorised from its live state; the database is read only
        when the live store has nothing. The caller's own ``checks`` (that the token is not
        revoked, say) are awaited while the live store is read, and nothing is started
        unless they pass: whatever they raise, this raises.
        """
        # While this runs, the upkeep loop must not adopt the interview on its own (it
        # would start it without what this call has read, and read the database for it).
        self._attaching[interview_id] = self._attaching.get(interview_id, 0) + 1
        try:
            return await self._attach(interview_id, user_id, checks)
        finally:
            left = self._attaching.pop(interview_id) - 1
            if left:
                self._attaching[interview_id] = left

    async def _attach(
        self, interview_id: str, user_id: uuid.UUID, checks: Awaitable[object] | None
    ) -> Attached:
        owner = str(user_id)
        running = self._running.get(interview_id)
        if running is not None and running.runner.state is not None and not running.task.done():
            if checks is not None:
                await checks
            if running.runner.state.owner_id != owner:
                raise InterviewNotFound()
            return Attached(live=running.runner.state.phase is not Phase.ended, fresh=False)
        # One round trip for the live data and, for a new interview, its lease, at the
        # same time as the caller's checks.
        claim = self.live.leases.claim_start(interview_id, self.holder, self.lease_ttl_ms)
        claimed_at = time.monotonic()
        claimed, checked = await asyncio.gather(
            claim, asyncio.sleep(0) if checks is None else checks, return_exceptions=True
        )
        leased = isinstance(claimed, StartClaim) and claimed.leased
        try:
            if isinstance(checked, BaseException):
                raise checked
            if isinstance(claimed, BaseException):
                raise claimed
            if leased and time.monotonic() - claimed_at > self.lease_ttl_ms / 3000:
                # The checks outlasted a renewal interval: the lease may have run out, or
                # been lost with Redis, and another process may have started the interview
                # from what was read. Read it again (renewing the lease if still ours).
                claimed = await self.live.leases.claim_start(
                    interview_id, self.holder, self.lease_ttl_ms
                )
                leased = claimed is not None and claimed.leased
            return await self._attach_claimed(interview_id, user_id, claimed)
        finally:
            if leased and interview_id not in self._running:  # taken, then not started
                with contextlib.suppress(Exception):
                    await self.live.leases.release(interview_id, self.holder)

    async def _attach_claimed(
        self, interview_id: str, user_id: uuid.UUID, claimed: StartClaim | None
    ) -> Attached:
        if claimed is not None:
            snapshot = claimed.snapshot
            state = LiveState.decode(snapshot.state)
            if state.owner_id != str(user_id):
                raise InterviewNotFound()
            if state.phase is Phase.ended:
                return Attached(live=False, fresh=False)
            if snapshot.seq == 0 and snapshot.facts:
                # Prepared when it was created and never started: start it from here alone,
                # unless another process took its lease first (it starts it).
                if not claimed.leased:
                    return Attached(live=True, fresh=False)
                facts = records.InterviewFacts.decode(snapshot.facts)
                started = await self._start(
                    interview_id, facts=facts, snapshot=snapshot, leased=True
                )
                return Attached(live=True, fresh=started)
            await asyncio.gather(
                self.live.leases.touch_presence([interview_id], self.lease_ttl_ms * 2),
                self.ensure_running(interview_id),
            )
            return Attached(live=True, fresh=False)
        async with self.deps.sessionmaker() as session:
            row = await interview_service.get_owned(session, user_id, uuid.UUID(interview_id))
        if row.status in records.ENDED:
            return Attached(live=False, fresh=False)
        facts = records.facts_of(row)
        started = await self._start(interview_id, facts=facts, state_absent=True)
        return Attached(live=True, fresh=started)

    async def _start(
        self,
        interview_id: str,
        *,
        facts: records.InterviewFacts,
        snapshot: Snapshot | None = None,
        state_absent: bool = False,
        leased: bool = False,
    ) -> bool:
        """Whether this call started the interview's runner here, from what it was given."""
        running = self._running.get(interview_id)
        if running is not None and not running.task.done():
            return False
        await self.ensure_running(
            interview_id,
            facts=facts,
            snapshot=snapshot,
            state_absent=state_absent,
            leased=leased,
        )
        return interview_id in self._running

    async def prepare(self, facts: records.InterviewFacts) -> None:
        """Put a new interview's live state and facts in the live store, so that the first
        hello starts it without reading the database. Best effort: without them, the
        hello reads the row instead."""
        state = initial_state(facts, self.deps.interviewer, [])
        try:
            await self.live.events.create(
                facts.brief.interview_id,
                state.encode(),
                facts=facts.encode(),
                ttl_s=PREPARED_TTL_S,
            )
        except Exception as exc:
            log.warning(
                "could not prepare the live state",
                extra={"interview_id": facts.brief.interview_id, "error": repr(exc)},
            )

    async def view(
        self, interview_id: str, *, fresh: bool, candidate: bool = True
    ) -> LiveView | None:
        """The live view. ``fresh``: the runner was just started here, from what was read
        an instant ago, so its memory is the view; otherwise the live store is asked, and a
        runner here whose state the store lost (e.g. Redis restarted) starts over; for the
        ``candidate``'s socket (not an observer's), also one that stopped meanwhile."""
        running = self._running.get(interview_id)
        if running is not None and fresh:
            return await self._local_view(running)
        if running is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STATE_WAIT_S):
                    await running.runner.ready.wait()
            snapshot = await self.live.events.snapshot(interview_id)
        else:
            snapshot = await self._wait_for_snapshot(interview_id)
        if snapshot is not None:
            state = LiveState.decode(snapshot.state)
            return LiveView(state, snapshot.text, snapshot.seq, snapshot.seq)
        running = self._running.get(interview_id)
        if self._draining or (running is None and not candidate):
            return None
        log.warning(
            "live state lost; restarting the interview", extra={"interview_id": interview_id}
        )
        if running is not None:
            running.task.cancel()
            await asyncio.wait({running.task}, timeout=5)
        # Also when no runner is here any more: the one that ran here when the socket was
        # authorised found the state gone (a refused append) and stopped meanwhile, and
        # nobody else will rebuild the interview for this socket. The lease decides.
        if not await self.ensure_running(interview_id):
            return None
        restarted = self._running.get(interview_id)
        return None if restarted is None else await self._local_view(restarted)

    async def _local_view(self, running: _Running) -> LiveView | None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STATE_WAIT_S):
                await running.runner.ready.wait()
        runner = running.runner
        if runner.state is None or running.task.done():
            return None
        # Started after the socket joined: only what it loaded predates the socket.
        return LiveView(runner.state, runner.text, runner.seq, runner.loaded_seq)

    async def _wait_for_snapshot(self, interview_id: str) -> Snapshot | None:
        """The live data, waiting a moment for a runner elsewhere that is just starting (it
        holds the lease before it writes the state: with no holder, nobody is)."""
        deadline = time.monotonic() + STATE_WAIT_S
        while True:
            snapshot = await self.live.events.snapshot(interview_id)
            if snapshot is not None or time.monotonic() > deadline or self._draining:
                return snapshot
            if await self.live.leases.holder(interview_id) is None:
                return None
            await asyncio.sleep(0.01)

    async def submit(self, interview_id: str, envelope: Envelope) -> None:
        """Hand a command to the interview's runner, here or in another process."""
        running = self._running.get(interview_id)
        if running is not None and not running.task.done():
            running.runner.receive(envelope)
            return
        await self.live.inbox.push(interview_id, envelope.encode())
        await self.ensure_running(interview_id)

    async def reply(self, interview_id: str, connection_id: str, payload: str) -> None:
        """A frame for one connection, wherever it is connected."""
        if not self.fanout.send_to(interview_id, connection_id, payload):
            await self.live.events.reply(interview_id, connection_id, payload)

    # --- runners ----------------------------------------------------------------------

    async def ensure_running(
        self,
        interview_id: str,
        *,
        facts: records.InterviewFacts | None = None,
        snapshot: Snapshot | None = None,
        state_absent: bool = False,
        leased: bool = False,
    ) -> bool:
        """Make sure someone drives the interview; drive it here if nobody does.

        ``facts`` is the interview if the caller has just read it, ``snapshot`` its live data
        at seq 0, ``state_absent`` says the caller has just seen no live state, and
        ``leased`` that it has just taken the lease: each saves a round trip.
        """
        running = self._running.get(interview_id)
        if running is not None:
            if not running.task.done():
                return True
            # Its runner ended but the clean-up has not finished (it can hang while the live
            # store is down): start afresh rather than wait behind it.
            del self._running[interview_id]
            LIVE_INTERVIEWS.dec()
            self.on_change(interview_id)
        if self._draining:
            return False
        if not leased and not await self.live.leases.acquire(
            interview_id, self.holder, self.lease_ttl_ms
        ):
            return False
        if interview_id in self._running:  # raced with another caller in this process
            return True

        async def reply(connection_id: str, payload: str) -> None:
            await self.reply(interview_id, connection_id, payload)

        runner = InterviewRunner(
            self.deps,
            interview_id,
            reply=reply,
            started=self.marker.add,
            present_here=lambda: self.fanout.has_candidate(interview_id),
            changed=lambda: self.on_change(interview_id),
            facts=facts,
            snapshot=snapshot,
            state_absent=state_absent,
        )
        task = asyncio.create_task(self._run(runner), name=f"interview-{interview_id}")
        self._running[interview_id] = _Running(runner, task)
        LIVE_INTERVIEWS.inc()
        await self.fanout.watch(
            interview_id,
            on_poke=runner.poked,
            on_stale=lambda number: self._refused(runner, number),
        )
        return True

    async def _run(self, runner: InterviewRunner) -> None:
        try:
            await runner.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            failures = 0
            with contextlib.suppress(Exception):
                failures = await self.live.events.record_failure(runner.interview_id)
            log.exception(
                "interview runner crashed",
                extra={"interview_id": runner.interview_id, "failures": failures},
            )
        finally:
            # Shielded: a second cancel (lease lost while stopping) must not cut the
            # clean-up short, or a dead entry would stay in ``_running``.
            task = asyncio.current_task()
            self._cleaning.add(task)
            try:
                await asyncio.shield(self._after_run(runner))
            finally:
                self._cleaning.discard(task)

    async def _after_run(self, runner: InterviewRunner) -> None:
        interview_id = runner.interview_id
        # Settle our queued appends while the entry is still ours, so a refusal
        # (on_stale) cannot reach a runner started after this one.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLEANUP_STEP_S):
                await self.live.events.flush()
        current = self._running.get(interview_id)
        if current is not None and current.runner is runner:
            del self._running[interview_id]
            LIVE_INTERVIEWS.dec()
            self.on_change(interview_id)
            # Bounded like the flush: while Redis restarts, a step can wait on a reconnect,
            # and a clean-up that never returns would hold its task (and the lease) forever.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLEANUP_STEP_S):
                    await self.fanout.unwatch(interview_id)
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLEANUP_STEP_S):
                    await self.live.leases.release(interview_id, self.holder)

    def _refused(self, runner: InterviewRunner, number: int) -> None:
        """An append of the interview was refused: stop ``runner`` if it was one of its own
        (the first time only). A runner this one replaced may still have had appends queued
        (its clean-up hung while Redis was away): their refusal is not this one's."""
        if runner.first_append is None or number < runner.first_append or runner.refused:
            return
        runner.refused = True
        running = self._running.get(runner.interview_id)
        if running is not None and running.runner is runner:
            self._lost(runner.interview_id)

    def _lost(self, interview_id: str) -> None:
        running = self._running.get(interview_id)
        if running is not None:
            log.warning(
                "lost an interview to another process", extra={"interview_id": interview_id}
            )
            running.task.cancel()

    # --- background upkeep ---------------------------------------------------------------

    async def _maintain(self) -> None:
        """Renew our leases, mark presence of connected clients, adopt orphaned interviews:
        each interview every third of the lease, a ``MAINTAIN_SHARES``-th of them at a time."""
        interval = self.lease_ttl_ms / 3000 / MAINTAIN_SHARES
        loop = asyncio.get_running_loop()
        part = 0
        due = loop.time()
        while not self._draining:
            # On a schedule, not a pause after each round: rounds slowed by a loaded
            # process or Redis would otherwise stretch the renewal period past the lease.
            # After a stall, it catches up one cycle at most (each share once), back to back.
            due = max(due + interval, loop.time() - interval * MAINTAIN_SHARES)
            await asyncio.sleep(max(0.0, due - loop.time()))
            try:
                await self._maintain_once(part)
            except Exception as exc:
                log.warning("session upkeep failed", extra={"error": repr(exc)})
            part = (part + 1) % MAINTAIN_SHARES

    async def _maintain_once(self, part: int) -> None:
        """Upkeep of the interviews in share ``part`` (``maintenance_share``)."""
        running = maintenance_share(self._running, part)
        renewed = await self.live.leases.renew(self.holder, running, self.lease_ttl_ms)
        for interview_id, ok in renewed.items():
            if not ok:
                self._lost(interview_id)
        # Presence in the live store is for runners elsewhere: a runner here (and this
        # process's monitor) sees this process's sockets directly.
        driven_elsewhere = [
            iid
            for iid in maintenance_share(self.fanout.local_interviews(), part)
            if iid not in self._running
        ]
        await self.live.leases.touch_presence(driven_elsewhere, self.lease_ttl_ms * 2)
        # A client is here but nobody drives its interview (its process died): take it over.
        not_attaching = [iid for iid in driven_elsewhere if iid not in self._attaching]
        orphans = await self.live.leases.unleased(not_attaching)
        for interview_id, snapshot in (await self.live.events.snapshots(orphans)).items():
            if snapshot is None:
                # Its live state is gone (Redis restarted without it): the sockets here would
                # wait forever. They reconnect, and the interview is rebuilt from the database.
                self.fanout.close_local(interview_id, SERVICE_RESTART, LIVE_STATE_LOST_REASON)
            elif LiveState.decode(snapshot.state).phase is not Phase.ended:
                await self.ensure_running(interview_id)

    async def _janitor(self) -> None:
        """Finalise live interviews nobody drives and nobody has visited for a long time."""
        while not self._draining:
            await asyncio.sleep(JANITOR_INTERVAL_S)
            try:
                await self.sweep_abandoned()
            except Exception as exc:
                log.warning("abandoned-interview sweep failed", extra={"error": repr(exc)})

    async def sweep_abandoned(self) -> int:
        abandon_ms = self.deps.settings.abandon_after_s * 1000
        cutoff = datetime.now(UTC) - timedelta(milliseconds=abandon_ms)
        async with self.deps.sessionmaker() as session:
            candidates = (
                await session.scalars(
                    select(Interview.id).where(
                        Interview.status == InterviewStatus.live, Interview.started_at < cutoff
                    )
                )
            ).all()
        adopted = 0
        for interview_uuid in candidates:
            interview_id = str(interview_uuid)
            if interview_id in self._running or await self.live.leases.holder(interview_id):
                continue
            snapshot = await self.live.events.snapshot(interview_id)
            if snapshot is not None and now_ms() - snapshot.active_ms < abandon_ms:
                continue
            # The runner finds no presence and finalises it as abandoned with what it has.
            if await self.ensure_running(interview_id):
                adopted += 1
        return adopted

    # --- shutdown -------------------------------------------------------------------------

    async def drain(self) -> None:
        """Stop every local runner, flush its events and hand its lease back at once."""
        self._draining = True
        # A runner that lost its cancellation (see ``stop_task``) is cancelled again, or it
        # would hold the hand-back for its full 5 s (4 of 3,000 did, now and then); one
        # already in its clean-up is left to finish it (it hands the lease back).
        await stop_tasks(
            [running.task for running in self._running.values()],
            within_s=DRAIN_RUNNERS_S,
            again=lambda task: task not in self._cleaning,
        )
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLEANUP_STEP_S):
                await self.live.events.flush()
