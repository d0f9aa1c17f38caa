"""Live state shared by every gateway process: Redis in production, in-process by default."""

from __future__ import annotations

from server.live.base import LiveStore
from server.live.memory import memory_live_store
from server.live.redis import redis_live_store


def create_live_store(redis_url: str | None, prefix: str, *, log_cap: int = 10_000) -> LiveStore:
    if redis_url:
        return redis_live_store(redis_url, prefix=prefix, log_cap=log_cap)
    return memory_live_store(log_cap=log_cap)


__all__ = ["LiveStore", "create_live_store", "memory_live_store", "redis_live_store"]
