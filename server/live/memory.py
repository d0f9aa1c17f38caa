"""In-process live store: the embedded default for a single gateway process."""

from __future__ import annotations

import time

from server.live.base import LiveStore


class MemoryLive(LiveStore):
    name = "memory"

    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}

    async def ping(self) -> None:
        return None

    async def hit(self, key: str, window_s: int) -> tuple[int, int]:
        now = time.monotonic()
        if len(self._windows) > 10_000:
            self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
        resets_at, count = self._windows.get(key, (0.0, 0))
        if resets_at <= now:
            resets_at, count = now + window_s, 0
        count += 1
        self._windows[key] = (resets_at, count)
        return count, max(1, int(resets_at - now + 0.999))

    async def close(self) -> None:
        self._windows.clear()
