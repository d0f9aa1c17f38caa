"""The live-store interface every gateway process talks to."""

from __future__ import annotations

from abc import ABC, abstractmethod


class LiveStore(ABC):
    name: str

    @abstractmethod
    async def ping(self) -> None:
        """Raise if the store cannot be reached."""

    @abstractmethod
    async def hit(self, key: str, window_s: int) -> tuple[int, int]:
        """Count one event against ``key`` in a fixed window.

        Returns the count in the current window (this hit included) and the
        seconds until the window resets.
        """

    @abstractmethod
    async def close(self) -> None: ...
