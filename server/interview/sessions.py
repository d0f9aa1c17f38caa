"""Per-process supervisor of interview runners: leases, presence, takeover, abandonment, drain."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import select

from server.gateway.protocol import Phase
from server.interview.engine import EngineDeps, InterviewRunner, now_ms
from server.live.fanout import Fanout
from server.store.models import Interview, InterviewStatus

log = logging.getLogger(__name__)

JANITOR_INTERVAL_S = 30.0


class SessionManager:
    """Starts a runner for an interview when this process can take its lease, and keeps it."""

    def __init__(self, deps: EngineDeps, fanout: Fanout) -> None:
        self.deps = deps
        self.live = deps.live
        self.fanout = fanout
        self.holder = uuid.uuid4().hex
        self.runners: dict[str, tuple[InterviewRunner, asyncio.Task[None]]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._draining = False

    @property
    def lease_ttl_ms(self) -> int:
        return self.deps.settings.lease_ttl_ms

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

    # --- runners ----------------------------------------------------------------------

    async def ensure_running(self, interview_id: str, interview: Interview | None = None) -> bool:
        """Make sure someone drives the interview; drive it here if nobody does.

        ``interview`` is the row if the caller has just read it (saves the runner a query).
        """
        if interview_id in self.runners:
            return True
        if self._draining:
            return False
        if not await self.live.acquire_lease(interview_id, self.holder, self.lease_ttl_ms):
            return False
        if interview_id in self.runners:  # raced with another caller in this process
            return True
        runner = InterviewRunner(self.deps, interview_id, interview)
        await self.fanout.watch(
            interview_id, on_poke=runner.wake.set, on_stale=lambda: self._lost(interview_id)
        )
        task = asyncio.create_task(self._run(runner), name=f"interview-{interview_id}")
        self.runners[interview_id] = (runner, task)
        return True

    async def _run(self, runner: InterviewRunner) -> None:
        interview_id = runner.interview_id
        try:
            await runner.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("interview runner crashed", extra={"interview_id": interview_id})
        finally:
            # Shielded: a second cancel (lease lost while stopping) must not cut the
            # clean-up short, or a dead entry would stay in ``runners``.
            await asyncio.shield(self._after_run(runner))

    async def _after_run(self, runner: InterviewRunner) -> None:
        interview_id = runner.interview_id
        # Settle our queued appends while the entry is still ours, so a refusal
        # (on_stale) cannot reach a runner started after this one.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                await self.live.flush()
        current = self.runners.get(interview_id)
        if current is not None and current[0] is runner:
            del self.runners[interview_id]
            with contextlib.suppress(Exception):
                await self.fanout.unwatch(interview_id)
            with contextlib.suppress(Exception):
                await self.live.release_lease(interview_id, self.holder)

    async def restart(self, interview_id: str, interview: Interview | None = None) -> bool:
        """Replace a local runner whose live state vanished (e.g. Redis lost it)."""
        entry = self.runners.get(interview_id)
        if entry is not None:
            entry[1].cancel()
            await asyncio.wait({entry[1]}, timeout=5)
        return await self.ensure_running(interview_id, interview)

    def _lost(self, interview_id: str) -> None:
        entry = self.runners.get(interview_id)
        if entry is not None:
            log.warning(
                "lost an interview to another process", extra={"interview_id": interview_id}
            )
            entry[1].cancel()

    async def submit(self, interview_id: str, command: dict[str, object]) -> None:
        await self.live.push_command(interview_id, orjson.dumps(command).decode())

    # --- background upkeep ---------------------------------------------------------------

    async def _maintain(self) -> None:
        """Renew our leases, mark presence of connected clients, adopt orphaned interviews."""
        interval = self.lease_ttl_ms / 3000
        while not self._draining:
            await asyncio.sleep(interval)
            try:
                await self._maintain_once()
            except Exception as exc:
                log.warning("session upkeep failed", extra={"error": repr(exc)})

    async def _maintain_once(self) -> None:
        owned = list(self.runners)
        renewed = await self.live.renew_leases(self.holder, owned, self.lease_ttl_ms)
        for interview_id, ok in renewed.items():
            if not ok:
                self._lost(interview_id)
        connected = self.fanout.local_interviews()
        await self.live.touch_presence(connected, self.lease_ttl_ms * 2)
        # A client is here but nobody drives its interview (its process died): take it over.
        elsewhere = [iid for iid in connected if iid not in self.runners]
        for interview_id in await self.live.unleased(elsewhere):
            state = await self.live.get_state(interview_id)
            if state.get("phase") != Phase.ended.value:
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
            if interview_id in self.runners or await self.live.lease_holder(interview_id):
                continue
            state = await self.live.get_state(interview_id)
            active_ms = int(state.get("active_ms") or 0)
            if now_ms() - active_ms < abandon_ms:
                continue
            # The runner finds no presence and finalises it as abandoned with what it has.
            if await self.ensure_running(interview_id):
                adopted += 1
        return adopted

    # --- shutdown -------------------------------------------------------------------------

    async def drain(self) -> None:
        """Stop every local runner, flush its events and hand its lease back at once."""
        self._draining = True
        tasks = [task for _, task in self.runners.values()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                await self.live.flush()
