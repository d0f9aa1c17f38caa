"""Spoken answers over the interview socket: recorded in chunks, transcribed by the real
embedded recogniser (or Gemini's, against the local fake), answered, scored with their
delivery; and every bad input gets its documented code without touching anyone else."""

from __future__ import annotations

import io
import wave
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pocketsphinx import Decoder
from pydantic import SecretStr
from sqlalchemy import select, update
from websockets.asyncio.client import connect

from server.config import Settings
from server.store.models import AnswerAudio
from server.voice.uploads import purge_audio
from tests.fakes.gemini import Fail, FakeGemini, Reply
from tests.speech import (
    SENTENCE,
    chunks,
    new_upload_id,
    pcm_of,
    record,
    send_chunks,
    speak,
    start_recording,
)
from tests.wsclient import InterviewClient, LiveServer, Session, new_session


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return pcm_of(speak(SENTENCE, tmp_path_factory.mktemp("speech"), pad_s=0.5))


@pytest.fixture(scope="session")
def heard(speech: bytes) -> str:
    """What pocketsphinx itself makes of the recording, decoded right here."""
    decoder = Decoder(samprate=16000)
    decoder.start_utt()
    decoder.process_raw(speech, full_utt=True)
    decoder.end_utt()
    hypothesis = decoder.hyp()
    return hypothesis.hypstr if hypothesis is not None else ""


def _tuned(settings: Settings, **overrides: Any) -> Settings:
    return settings.model_copy(
        update={
            "offline_pace_ms": 5,
            "voice_recognizer": "pocketsphinx",
            "interviewer": "offline",
            **overrides,
        }
    )


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[LiveServer]:
    async with LiveServer(_tuned(settings)).running() as server:
        yield server


async def _listening(live: LiveServer, **kwargs: Any) -> tuple[Session, InterviewClient, int]:
    session = await new_session(live.http, question_count=kwargs.pop("question_count", 1))
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    end = await client.until("turn.end")
    return session, client, end["turn"]


async def test_a_spoken_answer_is_transcribed_answered_and_scored_with_its_delivery(
    live: LiveServer, speech: bytes, heard: str
) -> None:
    session, client, turn = await _listening(live)
    upload_id = new_upload_id()
    final = await record(client, speech, turn, upload_id)

    # The recogniser's words, exactly as pocketsphinx hears the same recording directly.
    assert final["text"] == heard and final["text"]
    assert (final["upload_id"], final["turn"]) == (upload_id, turn)
    assert (final["recognizer"], final["rough"]) == ("pocketsphinx", True)
    words = SENTENCE.lower().split()
    errors = _word_errors(words, final["text"].split())
    print(
        f"\nspoken:  {SENTENCE.lower()}\nheard:   {final['text']}\nWER: {errors / len(words):.2f}"
    )
    delivery = final["delivery"]
    assert abs(delivery["duration_ms"] - len(speech) * 1000 / 32000) <= 1
    assert 0 < delivery["speaking_ms"] < delivery["duration_ms"]
    assert delivery["words"] == len(final["text"].split())
    assert delivery["words_per_minute"] > 0

    # The candidate corrects the transcript and sends it: the correction is the answer,
    # and the recording's delivery goes with it.
    await client.send(
        {
            "type": "answer",
            "text": SENTENCE,
            "source": "voice",
            "turn": turn,
            "upload_id": upload_id,
        }
    )
    accepted = await client.until("answer.accepted")
    assert (accepted["text"], accepted["source"]) == (SENTENCE, "voice")
    score = await client.until("score")
    assert score["delivery"] == delivery

    detail = await session.detail()
    (answered,) = [t for t in detail["turns"] if t["answer"]]
    assert (answered["answer"], answered["answer_source"]) == (SENTENCE, "voice")
    assert answered["delivery"] == delivery
    assert detail["delivery"]["answers"] == 1
    assert detail["delivery"]["speaking_ms"] == delivery["speaking_ms"]
    listed = await session.request("GET", "/api/interviews")
    assert listed["items"][0]["delivery"] == detail["delivery"]
    await client.close()


async def test_a_typed_answer_and_a_spoken_one_naming_no_recording_have_no_delivery(
    live: LiveServer,
) -> None:
    session, client, turn = await _listening(live, question_count=2)
    await client.send({"type": "answer", "text": "typed", "turn": turn})
    assert (await client.until("score"))["delivery"] is None
    end = await client.until("turn.end")
    await client.send(
        {"type": "answer", "text": "spoken, recording gone", "source": "voice", "turn": end["turn"]}
    )
    assert (await client.until("score"))["delivery"] is None
    detail = await session.detail()
    assert [t["delivery"] for t in detail["turns"] if t["answer"]] == [None, None]
    assert detail["delivery"] is None
    listed = await session.request("GET", "/api/interviews")  # once a 500 on SQLite
    assert listed["items"][0]["delivery"] is None
    await client.close()


async def test_a_recording_of_another_turn_lends_its_delivery_to_no_answer(
    live: LiveServer, speech: bytes
) -> None:
    _session, client, turn = await _listening(live, question_count=2)
    upload_id = new_upload_id()
    await record(client, speech, turn, upload_id)
    await client.send({"type": "answer", "text": "typed instead", "turn": turn})
    await client.until("score")
    end = await client.until("turn.end")
    await client.send(
        {
            "type": "answer",
            "text": "reusing the first recording",
            "source": "voice",
            "turn": end["turn"],
            "upload_id": upload_id,
        }
    )
    assert (await client.until("score"))["delivery"] is None
    await client.close()


async def test_a_dropped_upload_resumes_from_the_last_acknowledged_chunk(
    live: LiveServer, speech: bytes
) -> None:
    _, undropped, turn = await _listening(live)
    expected = await record(undropped, speech, turn)
    await undropped.close()

    session, client, turn = await _listening(live)
    upload_id = new_upload_id()
    frames = chunks(speech)
    half = len(frames) // 2
    await start_recording(client, upload_id, turn)
    await client.until("audio.ack")
    await send_chunks(client, frames[:half])
    await client.close()  # the connection drops mid-answer

    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    await start_recording(client, upload_id, turn)
    ack = await client.until("audio.ack")
    assert (ack["next_chunk"], ack["complete"]) == (half, False)
    # A chunk sent twice is acknowledged and ignored.
    ack = await send_chunks(client, frames[half - 1 :])
    assert ack["next_chunk"] == len(frames)
    await client.send({"type": "audio.end", "upload_id": upload_id, "chunks": len(frames)})
    final = await client.until("transcript.final", timeout=60)
    assert (final["text"], final["delivery"]) == (expected["text"], expected["delivery"])
    await client.close()


async def test_a_transcript_missed_in_a_drop_is_sent_again(live: LiveServer, speech: bytes) -> None:
    session, client, turn = await _listening(live)
    upload_id = new_upload_id()
    frames = chunks(speech)
    await start_recording(client, upload_id, turn)
    await client.until("audio.ack")
    await send_chunks(client, frames)
    await client.send({"type": "audio.end", "upload_id": upload_id, "chunks": len(frames)})
    await client.close()  # before the transcript arrives

    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    await start_recording(client, upload_id, turn)
    ack = await client.until("audio.ack")
    assert (ack["next_chunk"], ack["complete"]) == (len(frames), True)
    await client.send({"type": "audio.end", "upload_id": upload_id, "chunks": len(frames)})
    final = await client.until("transcript.final", timeout=60)
    assert final["upload_id"] == upload_id and final["turn"] == turn
    await client.close()


# --- bad input ---------------------------------------------------------------------------


async def _no_event_since(live: LiveServer, session: Session, seq: int) -> None:
    snapshot = await live.app.state.services.live.events.snapshot(session.interview_id)
    assert snapshot is not None and snapshot.seq == seq


async def _bystander(live: LiveServer) -> InterviewClient:
    session = await new_session(live.http, question_count=1)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    await client.until("turn.delta")
    return client


async def _bystander_finished_its_turn(client: InterviewClient) -> None:
    end = await client.until("turn.end")
    assert end["interrupted"] is False and client.turn_texts()[end["turn"]] == end["text"]
    await client.send({"type": "answer", "text": "fine", "turn": end["turn"]})
    assert (await client.until("answer.accepted"))["text"] == "fine"
    await client.close()


async def _expect_error(client: InterviewClient, code: str, fragment: str = "") -> dict[str, Any]:
    error = await client.until("error")
    assert error["seq"] == 0 and error["code"] == code, error
    assert fragment in error["message"], error
    return error


async def test_audio_frames_in_the_wrong_order_or_shape_get_their_codes(
    live: LiveServer, speech: bytes
) -> None:
    session, client, turn = await _listening(live)
    seq = client.last_seq
    bystander = await _bystander(live)
    assert client.ws is not None
    frames = chunks(speech)

    await client.ws.send(frames[0])  # no recording open
    await _expect_error(client, "audio_not_started", "audio.start")

    await start_recording(client, new_upload_id(), turn, sample_rate=44100)
    await _expect_error(client, "audio_format_unsupported", "16000")
    await start_recording(client, new_upload_id(), turn, format="webm")
    await _expect_error(client, "audio_format_unsupported", "pcm_s16le")
    await start_recording(client, new_upload_id(), turn, channels=2)
    await _expect_error(client, "audio_format_unsupported", "mono")
    await client.send(
        {
            "type": "audio.start",
            "upload_id": "short",
            "turn": turn,
            "format": "pcm_s16le",
            "sample_rate": 16000,
        }
    )
    await _expect_error(client, "malformed_frame", "upload_id")

    upload_id = new_upload_id()
    await start_recording(client, upload_id, turn)
    await client.until("audio.ack")
    await client.ws.send(b"\x00\x00\x00\x00\x01")  # half a sample
    await _expect_error(client, "malformed_frame", "16-bit samples")
    await client.ws.send(b"\x00\x00")  # no samples at all
    await _expect_error(client, "malformed_frame", "4-byte index")
    await client.ws.send(frames[1])  # chunk 0 never came
    error = await _expect_error(client, "audio_out_of_order", "resend from chunk 0")
    assert error["retryable"] is True
    ack = await client.until("audio.ack")
    assert ack["next_chunk"] == 0

    await send_chunks(client, frames[:2])
    await client.send({"type": "audio.end", "upload_id": upload_id, "chunks": len(frames)})
    assert (await _expect_error(client, "audio_incomplete", "resend from chunk 2"))["retryable"]
    assert (await client.until("audio.ack"))["next_chunk"] == 2

    await start_recording(client, upload_id, turn + 1)  # the same id for another recording
    await _expect_error(client, "upload_id_reused", upload_id)

    await client.send({"type": "audio.end", "upload_id": new_upload_id(), "chunks": 3})
    await _expect_error(client, "upload_not_found", "record the answer again")
    await client.send({"type": "audio.cancel", "upload_id": upload_id})
    await client.send({"type": "audio.end", "upload_id": upload_id, "chunks": 2})
    await _expect_error(client, "upload_not_found")

    # Nothing of this reached the interview, and the socket still works.
    await client.send({"type": "ping", "t": 1})
    assert (await client.until("pong"))["t"] == 1
    await _no_event_since(live, session, seq)
    await _bystander_finished_its_turn(bystander)
    await client.close()


async def test_a_binary_frame_before_hello_closes_with_4400(live: LiveServer) -> None:
    session = await new_session(live.http, question_count=1)
    async with connect(live.ws_url(session.interview_id)) as ws:
        await ws.send(chunks(b"\x00\x00" * 100)[0])
        await ws.wait_closed()
        assert ws.close_code == 4400 and "binary" in (ws.close_reason or "")


async def test_a_recording_longer_than_the_limit_is_refused_and_nothing_more_is_stored(
    settings: Settings, speech: bytes
) -> None:
    async with LiveServer(_tuned(settings, voice_max_seconds=5)).running() as live:
        session, client, turn = await _listening(live)
        seq = client.last_seq
        upload_id = new_upload_id()
        await start_recording(client, upload_id, turn)
        await client.until("audio.ack")
        assert client.ws is not None
        limit_chunks = 5 * 32000 // 8000
        too_long = chunks(b"\x01\x00" * (3 * 32000))[: limit_chunks + 2]
        await send_chunks(client, too_long[:limit_chunks])
        await client.ws.send(too_long[limit_chunks])
        error = await _expect_error(client, "audio_too_long", "5 s")
        assert error["retryable"] is False
        ack = await client.until("audio.ack")
        assert (ack["next_chunk"], ack["received_ms"]) == (limit_chunks, 5000)
        # What arrived within the limit is still a recording that can be transcribed.
        await client.send({"type": "audio.end", "upload_id": upload_id, "chunks": limit_chunks})
        assert (await client.until("transcript.final", timeout=60))["upload_id"] == upload_id
        await _no_event_since(live, session, seq)
        await client.close()


async def test_too_many_recordings_at_once_are_refused_until_one_ends(
    settings: Settings, speech: bytes
) -> None:
    async with LiveServer(_tuned(settings, voice_max_uploads=1)).running() as live:
        _, first, first_turn = await _listening(live)
        _, second, second_turn = await _listening(live)
        first_id = new_upload_id()
        await start_recording(first, first_id, first_turn)
        await first.until("audio.ack")
        await start_recording(second, new_upload_id(), second_turn)
        error = await _expect_error(second, "too_many_uploads", "try again")
        assert error["retryable"] is True
        await first.send({"type": "audio.cancel", "upload_id": first_id})
        await first.send({"type": "ping", "t": 1})  # frames of a socket are handled in order
        await first.until("pong")
        second_id = new_upload_id()
        await start_recording(second, second_id, second_turn)  # the slot is free again
        assert (await second.until("audio.ack"))["upload_id"] == second_id
        await first.close()
        await second.close()


async def test_audio_faster_than_four_times_real_time_closes_with_4429(
    live: LiveServer,
) -> None:
    _, client, turn = await _listening(live)
    await start_recording(client, new_upload_id(), turn)
    await client.until("audio.ack")
    assert client.ws is not None
    # 30 s of burst, then more than 4x real time.
    for frame in chunks(b"\x00\x01" * (16000 * 40), size=16000):
        try:
            await client.ws.send(frame)
        except Exception:
            break
    code, reason = await client.closed_with()
    assert code == 4429 and "audio" in reason


# --- Gemini's recogniser -----------------------------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeGemini]:
    async with FakeGemini(models=("gemini-3.5-transcribe",)) as server:
        yield server


@pytest.fixture
async def gemini_live(settings: Settings, fake: FakeGemini) -> AsyncIterator[LiveServer]:
    tuned = _tuned(
        settings,
        voice_recognizer="auto",
        gemini_api_key=SecretStr("test-key"),
        gemini_base_url=fake.base_url,
        gemini_api_version="v1beta",
    )
    async with LiveServer(tuned).running() as server:
        yield server


async def test_with_a_key_gemini_transcribes_and_a_failure_can_be_retried(
    gemini_live: LiveServer, fake: FakeGemini, speech: bytes
) -> None:
    live = gemini_live
    _, client, turn = await _listening(live)
    upload_id = new_upload_id()
    frames = chunks(speech)
    fake.forever("generate", Fail(429))
    await start_recording(client, upload_id, turn)
    await client.until("audio.ack")
    await send_chunks(client, frames)
    await client.send({"type": "audio.end", "upload_id": upload_id, "chunks": len(frames)})
    error = await _expect_error(client, "transcription_failed", "Try again")
    assert error["retryable"] is True

    fake.forever("generate", Reply("um I would add an index on user id"))
    await client.send({"type": "audio.end", "upload_id": upload_id, "chunks": len(frames)})
    final = await client.until("transcript.final", timeout=30)
    assert final["text"] == "um I would add an index on user id"
    assert (final["recognizer"], final["rough"]) == ("gemini-3.5-transcribe", False)
    assert final["delivery"]["fillers"] == {"um": 1}
    request = fake.calls("generateContent")[-1]
    ((mime, wav),) = request.inline
    assert mime == "audio/wav" and wav.endswith(speech)
    await client.close()


# --- keeping recordings ------------------------------------------------------------------


async def test_kept_recordings_go_with_their_interview_and_after_the_retention_period(
    settings: Settings, speech: bytes
) -> None:
    async with LiveServer(_tuned(settings, voice_keep_audio=True)).running() as live:
        sessionmaker = live.app.state.services.sessionmaker
        first, client, turn = await _listening(live)
        first_id = new_upload_id()
        await record(client, speech, turn, first_id)
        await client.close()
        second, client, turn = await _listening(live)
        await record(client, speech, turn)
        await client.close()
        async with sessionmaker() as db:
            kept = (await db.scalars(select(AnswerAudio).order_by(AnswerAudio.id))).all()
        assert next((str(a.interview_id), a.upload_id, a.pcm) for a in kept) == (
            first.interview_id,
            first_id,
            speech,
        )
        assert len(kept) == 2
        # The candidate can play it back; nobody else can.
        async with httpx.AsyncClient(base_url=live.http, timeout=10) as http:
            path = f"/api/interviews/{first.interview_id}/turns/{turn}/audio"
            played = await http.get(path, headers=first.headers)
            assert played.status_code == 200
            assert played.headers["content-type"] == "audio/wav"
            with wave.open(io.BytesIO(played.content)) as wav:
                assert wav.getframerate() == 16000
                assert wav.readframes(wav.getnframes()) == speech
            assert (await http.get(path, headers=second.headers)).status_code == 404
            missing = f"/api/interviews/{first.interview_id}/turns/{turn + 1}/audio"
            assert (await http.get(missing, headers=first.headers)).status_code == 404

        await first.request("DELETE", f"/api/interviews/{first.interview_id}")
        async with sessionmaker() as db:
            left = (await db.scalars(select(AnswerAudio))).all()
            assert [str(a.interview_id) for a in left] == [second.interview_id]
            await db.execute(
                update(AnswerAudio).values(created_at=datetime.now(UTC) - timedelta(days=31))
            )
            await db.commit()
        assert await purge_audio(sessionmaker, 30) == 1
        async with sessionmaker() as db:
            assert (await db.scalars(select(AnswerAudio))).all() == []


async def test_without_keeping_the_recording_is_dropped_once_transcribed(
    live: LiveServer, speech: bytes
) -> None:
    session, client, turn = await _listening(live)
    upload_id = new_upload_id()
    await record(client, speech, turn, upload_id)
    uploads = live.app.state.services.live.uploads
    assert await uploads.audio(session.interview_id, upload_id) is None
    async with live.app.state.services.sessionmaker() as db:
        assert (await db.scalars(select(AnswerAudio))).all() == []
    async with httpx.AsyncClient(base_url=live.http, timeout=10) as http:
        path = f"/api/interviews/{session.interview_id}/turns/{turn}/audio"
        assert (await http.get(path, headers=session.headers)).status_code == 404
    await client.close()


def _word_errors(reference: list[str], hypothesis: list[str]) -> int:
    """Levenshtein distance in words."""
    row = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        previous, row[0] = row[0], i
        for j, hyp in enumerate(hypothesis, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ref != hyp))
    return row[-1]
