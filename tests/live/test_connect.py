"""Which Redis client ``INTERVIEW_REDIS_URL`` gets: one server, or a cluster."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import redis
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import SSLConnection

from server.live import create_live_store
from server.live.connect import LIVE_STORE_DOWN, close_client, cluster_seed_url, connect
from tests.conftest import BACKEND


@pytest.mark.parametrize(
    ("url", "seed"),
    [
        ("redis+cluster://10.0.0.1:6379", "redis://10.0.0.1:6379"),
        (
            "rediss+cluster://:s3cret@clustercfg.example.cache.amazonaws.com:6379"
            "?ssl_cert_reqs=required",
            "rediss://:s3cret@clustercfg.example.cache.amazonaws.com:6379?ssl_cert_reqs=required",
        ),
        ("REDIS+CLUSTER://user:pw@host:7000/0", "redis://user:pw@host:7000/0"),
        ("redis://127.0.0.1:6379/0", None),
        ("rediss://host:6380", None),
        ("unix:///run/redis.sock", None),
        ("redis+cluster:/no-authority", None),
    ],
)
def test_only_a_cluster_scheme_asks_for_a_cluster(url: str, seed: str | None) -> None:
    assert cluster_seed_url(url) == seed


async def test_a_server_url_gets_a_pooled_client() -> None:
    client, subscriber = connect("redis://127.0.0.1:6379/0", max_connections=5)
    try:
        assert type(client) is Redis and type(subscriber) is Redis
        assert client.connection_pool.max_connections == 5
        assert client.connection_pool is not subscriber.connection_pool
    finally:
        await close_client(client)
        await subscriber.aclose()


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "rediss://127.0.0.1:6380/0"])
def test_commands_are_packed_by_hiredis_into_the_bytes_redis_py_sends(url: str) -> None:
    client, _ = connect(url, max_connections=1)
    pool = client.connection_pool
    fast = pool.make_connection()
    # TLS stays TLS: the packing is mixed into whichever connection class the URL asks for.
    mro = pool.connection_class.__mro__
    plain_class = next(c for c in mro if c.__module__.startswith("redis."))
    plain = plain_class(**pool.connection_kwargs)
    assert type(fast).__name__ == f"Hiredis{type(plain).__name__}"
    assert type(fast).__name__.endswith("SSLConnection") == url.startswith("rediss:")
    commands = [
        ("EVALSHA", "0" * 40, 2, "{i:1}:log", "{i:1}:state", "caf\u00e9 \u2603", -7, b"\x00\xff"),
        ("CLIENT SETINFO", "LIB-NAME", "redis-py"),
        (b"CONFIG GET", "maxmemory"),
        ("SET", "k", ""),
        ("ZADD", "k", 1.5, "m"),  # a float: redis-py's own packer
        ("PEXPIRE", "k", 10**12),
    ]
    for command in commands:
        assert b"".join(fast.pack_command(*command)) == b"".join(plain.pack_command(*command))
    packed = fast.pack_commands(commands)
    assert b"".join(packed) == b"".join(plain.pack_commands(commands))


async def test_a_cluster_url_gets_a_cluster_client_and_one_node_for_pubsub() -> None:
    # Nothing connects until the first command: no cluster needed here.
    client, subscriber = connect("rediss+cluster://u:pw@cfg.example.com:6380", max_connections=7)
    try:
        assert isinstance(client, RedisCluster)
        assert type(subscriber) is Redis
        kwargs = subscriber.connection_pool.connection_kwargs
        assert (kwargs["host"], kwargs["port"], kwargs["password"]) == (
            "cfg.example.com",
            6380,
            "pw",
        )
        assert SSLConnection in subscriber.connection_pool.connection_class.__mro__
    finally:
        await close_client(client)
        await subscriber.aclose()


@pytest.mark.skipif(BACKEND != "services", reason="needs Redis (TEST_BACKEND=services)")
async def test_a_live_store_on_a_cluster_answers_ping_and_closes(redis_cluster_url: str) -> None:
    store = create_live_store(redis_cluster_url, "test:ping:")
    try:
        await store.ping()
        assert store.name == "redis"
    finally:
        await store.close()


@asynccontextmanager
async def _connected(which: str) -> AsyncIterator[Any]:
    """An open connection of the live store's command client or of its subscriber."""
    client, subscriber = connect("redis://127.0.0.1:6379/0", max_connections=2)
    pool = (client if which == "commands" else subscriber).connection_pool
    connection = pool.make_connection()
    try:
        await connection.connect()
        yield connection
    finally:
        await connection.disconnect()
        await close_client(client)
        await subscriber.aclose()


@pytest.mark.needs_redis
@pytest.mark.parametrize("which", ["commands", "subscriber"])
async def test_a_write_on_a_connection_closed_meanwhile_fails_as_the_store_being_down(
    which: str,
) -> None:
    """A connection closed under the write (the subscription's listener seeing Redis
    restart) fails the command as the live store being down: redis-py's own write raised
    ``AttributeError`` there, which escaped the hello as a traceback instead of a 1011.
    The connection is usable again afterwards."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    async with _connected(which) as connection:
        connection._writer.transport.abort()  # torn down; redis-py has not noticed yet
        with pytest.raises(RedisConnectionError) as raised:
            await connection.send_command("PING")
        assert isinstance(raised.value, LIVE_STORE_DOWN)
        # The next command reconnects.
        await connection.send_command("PING")
        assert await connection.read_response() in ("PONG", b"PONG")


@pytest.mark.needs_redis
async def test_a_command_leaves_without_waiting_for_another_turn_of_the_loop() -> None:
    """redis-py ran every write in a task of its own under ``wait_for`` (a task, a future
    and a timer per command, two turns of the loop before the bytes left): a fifth of the
    gateway's CPU in a burst of starts. The bytes now go into the transport at once."""
    async with _connected("commands") as connection:
        assert connection.socket_timeout  # the bound a write that has to wait keeps
        write = asyncio.ensure_future(connection.send_command("PING"))
        await asyncio.sleep(0)  # one turn: the write's coroutine runs once
        assert write.done() and write.exception() is None
        assert await connection.read_response() in ("PONG", b"PONG")


@pytest.mark.needs_redis
async def test_the_pool_serves_every_caller_in_turn_once_its_connections_are_all_in_use() -> None:
    """A free connection is handed out at once; once all are in use, callers wait for one
    (redis-py's path) and each is served, without ever opening more than the limit."""
    client, subscriber = connect("redis://127.0.0.1:6379/0", max_connections=2)
    pool = client.connection_pool
    key = f"pool-test:{uuid.uuid4()}"
    try:
        results = await asyncio.gather(*(client.incr(key) for _ in range(60)))
        assert sorted(results) == list(range(1, 61))
        assert len(pool._available_connections) + len(pool._in_use_connections) == 2
        assert not pool._in_use_connections and pool._waiting == 0

        # A caller waiting for a connection is handed the one returned.
        held = await pool.get_connection()
        other = await pool.get_connection()
        waiting = asyncio.ensure_future(client.incr(key))
        await asyncio.sleep(0.05)
        assert not waiting.done() and pool._waiting == 1
        await pool.release(held)
        assert await asyncio.wait_for(waiting, 5) == 61
        await pool.release(other)
    finally:
        await client.delete(key)
        await close_client(client)
        await subscriber.aclose()


def test_connections_name_the_driver_from_one_report_built_once() -> None:
    """Every connection reports redis-py and its version with ``CLIENT SETINFO`` (shown by
    ``CLIENT LIST`` on Redis 7.2+, for whoever looks after Redis). The report is built
    once: by default redis-py builds it for each new connection, reading the package's
    metadata from disk (~0.4 ms), and a burst of interview starts opens dozens."""
    client, subscriber = connect("redis://127.0.0.1:6379/0", max_connections=3)
    made = [client.connection_pool.make_connection() for _ in range(2)]
    made.append(subscriber.connection_pool.make_connection())
    assert len({id(connection.driver_info) for connection in made}) == 1
    report = made[0].driver_info
    assert report is not None
    assert (report.formatted_name, report.lib_version) == ("redis-py", redis.__version__)
