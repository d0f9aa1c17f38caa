"""The recognition benchmark runs end to end (its numbers are printed, not asserted)."""

from __future__ import annotations

from server.bench.voice import recognition_rtf
from tests.voice.conftest import Spoken


def test_the_recognition_benchmark_prints_one_row_per_measurement(
    spoken: dict[str, Spoken],
) -> None:
    speech = spoken["cache"]
    printed: list[str] = []

    rows = recognition_rtf(
        workers=1, wav_paths=[speech.path], concurrency=(2,), echo=printed.append
    )

    print("\n" + printed[0])
    assert [(row.label, row.at_once) for row in rows] == [
        ("cold start (spawn + model load)", 1),
        (speech.path.name, 1),
        ("2 at once", 2),
    ]
    assert rows[2].audio_s == 2 * rows[1].audio_s == 2 * len(speech.pcm) / 32000
    assert all(row.cpu_s > 0 and row.wall_s >= row.slowest_s > 0 for row in rows)
    assert len(printed) == 1 and printed[0].count("\n") == len(rows) + 3
