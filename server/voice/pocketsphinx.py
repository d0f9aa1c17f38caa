"""The embedded recogniser: CMU pocketsphinx in worker processes, with no network and no key.

pocketsphinx holds the GIL while it decodes (a thread running it stalls the event loop for
about half a second), so decoding runs in a process pool: one Decoder per worker process,
built once and reused, and at most ``workers`` transcriptions at once per server process.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import numpy as np

from server.voice.base import RecognitionFailed, Transcript, Word

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000  # the bundled US English acoustic model's rate
FRAME_MS = 10  # pocketsphinx segments are counted in 10 ms frames
# Under 0.1 s there is nothing to hear; an empty buffer crashes process_raw.
MIN_AUDIO_BYTES = SAMPLE_RATE * 2 // 10
# Digital silence (all samples within ±2) makes the decoder invent a word ("dog").
SILENT_PEAK = 2

NOTHING = Transcript("", ())
# Workers run at a lower CPU priority than the gateway: a transcript may take longer when
# the machine is busy, but the interviews streaming beside it keep their latency.
WORKER_NICENESS = 10

# How often a worker looks whether the process that started it is still there.
PARENT_CHECK_S = 0.5

# The worker process's own decoder: built by the pool initializer, reused by every job.
_decoder: Any = None


@dataclass(frozen=True, slots=True)
class Decoded:
    """One decode as the worker did it: the transcript, its CPU seconds and the worker's pid."""

    transcript: Transcript
    cpu_s: float
    pid: int


def _exit_with(parent: int) -> None:
    """A worker whose gateway was killed (SIGKILL, the OOM killer) is never told: the other
    workers hold the job queue's pipe open, so it waits for a job forever, holding its
    decoder's memory. It exits once it has been handed to another parent."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(0)


def _start_worker() -> None:
    global _decoder
    from pocketsphinx import Decoder

    threading.Thread(
        target=_exit_with, args=(os.getppid(),), name="exit-with-gateway", daemon=True
    ).start()
    os.nice(WORKER_NICENESS)
    _decoder = Decoder(samprate=SAMPLE_RATE, loglevel="ERROR")


def _decode(pcm: bytes) -> Decoded:
    """Runs in a worker: decode ``pcm`` (16 kHz, 16-bit little-endian mono) as one utterance."""
    started = time.process_time()
    pcm = pcm[: len(pcm) // 2 * 2]
    if len(pcm) < MIN_AUDIO_BYTES or _is_digital_silence(pcm):
        return Decoded(NOTHING, time.process_time() - started, os.getpid())
    decoder = _decoder
    # Feature extraction keeps a running cepstral mean across utterances; resetting it makes
    # each transcript depend on its own audio only, not on whoever was decoded before.
    decoder.reinit_feat()
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    audio_ms = len(pcm) * 1000 // (SAMPLE_RATE * 2)
    words = tuple(
        Word(
            text=text,
            start_ms=min(segment.start_frame * FRAME_MS, audio_ms),
            end_ms=min((segment.end_frame + 1) * FRAME_MS, audio_ms),
        )
        for segment in decoder.seg() or ()
        if (text := spoken_word(segment.word))
    )
    text = " ".join(word.text for word in words)
    return Decoded(Transcript(text, words), time.process_time() - started, os.getpid())


def _is_digital_silence(pcm: bytes) -> bool:
    samples = np.frombuffer(pcm, dtype="<i2")
    return int(np.abs(samples.astype(np.int32)).max()) <= SILENT_PEAK


def spoken_word(token: str) -> str:
    """The word in a segment token: "technically(2)" → "technically"; "" for <s>, <sil>,
    [NOISE] and other non-words."""
    if not token or token[0] in "<[+":
        return ""
    base, paren, _ = token.partition("(")
    return base if paren else token


class PocketsphinxRecognizer:
    """Rough offline transcripts; ``vocabulary`` is accepted and ignored (its language model
    is fixed)."""

    name = "pocketsphinx"
    rough = True

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"expected at least 1 worker, got {workers}")
        self.workers = workers
        self._slots = asyncio.Semaphore(workers)
        self._pool: ProcessPoolExecutor | None = None

    async def transcribe(
        self,
        pcm: bytes,
        *,
        sample_rate: int,
        vocabulary: Sequence[str] = (),
        interview_id: str = "",
    ) -> Transcript:
        return (
            await self.decode(pcm, sample_rate=sample_rate, interview_id=interview_id)
        ).transcript

    async def decode(self, pcm: bytes, *, sample_rate: int, interview_id: str = "") -> Decoded:
        """``transcribe`` with the worker's CPU time and pid (for benchmarks and tests)."""
        if sample_rate != SAMPLE_RATE:
            raise RecognitionFailed(
                f"expected {SAMPLE_RATE} Hz audio, got {sample_rate} Hz", retryable=False
            )
        if len(pcm) < MIN_AUDIO_BYTES:
            return Decoded(NOTHING, 0.0, os.getpid())  # no need to start a worker
        async with self._slots:
            pool = self._ensure_pool()
            try:
                return await asyncio.get_running_loop().run_in_executor(pool, _decode, pcm)
            except BrokenProcessPool as exc:
                # A worker died (killed, out of memory): this pool is unusable; the next
                # transcription starts a fresh one.
                self._discard(pool)
                log.warning(
                    "a pocketsphinx worker died",
                    extra={"interview_id": interview_id or None, "error": repr(exc)},
                )
                raise RecognitionFailed(
                    "the speech recogniser stopped unexpectedly", retryable=True
                ) from exc

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # Never fork: the server process has threads (a forked child may inherit a
            # lock some other thread held).
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
            )
        return self._pool

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        if self._pool is pool:
            self._pool = None
        pool.shutdown(wait=False)  # its jobs have all failed already

    async def close(self) -> None:
        """Stop the workers once their current decodes end (queued ones are cancelled); a
        later transcription starts new ones."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
