"""Spoken answers for tests: Debian's flite speaks a sentence, sox makes it 16 kHz mono PCM.

pocketsphinx recognises flite's voice far better than espeak's (../shared/VOICE.md).
Both programs are installed by .ci/run; a missing one fails the test, never skips it.
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
import subprocess
import wave
from pathlib import Path
from typing import Any

from tests.wsclient import InterviewClient

SENTENCE = "I would add an index on the user id column and check the query plan before and after"
CHUNK_BYTES = 8000  # 250 ms of 16 kHz 16-bit mono, what the browser sends


def speak(text: str, directory: Path, *, pad_s: float = 0.0) -> Path:
    """A WAV of ``text`` (16 kHz, mono, 16-bit), cached in ``directory`` by its text;
    ``pad_s`` of silence before and after."""
    for tool in ("flite", "sox"):
        assert shutil.which(tool), (
            f"{tool} is needed for spoken-answer tests (apt-get install {tool})"
        )
    key = hashlib.sha1(f"{text}|{pad_s}".encode()).hexdigest()[:16]
    out = directory / f"speech-{key}.wav"
    if not out.exists():
        raw = directory / f"raw-{key}.wav"
        subprocess.run(["flite", "-t", text, "-o", str(raw)], check=True)
        pad = ["pad", str(pad_s), str(pad_s)] if pad_s else []
        subprocess.run(
            ["sox", "-R", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out), *pad],
            check=True,
        )
    return out


def pcm_of(path: Path) -> bytes:
    with wave.open(str(path)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        return wav.readframes(wav.getnframes())


def chunks(pcm: bytes, size: int = CHUNK_BYTES) -> list[bytes]:
    """Binary frames of the protocol: a 4-byte big-endian index, then the samples."""
    return [
        index.to_bytes(4, "big") + pcm[start : start + size]
        for index, start in enumerate(range(0, len(pcm), size))
    ]


# --- the audio frames of the protocol, as a client sends them --------------------------


def new_upload_id() -> str:
    return secrets.token_urlsafe(12)


async def start_recording(client: InterviewClient, upload_id: str, turn: int, **extra: Any) -> None:
    await client.send(
        {
            "type": "audio.start",
            "upload_id": upload_id,
            "turn": turn,
            "format": "pcm_s16le",
            "sample_rate": 16000,
            "channels": 1,
            **extra,
        }
    )


async def send_chunks(client: InterviewClient, frames: list[bytes]) -> dict[str, Any]:
    """Send chunks one by one, each acknowledged; the last ack."""
    assert client.ws is not None
    ack: dict[str, Any] = {}
    for frame in frames:
        await client.ws.send(frame)
        ack = await client.until("audio.ack", "error")
        assert ack["type"] == "audio.ack", ack
    return ack


async def record(
    client: InterviewClient, pcm: bytes, turn: int, upload_id: str | None = None
) -> dict[str, Any]:
    """Record ``pcm`` as the answer to ``turn``; the transcript.final frame."""
    upload_id = upload_id or new_upload_id()
    await start_recording(client, upload_id, turn)
    ack = await client.until("audio.ack")
    assert (ack["next_chunk"], ack["complete"]) == (0, False)
    frames = chunks(pcm)
    ack = await send_chunks(client, frames)
    assert ack["next_chunk"] == len(frames)
    assert ack["received_ms"] == len(pcm) * 1000 // 32000
    await client.send({"type": "audio.end", "upload_id": upload_id, "chunks": len(frames)})
    return await client.until("transcript.final", timeout=60)
