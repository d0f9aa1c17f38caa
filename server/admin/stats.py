"""Admin: usage statistics over a range of UTC days (interviews, scores, the model, costs).

The queries are the functions below (``server/bench/admin_stats.py`` times them). Every
count and sum is computed by the database; a percentile is read from an index: with the
number of values known, the k-th smallest is ``ORDER BY value OFFSET k LIMIT 2`` on an index
ordered by that value (from whichever end is nearer), so it never sorts and reads at most
half of the group's index entries, on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

import math
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, and_, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from server.deps import SessionDep
from server.llm.offline.interviewer import OfflineInterviewer
from server.store.models import (
    Interview,
    InterviewStatus,
    ProviderCall,
    Report,
    Track,
    User,
    UTCDateTime,
)

MAX_DAYS = 366
DEFAULT_DAYS = 30
TOP_USERS = 10
PERCENTILES = (0.5, 0.95)
# The interviewer's own calls (a recogniser's ``transcribe`` calls say nothing of a fallback).
INTERVIEWER_KINDS = ("turn", "score", "report")
_EARLIEST = date(2000, 1, 1)
_LATEST = date(9999, 12, 30)  # the day after still exists

router = APIRouter(prefix="/stats")


# --- response -----------------------------------------------------------------------------


class DayStats(BaseModel):
    day: date
    created: int = Field(description="Interviews created.")
    started: int = Field(description="Interviews started (first hello).")
    finished: int = Field(description="Interviews that ended finished.")
    abandoned: int = Field(description="Interviews that ended abandoned.")
    signups: int
    active_users: int = Field(description="Users who created an interview that day.")
    tokens_in: int = Field(description="Model tokens of the interviews created that day.")
    tokens_out: int
    cost_usd: float


class StatsTotals(BaseModel):
    created: int
    started: int
    finished: int
    abandoned: int
    completion_rate: float | None = Field(
        description="finished / (finished + abandoned) over interviews that ended in the "
        "range; None when none did."
    )
    offline_fallbacks: int = Field(
        description="Interviews that switched to the offline interviewer after a model call "
        "failed in the range."
    )
    signups: int
    active_users: int = Field(description="Users who created an interview in the range.")
    tokens_in: int = Field(description="Model tokens of the interviews created in the range.")
    tokens_out: int
    cost_usd: float


class TrackScore(BaseModel):
    track: Track
    reports: int = Field(description="Reports of interviews that ended in the range.")
    average_score: float


class Percentiles(BaseModel):
    """Milliseconds, interpolated like PostgreSQL's ``percentile_cont``."""

    p50: float
    p95: float


class CallLatency(BaseModel):
    model: str
    kind: str = Field(examples=["turn"], description="turn, score, report, transcribe, check")
    calls: int = Field(description="Calls that succeeded (the percentiles are over these).")
    latency_ms: Percentiles
    ttft_ms: Percentiles | None = Field(description="Time to first token, for streamed calls.")


class ModelUsage(BaseModel):
    """Calls made in the range, whatever they were for (interviews, recordings, checks)."""

    provider: str
    model: str
    calls: int
    errors: int
    cancelled: int
    error_rate: float = Field(description="errors / calls")
    errors_by_code: dict[str, int] = Field(description='e.g. {"rate_limited": 3}')
    tokens_in: int
    tokens_out: int
    cost_usd: float


class TopUser(BaseModel):
    user_id: uuid.UUID
    email: str
    interviews: int
    cost_usd: float


class AdminStats(BaseModel):
    start: date = Field(description="First day (UTC), inclusive.")
    end: date = Field(description="Last day (UTC), inclusive.")
    days: list[DayStats] = Field(description="Every day of the range, oldest first.")
    totals: StatsTotals
    scores_by_track: list[TrackScore]
    latency: list[CallLatency]
    models: list[ModelUsage]
    top_users: list[TopUser] = Field(
        description=f"The {TOP_USERS} costliest, by interviews created in the range."
    )


# --- the route ----------------------------------------------------------------------------


def _invalid(field: str, message: str) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ("query", field), "msg": message, "type": "value_error"}]
    )


def resolve_range(start: date | None, end: date | None, *, today: date) -> tuple[date, date]:
    """The range asked for, or the last ``DEFAULT_DAYS`` days; 422 when it is not one."""
    end = end or (today if start is None else min(today, start + timedelta(DEFAULT_DAYS - 1)))
    start = start or end - timedelta(DEFAULT_DAYS - 1)
    for field, day in (("from", start), ("to", end)):
        if not _EARLIEST <= day <= _LATEST:
            raise _invalid(field, f"expected a day from {_EARLIEST} to {_LATEST}, got {day}")
    if start > end:
        raise _invalid("from", f"expected a day on or before {end} (to), got {start}")
    if (end - start).days + 1 > MAX_DAYS:
        raise _invalid(
            "to", f"a range covers at most {MAX_DAYS} days, got {(end - start).days + 1}"
        )
    return start, end


@router.get("", response_model=AdminStats)
async def get_stats(
    session: SessionDep,
    start: Annotated[
        date | None, Query(alias="from", description="First UTC day (default: 29 days before to).")
    ] = None,
    end: Annotated[
        date | None,
        Query(
            alias="to",
            description=f"Last UTC day (default: today); at most {MAX_DAYS} days after from.",
        ),
    ] = None,
) -> AdminStats:
    """Interviews, sign-ups, scores, model latency, errors and cost, per UTC day and in total."""
    start, end = resolve_range(start, end, today=datetime.now(UTC).date())
    await begin_snapshot(session)
    return await compute(session, start, end)


# --- the queries --------------------------------------------------------------------------


class utc_day(FunctionElement[datetime]):  # named like the SQL function it is
    """Midnight (UTC) of a timestamp's day."""

    type = UTCDateTime()
    inherit_cache = True
    name = "utc_day"


@compiles(utc_day)
def _utc_day(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps UTC timestamps as text: "YYYY-MM-DD HH:MM:SS.ffffff".
    return f"datetime(date({compiler.process(element.clauses, **kw)}))"


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    # date_bin is arithmetic on the instant: no time zone lookup per row, unlike a cast.
    column = compiler.process(element.clauses, **kw)
    return f"date_bin('1 day', {column}, TIMESTAMPTZ '2000-01-01 00:00:00+00')"


async def begin_snapshot(session: AsyncSession) -> None:
    """Run the queries on one snapshot (the counts and the percentiles agree), without JIT."""
    await session.commit()  # whatever the request read before (its admin)
    if session.get_bind().dialect.name == "postgresql":
        connection = await session.connection(
            execution_options={"isolation_level": "REPEATABLE READ"}
        )
        # JIT compiling these aggregates costs more than it saves (~40 ms each).
        await connection.exec_driver_sql("SET LOCAL jit = off")


@dataclass(frozen=True, slots=True)
class Window:
    start: date
    end: date  # inclusive

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time(), UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time(), UTC)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def holds(self, column: InstrumentedAttribute[Any]) -> ColumnElement[bool]:
        return and_(column >= self.since, column < self.until)


def _usd(micro: int) -> float:
    return round(micro / 1_000_000, 6)


@dataclass(frozen=True, slots=True)
class CreatedDay:
    interviews: int
    users: int
    tokens_in: int
    tokens_out: int
    cost_micro_usd: int


async def created_per_day(session: AsyncSession, window: Window) -> dict[date, CreatedDay]:
    """Interviews created, the users who created them, and their model tokens and cost.

    Usage is read from the interviews (the calls are rolled up into them as they happen):
    ten times fewer rows than the calls, and no second grouping of the calls by day.
    """
    day = utc_day(Interview.created_at)
    rows = await session.execute(
        select(
            day,
            func.count(),
            func.count(distinct(Interview.owner_id)),
            func.sum(Interview.tokens_in),
            func.sum(Interview.tokens_out),
            func.sum(Interview.cost_micro_usd),
        )
        .where(window.holds(Interview.created_at))
        .group_by(day)
    )
    return {d.date(): CreatedDay(*(int(v) for v in values)) for d, *values in rows}


async def started_per_day(session: AsyncSession, window: Window) -> dict[date, int]:
    day = utc_day(Interview.started_at)
    rows = await session.execute(
        select(day, func.count()).where(window.holds(Interview.started_at)).group_by(day)
    )
    return {d.date(): int(n) for d, n in rows}


async def ended_per_day(
    session: AsyncSession, window: Window
) -> dict[tuple[date, InterviewStatus], int]:
    day = utc_day(Interview.finished_at)
    rows = await session.execute(
        select(day, Interview.status, func.count())
        .where(window.holds(Interview.finished_at))
        .group_by(day, Interview.status)
    )
    return {(d.date(), status): int(n) for d, status, n in rows}


async def signups_per_day(session: AsyncSession, window: Window) -> dict[date, int]:
    day = utc_day(User.created_at)
    rows = await session.execute(
        select(day, func.count()).where(window.holds(User.created_at)).group_by(day)
    )
    return {d.date(): int(n) for d, n in rows}


async def active_users(session: AsyncSession, window: Window) -> int:
    count = await session.scalar(
        select(func.count(distinct(Interview.owner_id))).where(window.holds(Interview.created_at))
    )
    return int(count or 0)


async def offline_fallbacks(session: AsyncSession, window: Window) -> int:
    """Interviews now on the offline interviewer whose model call failed in the range.

    A switch always follows a failed call (every call is recorded, failures included), so
    this reads the few failed calls (a partial index) instead of every call of every
    offline interview.
    """
    count = await session.scalar(
        select(func.count(distinct(ProviderCall.interview_id)))
        .join(Interview, Interview.id == ProviderCall.interview_id)
        .where(
            ProviderCall.outcome == "error",
            window.holds(ProviderCall.created_at),
            ProviderCall.kind.in_(INTERVIEWER_KINDS),
            Interview.provider == OfflineInterviewer.name,
            ProviderCall.provider != Interview.provider,
        )
    )
    return int(count or 0)


async def scores_by_track(session: AsyncSession, window: Window) -> list[TrackScore]:
    rows = await session.execute(
        select(Interview.track, func.count(), func.avg(Report.overall_score))
        .join(Report, Report.interview_id == Interview.id)
        .where(window.holds(Interview.finished_at))
        .group_by(Interview.track)
        .order_by(Interview.track)
    )
    return [
        TrackScore(track=track, reports=int(n), average_score=round(float(avg), 3))
        for track, n, avg in rows
    ]


async def top_users(session: AsyncSession, window: Window) -> list[TopUser]:
    cost = func.sum(Interview.cost_micro_usd).label("cost")
    costliest = (
        select(Interview.owner_id, func.count().label("interviews"), cost)
        .where(window.holds(Interview.created_at))
        .group_by(Interview.owner_id)
        .having(cost > 0)
        .order_by(cost.desc(), Interview.owner_id)
        .limit(TOP_USERS)
        .subquery()
    )
    rows = await session.execute(
        select(User.id, User.email, costliest.c.interviews, costliest.c.cost)
        .join(costliest, costliest.c.owner_id == User.id)
        .order_by(costliest.c.cost.desc(), User.id)
    )
    return [
        TopUser(user_id=user_id, email=email, interviews=int(n), cost_usd=_usd(int(micro)))
        for user_id, email, n, micro in rows
    ]


@dataclass(frozen=True, slots=True)
class CallGroup:
    """Provider calls of one model, kind and outcome (and error code)."""

    provider: str
    model: str
    kind: str
    outcome: str
    error_code: str | None
    calls: int
    with_ttft: int
    tokens_in: int
    tokens_out: int
    cost_micro_usd: int


async def call_groups(session: AsyncSession, window: Window) -> list[CallGroup]:
    """The one pass over the range's provider calls: usage, errors and the counts the
    percentiles need are all summed from it."""
    keys = (
        ProviderCall.provider,
        ProviderCall.model,
        ProviderCall.kind,
        ProviderCall.outcome,
        ProviderCall.error_code,
    )
    rows = await session.execute(
        select(
            *keys,
            func.count(),
            func.count(ProviderCall.ttft_ms),
            func.sum(ProviderCall.tokens_in),
            func.sum(ProviderCall.tokens_out),
            func.sum(ProviderCall.cost_micro_usd),
        )
        .where(window.holds(ProviderCall.created_at))
        .group_by(*keys)
    )
    return [
        CallGroup(provider, model, kind, outcome, code, *(int(v) for v in values))
        for provider, model, kind, outcome, code, *values in rows
    ]


async def value_at(
    session: AsyncSession,
    column: Any,
    where: Sequence[ColumnElement[bool]],
    count: int,
    fraction: float,
) -> float | None:
    """``percentile_cont(fraction)`` of ``column`` over the ``count`` rows ``where`` selects,
    read from an index ordered by ``column`` (see the module docstring)."""
    position = fraction * (count - 1)
    low = math.floor(position)
    high = min(low + 1, count - 1)
    take = high - low + 1
    query = select(column).where(*where).limit(take)
    if low <= count - 1 - high:
        values = list(await session.scalars(query.order_by(column.asc()).offset(low)))
    else:
        values = list(await session.scalars(query.order_by(column.desc()).offset(count - 1 - high)))
        values.reverse()
    if not values:
        return None
    lower, upper = float(values[0]), float(values[-1])
    return round(lower + (position - low) * (upper - lower), 3)


async def percentiles(
    session: AsyncSession, column: Any, where: Sequence[ColumnElement[bool]], count: int
) -> Percentiles | None:
    if count <= 0:
        return None
    found = [await value_at(session, column, where, count, p) for p in PERCENTILES]
    if any(value is None for value in found):
        return None
    p50, p95 = found
    assert p50 is not None and p95 is not None
    return Percentiles(p50=p50, p95=p95)


async def call_latency(
    session: AsyncSession, window: Window, groups: Sequence[CallGroup]
) -> list[CallLatency]:
    """Latency and time-to-first-token percentiles of successful calls, per model and kind."""
    succeeded: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for group in groups:
        if group.outcome == "ok":
            counts = succeeded[(group.model, group.kind)]
            counts[0] += group.calls
            counts[1] += group.with_ttft
    latency = []
    for (model, kind), (calls, with_ttft) in sorted(succeeded.items()):
        where = [
            ProviderCall.model == model,
            ProviderCall.kind == kind,
            ProviderCall.outcome == "ok",
            window.holds(ProviderCall.created_at),
        ]
        total = await percentiles(session, ProviderCall.latency_ms, where, calls)
        if total is None:
            continue
        first_token = await percentiles(
            session, ProviderCall.ttft_ms, [*where, ProviderCall.ttft_ms.is_not(None)], with_ttft
        )
        latency.append(
            CallLatency(model=model, kind=kind, calls=calls, latency_ms=total, ttft_ms=first_token)
        )
    return latency


def model_usage(groups: Sequence[CallGroup]) -> list[ModelUsage]:
    calls: Counter[tuple[str, str]] = Counter()
    errors: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    cancelled: Counter[tuple[str, str]] = Counter()
    tokens_in: Counter[tuple[str, str]] = Counter()
    tokens_out: Counter[tuple[str, str]] = Counter()
    cost: Counter[tuple[str, str]] = Counter()
    for group in groups:
        key = (group.provider, group.model)
        calls[key] += group.calls
        tokens_in[key] += group.tokens_in
        tokens_out[key] += group.tokens_out
        cost[key] += group.cost_micro_usd
        if group.outcome == "error":
            errors[key][group.error_code or "unknown"] += group.calls
        elif group.outcome == "cancelled":
            cancelled[key] += group.calls
    return [
        ModelUsage(
            provider=provider,
            model=model,
            calls=calls[key],
            errors=errors[key].total(),
            cancelled=cancelled[key],
            error_rate=round(errors[key].total() / calls[key], 4) if calls[key] else 0.0,
            errors_by_code=dict(sorted(errors[key].items())),
            tokens_in=tokens_in[key],
            tokens_out=tokens_out[key],
            cost_usd=_usd(cost[key]),
        )
        for key in sorted(calls)
        for provider, model in [key]
    ]


async def compute(session: AsyncSession, start: date, end: date) -> AdminStats:
    """The statistics of ``start``..``end`` (UTC days, inclusive)."""
    window = Window(start, end)
    created = await created_per_day(session, window)
    started = await started_per_day(session, window)
    ended = await ended_per_day(session, window)
    signups = await signups_per_day(session, window)
    nothing = CreatedDay(0, 0, 0, 0, 0)
    days = [
        DayStats(
            day=day,
            created=created.get(day, nothing).interviews,
            started=started.get(day, 0),
            finished=ended.get((day, InterviewStatus.finished), 0),
            abandoned=ended.get((day, InterviewStatus.abandoned), 0),
            signups=signups.get(day, 0),
            active_users=created.get(day, nothing).users,
            tokens_in=created.get(day, nothing).tokens_in,
            tokens_out=created.get(day, nothing).tokens_out,
            cost_usd=_usd(created.get(day, nothing).cost_micro_usd),
        )
        for day in window.days()
    ]
    finished = sum(d.finished for d in days)
    abandoned = sum(d.abandoned for d in days)
    ended_total = finished + abandoned
    totals = StatsTotals(
        created=sum(d.created for d in days),
        started=sum(d.started for d in days),
        finished=finished,
        abandoned=abandoned,
        completion_rate=round(finished / ended_total, 4) if ended_total else None,
        offline_fallbacks=await offline_fallbacks(session, window),
        signups=sum(d.signups for d in days),
        active_users=await active_users(session, window),
        tokens_in=sum(d.tokens_in for d in days),
        tokens_out=sum(d.tokens_out for d in days),
        cost_usd=_usd(sum(c.cost_micro_usd for c in created.values())),
    )
    groups = await call_groups(session, window)
    return AdminStats(
        start=start,
        end=end,
        days=days,
        totals=totals,
        scores_by_track=await scores_by_track(session, window),
        latency=await call_latency(session, window, groups),
        models=model_usage(groups),
        top_users=await top_users(session, window),
    )
