"""Chaos: 50 interviews over two gateway processes while sockets drop, a process is
SIGKILLed and Redis restarts, checked end to end against PostgreSQL.

One run (``server/bench/chaos.py``, the code behind ``interview chaos``) for the module;
each test below checks one property of it, so that one broken property does not hide the
others. Real processes on 127.0.0.1: two ``interview serve`` processes, a ``redis-server``
this module starts on a free port (no persistence: its restart loses every live state) and
the session's fresh PostgreSQL database. Everything stops by itself within ~90 s.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest

from server.bench.chaos import Chaos, ChaosOptions, ChaosReport, render

pytestmark = pytest.mark.needs_redis

OPTIONS = ChaosOptions(
    interviews=50,
    seconds=16,  # SIGKILL of one gateway at 3.2 s (restarted 1 s later), Redis restart at 8 s
    question_count=4,  # ~15 s per interview: both hit interviews mid-way
    pace_ms=40,
    drop_mean_s=3.0,  # each client drops its socket every ~3 s and reconnects to either one
    interrupt_p=0.1,  # and sometimes answers while the question is still being spoken
    finish_s=45,
    seed=20261130,
)


@pytest.fixture(scope="module")
async def report(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ChaosReport]:
    chaos = Chaos(OPTIONS, module_database_url, workdir=tmp_path_factory.mktemp("chaos"))
    result = await chaos.run()
    print(render(result))  # shown with any failure below
    yield result


async def test_the_chaos_happened(report: ChaosReport) -> None:
    assert len(report.kills) == 1 and len(report.redis_restarts) == 1
    assert report.interviews == OPTIONS.interviews
    assert report.drops > OPTIONS.interviews  # several drops per interview
    assert report.resyncs > 0  # the Redis restart reached live interviews
    assert report.answers_accepted > OPTIONS.interviews
    assert report.duration_s < 90


async def test_every_interview_finished(report: ChaosReport) -> None:
    assert report.finished == OPTIONS.interviews, report.unfinished[:5]


async def test_no_event_was_skipped_or_repeated_across_reconnects(report: ChaosReport) -> None:
    # seq = last + 1 on every logged event, on every socket, resync handled per the protocol.
    assert report.events > 1000
    assert (report.gaps, report.duplicates) == (0, 0), report.violations[:5]
    assert report.violations == []


async def test_every_transcript_equals_what_the_database_has(report: ChaosReport) -> None:
    assert report.mismatches == []


async def test_no_accepted_answer_was_lost(report: ChaosReport) -> None:
    # Every answer that got ``answer.accepted`` is in the final transcript. A Redis restart
    # between acceptance and the turn's save loses it today: answers are being made durable
    # at acceptance (in progress elsewhere); this assertion is the check for that work.
    assert report.lost_answers == [], (
        f"{len(report.lost_answers)} of {report.answers_accepted} accepted answers lost: "
        f"{report.lost_answers[:5]}"
    )


async def test_the_gateways_logged_no_traceback(report: ChaosReport) -> None:
    assert report.log_tracebacks == 0, report.log_top


async def test_a_run_that_did_not_pass_keeps_its_logs_and_says_where(database_url: str) -> None:
    """A traceback or a violation is only worth its count if the log that has it is still
    there to read: a run that did not pass keeps its directory and names it; one that
    passed leaves nothing behind."""
    failing = Chaos(OPTIONS, database_url)
    failing.report.violations.append("gap: expected seq 1, got 132")
    await failing._cleanup()
    try:
        assert failing.workdir.is_dir()
        assert failing.report.logs_kept == str(failing.workdir)
        assert f"logs kept in {failing.workdir}" in render(failing.report)
    finally:
        shutil.rmtree(failing.workdir, ignore_errors=True)
    passing = Chaos(OPTIONS, database_url)
    await passing._cleanup()
    assert not passing.workdir.exists() and passing.report.logs_kept == ""
