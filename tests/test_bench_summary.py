"""What `interview bench` concludes from a sweep: the largest N within the latency target."""

from __future__ import annotations

from typing import Any

from server.bench.run import render


def _run(design: str, n: int, p99: float, **extra: Any) -> dict[str, Any]:
    return {"design": design, "n": n, "lat_p99_ms": p99, **extra}


def test_a_sweep_names_the_largest_passing_n_and_the_last_before_a_miss() -> None:
    """A noisy run can pass above a miss: the summary says both, and compares both."""
    results = [
        _run("engine 1p", 300, 46.1),
        _run("engine 1p", 500, 111.5),  # a miss
        _run("engine 1p", 900, 93.0),
        _run("engine 1p", 700, 80.0),
        _run("engine 1p", 1100, 95.0, errors={"timeout": 1}),  # errors never pass
        _run("bare relay", 300, 55.4),
        _run("bare relay", 500, 72.0),
        _run("bare relay", 700, 267.0),
        _run("bare relay", 900, 437.1),
        _run("bare relay", 1100, 40.0, failed="the relay did not start"),
    ]
    lines = render(results, sweep=True).splitlines()
    assert (
        "largest N with lat p99 ≤ 100 ms and no errors, engine 1p: 900 "
        "(every tried N up to 300 passed)"
    ) in lines
    assert "largest N with lat p99 ≤ 100 ms and no errors, bare relay: 500" in lines
    assert "engine 1p / bare relay, largest N within target: 1.80" in lines
    assert (
        "engine 1p / bare relay, largest N with every smaller tried N within target: 0.60"
    ) in lines


def test_a_sweep_where_nothing_passes_says_so() -> None:
    results = [_run("engine 1p", 500, 150.0), _run("bare relay", 500, 90.0)]
    lines = render(results, sweep=True).splitlines()
    assert "largest N with lat p99 ≤ 100 ms and no errors, engine 1p: none of the tried N" in lines
    assert not any("largest N within target" in line for line in lines)
