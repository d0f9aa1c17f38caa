"""What `interview bench` concludes from a sweep: the largest N within the latency target."""

from __future__ import annotations

from typing import Any

from server.bench.run import pool, render


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


def test_repeated_runs_are_compared_by_their_medians() -> None:
    """With --repeat, each run is listed, and the ratios and the sweep verdict use the
    median of each design's runs at each N, not whichever run came last."""
    results = [
        _run("engine 1p", 500, 80.0, rep=1, ttft_p99_ms=500.0, errors={}),
        _run("bare relay", 500, 60.0, rep=1, ttft_p99_ms=300.0, errors={}),
        _run("engine 1p", 500, 160.0, rep=2, ttft_p99_ms=1200.0, errors={"timeout": 1}),
        _run("bare relay", 500, 50.0, rep=2, ttft_p99_ms=250.0, errors={}),
        _run("engine 1p", 500, 70.0, rep=3, ttft_p99_ms=400.0, errors={}),
        _run("bare relay", 500, 40.0, rep=3, ttft_p99_ms=200.0, errors={}),
    ]
    text = render(results, sweep=False)
    lines = text.splitlines()
    assert "Medians over the runs of each design and N (what the lines below compare):" in lines
    # Every run is listed with its number, and the medians follow.
    assert sum(1 for line in lines if line.startswith("| 2 ")) == 2
    assert any(line.startswith("| 3    | engine 1p") for line in lines)
    assert lines[lines.index("engine 1p N=500 run 2:") + 1] == "  timeout x1"
    ratios = [line for line in lines if line.startswith("engine 1p / bare relay at N=500")]
    assert ratios == ["engine 1p / bare relay at N=500: lat p99 x1.60, TTFT p99 x2.00"]


def test_pooling_keeps_every_error_and_the_first_failure() -> None:
    runs = [
        _run("engine 1p", 900, 90.0, rep=1, errors={"timeout": 1}),
        _run("engine 1p", 900, 95.0, rep=2, errors={"timeout": 2, "closed": 1}),
        _run("engine 1p", 900, 99.0, rep=3, errors={}, failed="the gateway did not start"),
        _run("bare relay", 900, 80.0, rep=1, errors={}),
    ]
    engine, relay = pool(runs)
    assert engine["lat_p99_ms"] == 95.0 and engine["runs"] == 3
    assert engine["errors"] == {"timeout": 3, "closed": 1}
    assert engine["failed"] == "the gateway did not start"
    assert relay == {**runs[3], "runs": 1}
    # A sweep never counts an N where any run had errors as within target.
    assert "largest N with lat p99 ≤ 100 ms and no errors, engine 1p: none of the tried N" in (
        render(runs, sweep=True).splitlines()
    )
