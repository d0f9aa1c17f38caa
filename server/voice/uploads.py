"""Recordings of spoken answers: chunk by chunk into the live store, then transcribed once.

Any process can receive any chunk (the upload lives in the live store, keyed by the
interview), so a socket that drops mid-answer resumes on whichever process it reconnects
to. One ``Recorder`` per socket speaks the protocol's audio frames (docs/protocol.md,
"Spoken answers"); the ``VoiceService`` holds what a process shares: the recogniser, the
cap on uploads, and the transcriptions in flight.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.aio import stop_task
from server.config import Settings
from server.live.base import Claim, EventLog, Upload, Uploads
from server.protocol import (
    AUDIO_BYTES_PER_SECOND,
    CHUNK_HEADER_BYTES,
    CONTROL,
    AudioAck,
    AudioCancel,
    AudioEnd,
    AudioStart,
    ErrorCode,
    TranscriptFinal,
    error_frame,
)
from server.store.models import AnswerAudio
from server.voice.base import RecognitionFailed, Recognizer
from server.voice.delivery import measure

log = logging.getLogger(__name__)

# A claim on a transcription is taken over after this long: its process died. Longer than
# any transcription may take (TRANSCRIBE_TIMEOUT_S, queueing included).
TRANSCRIBE_TIMEOUT_S = 90.0
STALE_CLAIM_MS = int((TRANSCRIBE_TIMEOUT_S + 10) * 1000)
BUSY_POLL_S = 0.5
PURGE_EVERY_S = 3600
MAX_VOCABULARY = 40
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9+#.\-]{3,}")
_COMMON = frozenset(
    "about after again also been before being could does doing done each from have having "
    "into just like made make many more most much must other over same should some such "
    "than that their them then there these they thing think this those through time very "
    "want were what when where which while will with would your tell describe explain give "
    "walk example question answer yourself".split()
)


def key_terms(question: str) -> list[str]:
    """Words of the question worth biasing a recogniser towards (technical terms, names)."""
    terms: dict[str, None] = {}
    for match in _WORD.finditer(question):
        word = match.group().rstrip(".-")
        if len(word) >= 4 and word.lower() not in _COMMON:
            terms.setdefault(word, None)
    return list(terms)[:MAX_VOCABULARY]


async def transcript(uploads: Uploads, interview_id: str, upload_id: str) -> TranscriptFinal | None:
    """The transcript an upload produced, while the live store keeps it."""
    upload = await uploads.get(interview_id, upload_id)
    if upload is None or upload.status != "done" or not upload.result:
        return None
    return TranscriptFinal.model_validate_json(upload.result)


async def purge_audio(sessionmaker: async_sessionmaker[AsyncSession], days: int) -> int:
    """Delete kept recordings older than the retention period; how many were deleted."""
    cutoff = datetime.now(UTC) - timedelta(days=days)
    async with sessionmaker() as session:
        result = await session.execute(delete(AnswerAudio).where(AnswerAudio.created_at < cutoff))
        await session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _ack(upload_id: str, *, next_chunk: int, size: int, complete: bool) -> str:
    return AudioAck(
        seq=CONTROL,
        epoch="",
        upload_id=upload_id,
        next_chunk=next_chunk,
        received_ms=size * 1000 // AUDIO_BYTES_PER_SECOND,
        complete=complete,
    ).model_dump_json()


def _ack_of(upload_id: str, upload: Upload) -> str:
    return _ack(
        upload_id,
        next_chunk=upload.next_chunk,
        size=upload.size,
        complete=upload.status != "open",
    )


class VoiceService:
    def __init__(
        self,
        settings: Settings,
        uploads: Uploads,
        events: EventLog,
        recognizer: Recognizer,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        self.settings = settings
        self.uploads = uploads
        self.events = events
        self.recognizer = recognizer
        self.sessionmaker = sessionmaker
        self.max_bytes = settings.voice_max_seconds * AUDIO_BYTES_PER_SECOND
        self.receiving = 0  # uploads open on this process's sockets
        self._work: set[asyncio.Task[None]] = set()
        self._purger: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._purger = asyncio.create_task(self._purge_loop(), name="purge-answer-audio")

    async def _purge_loop(self) -> None:
        while True:
            try:
                await purge_audio(self.sessionmaker, self.settings.voice_audio_retention_days)
            except Exception as exc:  # the database may be restarting: next hour, then
                log.warning("could not purge old answer audio", extra={"error": repr(exc)})
            await asyncio.sleep(PURGE_EVERY_S)

    def recorder(self, interview_id: str, send: Callable[[str], None]) -> Recorder:
        return Recorder(self, interview_id, send)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    async def close(self) -> None:
        """Let transcriptions in flight finish (bounded), then close the recogniser."""
        # Awaited, so a purge in flight lets go of its connection before the engine is
        # disposed (else its half-closed connection outlives the event loop's tasks).
        await stop_task(self._purger, within_s=5)
        if self._work:
            await asyncio.wait(set(self._work), timeout=TRANSCRIBE_TIMEOUT_S)
        await self.recognizer.close()

    async def transcribe(self, interview_id: str, upload_id: str, upload: Upload) -> str | None:
        """Transcribe a claimed upload; store and return the transcript frame (encoded).
        None if its audio is gone: another process took the claim over and finished."""
        pcm = await self.uploads.audio(interview_id, upload_id)
        if pcm is None:
            return None
        snapshot = await self.events.snapshot(interview_id)
        vocabulary = key_terms(snapshot.text) if snapshot is not None else []
        async with asyncio.timeout(TRANSCRIBE_TIMEOUT_S):
            heard = await self.recognizer.transcribe(
                pcm,
                sample_rate=upload.sample_rate,
                vocabulary=vocabulary,
                interview_id=interview_id,
            )
        delivery = await asyncio.to_thread(measure, pcm, upload.sample_rate, heard)
        frame = TranscriptFinal(
            seq=CONTROL,
            epoch="",
            upload_id=upload_id,
            turn=upload.turn,
            text=heard.text,
            recognizer=self.recognizer.name,
            rough=self.recognizer.rough,
            delivery=delivery,
        ).model_dump_json()
        if self.settings.voice_keep_audio:
            await self._keep_audio(interview_id, upload_id, upload, pcm)
        await self.uploads.finish(
            interview_id, upload_id, frame, ttl_s=self.settings.voice_upload_ttl_s
        )
        return frame

    async def _keep_audio(
        self, interview_id: str, upload_id: str, upload: Upload, pcm: bytes
    ) -> None:
        async with self.sessionmaker() as session:
            session.add(
                AnswerAudio(
                    interview_id=uuid.UUID(interview_id),
                    upload_id=upload_id,
                    turn=upload.turn,
                    sample_rate=upload.sample_rate,
                    pcm=pcm,
                )
            )
            try:
                await session.commit()
            except IntegrityError:  # kept already (a transcription retried), or deleted
                await session.rollback()


@dataclass
class Recorder:
    """One socket's side of the audio protocol: at most one open upload at a time."""

    service: VoiceService
    interview_id: str
    send: Callable[[str], None]
    upload_id: str | None = None  # the upload binary frames go to
    holds_slot: bool = False

    def _release(self) -> None:
        if self.holds_slot:
            self.holds_slot = False
            self.service.receiving -= 1

    def close(self) -> None:
        """The socket closed; its upload stays in the live store for a resume."""
        self.upload_id = None
        self._release()

    async def start(self, frame: AudioStart) -> None:
        service = self.service
        if not self.holds_slot:
            if service.receiving >= service.settings.voice_max_uploads:
                self.send(
                    error_frame(
                        ErrorCode.too_many_uploads,
                        "Too many recordings are being uploaded right now; try again in a "
                        "moment, or type your answer.",
                        retryable=True,
                    )
                )
                return
            service.receiving += 1
            self.holds_slot = True
        upload, created = await service.uploads.open(
            self.interview_id,
            frame.upload_id,
            turn=frame.turn,
            sample_rate=frame.sample_rate,
            ttl_s=service.settings.voice_upload_ttl_s,
        )
        if not created and (upload.turn != frame.turn or upload.sample_rate != frame.sample_rate):
            self.upload_id = None
            self._release()
            self.send(
                error_frame(
                    ErrorCode.upload_id_reused,
                    f"upload {frame.upload_id} belongs to another recording; "
                    "use a new upload_id for each recording",
                )
            )
            return
        self.upload_id = frame.upload_id
        self.send(_ack_of(frame.upload_id, upload))

    async def chunk(self, data: bytes) -> None:
        upload_id = self.upload_id
        if upload_id is None:
            self.send(
                error_frame(
                    ErrorCode.audio_not_started,
                    "binary frames carry audio between audio.start and audio.end",
                )
            )
            return
        audio = len(data) - CHUNK_HEADER_BYTES
        if audio < 2 or audio % 2:
            self.send(
                error_frame(
                    ErrorCode.malformed_frame,
                    f"a chunk is a {CHUNK_HEADER_BYTES}-byte index followed by whole "
                    "16-bit samples",
                )
            )
            return
        index = int.from_bytes(data[:CHUNK_HEADER_BYTES], "big")
        service = self.service
        result = await service.uploads.append(
            self.interview_id,
            upload_id,
            index,
            data[CHUNK_HEADER_BYTES:],
            max_bytes=service.max_bytes,
            ttl_s=service.settings.voice_upload_ttl_s,
        )
        if result.outcome == "missing":
            self._forget_missing(upload_id)
            return
        if result.outcome == "gap":
            self.send(
                error_frame(
                    ErrorCode.audio_out_of_order,
                    f"chunk {index} arrived before chunk {result.next_chunk}; "
                    f"resend from chunk {result.next_chunk}",
                    retryable=True,
                )
            )
        elif result.outcome == "too_large":
            seconds = service.settings.voice_max_seconds
            self.send(
                error_frame(
                    ErrorCode.audio_too_long,
                    f"answers are limited to {seconds} s of audio ({service.max_bytes} bytes); "
                    "end the recording",
                )
            )
        self.send(
            _ack(
                upload_id,
                next_chunk=result.next_chunk,
                size=result.size,
                complete=result.outcome == "closed",
            )
        )

    def _forget_missing(self, upload_id: str) -> None:
        if self.upload_id == upload_id:
            self.upload_id = None
            self._release()
        self.send(
            error_frame(
                ErrorCode.upload_not_found,
                f"recording {upload_id} is not here (it expired or was discarded); "
                "record the answer again",
            )
        )

    async def end(self, frame: AudioEnd) -> None:
        claim = await self.service.uploads.claim(
            self.interview_id, frame.upload_id, chunks=frame.chunks, stale_ms=STALE_CLAIM_MS
        )
        if claim.outcome == "missing":
            self._forget_missing(frame.upload_id)
            return
        if claim.outcome == "incomplete":
            assert claim.upload is not None
            self.send(
                error_frame(
                    ErrorCode.audio_incomplete,
                    f"{frame.chunks} chunks were announced and {claim.upload.next_chunk} "
                    f"arrived; resend from chunk {claim.upload.next_chunk}",
                    retryable=True,
                )
            )
            self.send(_ack_of(frame.upload_id, claim.upload))
            return
        # Complete: this socket no longer uploads; the transcript comes when it is ready.
        if self.upload_id == frame.upload_id:
            self.upload_id = None
            self._release()
        self.service.spawn(self._finish(frame, claim))

    async def _finish(self, frame: AudioEnd, claim: Claim) -> None:
        uploads = self.service.uploads
        try:
            while True:
                if claim.outcome == "missing":
                    self._forget_missing(frame.upload_id)
                    return
                if claim.outcome == "done":
                    assert claim.upload is not None
                    self.send(claim.upload.result)
                    return
                if claim.outcome == "claimed":
                    assert claim.upload is not None
                    result = await self.service.transcribe(
                        self.interview_id, frame.upload_id, claim.upload
                    )
                    if result is not None:
                        self.send(result)
                        return
                else:  # busy: another process transcribes it; wait for its result
                    await asyncio.sleep(BUSY_POLL_S)
                claim = await uploads.claim(
                    self.interview_id, frame.upload_id, chunks=frame.chunks, stale_ms=STALE_CLAIM_MS
                )
        except (RecognitionFailed, TimeoutError) as exc:
            retryable = not isinstance(exc, RecognitionFailed) or exc.retryable
            message = exc.message if isinstance(exc, RecognitionFailed) else "it took too long"
            log.warning(
                "transcription failed",
                extra={"interview_id": self.interview_id, "error": message},
            )
            await uploads.release(self.interview_id, frame.upload_id)
            self.send(
                error_frame(
                    ErrorCode.transcription_failed,
                    f"Your answer could not be transcribed ({message}). "
                    + ("Try again, or type it." if retryable else "Please type it."),
                    retryable=retryable,
                )
            )
        except Exception:
            log.exception("transcription crashed", extra={"interview_id": self.interview_id})
            await uploads.release(self.interview_id, frame.upload_id)
            self.send(
                error_frame(
                    ErrorCode.transcription_failed,
                    "Your answer could not be transcribed. Try again, or type it.",
                    retryable=True,
                )
            )

    async def cancel(self, frame: AudioCancel) -> None:
        await self.service.uploads.discard(self.interview_id, frame.upload_id)
        if self.upload_id == frame.upload_id:
            self.upload_id = None
            self._release()
