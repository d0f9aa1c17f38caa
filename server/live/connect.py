"""Connections to Redis for the live store: one pooled client for commands, one for pub/sub.

``INTERVIEW_REDIS_URL`` names one server or a Redis Cluster:

- ``redis://[user:password@]host:port[/db]``, ``rediss://...`` with TLS: one server;
- ``redis+cluster://[user:password@]host:port``, ``rediss+cluster://...`` with TLS: a
  cluster. ``host:port`` is any node, or a managed service's configuration endpoint
  (ElastiCache in cluster mode); the client discovers the other nodes from it.

The ``+cluster`` scheme (like ``postgresql+asyncpg://``) is explicit: a cluster needs a
different client, and a tool that does not know the scheme refuses the URL instead of
talking to one shard and failing on MOVED replies later. Everything after ``://``,
including query options such as ``ssl_cert_reqs``, is passed to redis-py unchanged.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import hiredis
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.driver_info import DriverInfo
from redis.exceptions import (
    ClusterDownError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

RedisClient = Redis | RedisCluster

# What a command raises while the live store cannot be reached (Redis restarting, a
# failover, the network): an expected failure, to be answered with "try again" and logged
# as one line with a count (``server.logs.log_throttled``), never as a traceback.
LIVE_STORE_DOWN: tuple[type[Exception], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    ClusterDownError,
    TryAgainError,
)

# A command that cannot reach Redis (refused, reset) is tried again for ~3 s (0.1, 0.2,
# 0.4, then 0.5 s apart), which rides out a restart instead of failing every request and
# socket at that moment. Only connection errors and timeouts are retried: a command that
# had run before its connection broke may run twice (PITFALLS 9); ours tolerate it (appends
# carry their seq, leases are confirmed by reading, a duplicate command is refused).
_RETRY_ATTEMPTS = 8
_RETRY_BACKOFF = ExponentialBackoff(cap=0.5, base=0.05)


# What each new connection reports with CLIENT SETINFO (seen in CLIENT LIST), built once:
# redis-py builds it per connection by default, reading the package's metadata from disk
# (~0.4 ms), and a burst of starts opens dozens of connections.
_DRIVER = DriverInfo()


def command_retry() -> Retry:
    return Retry(_RETRY_BACKOFF, _RETRY_ATTEMPTS)


_CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def cluster_seed_url(url: str) -> str | None:
    """For a cluster URL, the same URL with the plain scheme redis-py parses; else None."""
    scheme, sep, rest = url.partition("://")
    plain = _CLUSTER_SCHEMES.get(scheme.lower())
    if not sep or plain is None:
        return None
    return f"{plain}://{rest}"


def _is_ip(host: str | None) -> bool:
    try:
        ipaddress.ip_address(host or "")
    except ValueError:
        return False
    return True


_PACKABLE = (str, bytes, int)


class _HiredisPacking(AbstractConnection):
    """Packs commands with hiredis' C packer, as redis-py's synchronous connections do.

    redis-py's asyncio connections pack every command in Python: streaming 300 interviews,
    that was a tenth of the gateway's CPU (py-spy), and hiredis does the same in a fraction.
    The arguments must be what both packers encode alike (str as UTF-8, bytes, int, as the
    live store sends); anything else (a float, a memoryview) goes to redis-py's packer.
    """

    def pack_command(self, *args: Any) -> list[bytes]:
        if all(type(arg) in _PACKABLE for arg in args):
            first = args[0]
            if (" " if isinstance(first, str) else b" ") in first:
                args = (*first.split(), *args[1:])  # "CLIENT SETINFO": separate words
            return [hiredis.pack_command(args)]
        return super().pack_command(*args)


class _WriteRaceSafe(AbstractConnection):
    """Writes a command at once, and a write on a connection closed meanwhile fails as a
    ``ConnectionError``.

    redis-py bounds every write with its socket timeout (5 s by default, which these
    clients keep) by running it in a task of its own under ``asyncio.wait_for``: a task, a
    future and a timer per command, and two turns of the event loop before the bytes
    leave. Here the bytes go into the transport at once; only a write that has to wait
    (the socket's buffer above its high-water mark) waits, bounded by that timeout.

    Between redis-py's check that the connection is open and the write, another coroutine
    (the subscription's listener seeing Redis restart) can close the connection: the write
    would raise ``AttributeError`` (``_writer`` is None) or, with the transport torn down,
    ``TypeError``, which no retry or caller treats as the live store being down (redis-py
    issues 3546 and 4287). Seen as a traceback at hello during a Redis restart.
    """

    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        if not self.is_connected:
            await self.connect_check_health(check_health=False)
        if check_health:
            await self.check_health()  # type: ignore[no-untyped-call]
        if isinstance(command, str):
            command = command.encode()
        if isinstance(command, bytes):
            command = [command]
        try:
            writer = self._writer
            if writer is None:
                raise RedisConnectionError("connection closed before the write")
            writer.writelines(command)
            transport = writer.transport
            if transport.get_write_buffer_size() > transport.get_write_buffer_limits()[1]:
                await asyncio.wait_for(writer.drain(), self.socket_timeout)
            else:
                await writer.drain()  # returns at once, or raises what broke the connection
        except (AttributeError, TypeError) as exc:  # the transport closed under the write
            await self.disconnect(nowait=True)
            raise RedisConnectionError("connection closed during the write") from exc
        except TimeoutError:
            await self.disconnect(nowait=True)
            raise RedisTimeoutError("Timeout writing to socket") from None
        except OSError as exc:
            await self.disconnect(nowait=True)
            raise RedisConnectionError(f"Error while writing to socket: {exc!r}") from exc
        except BaseException:
            # Part of the command may have left: the connection cannot be used again.
            await self.disconnect(nowait=True)
            raise


class _Pool(BlockingConnectionPool):
    """redis-py's blocking pool, which hands out and takes back a connection at once while
    nobody waits for one.

    Its own way costs a third of a command's CPU (a condition, a timeout, a lock, an event
    dispatched and three metrics recorded, per checkout and return): with 16 callers at
    once, a GET took ~103 µs of the process's CPU through it, 55-60 µs without. Only when
    the pool is exhausted and callers wait does it take redis-py's path, whose condition
    wakes them in turn. (The release event
    it skips serves credential providers that re-authenticate, which these clients lack.)
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._waiting = 0

    async def get_connection(self, *args: Any, **kwargs: Any) -> AbstractConnection:
        if self._waiting or not self.can_get_connection():
            self._waiting += 1
            try:
                connection: AbstractConnection = await super().get_connection()  # type: ignore[no-untyped-call]
                return connection
            finally:
                self._waiting -= 1
        connection = self.get_available_connection()  # type: ignore[no-untyped-call]
        try:
            await self.ensure_connection(connection)  # connects a new one
        except BaseException:
            await self.release(connection)
            raise
        return connection

    async def release(self, connection: AbstractConnection) -> None:
        if self._waiting:
            await super().release(connection)  # wakes the next caller waiting
            return
        self._in_use_connections.remove(connection)
        if connection.should_reconnect():  # type: ignore[no-untyped-call]
            await connection.disconnect()
        self._available_connections.append(connection)


def _hiredis_packing(connection_class: type[AbstractConnection]) -> type[AbstractConnection]:
    return type(
        f"Hiredis{connection_class.__name__}",
        (_HiredisPacking, _WriteRaceSafe, connection_class),
        {},
    )


def _write_race_safe(connection_class: type[AbstractConnection]) -> type[AbstractConnection]:
    return type(f"Safe{connection_class.__name__}", (_WriteRaceSafe, connection_class), {})


def connect(
    url: str, *, max_connections: int, subscriber_name: str | None = None
) -> tuple[RedisClient, Redis]:
    """A command client and a separate client for the process's one subscription (named
    ``subscriber_name`` in ``CLIENT LIST``, for whoever looks after the server).

    One server: a blocking pool of ``max_connections`` (it waits for a free connection
    instead of raising under load). A cluster: a ``RedisCluster`` with up to
    ``max_connections`` per node, and a plain connection to the URL's node for pub/sub:
    PUBLISH on any node of a cluster reaches the subscribers of every node.
    """
    seed = cluster_seed_url(url)
    if seed is None:
        pool = _Pool.from_url(
            url,
            max_connections=max_connections,
            timeout=10,
            decode_responses=True,
            retry=command_retry(),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
            driver_info=_DRIVER,
        )
        pool.connection_class = _hiredis_packing(pool.connection_class)
        # The subscriber keeps redis-py's default (no retries): its listener must see a
        # broken connection, to repair what was published meanwhile.
        return Redis(connection_pool=pool), _subscriber(url, subscriber_name)
    cluster = RedisCluster.from_url(
        seed,
        max_connections=max_connections,
        decode_responses=True,
        # A DNS name (a configuration endpoint) stays the entry point for topology
        # refreshes even when every node behind it has been replaced; node IPs given
        # directly are replaced by the discovered nodes, as redis-py does by default.
        dynamic_startup_nodes=_is_ip(urlsplit(seed).hostname),
        driver_info=_DRIVER,
    )
    return cluster, _subscriber(seed, subscriber_name)


def _subscriber(url: str, name: str | None) -> Redis:
    subscriber = Redis.from_url(url, decode_responses=True, client_name=name, driver_info=_DRIVER)
    pool = subscriber.connection_pool
    pool.connection_class = _write_race_safe(pool.connection_class)
    return subscriber


async def close_client(client: RedisClient) -> None:
    """Close the command client and every connection it pooled."""
    if isinstance(client, RedisCluster):
        await client.aclose()
    else:
        await client.aclose(close_connection_pool=True)
