"""When a turn's words go out as deltas: by explicit times, no clock."""

from __future__ import annotations

import itertools

import pytest

from server.interview.coalescing import STALL_INTERVALS, Coalescer


def _stream(coalescer: Coalescer, arrivals: list[float]) -> list[tuple[float, list[float]]]:
    """Feed one word per arrival time (the word is its own arrival time); each delta sent,
    as (when, the arrival times of its words)."""
    sent = []
    for at in arrivals:
        due = coalescer.add(f"{at} ", at)
        if due is not None:
            sent.append((at, [float(word) for word in due.split()]))
    return sent


def test_a_steady_stream_faster_than_the_interval_holds_no_word_longer_than_it() -> None:
    interval = 0.05
    arrivals = [i * 0.02 for i in range(50)]  # 50 words a second, as the benchmark's stub
    coalescer = Coalescer(interval)
    sent = _stream(coalescer, arrivals)
    assert sent[0] == (0.0, [0.0])  # the first word at once
    held = [when - word for when, words in sent for word in words]
    assert max(held) < interval  # each delta leaves with the word that found it due
    gaps = [later[0] - earlier[0] for earlier, later in itertools.pairwise(sent)]
    assert min(gaps) >= interval - 1e-9  # never more than one delta per interval
    # The stream's end sends what is still held: every word once, in order.
    rest = coalescer.take(arrivals[-1])
    tail = [float(word) for word in rest.split()] if rest else []
    assert [word for _, words in sent for word in words] + tail == arrivals


def test_words_of_a_stalled_stream_wait_for_the_timer_then_go_together() -> None:
    coalescer = Coalescer(0.1)
    assert coalescer.add("Tell ", 0.0) == "Tell "
    assert coalescer.add("me ", 0.01) is None
    assert coalescer.add("about ", 0.02) is None
    assert coalescer.stall_deadline() == pytest.approx(0.1 * STALL_INTERVALS)
    assert coalescer.take(0.15) == "me about "
    assert coalescer.take(0.2) is None  # nothing held: nothing to send
    assert coalescer.add("yourself.", 0.3) == "yourself."  # an interval later: at once


def test_without_an_interval_every_word_goes_at_once() -> None:
    coalescer = Coalescer(0.0)
    assert [coalescer.add(w, 1.0) for w in ("a ", "b ", "c")] == ["a ", "b ", "c"]
