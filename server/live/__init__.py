"""Live state shared by every gateway process: Redis in production, in-process by default."""

from __future__ import annotations

from server.live.base import LiveStore
from server.live.memory import MemoryLive
from server.live.redis import RedisLive


def create_live_store(redis_url: str | None, prefix: str, *, log_cap: int = 10_000) -> LiveStore:
    if redis_url:
        return RedisLive(redis_url, prefix=prefix, log_cap=log_cap)
    return MemoryLive(log_cap=log_cap)


__all__ = ["LiveStore", "MemoryLive", "RedisLive", "create_live_store"]
