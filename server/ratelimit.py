"""Fixed-window rate limits kept in the live store, so every gateway process shares them."""

from __future__ import annotations

from server.errors import RateLimited
from server.live.base import Counters


async def enforce(counters: Counters, key: str, *, limit: int, window_s: int, what: str) -> None:
    count, resets_in = await counters.hit(key, window_s)
    if count > limit:
        raise RateLimited(
            f"Too many {what}. Try again in {_human(resets_in)}.", retry_after_s=resets_in
        )


def _human(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{round(seconds / 60)} minutes"
