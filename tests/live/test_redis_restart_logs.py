"""A Redis restart under load: a few log lines with counts, not a flood, and no traceback.

Two real ``interview serve`` processes on a Redis this test starts itself (free port, no
persistence), interviews streaming, then that Redis is stopped and started again. Before the
fix one restart wrote ~850 warnings in one second and dozens of ASGI tracebacks per process
(one "append refused" and one "lost an interview" line per queued event, one traceback per
hello that arrived during the outage).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from server.bench.chaos import Chaos, ChaosOptions, count_log, render
from server.logs import log_throttled

_COUNT_SUFFIX = re.compile(r" \(x\d+ in the last [\d.]+ s\)$")
# sessions.py writes this one line per interview it loses (each of its runners is told once
# now, instead of once per refused event): bounded by the interviews, not by the traffic.
PER_INTERVIEW = "warning: lost an interview to another process"


@pytest.mark.needs_redis
async def test_a_redis_restart_under_load_logs_a_few_lines_and_no_traceback(
    database_url: str, tmp_path: Path
) -> None:
    opts = ChaosOptions(
        interviews=30,
        seconds=8,
        refill=True,  # interviews keep streaming until the restart and after it
        kill=False,
        drop_mean_s=0,
        interrupt_p=0,
        question_count=3,
        pace_ms=20,
        redis_down_s=1.0,
        finish_s=40,
        seed=9,
    )
    chaos = Chaos(opts, database_url, workdir=tmp_path)
    report = await chaos.run()
    print(render(report))
    assert len(report.outages) == 1
    down, up = report.outages[0]
    logs = [path for gateway in chaos.gateways for path in gateway.logs]
    assert len(logs) == 2

    for path in logs:
        everything = count_log(path)
        assert everything.lines > 30, f"{path.name}: the gateway logged (almost) nothing"
        assert everything.tracebacks == 0, everything.by_message.most_common(10)
        # From the moment Redis went down until 5 s after it was back.
        window = count_log(path, since=down - 0.1, until=up + 5, min_level="warning")
        by_kind: dict[str, int] = {}
        for message, count in window.by_message.items():
            kind = _COUNT_SUFFIX.sub("", message)
            by_kind[kind] = by_kind.get(kind, 0) + count
        per_interview = by_kind.pop(PER_INTERVIEW, 0)
        assert per_interview <= opts.interviews * 2, window.by_message
        # Every other kind: its first occurrence, then at most one line a second.
        assert all(count <= 8 for count in by_kind.values()), window.by_message
        assert sum(by_kind.values()) <= 25, window.by_message
        # The expected failures were reported, with their counts.
        assert any("live subscription lost" in kind for kind in by_kind), window.by_message

    # The restart cost nothing that reached the database.
    assert report.unfinished == [], report.unfinished
    assert (report.gaps, report.duplicates, report.mismatches) == (0, 0, [])


def test_a_repeating_failure_is_one_line_then_one_line_with_a_count_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("tests.throttled")
    with caplog.at_level(logging.WARNING, logger="tests.throttled"):
        for i in range(500):
            log_throttled(logger, "append failed, retrying", interval_s=3600, item=i)
    # The first at once; the other 499 wait for the end of the interval (no loop here to
    # schedule it: the next call after the interval writes the count).
    assert [r.getMessage() for r in caplog.records] == ["append failed, retrying"]
    assert caplog.records[0].item == 0  # type: ignore[attr-defined]


async def test_the_count_is_written_when_the_interval_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import asyncio

    logger = logging.getLogger("tests.throttled.async")
    with caplog.at_level(logging.WARNING, logger="tests.throttled.async"):
        for i in range(300):
            log_throttled(logger, "live append failed, retrying", interval_s=0.2, item=i)
        await asyncio.sleep(0.35)
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "live append failed, retrying"
    assert len(messages) == 2, messages
    assert _COUNT_SUFFIX.sub("", messages[1]) == "live append failed, retrying"
    assert "(x299 in the last" in messages[1]
    assert caplog.records[1].count == 299  # type: ignore[attr-defined]
    assert caplog.records[1].item == 299  # type: ignore[attr-defined]
