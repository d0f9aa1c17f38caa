"""Delivery measured from synthetic recordings whose truth is known, and from flite speech."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from server.voice.base import Transcript
from server.voice.delivery import FILLERS, count_fillers, measure
from tests.voice.conftest import Spoken

RATE = 16000
TOLERANCE_MS = 30  # one 30 ms frame


def recording(*parts: tuple[str, float], noise: float = 0.001, seed: int = 7) -> bytes:
    """PCM of ("tone" | "silence", seconds) parts: voiced bursts at speech level (about
    -20 dBFS) and exact silences, with low background noise (-60 dBFS) throughout."""
    pieces: list[npt.NDArray[np.float64]] = []
    for kind, seconds in parts:
        t = np.arange(round(seconds * RATE)) / RATE
        if kind == "tone":
            wave = 0.06 * np.sin(2 * np.pi * 180 * t) + 0.04 * np.sin(2 * np.pi * 540 * t)
            pieces.append(wave * (1 + 0.3 * np.sin(2 * np.pi * 4 * t)))  # syllable-like swell
        else:
            pieces.append(np.zeros_like(t))
    signal = np.concatenate(pieces)
    signal += np.random.default_rng(seed).normal(0.0, noise, len(signal))
    return (np.clip(signal, -1, 1) * 32767).astype("<i2").tobytes()


def test_speaking_time_and_pauses_match_the_recording_within_two_frames() -> None:
    # Edges off the 10 ms grid on purpose.
    pcm = recording(
        ("silence", 0.513),
        ("tone", 1.007),
        ("silence", 1.004),
        ("tone", 0.795),
        ("silence", 2.506),
        ("tone", 1.203),
        ("silence", 0.7),
    )

    delivery = measure(pcm, RATE, Transcript(""))

    print(f"\n{delivery!r}")
    assert delivery.duration_ms == 7728
    assert abs(delivery.speaking_ms - 3005) <= TOLERANCE_MS
    assert abs(delivery.longest_pause_ms - 2506) <= TOLERANCE_MS
    assert delivery.long_pauses == 1  # the 2.5 s gap; the 1 s one is not long


def test_leading_and_trailing_silence_are_not_pauses() -> None:
    pcm = recording(("silence", 3.0), ("tone", 1.5), ("silence", 4.0))

    delivery = measure(pcm, RATE, Transcript("fine"))

    assert (delivery.long_pauses, delivery.longest_pause_ms) == (0, 0)
    assert abs(delivery.speaking_ms - 1500) <= TOLERANCE_MS


def test_gaps_between_words_are_speaking_time_not_pauses() -> None:
    """Gaps under 300 ms are bridged; a pause starts at 300 ms."""
    pcm = recording(
        ("silence", 0.5),
        ("tone", 0.4),
        ("silence", 0.2),
        ("tone", 0.4),
        ("silence", 0.5),
        ("tone", 0.4),
        ("silence", 0.5),
    )

    delivery = measure(pcm, RATE, Transcript(""))

    assert abs(delivery.speaking_ms - 1400) <= TOLERANCE_MS  # (0.4 + 0.2 + 0.4) + 0.4
    assert abs(delivery.longest_pause_ms - 500) <= TOLERANCE_MS
    assert delivery.long_pauses == 0


def test_a_click_in_a_long_pause_does_not_split_it() -> None:
    pcm = bytearray(recording(("tone", 1.0), ("silence", 3.0), ("tone", 1.0)))
    click_at = int(2.5 * RATE) * 2
    pcm[click_at : click_at + 2 * 160] = (np.full(160, 20000, "<i2")).tobytes()  # 10 ms

    delivery = measure(bytes(pcm), RATE, Transcript(""))

    assert delivery.long_pauses == 1
    assert abs(delivery.longest_pause_ms - 3000) <= TOLERANCE_MS


@pytest.mark.parametrize(
    "pcm",
    [b"", b"\x00", b"\x00\x00" * RATE * 3, recording(("silence", 3.0), noise=0.002)],
    ids=["empty", "half-sample", "digital-silence", "noise-only"],
)
def test_no_speech_gives_zero_pace_without_dividing_by_zero(pcm: bytes) -> None:
    delivery = measure(pcm, RATE, Transcript("hello there"))

    assert (delivery.speaking_ms, delivery.words_per_minute) == (0, 0.0)
    assert (delivery.long_pauses, delivery.longest_pause_ms) == (0, 0)
    assert delivery.words == 2
    assert delivery.duration_ms == len(pcm) // 2 * 1000 // RATE


def test_pace_is_words_per_minute_of_speaking_time() -> None:
    """Pauses do not slow the pace: 12 words in 4.8 s of speech is 150 a minute."""
    pcm = recording(("tone", 2.4), ("silence", 3.0), ("tone", 2.4))
    text = "one two three four five six seven eight nine ten eleven twelve"

    delivery = measure(pcm, RATE, Transcript(text))

    assert delivery.words == 12
    assert delivery.words_per_minute == round(12 * 60_000 / delivery.speaking_ms, 1)
    assert 147 <= delivery.words_per_minute <= 153


def test_fillers_are_whole_words_and_phrases_count_once() -> None:
    text = (
        "Um, so the umbrella term is, you know, caching. Uh I mean it's basically, "
        "UMM, kind of a sort of literally hmm mm hmmm er erm ah. Ahead, uhm, you knowledge."
    )

    delivery = measure(b"", RATE, Transcript(text))

    assert delivery.fillers == {
        "um": 3,  # "Um", "UMM", "uhm"; not "umbrella"
        "uh": 1,
        "er": 1,
        "erm": 1,
        "ah": 1,  # not "Ahead"
        "hmm": 2,
        "mm": 1,
        "you know": 1,  # not "you knowledge"
        "i mean": 1,
        "basically": 1,
        "literally": 1,
    }
    assert delivery.filler_words == 14  # "kind of" and "sort of" are hedges, not counted
    assert list(delivery.fillers) == [f for f in FILLERS if f in delivery.fillers]


def test_words_are_counted_with_contractions_and_hyphens_as_one() -> None:
    delivery = measure(b"", RATE, Transcript("It's a read-only replica, isn't it? 42 ms."))

    assert delivery.words == 8


def test_count_fillers_takes_lower_case_words_in_order() -> None:
    assert count_fillers(["you", "know", "you", "know", "know"]) == {"you know": 2}
    assert count_fillers(["i", "meant", "kind", "sort"]) == {}


def test_flite_speech_gives_plausible_numbers(spoken: dict[str, Spoken]) -> None:
    speech = spoken["index"]

    delivery = measure(speech.pcm, RATE, Transcript(speech.text))

    print(f"\n{speech.path.name}: {delivery!r}")
    assert delivery.duration_ms == speech.duration_ms
    # 0.3 s of silence either side; flite speaks without a pause.
    assert 0.6 * delivery.duration_ms < delivery.speaking_ms < delivery.duration_ms - 500
    assert (delivery.long_pauses, delivery.filler_words) == (0, 0)
    assert delivery.words == 18
    assert 150 <= delivery.words_per_minute <= 320
