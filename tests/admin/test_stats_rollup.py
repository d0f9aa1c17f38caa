"""Admin statistics: closed days rolled up, open days read raw, and the histograms.

Every test writes to days of its own (in 2002, which no other test writes to) and passes
its own ``now`` to ``roll_up``: a rolled-up day never changes, so a test that shared days
with another could not seed them after the other rolled them up.
"""

from __future__ import annotations

import asyncio
import math
import random
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.admin import stats
from server.admin.stats import (
    LATENCY_BUCKETS,
    ROLLUP_GRACE,
    bucket_of,
    bucket_range,
    histogram_percentile,
    last_closed_day,
)
from server.store.models import (
    Interview,
    InterviewStatus,
    Level,
    ProviderCall,
    ProviderCallDay,
    Report,
    StatsDay,
    Track,
    User,
)
from tests.admin.people import make_admin
from tests.admin.test_stats import assert_within_bound

# --- the buckets and the percentiles ------------------------------------------------------


def test_buckets_are_at_most_five_percent_wide_and_exact_below_twenty_ms() -> None:
    assert list(LATENCY_BUCKETS) == sorted(set(LATENCY_BUCKETS))
    for bucket in range(1, len(LATENCY_BUCKETS)):
        low, high = bucket_range(bucket)
        assert high - low <= 0.05 * low
        assert bucket_of(low) == bucket == bucket_of(high)
        assert bucket_of(low - 1) == bucket - 1
        assert bucket_of(high + 1) == bucket + 1
        if low < 20:
            assert low == high  # one value per bucket
    assert 380 < len(LATENCY_BUCKETS) < 400


def test_bucket_boundaries_zero_and_huge_values() -> None:
    assert bucket_of(0) == 0 and bucket_range(0) == (0, 0)
    assert bucket_of(-3) == 0  # never recorded, but not an error
    assert [bucket_of(ms) for ms in (1, 2, 19, 20, 21, 22, 23, 24)] == [
        1,
        2,
        19,
        20,
        20,
        21,
        21,
        22,
    ]
    assert bucket_range(20) == (20, 21)
    assert bucket_of(1545) == bucket_of(1622) == bucket_of(1546)
    assert bucket_of(1623) == bucket_of(1545) + 1
    largest_int = 2**31 - 1  # the most a provider_call INTEGER holds
    last = bucket_of(largest_int)
    assert last == len(LATENCY_BUCKETS) - 1
    low, high = bucket_range(last)
    assert low <= largest_int <= high
    assert bucket_of(10**15) == len(LATENCY_BUCKETS)  # past any INTEGER: the last bucket
    assert bucket_range(len(LATENCY_BUCKETS)) == (LATENCY_BUCKETS[-1], LATENCY_BUCKETS[-1])


def percentile_cont(values: Sequence[float], fraction: float) -> float:
    """PostgreSQL's ``percentile_cont``."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (position - low) * (ordered[high] - ordered[low])


def test_histogram_percentiles_are_within_five_percent_and_exact_below_twenty_ms() -> None:
    rng = random.Random(7)
    samples = [
        [rng.randint(0, 19) for _ in range(101)],
        [int(2500 * math.exp(rng.gauss(0, 0.6))) for _ in range(5000)],
        [rng.choice((0, 1, 5, 40, 41, 999, 60_000, 2**31 - 1)) for _ in range(37)],
        [1234],
        [0, 2**31 - 1],
    ]
    for values in samples:
        histogram = Counter(bucket_of(v) for v in values)
        for fraction in (0.0, 0.05, 0.5, 0.95, 0.99, 1.0):
            exact = percentile_cont(values, fraction)
            found = histogram_percentile(histogram, fraction)
            assert found is not None
            assert abs(found - exact) <= 0.05 * exact + 0.001, (fraction, found, exact)
            if max(values) < 20:
                assert found == round(exact, 3)
    assert histogram_percentile(Counter(), 0.5) is None


def test_a_day_closes_after_the_grace_period() -> None:
    midnight = datetime(2002, 3, 5, tzinfo=UTC)
    assert ROLLUP_GRACE > timedelta(0)
    assert last_closed_day(midnight + ROLLUP_GRACE - timedelta(microseconds=1)) == date(2002, 3, 3)
    assert last_closed_day(midnight + ROLLUP_GRACE) == date(2002, 3, 4)
    assert last_closed_day(midnight + timedelta(hours=23)) == date(2002, 3, 4)


# --- a seeded range -----------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    tag: str
    models: tuple[str, str]
    calls: list[ProviderCall]
    interviews: list[Interview]
    users: list[User]
    reports: dict[uuid.UUID, float]


def _moment(day: date, rng: random.Random) -> datetime:
    """A moment of ``day``: often its first or last microsecond, else anywhere in it."""
    start = datetime.combine(day, time(), UTC)
    edge = rng.random()
    if edge < 0.1:
        return start
    if edge < 0.2:
        return start + timedelta(days=1, microseconds=-1)
    return start + timedelta(seconds=rng.randrange(86_400), microseconds=rng.randrange(10**6))


def _calls(day: date, models: tuple[str, str], rng: random.Random, n: int) -> list[ProviderCall]:
    calls = []
    for _ in range(n):
        kind = rng.choice(("turn", "score", "report"))
        r = rng.random()
        outcome = "error" if r < 0.1 else "cancelled" if r < 0.15 else "ok"
        latency = rng.choice(
            (0, rng.randint(1, 19), int(2000 * math.exp(rng.gauss(0, 0.7))), 2**31 - 1)
            if rng.random() < 0.1
            else (int(2000 * math.exp(rng.gauss(0, 0.7))),)
        )
        calls.append(
            ProviderCall(
                kind=kind,
                provider="gemini",
                model=rng.choice(models),
                outcome=outcome,
                error_code=rng.choice(("rate_limited", "timeout", None))
                if outcome == "error"
                else None,
                tokens_in=rng.randint(0, 4000),
                tokens_out=rng.randint(0, 600),
                cost_micro_usd=rng.randint(0, 50_000),
                latency_ms=latency,
                ttft_ms=rng.randint(30, 3000)
                if kind == "turn" and outcome == "ok" and rng.random() < 0.8
                else None,
                created_at=_moment(day, rng),
            )
        )
    return calls


async def _seed(app: FastAPI, days: Sequence[date], seed: int, calls_a_day: int = 40) -> Seeded:
    rng = random.Random(seed)
    tag = uuid.uuid4().hex[:8]
    models = (f"gemini-{tag}", f"gemini-{tag}-pro")
    users = [
        User(
            id=uuid.uuid4(),
            email=f"rollup-{tag}-{n}@example.com",
            password_hash="not-a-hash",
            created_at=_moment(day, rng),
        )
        for n, day in enumerate(d for d in days for _ in range(rng.randint(1, 3)))
    ]
    interviews: list[Interview] = []
    reports: dict[uuid.UUID, float] = {}
    for day in days:
        for _ in range(rng.randint(1, 5)):
            created = _moment(day, rng)
            status = rng.choice(list(InterviewStatus))
            started = created + timedelta(minutes=1) if status != "created" else None
            finished = (
                created + timedelta(minutes=rng.randint(5, 90))
                if status in (InterviewStatus.finished, InterviewStatus.abandoned)
                else None
            )
            interview = Interview(
                id=uuid.uuid4(),
                owner_id=rng.choice(users).id,
                track=rng.choice(list(Track)),
                level=Level.mid,
                question_count=5,
                answer_time_limit_s=180,
                status=status,
                provider="gemini",
                model=models[0],
                tokens_in=rng.randint(0, 9000),
                tokens_out=rng.randint(0, 900),
                cost_micro_usd=rng.randint(0, 90_000),
                created_at=created,
                started_at=started,
                finished_at=finished,
            )
            interviews.append(interview)
            if finished is not None and rng.random() < 0.8:
                reports[interview.id] = rng.choice((1.0, 2.5, 3.0, 4.5, 5.0))
    calls = [call for day in days for call in _calls(day, models, rng, calls_a_day)]
    async with app.state.services.sessionmaker() as session:
        session.add_all(users)
        await session.flush()
        session.add_all(interviews)
        await session.flush()
        session.add_all(
            Report(
                interview_id=interview_id,
                overall_score=score,
                rubric_version="v1",
                provider="gemini",
                created_at=next(i.finished_at for i in interviews if i.id == interview_id),
            )
            for interview_id, score in reports.items()
        )
        session.add_all(calls)
        await session.commit()
    return Seeded(tag, models, calls, interviews, users, reports)


def _in(moment: datetime | None, start: date, end: date) -> bool:
    return moment is not None and start <= moment.date() <= end


def expected_models(seeded: Seeded, start: date, end: date) -> list[dict[str, Any]]:
    """``ModelUsage`` of the seeded calls of ``start``..``end``, from the seeded rows."""
    found = []
    for model in sorted(seeded.models):
        calls = [c for c in seeded.calls if c.model == model and _in(c.created_at, start, end)]
        errors = Counter(c.error_code or "unknown" for c in calls if c.outcome == "error")
        found.append(
            {
                "provider": "gemini",
                "model": model,
                "calls": len(calls),
                "errors": errors.total(),
                "cancelled": sum(c.outcome == "cancelled" for c in calls),
                "error_rate": round(errors.total() / len(calls), 4),
                "errors_by_code": dict(sorted(errors.items())),
                "tokens_in": sum(c.tokens_in for c in calls),
                "tokens_out": sum(c.tokens_out for c in calls),
                "cost_usd": round(sum(c.cost_micro_usd for c in calls) / 1_000_000, 6),
            }
        )
    return found


def assert_latency_matches(
    found: list[dict[str, Any]], seeded: Seeded, start: date, end: date
) -> None:
    """Per model and kind: the calls exactly, the percentiles within 5 % of
    ``percentile_cont`` over the seeded calls that succeeded."""
    ok = [c for c in seeded.calls if c.outcome == "ok" and _in(c.created_at, start, end)]
    groups = sorted({(c.model, c.kind) for c in ok})
    mine = [entry for entry in found if entry["model"] in seeded.models]
    assert [(e["model"], e["kind"]) for e in mine] == groups
    for entry, (model, kind) in zip(mine, groups, strict=True):
        latencies = [c.latency_ms for c in ok if (c.model, c.kind) == (model, kind)]
        ttfts = [
            c.ttft_ms for c in ok if (c.model, c.kind) == (model, kind) and c.ttft_ms is not None
        ]
        assert entry["calls"] == len(latencies)
        assert_within_bound(
            entry["latency_ms"],
            {"p50": percentile_cont(latencies, 0.5), "p95": percentile_cont(latencies, 0.95)},
        )
        if ttfts:
            assert_within_bound(
                entry["ttft_ms"],
                {"p50": percentile_cont(ttfts, 0.5), "p95": percentile_cont(ttfts, 0.95)},
            )
        else:
            assert entry["ttft_ms"] is None


def expected_days(seeded: Seeded, start: date, end: date) -> list[dict[str, Any]]:
    """``DayStats`` of the seeded interviews and users (the only rows of these days)."""
    days = []
    day = start
    while day <= end:
        created = [i for i in seeded.interviews if i.created_at.date() == day]
        ended = [i for i in seeded.interviews if i.finished_at and i.finished_at.date() == day]
        days.append(
            {
                "day": day.isoformat(),
                "created": len(created),
                "started": sum(
                    1 for i in seeded.interviews if i.started_at and i.started_at.date() == day
                ),
                "finished": sum(i.status == InterviewStatus.finished for i in ended),
                "abandoned": sum(i.status == InterviewStatus.abandoned for i in ended),
                "signups": sum(u.created_at.date() == day for u in seeded.users),
                "active_users": len({i.owner_id for i in created}),
                "tokens_in": sum(i.tokens_in for i in created),
                "tokens_out": sum(i.tokens_out for i in created),
                "cost_usd": round(sum(i.cost_micro_usd for i in created) / 1_000_000, 6),
            }
        )
        day += timedelta(days=1)
    return days


def expected_scores(seeded: Seeded, start: date, end: date) -> list[dict[str, Any]]:
    scores: dict[str, list[float]] = {}
    for interview in seeded.interviews:
        if interview.id in seeded.reports and _in(interview.finished_at, start, end):
            scores.setdefault(interview.track, []).append(seeded.reports[interview.id])
    return [
        {
            "track": track,
            "reports": len(values),
            "average_score": round(sum(values) / len(values), 3),
        }
        for track, values in sorted(scores.items())
    ]


async def _compute(app: FastAPI, start: date, end: date) -> dict[str, Any]:
    async with app.state.services.sessionmaker() as session:
        await stats.begin_snapshot(session)
        return (await stats.compute(session, start, end)).model_dump(mode="json")


async def _roll_up(app: FastAPI, start: date, end: date, now: datetime) -> list[date]:
    async with app.state.services.sessionmaker() as session:
        return await stats.roll_up(session, start, end, now=now)


async def _rollup_rows(session: AsyncSession, start: date, end: date) -> list[tuple[Any, ...]]:
    rows = await session.execute(
        select(ProviderCallDay)
        .where(ProviderCallDay.day >= start, ProviderCallDay.day <= end)
        .order_by(
            ProviderCallDay.day,
            ProviderCallDay.provider,
            ProviderCallDay.model,
            ProviderCallDay.kind,
            ProviderCallDay.outcome,
            ProviderCallDay.error_code,
        )
    )
    return [
        (r.day, r.model, r.kind, r.outcome, r.error_code, r.calls, r.with_ttft, r.tokens_in,
         r.tokens_out, r.cost_micro_usd, r.latency_hist, r.ttft_hist)
        for r in rows.scalars()
    ]  # fmt: skip


async def _stats_days(app: FastAPI, start: date, end: date) -> list[date]:
    async with app.state.services.sessionmaker() as session:
        return list(
            await session.scalars(
                select(StatsDay.day)
                .where(StatsDay.day >= start, StatsDay.day <= end)
                .order_by(StatsDay.day)
            )
        )


# --- rolled up and raw days ---------------------------------------------------------------


async def test_a_range_of_closed_and_open_days_equals_the_raw_rows(app: FastAPI) -> None:
    start, end = date(2002, 3, 1), date(2002, 3, 5)
    days = [start + timedelta(n) for n in range(5)]
    seeded = await _seed(app, days, seed=1)
    # 00:05 on the last day: 1..3 March are closed, the 4th is in its grace period, the
    # 5th is today.
    now = datetime(2002, 3, 5, 0, 5, tzinfo=UTC)

    raw = await _compute(app, start, end)  # nothing rolled up yet: every day from raw rows
    assert await _roll_up(app, start, end, now) == days[:3]
    assert await _stats_days(app, start, end) == days[:3]
    mixed = await _compute(app, start, end)

    for found in (raw, mixed):
        assert found["days"] == expected_days(seeded, start, end)
        assert found["scores_by_track"] == expected_scores(seeded, start, end)
        assert [m for m in found["models"] if m["model"] in seeded.models] == expected_models(
            seeded, start, end
        )
        assert_latency_matches(found["latency"], seeded, start, end)
        assert found["totals"]["active_users"] == len({i.owner_id for i in seeded.interviews})
    # The same histograms whichever way a day is read: the very same numbers.
    assert mixed == raw
    # A sub-range that cuts through the rolled-up days and the open ones.
    part = await _compute(app, days[2], days[3])
    assert [m for m in part["models"] if m["model"] in seeded.models] == expected_models(
        seeded, days[2], days[3]
    )
    assert_latency_matches(part["latency"], seeded, days[2], days[3])
    assert part["days"] == expected_days(seeded, days[2], days[3])


async def test_the_histograms_in_sql_are_the_buckets_in_python(app: FastAPI) -> None:
    day, today = date(2002, 5, 1), date(2002, 5, 2)
    edges = sorted(
        {0, 1, 19, 20, 21, 22, 2**31 - 1}
        | {bound + d for bound in LATENCY_BUCKETS[:-1:7] for d in (-1, 0)}
    )
    model = f"gemini-{uuid.uuid4().hex[:8]}"
    calls = [
        ProviderCall(
            kind="turn",
            provider="gemini",
            model=model,
            outcome="ok",
            tokens_in=1,
            tokens_out=1,
            cost_micro_usd=1,
            latency_ms=ms,
            ttft_ms=ms,
            created_at=datetime.combine(moment_day, time(12), UTC),
        )
        for moment_day in (day, today)
        for ms in edges
    ]
    async with app.state.services.sessionmaker() as session:
        session.add_all(calls)
        await session.commit()
    expected = Counter(bucket_of(ms) for ms in edges)
    assert await _roll_up(app, day, today, datetime.combine(today, time(1), UTC)) == [day]
    async with app.state.services.sessionmaker() as session:
        rolled = (
            await session.scalars(select(ProviderCallDay).where(ProviderCallDay.model == model))
        ).one()
        assert rolled.latency_hist == {str(b): n for b, n in sorted(expected.items())}
        assert rolled.ttft_hist == rolled.latency_hist
        (open_day,) = [
            g
            for g in (await stats.call_days(session, stats.Window(today, today)))[today]
            if g.model == model
        ]
    assert open_day.latency == expected == open_day.ttft


async def test_rolling_up_twice_or_at_once_writes_each_day_once(app: FastAPI) -> None:
    start, end = date(2002, 4, 1), date(2002, 4, 6)
    days = [start + timedelta(n) for n in range(6)]
    seeded = await _seed(app, days[:4], seed=2)  # the last two days stay empty
    now = datetime(2002, 4, 10, 12, tzinfo=UTC)  # every day of the range is closed

    first, second = await asyncio.gather(
        _roll_up(app, start, end, now), _roll_up(app, start, end, now)
    )
    assert sorted(first + second) == days  # each day once, by one request or the other
    async with app.state.services.sessionmaker() as session:
        rows = await _rollup_rows(session, start, end)
        groups = {
            (c.created_at.date(), c.model, c.kind, c.outcome, c.error_code or "")
            for c in seeded.calls
        }
        assert len(rows) == len(groups)
        assert {(r[0], r[1], r[2], r[3], r[4]) for r in rows} == groups
        assert sum(r[5] for r in rows) == len(seeded.calls)
    # Asked again: nothing to do, nothing written.
    assert await _roll_up(app, start, end, now) == []
    async with app.state.services.sessionmaker() as session:
        assert await _rollup_rows(session, start, end) == rows
    assert await _stats_days(app, start, end) == days  # the empty days are marked too
    found = await _compute(app, start, end)
    assert found["days"] == expected_days(seeded, start, end)
    assert [m for m in found["models"] if m["model"] in seeded.models] == expected_models(
        seeded, start, end
    )
    assert_latency_matches(found["latency"], seeded, start, end)


async def test_concurrent_requests_roll_up_once_and_agree(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    start, end = date(2002, 6, 1), date(2002, 6, 4)
    seeded = await _seed(app, [start + timedelta(n) for n in range(4)], seed=3)
    admin = await make_admin(app, client)
    params = {"from": start.isoformat(), "to": end.isoformat()}
    responses = await asyncio.gather(
        *(client.get("/api/admin/stats", params=params, headers=admin.headers) for _ in range(3))
    )
    assert [r.status_code for r in responses] == [200, 200, 200], responses[0].text
    assert responses[0].json() == responses[1].json() == responses[2].json()
    assert [m for m in responses[0].json()["models"] if m["model"] in seeded.models] == (
        expected_models(seeded, start, end)
    )
    async with app.state.services.sessionmaker() as session:
        rolled = await session.scalar(
            select(func.sum(ProviderCallDay.calls)).where(
                ProviderCallDay.day >= start,
                ProviderCallDay.day <= end,
                ProviderCallDay.model.in_(seeded.models),
            )
        )
    assert rolled == len(seeded.calls)


async def test_an_open_day_is_read_at_once_and_a_closed_one_from_its_rollup(
    app: FastAPI,
) -> None:
    closed, today = date(2002, 7, 1), date(2002, 7, 2)
    now = datetime(2002, 7, 2, 15, tzinfo=UTC)
    model = f"gemini-{uuid.uuid4().hex[:8]}"

    def call(day: date, latency_ms: int) -> ProviderCall:
        return ProviderCall(
            kind="score",
            provider="gemini",
            model=model,
            outcome="ok",
            tokens_in=10,
            tokens_out=5,
            cost_micro_usd=1000,
            latency_ms=latency_ms,
            created_at=datetime.combine(day, time(9), UTC),
        )

    async def calls() -> int:
        found = await _compute(app, closed, today)
        return sum(m["calls"] for m in found["models"] if m["model"] == model)

    async def add(*new: ProviderCall) -> None:
        async with app.state.services.sessionmaker() as session:
            session.add_all(new)
            await session.commit()

    await add(call(closed, 100), call(today, 200))
    assert await _roll_up(app, closed, today, now) == [closed]
    assert await calls() == 2
    await add(call(today, 300))  # today: seen at once
    assert await _roll_up(app, closed, today, now) == []
    assert await calls() == 3
    # A row stamped in a closed day after it was rolled up (it cannot happen: rows are
    # stamped when written) is not seen: the day is read from its rollup, not counted twice.
    await add(call(closed, 400))
    assert await calls() == 3
    # Deleting a day's stats_day row (its call rows go with it) has it rolled up again.
    async with app.state.services.sessionmaker() as session:
        await session.execute(delete(StatsDay).where(StatsDay.day == closed))
        await session.commit()
        assert await _rollup_rows(session, closed, closed) == []
    assert await _roll_up(app, closed, today, now) == [closed]
    assert await calls() == 4


@pytest.mark.parametrize("days", [1, 2])
async def test_a_call_recorded_now_is_in_the_stats_at_once(
    app: FastAPI, client: httpx.AsyncClient, days: int
) -> None:
    admin = await make_admin(app, client)
    model = f"gemini-{uuid.uuid4().hex[:8]}"
    today = datetime.now(UTC).date()
    params = {"from": (today - timedelta(days - 1)).isoformat(), "to": today.isoformat()}

    async def record() -> int:
        async with app.state.services.sessionmaker() as session:
            session.add(
                ProviderCall(
                    kind="turn",
                    provider="gemini",
                    model=model,
                    outcome="ok",
                    tokens_in=3,
                    tokens_out=2,
                    cost_micro_usd=7,
                    latency_ms=1234,
                    ttft_ms=56,
                )
            )
            await session.commit()
        response = await client.get("/api/admin/stats", params=params, headers=admin.headers)
        assert response.status_code == 200, response.text
        (usage,) = [m for m in response.json()["models"] if m["model"] == model]
        (latency,) = [entry for entry in response.json()["latency"] if entry["model"] == model]
        assert_within_bound(latency["latency_ms"], {"p50": 1234.0, "p95": 1234.0})
        assert_within_bound(latency["ttft_ms"], {"p50": 56.0, "p95": 56.0})
        return int(usage["calls"])

    assert await record() == 1
    assert await record() == 2
