"""How many hellos a process handles at once: many while its event loop has time to
spare, few once it is busy, so a burst of starts never crowds out the streams running.

A start is mostly waiting (a few round trips to the live store, each a turn of the event
loop), and little CPU. While the loop is idle enough, handling many at once costs the
streams nothing and lets a burst start in a fraction of the time; once the loop is busy,
each start's steps are interleaved with every stream's tokens, and only a few may run.
The measure is the loop thread's own CPU time over the last window, not its lag: lag
rises only after the streams have already been delayed.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from types import TracebackType

WINDOW_S = 0.1
# Below IDLE of the loop thread's time spent computing, the ceiling is admitted; from
# BUSY on, the floor; in between, in proportion.
IDLE = 0.5
BUSY = 0.8


class StartAdmission:
    """An async context manager admitting up to ``limit`` holders, first come first
    served; ``limit`` follows the event loop's load between ``floor`` and ``ceiling``."""

    def __init__(
        self,
        floor: int,
        ceiling: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        cpu: Callable[[], float] = time.thread_time,
    ) -> None:
        self.floor = floor
        self.ceiling = max(floor, ceiling)
        self.limit = self.ceiling
        self.active = 0
        self._clock = clock
        self._cpu = cpu
        self._sampled_at = clock()
        self._cpu_at = cpu()
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def load(self) -> None:
        """Re-read the loop's load once per window (called as starts come and go)."""
        now = self._clock()
        elapsed = now - self._sampled_at
        if elapsed < WINDOW_S:
            return
        cpu = self._cpu()
        busy = (cpu - self._cpu_at) / elapsed
        self._sampled_at, self._cpu_at = now, cpu
        if busy <= IDLE:
            self.limit = self.ceiling
        elif busy >= BUSY:
            self.limit = self.floor
        else:
            share = (BUSY - busy) / (BUSY - IDLE)
            self.limit = self.floor + round(share * (self.ceiling - self.floor))
        self._admit()

    def _admit(self) -> None:
        while self._waiters and self.active < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.active += 1
                waiter.set_result(None)

    async def __aenter__(self) -> None:
        self.load()
        if self.active < self.limit and not self._waiters:
            self.active += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # admitted just as it was cancelled: pass the place on
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._release()

    def _release(self) -> None:
        self.active -= 1
        self.load()
        self._admit()
