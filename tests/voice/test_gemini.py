"""Gemini's recogniser, with the real google-genai SDK talking to a local fake of the API."""

from __future__ import annotations

import io
import logging
import socket
import wave
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from server.llm.base import CallRecord
from server.voice.base import RecognitionFailed, Transcript
from server.voice.gemini import MAX_VOCABULARY, GeminiRecognizer, key_terms
from tests.fakes.gemini import Blocked, Fail, FakeGemini, Reply
from tests.voice.conftest import Spoken

MODEL = "gemini-test-transcribe"
PRICES = {MODEL: (1.0, 10.0)}

Factory = Callable[..., GeminiRecognizer]


@pytest.fixture
async def fake() -> AsyncIterator[FakeGemini]:
    async with FakeGemini(models=(MODEL, "gemini-test")) as server:
        yield server


@pytest.fixture
def usage() -> list[tuple[str, CallRecord]]:
    return []


@pytest.fixture
async def gemini(fake: FakeGemini, usage: list[tuple[str, CallRecord]]) -> AsyncIterator[Factory]:
    made: list[GeminiRecognizer] = []

    def make(**overrides: Any) -> GeminiRecognizer:
        settings: dict[str, Any] = {
            "api_key": "test-key",
            "model": MODEL,
            "base_url": fake.base_url,
            "api_version": "v1beta",
            "call_timeout_s": 2.0,
            "deadline_s": 5.0,
            "backoff_base_s": 0.01,
            "backoff_max_s": 0.05,
            "prices": PRICES,
            "usage_sink": lambda interview_id, record: usage.append((interview_id, record)),
        }
        settings.update(overrides)
        recognizer = GeminiRecognizer(**settings)
        made.append(recognizer)
        return recognizer

    yield make
    for recognizer in made:
        await recognizer.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_the_recording_goes_inline_as_a_wav_of_exactly_the_sent_samples(
    fake: FakeGemini, gemini: Factory, spoken: dict[str, Spoken]
) -> None:
    pcm = spoken["index"].pcm

    await gemini().transcribe(pcm, sample_rate=16000)

    (request,) = fake.requests
    assert request.path == f"/v1beta/models/{MODEL}:generateContent"
    ((mime, data),) = request.inline
    assert mime == "audio/wav"
    with wave.open(io.BytesIO(data)) as wav:
        shape = (wav.getframerate(), wav.getnchannels(), wav.getsampwidth(), wav.getcomptype())
        assert shape == (16000, 1, 2, "NONE")
        assert wav.readframes(wav.getnframes()) == pcm


async def test_the_instruction_asks_for_verbatim_words_and_lists_the_key_terms(
    fake: FakeGemini, gemini: Factory
) -> None:
    terms = ["PostgreSQL", "B-tree index", "postgresql", "  query\nplan  ", ""]

    await gemini().transcribe(b"\x01\x00" * 16000, sample_rate=16000, vocabulary=terms)

    text = fake.requests[0].contents_text
    assert "verbatim" in text and "um, uh" in text
    assert "PostgreSQL; B-tree index; query plan" in text
    assert text.lower().count("postgresql") == 1


def test_key_terms_are_cleaned_deduplicated_and_capped() -> None:
    many = [f"term{i}" for i in range(150)]

    assert key_terms(many) == many[:MAX_VOCABULARY]
    assert key_terms(["Redis", "redis", "REDIS ", "a\tb", " ; "]) == ["Redis", "a b"]


async def test_the_reply_becomes_the_transcript_and_the_call_is_recorded_with_its_cost(
    fake: FakeGemini, gemini: Factory, usage: list[tuple[str, CallRecord]]
) -> None:
    fake.script("generate", Reply("  Um, I would put a queue in front of it.\n", usage=(900, 20)))
    recognizer = gemini()

    transcript = await recognizer.transcribe(
        b"\x01\x00" * 16000, sample_rate=16000, interview_id="iv-1"
    )

    assert transcript == Transcript("Um, I would put a queue in front of it.", None)
    assert (recognizer.name, recognizer.rough) == (MODEL, False)
    ((interview_id, record),) = usage
    assert interview_id == "iv-1"
    assert (record.kind, record.model, record.outcome, record.attempts) == (
        "transcribe",
        MODEL,
        "ok",
        1,
    )
    assert (record.prompt_tokens, record.output_tokens) == (900, 20)
    assert record.cost_micro_usd == 900 * 1 + 20 * 10
    assert record.latency_ms >= 0


async def test_a_429_is_retried_once_and_then_the_transcript_comes(
    fake: FakeGemini, gemini: Factory, usage: list[tuple[str, CallRecord]]
) -> None:
    fake.script("generate", Fail(429, "Resource exhausted."), Reply("I would shard by tenant."))

    transcript = await gemini().transcribe(b"\x01\x00" * 16000, sample_rate=16000)

    assert transcript.text == "I would shard by tenant."
    assert len(fake.requests) == 2
    assert (usage[0][1].attempts, usage[0][1].outcome) == (2, "ok")


async def test_a_429_that_never_ends_fails_as_retryable_after_max_attempts(
    fake: FakeGemini, gemini: Factory, usage: list[tuple[str, CallRecord]]
) -> None:
    fake.forever("generate", Fail(429, "Resource exhausted."))

    with pytest.raises(RecognitionFailed) as raised:
        await gemini(max_attempts=3).transcribe(b"\x01\x00" * 16000, sample_rate=16000)

    assert raised.value.retryable is True
    assert "busy" in raised.value.message
    assert len(fake.requests) == 3
    record = usage[0][1]
    assert (record.outcome, record.error_code, record.attempts) == ("error", "429", 3)


async def test_a_stalled_call_times_out_and_fails_as_retryable(
    fake: FakeGemini, gemini: Factory, usage: list[tuple[str, CallRecord]]
) -> None:
    # A reply after 10 s would succeed: only the timeout makes these calls fail.
    fake.forever("generate", Reply("too late", delay_s=10.0))

    with pytest.raises(RecognitionFailed) as raised:
        await gemini(call_timeout_s=0.2, max_attempts=2).transcribe(
            b"\x01\x00" * 16000, sample_rate=16000
        )

    assert raised.value.retryable is True
    assert "in time" in raised.value.message
    assert len(fake.requests) == 2
    assert usage[0][1].error_code == "timeout"


async def test_the_deadline_bounds_all_attempts_together(fake: FakeGemini, gemini: Factory) -> None:
    """Retries stop once the next attempt would start past the deadline."""
    # A reply after 10 s would succeed: only the timeout makes these calls fail.
    fake.forever("generate", Reply("too late", delay_s=10.0))

    with pytest.raises(RecognitionFailed):
        await gemini(call_timeout_s=0.3, deadline_s=0.5, max_attempts=10).transcribe(
            b"\x01\x00" * 16000, sample_rate=16000
        )

    assert len(fake.requests) <= 2


@pytest.mark.parametrize(
    "behaviour", [Reply(""), Reply("   \n"), Blocked()], ids=["empty", "blank", "no-candidate"]
)
async def test_a_response_without_text_fails_as_retryable(
    fake: FakeGemini,
    gemini: Factory,
    usage: list[tuple[str, CallRecord]],
    behaviour: Reply | Blocked,
) -> None:
    fake.forever("generate", behaviour)

    with pytest.raises(RecognitionFailed) as raised:
        await gemini().transcribe(b"\x01\x00" * 16000, sample_rate=16000)

    assert (raised.value.retryable, raised.value.message) == (True, "no transcript came back")
    assert len(fake.requests) == 1
    assert (usage[0][1].outcome, usage[0][1].error_code) == ("error", "empty")


@pytest.mark.parametrize("answer", ["[no speech]", "(No speech.)", "NO SPEECH"])
async def test_a_recording_with_nobody_speaking_gives_an_empty_transcript(
    fake: FakeGemini, gemini: Factory, answer: str
) -> None:
    fake.script("generate", Reply(answer))

    transcript = await gemini().transcribe(b"\x00\x00" * 16000, sample_rate=16000)

    assert transcript == Transcript("", None)


async def test_a_rejected_request_fails_for_good_without_retrying(
    fake: FakeGemini, gemini: Factory
) -> None:
    fake.forever("generate", Fail(400, "Request contains an invalid argument."))

    with pytest.raises(RecognitionFailed) as raised:
        await gemini().transcribe(b"\x01\x00" * 16000, sample_rate=16000)

    assert raised.value.retryable is False
    assert len(fake.requests) == 1


async def test_an_unknown_model_fails_for_good_and_the_log_names_the_setting(
    fake: FakeGemini, gemini: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR), pytest.raises(RecognitionFailed) as raised:
        await gemini(model="gemini-9-transcribe").transcribe(b"\x01\x00" * 16000, sample_rate=16000)

    assert raised.value.retryable is False
    assert len(fake.requests) == 1
    assert "INTERVIEW_GEMINI_TRANSCRIBE_MODEL" in caplog.text


async def test_an_unreachable_api_fails_as_retryable(gemini: Factory) -> None:
    recognizer = gemini(base_url=f"http://127.0.0.1:{closed_port()}", max_attempts=2)

    with pytest.raises(RecognitionFailed) as raised:
        await recognizer.transcribe(b"\x01\x00" * 16000, sample_rate=16000)

    assert raised.value.retryable is True


async def test_a_recording_too_large_to_send_inline_fails_for_good_without_a_request(
    fake: FakeGemini, gemini: Factory
) -> None:
    sixteen_minutes = b"\x01\x00" * 16000 * 60 * 16

    with pytest.raises(RecognitionFailed) as raised:
        await gemini().transcribe(sixteen_minutes, sample_rate=16000)

    assert raised.value.retryable is False
    assert fake.requests == []
