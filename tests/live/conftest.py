"""What the live store's tests share: a started store of each backend (``live``, over
the in-process store always, Redis and a local Redis Cluster in the services pass;
``redis_live``, ``cluster_live``), the recorder of what its subscription delivers, a
socket stand-in for the fan-out (``Sink``), and a look at the keys a Redis backend holds."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from server.live.base import LiveListener, LiveStore
from server.live.connect import cluster_seed_url
from server.live.memory import memory_live_store
from server.live.redis import redis_live_store
from tests.conftest import BACKEND, REDIS_URL


@dataclass(eq=False)
class Sink:
    """A socket as the fan-out sees it, which drops what it is sent."""

    id: str
    observer: bool = False

    def deliver(self, seq: int, payload: str) -> None:
        pass

    def send_control(self, payload: str) -> None:
        pass

    def repair(self) -> None:
        pass

    def close(self, code: int, reason: str, *, urgent: bool = False) -> None:
        pass


KINDS = ["memory", "redis", "cluster"] if BACKEND == "services" else ["memory"]
T = TypeVar("T")


class Recorder:
    """What the store's one subscription delivered, in arrival order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int, str]] = []
        self.pokes: list[str] = []
        self.replies: list[tuple[str, str, str]] = []
        self.stale: list[str] = []
        self.refused: list[int] = []  # the numbers of the refused appends, as reported
        self.revoked: list[tuple[str, int]] = []
        self.monitor: list[str] = []
        self.reconnects = 0
        self.arrived = asyncio.Event()

    def _add(self, into: list[T], item: T) -> None:
        into.append(item)
        self.arrived.set()

    def listener(self) -> LiveListener:
        return LiveListener(
            on_event=lambda iid, seq, payload: self._add(self.events, (iid, seq, payload)),
            on_poke=lambda iid: self._add(self.pokes, iid),
            on_reply=lambda iid, conn, payload: self._add(self.replies, (iid, conn, payload)),
            on_stale=self._stale,
            on_reconnect=self._reconnected,
            on_revoked=lambda user_id, version: self._add(self.revoked, (user_id, version)),
            on_monitor=lambda payload: self._add(self.monitor, payload),
        )

    def _stale(self, interview_id: str, number: int) -> None:
        self.refused.append(number)
        self._add(self.stale, interview_id)

    def _reconnected(self) -> None:
        self.reconnects += 1
        self.arrived.set()

    def events_of(self, interview_id: str) -> list[tuple[int, str]]:
        return [(seq, payload) for iid, seq, payload in self.events if iid == interview_id]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                self.arrived.clear()
                await self.arrived.wait()

    async def quiet(self, seconds: float = 0.2) -> None:
        """Give anything still in flight time to arrive (before asserting it did not)."""
        await asyncio.sleep(seconds)


@dataclass
class Live:
    kind: str
    store: LiveStore
    recorder: Recorder
    url: str | None  # the Redis URL the store uses; None in process
    prefix: str

    async def new(self, state: str = "s0", *, subscribe: bool = True, facts: str = "") -> str:
        iid = str(uuid.uuid4())
        assert await self.store.events.create(iid, state, facts=facts)
        if subscribe:
            await self.store.events.subscribe([iid])
        return iid


@asynccontextmanager
async def open_live(
    kind: str, request: pytest.FixtureRequest, redis_prefix: str
) -> AsyncIterator[Live]:
    """A started store of the backend ``kind`` (memory, redis, cluster), closed afterwards."""
    prefix = f"{redis_prefix}{uuid.uuid4().hex[:6]}:"
    url: str | None = None
    if kind == "redis":
        url = REDIS_URL
    elif kind == "cluster":
        url = str(request.getfixturevalue("redis_cluster_url"))
    store = (
        memory_live_store(log_cap=100)
        if url is None
        else redis_live_store(url, prefix=prefix, log_cap=100)
    )
    recorder = Recorder()
    await store.events.start(recorder.listener())
    try:
        yield Live(kind, store, recorder, url, prefix)
    finally:
        await store.close()


@pytest.fixture(params=KINDS)
async def live(request: pytest.FixtureRequest, redis_prefix: str) -> AsyncIterator[Live]:
    async with open_live(request.param, request, redis_prefix) as opened:
        yield opened


@pytest.fixture(params=["redis", "cluster"])
async def redis_live(request: pytest.FixtureRequest, redis_prefix: str) -> AsyncIterator[Live]:
    async with open_live(request.param, request, redis_prefix) as opened:
        yield opened


@pytest.fixture
async def cluster_live(request: pytest.FixtureRequest, redis_prefix: str) -> AsyncIterator[Live]:
    async with open_live("cluster", request, redis_prefix) as opened:
        yield opened


@asynccontextmanager
async def cluster_client(url: str) -> AsyncIterator[RedisCluster]:
    seed = cluster_seed_url(url)
    assert seed is not None
    client = RedisCluster.from_url(seed, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


@asynccontextmanager
async def raw_client(live: Live) -> AsyncIterator[Redis | RedisCluster]:
    """A client of the store's server or cluster, beside the store's own."""
    assert live.url is not None
    if live.kind == "cluster":
        async with cluster_client(live.url) as cluster:
            yield cluster
        return
    client = Redis.from_url(live.url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


async def keys_by_node(live: Live) -> dict[str, set[str]]:
    """Every key under the store's prefix, by the node that holds it."""
    assert live.url is not None
    match = f"{live.prefix}*"
    if live.kind != "cluster":
        client = Redis.from_url(live.url, decode_responses=True)
        try:
            return {"server": {key async for key in client.scan_iter(match=match)}}
        finally:
            await client.aclose()
    async with cluster_client(live.url) as cluster:
        await cluster.initialize()
        return {
            node.name: {str(key) for key in await cluster.keys(match, target_nodes=node)}
            for node in cluster.get_primaries()
        }
