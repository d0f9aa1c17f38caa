"""Redis-backed live store, shared by any number of gateway processes."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

from server.live.base import LiveStore


class RedisLive(LiveStore):
    name = "redis"

    def __init__(self, url: str, *, prefix: str = "interview:", max_connections: int = 64) -> None:
        self.prefix = prefix
        # A blocking pool waits for a free connection instead of raising under load.
        pool = BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=5, decode_responses=True
        )
        self.redis: Redis = Redis(connection_pool=pool)

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    async def ping(self) -> None:
        await self.redis.ping()

    async def hit(self, key: str, window_s: int) -> tuple[int, int]:
        full_key = self.key("rl", key)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(full_key)
            pipe.expire(full_key, window_s, nx=True)
            pipe.ttl(full_key)
            count, _, ttl = await pipe.execute()
        return int(count), max(1, int(ttl))

    async def close(self) -> None:
        await self.redis.aclose()
        await self.redis.connection_pool.disconnect()
