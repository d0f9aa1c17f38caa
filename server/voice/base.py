"""What every speech recogniser offers: one small interface, so another can be added."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str  # verbatim, fillers included; "" when nothing was heard
    # Word timings where the recogniser gives them; None otherwise.
    words: tuple[Word, ...] | None = None


class RecognitionFailed(Exception):
    """The recogniser could not transcribe; ``retryable``: trying again may work.

    ``message`` is short and plain, for the candidate ("the transcription service is busy");
    details go to the log.
    """

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


class Recognizer(Protocol):
    name: str  # shown to the candidate, e.g. "pocketsphinx" or "gemini-3.5-transcribe"
    rough: bool  # True when transcripts often need a correction (the embedded one)

    async def transcribe(
        self,
        pcm: bytes,
        *,
        sample_rate: int,
        vocabulary: Sequence[str] = (),
        interview_id: str = "",
    ) -> Transcript:
        """The words in ``pcm`` (16-bit little-endian mono). CPU-heavy work runs off the
        event loop, at most a configured number at once per process. Raises
        RecognitionFailed."""

    async def close(self) -> None: ...
