"""What reading the live subscription costs the gateway: ``interview bench subscription``.

Every event of every interview a process serves comes back to it on its one Redis
subscription (its own appends included), so the listener's cost per message is paid
thousands of times a second. This subscribes a Redis live store to ``channels`` interviews
and publishes turn deltas to them from another process: ``messages`` in pipelines of
``burst`` (as a batch of appends publishes them), then a tenth as many one at a time (each
read from the socket then holds one message, and the loop wakes for each). It reports the
CPU of the listener's thread (the event loop's) per message handed by the process's
fan-out to a local consumer (one per interview, standing for a socket).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from redis import Redis as SyncRedis

from server.live.fanout import Fanout
from server.live.redis import RedisKeys, redis_live_store
from server.protocol import Phase, TurnDelta

# What most of a busy process's messages are: a few words of a turn.
_DELTA = TurnDelta(
    seq=1, epoch=uuid.uuid4().hex, phase=Phase.asking, turn=2, text="a few words "
).model_dump_json()


@dataclass(frozen=True)
class SubscriptionRow:
    mode: str
    messages: int
    cpu_us_per_message: float
    seconds: float


def _publish(url: str, channels: list[str], messages: int, burst: int) -> None:
    client = SyncRedis.from_url(url)
    try:
        for start in range(0, messages, burst):
            pipe = client.pipeline(transaction=False)
            for n in range(start, min(start + burst, messages)):
                pipe.publish(channels[n % len(channels)], f"e{n // len(channels) + 1} {_DELTA}")
            pipe.execute()
    finally:
        client.close()


class _CountingSink:
    """Stands for a socket: counts what the fan-out hands it."""

    observer = True

    def __init__(self, interview_id: str, counted: Callable[[], None]) -> None:
        self.id = interview_id
        self.deliver = lambda seq, payload: counted()

    def send_control(self, payload: str) -> None:
        return None

    def repair(self) -> None:
        return None

    def close(self, code: int, reason: str, *, urgent: bool = False) -> None:
        return None


async def _one_mode(
    url: str, mode: str, channels: int, messages: int, burst: int
) -> SubscriptionRow:
    received = 0
    all_in = asyncio.Event()

    def counted() -> None:
        nonlocal received
        received += 1
        if received == messages:
            all_in.set()

    prefix = f"bench-sub-{uuid.uuid4().hex[:8]}:"
    store = redis_live_store(url, prefix=prefix)
    try:
        fanout = Fanout(store.events)
        await store.events.start(fanout.listener())
        ids = [str(uuid.uuid4()) for _ in range(channels)]
        for iid in ids:
            await fanout.join(iid, _CountingSink(iid, counted))
        keys = RedisKeys(prefix)
        names = [keys.channel(iid) for iid in ids]
        # Another process: a thread would share the GIL with the loop and skew its CPU.
        spawn = multiprocessing.get_context("spawn")
        publisher = spawn.Process(target=_publish, args=(url, names, messages, burst))
        cpu, wall = time.thread_time(), time.perf_counter()
        publisher.start()
        await asyncio.wait_for(all_in.wait(), timeout=120)
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        publisher.join(timeout=10)
    finally:
        await store.close()
    return SubscriptionRow(mode, messages, cpu * 1e6 / messages, wall)


def run_subscription_bench(
    url: str, *, channels: int = 500, messages: int = 100_000, burst: int = 1000
) -> list[SubscriptionRow]:
    """The listener's CPU per message with messages arriving in bursts, then one by one."""

    async def run() -> list[SubscriptionRow]:
        return [
            await _one_mode(url, f"bursts of {burst}", channels, messages, burst),
            await _one_mode(url, "one at a time", channels, max(1, messages // 10), 1),
        ]

    return asyncio.run(run())


def format_rows(rows: list[SubscriptionRow], channels: int) -> str:
    lines = [
        f"live subscription: turn deltas to {channels} interviews, the listener's CPU "
        "(its event loop thread) per message handed to a local consumer",
        f"{'arriving':<18}{'messages':>10}{'CPU µs/message':>16}{'seconds':>9}",
    ]
    lines += [
        f"{row.mode:<18}{row.messages:>10}{row.cpu_us_per_message:>16.2f}{row.seconds:>9.2f}"
        for row in rows
    ]
    return "\n".join(lines)
