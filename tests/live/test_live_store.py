"""The live-store contract, run against MemoryLive and (with services) RedisLive alike."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from server.live.base import LiveListener, LiveStore, TextMode
from server.live.memory import MemoryLive
from server.live.redis import RedisLive
from tests.conftest import BACKEND, REDIS_URL

KINDS = ["memory", "redis"] if BACKEND == "services" else ["memory"]


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, int, str]] = []
        self.pokes: list[str] = []
        self.stale: list[str] = []
        self.arrived = asyncio.Event()

    def listener(self) -> LiveListener:
        def on_event(iid: str, seq: int, payload: str) -> None:
            self.events.append((iid, seq, payload))
            self.arrived.set()

        def on_poke(iid: str) -> None:
            self.pokes.append(iid)
            self.arrived.set()

        def on_stale(iid: str) -> None:
            self.stale.append(iid)
            self.arrived.set()

        return LiveListener(on_event, on_poke, on_stale, lambda: None)

    async def wait_for(self, predicate: object, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():  # type: ignore[operator]
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture(params=KINDS)
async def store(
    request: pytest.FixtureRequest, redis_prefix: str
) -> AsyncIterator[tuple[LiveStore, Recorder]]:
    live: LiveStore
    if request.param == "redis":
        live = RedisLive(REDIS_URL, prefix=f"{redis_prefix}{uuid.uuid4().hex[:6]}:", log_cap=100)
    else:
        live = MemoryLive(log_cap=100)
    recorder = Recorder()
    await live.start(recorder.listener())
    try:
        yield live, recorder
    finally:
        await live.close()


async def _new(live: LiveStore) -> str:
    iid = str(uuid.uuid4())
    assert await live.create_state(iid, {"epoch": "e1", "phase": "waiting"})
    await live.subscribe(iid)
    return iid


async def test_appends_are_logged_published_and_change_state_together(
    store: tuple[LiveStore, Recorder],
) -> None:
    live, recorder = store
    iid = await _new(live)
    live.append(iid, 1, '{"n":1}', {"phase": "asking"}, TextMode.set, "Hello")
    live.append(iid, 2, '{"n":2}', {}, TextMode.append, ", world")
    await live.flush()
    await recorder.wait_for(lambda: len(recorder.events) == 2)
    assert recorder.events == [(iid, 1, '{"n":1}'), (iid, 2, '{"n":2}')]
    state, text = await live.get_snapshot(iid)
    assert (state["seq"], state["phase"], state["epoch"], text) == (
        "2",
        "asking",
        "e1",
        "Hello, world",
    )
    read = await live.read_log(iid, 0)
    assert [(e.seq, e.payload) for e in read.entries] == [(1, '{"n":1}'), (2, '{"n":2}')]
    assert read.oldest_seq == 1
    assert [e.seq for e in (await live.read_log(iid, 1)).entries] == [2]


async def test_an_append_out_of_sequence_is_refused_and_reported(
    store: tuple[LiveStore, Recorder],
) -> None:
    """A process that lost its lease cannot write: its seq no longer follows the log."""
    live, recorder = store
    iid = await _new(live)
    live.append(iid, 1, "a", {})
    live.append(iid, 1, "duplicate", {})
    live.append(iid, 3, "gap", {})
    await live.flush()
    await recorder.wait_for(lambda: len(recorder.stale) == 2)
    assert [e.payload for e in (await live.read_log(iid, 0)).entries] == ["a"]
    assert (await live.get_state(iid))["seq"] == "1"


async def test_creating_state_twice_keeps_the_first(store: tuple[LiveStore, Recorder]) -> None:
    live, _ = store
    iid = await _new(live)
    live.append(iid, 1, "a", {"phase": "asking"})
    await live.flush()
    assert not await live.create_state(iid, {"epoch": "e2"})
    state = await live.get_state(iid)
    assert state["epoch"] == "e1" and state["phase"] == "asking"
    assert len((await live.read_log(iid, 0)).entries) == 1


async def test_the_log_is_capped_and_reports_its_oldest_seq(
    store: tuple[LiveStore, Recorder],
) -> None:
    live, _ = store
    iid = await _new(live)
    for seq in range(1, 1001):
        live.append(iid, seq, f"e{seq}", {})
    await live.flush()
    read = await live.read_log(iid, 0)
    assert read.oldest_seq > 1  # trimmed (Redis trims approximately: at least the cap stays)
    assert 100 <= len(read.entries) <= 1000
    assert read.entries[-1].seq == 1000
    assert [e.seq for e in read.entries] == list(range(read.oldest_seq, 1001))


async def test_commands_are_queued_in_order_and_poke_the_subscriber(
    store: tuple[LiveStore, Recorder],
) -> None:
    live, recorder = store
    iid = await _new(live)
    await live.push_command(iid, "first")
    await live.push_command(iid, "second")
    await recorder.wait_for(lambda: len(recorder.pokes) >= 2)
    assert await live.pop_commands(iid) == ["first", "second"]
    assert await live.pop_commands(iid) == []


async def test_unsubscribed_interviews_are_not_delivered(store: tuple[LiveStore, Recorder]) -> None:
    live, recorder = store
    iid = await _new(live)
    await live.unsubscribe(iid)
    other = await _new(live)
    live.append(iid, 1, "quiet", {})
    live.append(other, 1, "loud", {})
    await live.flush()
    await recorder.wait_for(lambda: any(e[0] == other for e in recorder.events))
    assert all(e[0] != iid for e in recorder.events)


async def test_a_lease_has_one_holder_until_it_expires_or_is_released(
    store: tuple[LiveStore, Recorder],
) -> None:
    live, _ = store
    iid = str(uuid.uuid4())
    assert await live.acquire_lease(iid, "a", 300)
    assert await live.acquire_lease(iid, "a", 300)  # re-acquiring your own lease is fine
    assert not await live.acquire_lease(iid, "b", 300)
    assert await live.renew_leases("a", [iid], 300) == {iid: True}
    assert await live.renew_leases("b", [iid], 300) == {iid: False}
    assert await live.lease_holder(iid) == "a"
    await live.release_lease(iid, "b")  # not b's to release
    assert await live.lease_holder(iid) == "a"
    await live.release_lease(iid, "a")
    assert await live.acquire_lease(iid, "b", 200)
    await asyncio.sleep(0.35)
    assert await live.lease_holder(iid) is None
    assert await live.acquire_lease(iid, "a", 200)


async def test_presence_expires(store: tuple[LiveStore, Recorder]) -> None:
    live, _ = store
    iid = str(uuid.uuid4())
    assert not await live.has_presence(iid)
    await live.touch_presence([iid], 200)
    assert await live.has_presence(iid)
    await asyncio.sleep(0.3)
    assert not await live.has_presence(iid)


async def test_rate_limit_windows_count_and_reset(store: tuple[LiveStore, Recorder]) -> None:
    live, _ = store
    key = f"k-{uuid.uuid4().hex}"
    assert [(await live.hit(key, 1))[0] for _ in range(3)] == [1, 2, 3]
    await asyncio.sleep(1.1)
    assert (await live.hit(key, 1))[0] == 1


async def test_expired_interviews_disappear(store: tuple[LiveStore, Recorder]) -> None:
    live, _ = store
    iid = await _new(live)
    live.append(iid, 1, "end", {})
    await live.flush()
    await live.expire(iid, 1)
    await asyncio.sleep(1.2)
    assert await live.get_state(iid) == {}
    assert (await live.read_log(iid, 0)).entries == []


async def test_unleased_lists_the_interviews_nobody_drives(
    store: tuple[LiveStore, Recorder],
) -> None:
    live, _ = store
    held, free = str(uuid.uuid4()), str(uuid.uuid4())
    assert await live.acquire_lease(held, "a", 1000)
    assert await live.unleased([held, free]) == [free]
    assert await live.unleased([]) == []
