"""Start admission: many hellos at once while the event loop has time to spare, few once
it is busy; first come, first served; a cancelled wait gives its place up."""

from __future__ import annotations

import asyncio

import pytest

from server.gateway.admission import BUSY, IDLE, WINDOW_S, StartAdmission


class Load:
    """A clock and the loop thread's CPU time, moved by the test: ``run(s, busy)`` passes
    ``s`` seconds of which ``busy`` was spent computing."""

    def __init__(self) -> None:
        self.now = 100.0
        self.cpu = 5.0

    def run(self, seconds: float, busy: float) -> None:
        self.now += seconds
        self.cpu += seconds * busy


WINDOW = 1.5 * WINDOW_S  # a window has passed (exactly one may be a hair short in floats)


def admission(load: Load, floor: int = 2, ceiling: int = 10) -> StartAdmission:
    return StartAdmission(floor, ceiling, clock=lambda: load.now, cpu=lambda: load.cpu)


async def hold(
    gate: StartAdmission,
    held: list[int],
    release: asyncio.Event,
    n: int,
    active: dict[int, int] | None = None,
) -> None:
    async with gate:
        held.append(n)
        if active is not None:
            active[n] = gate.active  # holders at once, this one included
        await release.wait()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_the_limit_follows_the_loops_load() -> None:
    load = Load()
    gate = admission(load)
    assert gate.limit == 10  # nothing measured yet: the loop is idle
    for busy, limit in ((0.1, 10), (IDLE, 10), (BUSY, 2), (0.95, 2), ((IDLE + BUSY) / 2, 6)):
        load.run(WINDOW, busy)
        gate.load()
        assert gate.limit == limit, busy
    load.run(WINDOW_S / 2, 0.0)  # less than a window: not measured again yet
    gate.load()
    assert gate.limit == 6


async def test_an_idle_loop_admits_the_ceiling_and_a_busy_one_the_floor() -> None:
    load = Load()
    gate = admission(load)
    held: list[int] = []
    active: dict[int, int] = {}
    release = asyncio.Event()
    tasks = [asyncio.create_task(hold(gate, held, release, n, active)) for n in range(14)]
    await settle()
    assert held == list(range(10)) and gate.active == 10  # the rest wait, in order
    load.run(WINDOW, 0.9)  # the starts made the loop busy
    gate.load()
    assert gate.limit == 2
    release.set()
    await settle()
    # The four waiting came in as places freed, never more than the floor at once: the
    # first release re-measured the load (still busy), the ten above the floor left first.
    assert held == list(range(14))
    assert max(active[n] for n in range(10, 14)) == 2
    await asyncio.gather(*tasks)
    assert gate.active == 0


async def test_waiters_are_served_first_come_first_served_within_the_floor() -> None:
    load = Load()
    load.run(WINDOW, 1.0)
    gate = admission(load)
    load.run(WINDOW, 1.0)
    gate.load()
    assert gate.limit == 2
    held: list[int] = []
    releases = [asyncio.Event() for _ in range(5)]
    tasks = [asyncio.create_task(hold(gate, held, releases[n], n)) for n in range(5)]
    await settle()
    assert held == [0, 1]
    releases[1].set()
    await settle()
    assert held == [0, 1, 2] and gate.active == 2
    releases[0].set()
    await settle()
    assert held == [0, 1, 2, 3] and gate.active == 2
    for release in releases:
        release.set()
    await asyncio.gather(*tasks)
    assert held == [0, 1, 2, 3, 4] and gate.active == 0


@pytest.mark.parametrize("admitted", [False, True], ids=["while waiting", "as admitted"])
async def test_a_cancelled_wait_gives_its_place_up(admitted: bool) -> None:
    """Cancelled while it waits, or just after its place came but before it ran: either
    way the next in line gets the place, and none is lost."""
    gate = admission(Load(), floor=1, ceiling=1)
    held: list[int] = []
    release = asyncio.Event()
    first, second, third = (asyncio.create_task(hold(gate, held, release, n)) for n in range(3))
    await settle()
    assert held == [0]
    if admitted:
        release.set()
        await asyncio.sleep(0)  # the first leaves and admits the second...
    second.cancel()  # ...which is cancelled before it runs (or while it still waits)
    await settle()
    release.set()
    async with asyncio.timeout(2):  # a lost place would leave the third waiting forever
        await asyncio.gather(first, third)
    assert held == [0, 2] and gate.active == 0
    assert second.cancelled()
