"""Voice benchmarks.

``interview bench --recognition``: how fast the embedded recogniser transcribes. Speaks a
few sentences with flite (or takes WAV files), transcribes each through
``PocketsphinxRecognizer`` and prints, per recording, its length, the worker's CPU seconds
(measured inside the worker, around the decode), the wall seconds and the real-time factors;
then the same with N transcriptions at once.

``interview bench --voice N``: ``VoiceLoad`` records N spoken answers on the gateway under
test and ends them all at once while its streaming interviews run.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import subprocess
import tempfile
import time
import wave
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import typer
from websockets.asyncio.client import ClientConnection, connect

from server.bench.side import SideContext
from server.protocol import AUDIO_FORMAT, AUDIO_SAMPLE_RATE, AudioEnd, AudioStart, Hello
from server.voice.pocketsphinx import SAMPLE_RATE, PocketsphinxRecognizer

SENTENCES = (
    "I would add an index on the user id column and check the query plan before and after",
    "The cache sits in front of the database and absorbs most of the reads",
    "First I would measure where the time goes, then fix the slowest query, and only then "
    "think about adding a cache or more servers, because every layer has a cost",
)
CONCURRENCY = (1, 2, 4)


class RecognitionBenchError(Exception):
    """The recordings could not be made or read; the message says why."""


@dataclass(frozen=True, slots=True)
class Row:
    """One measurement: ``at_once`` transcriptions started together."""

    label: str
    at_once: int
    audio_s: float  # all recordings together
    cpu_s: float  # worker CPU, all recordings together
    wall_s: float  # until the last transcript came back
    slowest_s: float  # the longest single wait for a transcript

    @property
    def cpu_rtf(self) -> float:
        return self.cpu_s / self.audio_s if self.audio_s else 0.0

    @property
    def wall_rtf(self) -> float:
        return self.wall_s / self.audio_s if self.audio_s else 0.0


def synthesise(texts: Sequence[str], directory: Path) -> list[Path]:
    """Each of ``texts`` spoken by flite, as a 16 kHz mono 16-bit WAV in ``directory``."""
    missing = [tool for tool in ("flite", "sox") if shutil.which(tool) is None]
    if missing:
        raise RecognitionBenchError(
            f"{' and '.join(missing)} not found: install them (apt-get install flite sox) "
            "or pass WAV files"
        )
    paths = []
    for i, text in enumerate(texts):
        raw, out = directory / f"raw-{i}.wav", directory / f"speech-{i}.wav"
        subprocess.run(["flite", "-t", text, "-o", str(raw)], check=True)
        subprocess.run(
            ["sox", "-R", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(out)],
            check=True,
        )
        paths.append(out)
    return paths


def read_pcm(path: Path) -> bytes:
    with wave.open(str(path), "rb") as wav:
        shape = (wav.getframerate(), wav.getnchannels(), wav.getsampwidth())
        if shape != (SAMPLE_RATE, 1, 2):
            raise RecognitionBenchError(
                f"{path}: expected {SAMPLE_RATE} Hz mono 16-bit, got {shape[0]} Hz, "
                f"{shape[1]} channel(s), {shape[2] * 8}-bit"
            )
        return wav.readframes(wav.getnframes())


def recognition_rtf(
    *,
    workers: int,
    wav_paths: Sequence[Path] = (),
    concurrency: Sequence[int] = CONCURRENCY,
    echo: Callable[[str], None] = typer.echo,
) -> list[Row]:
    """Measure and print the table; returns its rows (the first is the cold start)."""
    with tempfile.TemporaryDirectory(prefix="bench-voice-") as tmp:
        paths = list(wav_paths) or synthesise(SENTENCES, Path(tmp))
        clips = [(path.name, read_pcm(path)) for path in paths]
    rows = asyncio.run(_measure(clips, workers, concurrency))
    echo(render(rows, workers))
    return rows


async def _measure(
    clips: Sequence[tuple[str, bytes]], workers: int, concurrency: Sequence[int]
) -> list[Row]:
    recognizer = PocketsphinxRecognizer(workers)
    try:
        rows = [await _at_once(recognizer, "cold start (spawn + model load)", clips[:1])]
        for name, pcm in clips:
            rows.append(await _at_once(recognizer, name, [(name, pcm)]))
        for n in concurrency:
            batch = [clips[i % len(clips)] for i in range(n)]
            rows.append(await _at_once(recognizer, f"{n} at once", batch))
        return rows
    finally:
        await recognizer.close()


async def _at_once(
    recognizer: PocketsphinxRecognizer, label: str, clips: Sequence[tuple[str, bytes]]
) -> Row:
    started = time.perf_counter()
    waits: list[float] = []

    async def one(pcm: bytes) -> float:
        decoded = await recognizer.decode(pcm, sample_rate=SAMPLE_RATE)
        waits.append(time.perf_counter() - started)
        return decoded.cpu_s

    cpu = await asyncio.gather(*(one(pcm) for _, pcm in clips))
    return Row(
        label=label,
        at_once=len(clips),
        audio_s=sum(len(pcm) for _, pcm in clips) / (SAMPLE_RATE * 2),
        cpu_s=sum(cpu),
        wall_s=time.perf_counter() - started,
        slowest_s=max(waits),
    )


def render(rows: Sequence[Row], workers: int) -> str:
    header = (
        f"{'recordings':<34} {'at once':>7} {'audio s':>8} {'worker CPU s':>12} "
        f"{'wall s':>7} {'CPU RTF':>8} {'wall RTF':>8} {'slowest s':>9}"
    )
    lines = [f"pocketsphinx, {workers} worker(s)", header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row.label[:34]:<34} {row.at_once:>7} {row.audio_s:>8.2f} {row.cpu_s:>12.2f} "
            f"{row.wall_s:>7.2f} {row.cpu_rtf:>8.3f} {row.wall_rtf:>8.3f} {row.slowest_s:>9.2f}"
        )
    lines.append(
        "RTF: seconds of work per second of audio (CPU: inside the worker; wall: until the "
        "last transcript). Below 1 is faster than real time."
    )
    return "\n".join(lines)


# --- spoken answers beside streaming interviews (interview bench --voice N) ---------------

VOICE_SENTENCE = SENTENCES[2]
CHUNK_BYTES = 8000  # 250 ms, what the browser sends


class VoiceLoad:
    """Interviews that each record one spoken answer, then all end their recordings at
    once: ``count`` transcriptions in flight while the streaming interviews run."""

    def __init__(self, count: int, pcm: Callable[[], bytes]) -> None:
        self.interviews = count
        self.label = f"+{count} voice"
        self._pcm = pcm
        self.pcm = b""
        self.access_token = ""
        self.waits_s: list[float] = []
        self.errors: Counter[str] = Counter()
        self._sockets: list[tuple[ClientConnection, str]] = []

    async def prepare(self, context: SideContext) -> None:
        """Connect, wait for the first question, upload the recording (not yet ended)."""
        self.pcm = await asyncio.to_thread(self._pcm)
        self.access_token = context.token
        await asyncio.gather(*(self._prepare_one(url) for url in context.urls))

    async def _prepare_one(self, url: str) -> None:
        try:
            ws = await connect(url, compression=None, open_timeout=30, max_size=2**22)
            await ws.send(Hello(type="hello", token=self.access_token).model_dump_json())
            async with asyncio.timeout(60):
                turn = await _until(ws, "turn.end")
            upload_id = secrets.token_urlsafe(12)
            start = AudioStart(
                type="audio.start",
                upload_id=upload_id,
                turn=turn["turn"],
                format=AUDIO_FORMAT,
                sample_rate=AUDIO_SAMPLE_RATE,
            )
            await ws.send(start.model_dump_json())
            await _until(ws, "audio.ack")
            for index, offset in enumerate(range(0, len(self.pcm), CHUNK_BYTES)):
                await ws.send(index.to_bytes(4, "big") + self.pcm[offset : offset + CHUNK_BYTES])
                await _until(ws, "audio.ack")
            self._sockets.append((ws, upload_id))
        except Exception as exc:
            self.errors[f"voice set-up: {type(exc).__name__}: {exc}"[:120]] += 1

    async def during(self) -> None:
        """End every recording at the same moment; wait for each transcript."""
        chunks = -(-len(self.pcm) // CHUNK_BYTES)

        async def one(ws: ClientConnection, upload_id: str) -> None:
            began = time.perf_counter()
            end = AudioEnd(type="audio.end", upload_id=upload_id, chunks=chunks)
            try:
                await ws.send(end.model_dump_json())
                async with asyncio.timeout(120):
                    await _until(ws, "transcript.final")
                self.waits_s.append(time.perf_counter() - began)
            except Exception as exc:
                self.errors[f"voice: {type(exc).__name__}: {exc}"[:120]] += 1

        await asyncio.gather(*(one(ws, upload_id) for ws, upload_id in self._sockets))

    async def close(self) -> None:
        for ws, _ in self._sockets:
            with contextlib.suppress(Exception):
                await ws.close()

    def report(self, result: dict[str, Any]) -> None:
        waits = sorted(self.waits_s)
        p50 = f"{waits[len(waits) // 2]:.2f}" if waits else "-"
        longest = f"{waits[-1]:.2f}" if waits else "-"
        result["voice_transcribed"] = len(waits)
        result["side"] = (
            f"{len(waits)}/{self.interviews} transcribed, wait for a transcript p50 {p50} s, "
            f"max {longest} s"
        )
        if self.errors:
            result["errors"] = {**result.get("errors", {}), **self.errors}


async def _until(ws: ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        frame: dict[str, Any] = orjson.loads(await ws.recv())
        if frame.get("type") == kind:
            return frame
        if frame.get("type") == "error":
            raise RuntimeError(f"{frame.get('code')}: {frame.get('message')}")
