"""How a turn's words become deltas: few frames, and no word held longer than it must be."""

from __future__ import annotations

import math
from typing import Final

# Words held when the stream stalls go out this many intervals after the last delta.
STALL_INTERVALS: Final = 1.5


class Coalescer:
    """At most one delta per ``interval_s``, whatever the model's pace.

    A word that arrives once the interval since the last delta is over goes out at once,
    with the words held before it: a steady stream's words wait at most the interval. Held
    words of a stream that stalls go out at ``stall_deadline`` (the caller's timer), so a
    pause in the model holds them a bounded time; the stream's end sends them at once.
    """

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._held: list[str] = []
        self._last = -math.inf  # when the last delta went out

    def add(self, piece: str, now: float) -> str | None:
        """Hold ``piece``; the delta to send now, if one is due."""
        self._held.append(piece)
        if now - self._last >= self.interval_s:
            return self.take(now)
        return None

    def stall_deadline(self) -> float:
        """When the held words go out if no more arrive."""
        return self._last + self.interval_s * STALL_INTERVALS

    def take(self, now: float) -> str | None:
        """Every held word, as one delta sent ``now``; None when nothing is held."""
        if not self._held:
            return None
        self._last = now
        text = "".join(self._held)
        self._held.clear()
        return text
