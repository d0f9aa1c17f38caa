"""Recordings for the recogniser tests: flite speaks, sox makes 16 kHz mono 16-bit WAVs.

sox runs in repeatable mode (``-R``: its dither is seeded), so each run decodes the very
same samples. A missing flite or sox fails the tests, never skips them.
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import pytest

SENTENCES = {
    "index": "I would add an index on the user id column and check the query plan before and after",
    "cache": "The cache sits in front of the database and absorbs most of the reads",
}


@dataclass(frozen=True)
class Spoken:
    text: str
    path: Path
    pcm: bytes

    @property
    def duration_ms(self) -> int:
        return len(self.pcm) * 1000 // 32000


@pytest.fixture(scope="session")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Spoken]:
    """Each sentence of ``SENTENCES`` as flite says it, with 0.3 s of silence either side."""
    for tool in ("flite", "sox"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is needed for the voice tests: apt-get install flite sox")
    directory = tmp_path_factory.mktemp("voice")
    made = {}
    for name, text in SENTENCES.items():
        raw, path = directory / f"{name}-8k.wav", directory / f"{name}.wav"
        subprocess.run(["flite", "-t", text, "-o", str(raw)], check=True)
        resample = ["-r", "16000", "-c", "1", "-b", "16"]
        subprocess.run(
            ["sox", "-R", str(raw), *resample, str(path), "pad", "0.3", "0.3"], check=True
        )
        with wave.open(str(path)) as wav:
            assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
            made[name] = Spoken(text, path, wav.readframes(wav.getnframes()))
    return made


def word_error_rate(reference: str, heard: str) -> float:
    """Word-level edit distance over the reference's length (lower case, words only)."""
    ref = [w.strip(".,?!").lower() for w in reference.split()]
    hyp = [w.strip(".,?!").lower() for w in heard.split()]
    row = list(range(len(hyp) + 1))
    for i, word in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, other in enumerate(hyp, 1):
            previous, row[j] = (
                row[j],
                min(row[j] + 1, row[j - 1] + 1, previous + (word != other)),
            )
    return row[len(hyp)] / max(1, len(ref))
