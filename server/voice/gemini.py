"""Gemini's speech-to-text model as a recogniser: one inline WAV per transcription.

Its only retry layer (the SDK's own retries stay off): a few attempts on 429/5xx, timeouts
and network errors, each bounded, all within one deadline; every call is recorded as a
``transcribe`` CallRecord through the usage sink, like the interviewer's calls.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import wave
from collections.abc import Sequence

from google.genai import errors, types

from server.llm.base import Prices, UsageSink, cost_micro_usd
from server.llm.gemini.transport import (
    MODEL_DEFAULTS,
    UNREACHABLE,
    CallTuning,
    UsageMeter,
    backoff_s,
    describe,
    error_code,
    is_retryable,
    make_client,
)
from server.voice.base import RecognitionFailed, Transcript

log = logging.getLogger(__name__)

MODEL_SETTING = "INTERVIEW_GEMINI_TRANSCRIBE_MODEL"
MAX_VOCABULARY = 100  # biasing works best under about 100 terms
MAX_TERM_CHARS = 60
# Inline requests are capped at 20 MB in all; base64 makes the audio 4/3 as large.
MAX_INLINE_BYTES = 20 * 1024 * 1024
REQUEST_OVERHEAD_BYTES = 64 * 1024
# Asked for when nothing is said, so that silence differs from a response with no text.
NO_SPEECH = "[no speech]"

INSTRUCTION = (
    "Transcribe this recording of a candidate answering a job-interview question, verbatim. "
    "Write every word exactly as spoken, including fillers and hesitations such as um, uh, "
    "er, hmm, you know and I mean, repetitions and false starts. Do not correct grammar, "
    "summarise, translate or add anything. Output only the spoken words as plain text: no "
    "timestamps, speaker labels, notes or formatting. If nobody speaks, output exactly "
    f"{NO_SPEECH}."
)


def instruction(vocabulary: Sequence[str]) -> str:
    """The request's text: the verbatim instruction and the question's key terms."""
    terms = key_terms(vocabulary)
    if not terms:
        return INSTRUCTION
    return (
        f"{INSTRUCTION}\nTerms that may be spoken (spell them like this when you hear them): "
        + "; ".join(terms)
    )


def key_terms(vocabulary: Sequence[str]) -> list[str]:
    """``vocabulary`` cleaned: one line each, de-duplicated ignoring case, at most 100."""
    seen: set[str] = set()
    terms: list[str] = []
    for raw in vocabulary:
        term = " ".join(raw.split())[:MAX_TERM_CHARS].strip(" ;")
        if term and term.casefold() not in seen:
            seen.add(term.casefold())
            terms.append(term)
            if len(terms) == MAX_VOCABULARY:
                break
    return terms


def wav_bytes(pcm: bytes, sample_rate: int) -> bytes:
    """``pcm`` (16-bit little-endian mono) in a WAV container."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm[: len(pcm) // 2 * 2])
    return buffer.getvalue()


class GeminiRecognizer:
    """Accurate transcripts from Gemini's transcription model (fillers kept, no timings)."""

    rough = False

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        api_version: str | None = None,
        call_timeout_s: float = 30.0,
        deadline_s: float = 80.0,
        max_attempts: int = 3,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 8.0,
        prices: Prices | None = None,
        usage_sink: UsageSink | None = None,
        max_connections: int = 64,
        tuning: CallTuning = MODEL_DEFAULTS,
    ) -> None:
        self.name = model
        self.tuning = tuning
        self.model = model
        self.call_timeout_s = call_timeout_s
        self.deadline_s = deadline_s
        self.max_attempts = max(1, max_attempts)
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.prices: Prices = dict(prices or {})
        self.usage_sink = usage_sink
        if self.prices and cost_micro_usd(model, 1_000_000, 0, self.prices) == 0:
            log.warning("no price for Gemini model %s: its calls are recorded at no cost", model)
        self._closed = False
        self._client = make_client(
            api_key=api_key,
            base_url=base_url,
            api_version=api_version,
            max_connections=max_connections,
        )

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._client.aio.aclose()

    async def transcribe(
        self,
        pcm: bytes,
        *,
        sample_rate: int,
        vocabulary: Sequence[str] = (),
        interview_id: str = "",
    ) -> Transcript:
        audio = wav_bytes(pcm, sample_rate)
        if (len(audio) + 2) // 3 * 4 + REQUEST_OVERHEAD_BYTES > MAX_INLINE_BYTES:
            raise RecognitionFailed(
                "the recording is too long to transcribe in one piece", retryable=False
            )
        contents = [
            types.Content(
                role="user",
                parts=[
                    types.Part(text=instruction(vocabulary)),
                    types.Part.from_bytes(data=audio, mime_type="audio/wav"),
                ],
            )
        ]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.deadline_s
        meter = UsageMeter("transcribe")
        try:
            while True:
                meter.attempts += 1
                try:
                    async with asyncio.timeout_at(min(loop.time() + self.call_timeout_s, deadline)):
                        response = await self._client.aio.models.generate_content(
                            model=self.model, contents=contents, config=self.tuning.config()
                        )
                except Exception as exc:
                    if not is_retryable(exc) or meter.attempts >= self.max_attempts:
                        raise
                    wait = backoff_s(
                        meter.attempts, exc, base_s=self.backoff_base_s, max_s=self.backoff_max_s
                    )
                    if loop.time() + wait >= deadline:
                        raise
                    log.info(
                        "retrying a Gemini transcription",
                        extra={"interview_id": interview_id or None, "error": describe(exc)},
                    )
                    await asyncio.sleep(wait)
                    continue
                meter.add(response.usage_metadata)
                text = _response_text(response)
                if not text:
                    meter.error_code = "empty"
                    raise RecognitionFailed("no transcript came back", retryable=True)
                meter.outcome = "ok"
                return Transcript("" if _is_no_speech(text) else text)
        except asyncio.CancelledError:
            meter.outcome = "cancelled"
            raise
        except RecognitionFailed:
            raise
        except Exception as exc:
            meter.error_code = error_code(exc)
            if isinstance(exc, (errors.APIError, *UNREACHABLE)):
                raise self._failure(exc, meter.attempts, interview_id) from exc
            raise  # a bug, not an upstream failure
        finally:
            self._emit(interview_id, meter)

    def _failure(self, exc: BaseException, attempts: int, interview_id: str) -> RecognitionFailed:
        log.warning(
            "Gemini transcription failed",
            extra={
                "interview_id": interview_id or None,
                "attempts": attempts,
                "error": describe(exc),
            },
        )
        if isinstance(exc, errors.APIError) and exc.code == 404:
            log.error(
                "Gemini transcription model %r was not found: set %s to an available model",
                self.model,
                MODEL_SETTING,
            )
        if isinstance(exc, TimeoutError):
            return RecognitionFailed(
                "the transcription service did not answer in time", retryable=True
            )
        if is_retryable(exc):
            return RecognitionFailed(
                "the transcription service is busy or unreachable", retryable=True
            )
        return RecognitionFailed(
            "the transcription service refused the recording",
            retryable=False,
        )

    def _emit(self, interview_id: str, meter: UsageMeter) -> None:
        if self.usage_sink is None:
            return
        try:
            self.usage_sink(interview_id, meter.record(self.model, self.prices))
        except Exception:
            log.exception("the usage sink failed", extra={"interview_id": interview_id})


def _response_text(response: types.GenerateContentResponse) -> str:
    """The transcript in a response: no thoughts; "" if no candidate or it was blocked."""
    if not response.candidates:
        return ""
    content = response.candidates[0].content
    if content is None or not content.parts:
        return ""
    return "".join(p.text for p in content.parts if p.text and not p.thought).strip()


_NOT_WORDS = re.compile(r"[\W_]+")


def _is_no_speech(text: str) -> bool:
    return _NOT_WORDS.sub(" ", text).strip().casefold() == "no speech"
