"""How an answer was spoken: speaking time and pauses from the audio, pace and fillers from
the transcript.

Voice activity is energy against the recording's own noise floor: each 10 ms step is speech
when the mean power of the 30 ms window around it, and its own, are 10 dB above the floor
(the level of the quietest tenth of the recording) and above -55 dBFS. Gaps under 300 ms
are bridged (the breaks between words count as speaking time) and bursts under 50 ms
(clicks) are dropped. The numbers do not depend on which recogniser made the transcript.
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt

from server.protocol import Delivery
from server.voice.base import Transcript

HOP_MS = 10
FLOOR_PERCENTILE = 10.0  # the floor: assumes a tenth of any answer falls between words
SPEECH_ABOVE_FLOOR_DB = 10.0
QUIETEST_SPEECH_DBFS = -55.0  # never speech below this, whatever the floor (digital silence)
BRIDGE_GAP_MS = 300
MIN_BURST_MS = 50
LONG_PAUSE_MS = 2000
_SILENT_POWER = 1e-10  # -100 dBFS: keeps log10 finite on digital silence

# Fillers counted in a transcript, matched as whole words ignoring case. Drawn-out spellings
# (umm, uhh, hmmm, ahh) count as the filler they stretch. Hedges such as "kind of" are left
# out: a transcript cannot tell them from plain use ("what kind of index").
FILLERS: tuple[str, ...] = (
    "um",
    "uh",
    "er",
    "erm",
    "ah",
    "hmm",
    "mm",
    "you know",
    "i mean",
    "basically",
    "literally",
)
_STRETCHED = (
    (re.compile(r"u+h*m+"), "um"),
    (re.compile(r"u+h+"), "uh"),
    (re.compile(r"e+r+m+"), "erm"),
    (re.compile(r"e+r+"), "er"),
    (re.compile(r"a+h+"), "ah"),
    (re.compile(r"h+m+"), "hmm"),
    (re.compile(r"m{2,}"), "mm"),
)
_PHRASES = sorted((tuple(filler.split()) for filler in FILLERS), key=len, reverse=True)
# A word: letters and digits, with inner apostrophes or hyphens ("don't", "read-only").
_WORD = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*")

Mask = npt.NDArray[np.bool_]


def measure(pcm: bytes, sample_rate: int, transcript: Transcript) -> Delivery:
    """The delivery of ``pcm`` (16-bit little-endian mono at ``sample_rate``) and its
    ``transcript``."""
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2")
    duration_ms = len(samples) * 1000 // sample_rate if sample_rate > 0 else 0
    runs = _speech_runs(samples, sample_rate)
    speaking_ms = sum(end - start for start, end in runs) * HOP_MS
    pauses = [(runs[i + 1][0] - runs[i][1]) * HOP_MS for i in range(len(runs) - 1)]
    tokens = _words(transcript.text)
    heard = count_fillers(tokens)
    return Delivery(
        duration_ms=duration_ms,
        speaking_ms=speaking_ms,
        words=len(tokens),
        words_per_minute=round(len(tokens) * 60_000 / speaking_ms, 1) if speaking_ms else 0.0,
        filler_words=sum(heard.values()),
        fillers=heard,
        long_pauses=sum(1 for pause in pauses if pause >= LONG_PAUSE_MS),
        longest_pause_ms=max(pauses, default=0),
    )


def _speech_runs(samples: npt.NDArray[np.int16], sample_rate: int) -> list[tuple[int, int]]:
    """Spans of speech as [start, end) hop indexes, in order."""
    hop = sample_rate * HOP_MS // 1000
    count = len(samples) // hop if hop > 0 else 0
    if count == 0:
        return []
    signal = samples[: count * hop].astype(np.float64) / 32768.0
    signal -= signal.mean()  # a microphone's DC offset is not sound
    power = (signal.reshape(count, hop) ** 2).mean(axis=1)
    padded = np.pad(power, 1)  # silence beyond both ends
    window = (padded[:-2] + padded[1:-1] + padded[2:]) / 3.0  # the 30 ms around each hop
    level_db = 10.0 * np.log10(window + _SILENT_POWER)
    floor_db = float(np.percentile(level_db, FLOOR_PERCENTILE))
    threshold_db = max(floor_db + SPEECH_ABOVE_FLOOR_DB, QUIETEST_SPEECH_DBFS)
    # The hop itself must be loud too: the window alone would widen each burst by a hop
    # on either side.
    own_db = 10.0 * np.log10(power + _SILENT_POWER)
    runs = _runs((level_db > threshold_db) & (own_db > threshold_db))
    runs = _bridge(runs, BRIDGE_GAP_MS // HOP_MS)
    shortest = -(-MIN_BURST_MS // HOP_MS)
    return [(start, end) for start, end in runs if end - start >= shortest]


def _runs(mask: Mask) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return [(int(s), int(e)) for s, e in zip(starts, ends, strict=True)]


def _bridge(runs: list[tuple[int, int]], max_gap: int) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in runs:
        if merged and start - merged[-1][1] < max_gap:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _words(text: str) -> list[str]:
    return [word.casefold() for word in _WORD.findall(text)]


def _filler_word(word: str) -> str:
    for pattern, filler in _STRETCHED:
        if pattern.fullmatch(word):
            return filler
    return word


def count_fillers(words: list[str]) -> dict[str, int]:
    """Each filler in ``words`` (lower case, in order) and how often, in ``FILLERS`` order;
    a phrase's words are not counted again on their own."""
    normal = [_filler_word(word) for word in words]
    counts = dict.fromkeys(FILLERS, 0)
    i = 0
    while i < len(normal):
        for phrase in _PHRASES:
            if tuple(normal[i : i + len(phrase)]) == phrase:
                counts[" ".join(phrase)] += 1
                i += len(phrase)
                break
        else:
            i += 1
    return {filler: n for filler, n in counts.items() if n}
