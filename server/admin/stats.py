"""Admin: usage statistics over a range of UTC days (interviews, scores, the model, costs).

The queries are the functions below (``server/bench/admin_stats.py`` times them).

**Closed days are rolled up.** A day is closed once it ended more than ``ROLLUP_GRACE`` ago
(rows are written with ``created_at = now``, so by then nothing more can land in it). The
first request that covers a closed day computes it from the raw rows (``roll_up``) and keeps
it: a ``stats_day`` row (its interview counts, and the marker that the day is done) and its
``provider_call_day`` rows (the calls per provider, model, kind, outcome and error code, with
latency histograms), written in one transaction. It is lazy and idempotent: the day rows are
inserted with ``ON CONFLICT DO NOTHING`` and only the request whose insert went through
writes the day's call rows, so two requests rolling up the same day neither fail nor count it
twice. Every other day of a range (today, yesterday within the grace period, or a closed
day not rolled up yet) is read from the raw rows, so a call recorded today shows at once.

What is never rolled up, because it changes after the day it belongs to or is not a sum of
days: the tokens and cost of the interviews created each day (the calls of an interview
created at 23:50 land on its row after midnight), the users over the range (distinct), the
costliest users and the offline fallbacks (an interview's provider can still change). Those
are read from the raw rows of the whole range.

**Percentiles are approximate**: from histograms over fixed log-scaled buckets
(``LATENCY_BUCKETS``: a bucket holds the whole milliseconds ``lo .. lo + lo // 20``, so it is
at most 5 % wide and a single value below 20 ms), merged over the days, interpolated within
a bucket. Each value read from a histogram is within 5 % of the exact one, and so is the
percentile: it is within 5 % of PostgreSQL's ``percentile_cont`` over the same calls (exact
below 20 ms). Open days use the same histograms (computed in SQL), so a percentile does not
depend on whether a day has been rolled up yet.

**Deleting data**: statistics are of what happened. A provider call is kept when its
interview (or the interview's owner) is deleted (``interview_id`` is set to NULL), so the
calls' statistics never change. The day counts of a closed day are kept as they were when it
was rolled up, while the raw rows only hold what is left: a deleted interview or account
still counts in the created / started / ended / sign-up / score figures of a day rolled up
before it was deleted, not in those of an open day, nor in the users and tokens read from
the raw rows. Delete a ``stats_day`` row (its call rows go with it) to roll that day up again.
"""

from __future__ import annotations

import math
import uuid
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from sqlalchemy import (
    ColumnElement,
    Integer,
    Text,
    and_,
    case,
    cast,
    distinct,
    func,
    insert,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import ReturningInsert
from sqlalchemy.sql.functions import FunctionElement

from server.deps import SessionDep
from server.llm.offline.interviewer import OfflineInterviewer
from server.store.models import (
    Interview,
    InterviewStatus,
    ProviderCall,
    ProviderCallDay,
    Report,
    StatsDay,
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
# A day is rolled up once it ended this long ago: a row is stamped when it is written, so a
# transaction still open at midnight commits well within it.
ROLLUP_GRACE = timedelta(minutes=10)
_EARLIEST = date(2000, 1, 1)
_LATEST = date(9999, 12, 30)  # the day after still exists
_INT4_MAX = 2**31 - 1


def _latency_buckets() -> tuple[int, ...]:
    """The lower bounds of the histogram buckets after the first (which holds 0 ms):
    1, 2, ..., 20, 22, 24, ... each ``lo + lo // 20 + 1`` after the last, up to past the
    largest ``INTEGER`` (about 400 buckets)."""
    bounds = []
    low = 1
    while low <= _INT4_MAX:
        bounds.append(low)
        low += low // 20 + 1
    bounds.append(low)
    return tuple(bounds)


LATENCY_BUCKETS = _latency_buckets()

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
    """Milliseconds, approximate: read from histograms with log-scaled buckets (each at most
    5 % wide, one value wide below 20 ms) and interpolated like PostgreSQL's
    ``percentile_cont``; within 5 % of the exact value (exact below 20 ms)."""

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
    for field_name, day in (("from", start), ("to", end)):
        if not _EARLIEST <= day <= _LATEST:
            raise _invalid(field_name, f"expected a day from {_EARLIEST} to {_LATEST}, got {day}")
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
    now = datetime.now(UTC)
    start, end = resolve_range(start, end, today=now.date())
    await roll_up(session, start, end, now=now)
    await begin_snapshot(session)
    return await compute(session, start, end)


# --- SQL helpers --------------------------------------------------------------------------


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


class latency_bucket(FunctionElement[int]):  # named like the SQL function it is
    """The histogram bucket of a number of milliseconds: ``bucket_of`` in SQL."""

    type = Integer()
    inherit_cache = True
    name = "latency_bucket"


def _bisect_sql(column: str, low: int, high: int) -> str:
    """``bisect_right(LATENCY_BUCKETS, column)``, known to be in ``low..high``, as nested
    CASEs (a binary search: about nine comparisons a row)."""
    if low == high:
        return str(low)
    middle = (low + high + 1) // 2  # the bucket is >= middle when column >= its lower bound
    below, above = _bisect_sql(column, low, middle - 1), _bisect_sql(column, middle, high)
    return f"CASE WHEN {column} < {LATENCY_BUCKETS[middle - 1]} THEN {below} ELSE {above} END"


@compiles(latency_bucket)
def _latency_bucket(element: latency_bucket, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    search = _bisect_sql(column, 0, len(LATENCY_BUCKETS))
    return f"(CASE WHEN {column} IS NULL THEN NULL ELSE {search} END)"


@compiles(latency_bucket, "postgresql")
def _latency_bucket_postgresql(element: latency_bucket, compiler: SQLCompiler, **kw: Any) -> str:
    # width_bucket counts the lower bounds <= the value (a binary search): bisect_right. The
    # last bound is past any INTEGER (so not one itself), and no INTEGER reaches it.
    column = compiler.process(element.clauses, **kw)
    bounds = ",".join(map(str, LATENCY_BUCKETS[:-1]))
    return f"width_bucket({column}, '{{{bounds}}}'::integer[])"


async def begin_snapshot(session: AsyncSession) -> None:
    """Run the queries on one snapshot (the counts and the percentiles agree), without JIT."""
    await session.commit()  # whatever the request read before (its admin)
    if session.get_bind().dialect.name == "postgresql":
        connection = await session.connection(
            execution_options={"isolation_level": "REPEATABLE READ"}
        )
        # JIT compiling these aggregates costs more than it saves (~40 ms each).
        await connection.exec_driver_sql("SET LOCAL jit = off")
        # Grouping a range's rows by day: the planner expects a group per timestamp (it has
        # no statistics on the day expression) and, at the default 4 MB, sorts them on disk
        # (~60 ms for 75,000 interviews) instead of hashing them into ~90 groups (~20 ms).
        await connection.exec_driver_sql("SET LOCAL work_mem = '32MB'")


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

    def holds_day(self, column: InstrumentedAttribute[date]) -> ColumnElement[bool]:
        return and_(column >= self.start, column <= self.end)

    @staticmethod
    def runs(days: Iterable[date]) -> list[Window]:
        """The fewest windows that cover exactly ``days``."""
        runs: list[Window] = []
        for day in sorted(set(days)):
            if runs and runs[-1].end + timedelta(days=1) == day:
                runs[-1] = Window(runs[-1].start, day)
            else:
                runs.append(Window(day, day))
        return runs


def _usd(micro: int) -> float:
    return round(micro / 1_000_000, 6)


def last_closed_day(now: datetime) -> date:
    """The last day that ended more than ``ROLLUP_GRACE`` before ``now`` (see the module)."""
    return (now - ROLLUP_GRACE).date() - timedelta(days=1)


# --- histograms ---------------------------------------------------------------------------


def bucket_of(ms: int) -> int:
    """The bucket of a duration: 0 holds 0 ms (and anything below), bucket ``i`` holds
    ``LATENCY_BUCKETS[i - 1]`` up to (not including) ``LATENCY_BUCKETS[i]``, the last one
    (``len(LATENCY_BUCKETS)``) everything from ``LATENCY_BUCKETS[-1]`` (past any INTEGER)."""
    return bisect_right(LATENCY_BUCKETS, ms)


def bucket_range(bucket: int) -> tuple[int, int]:
    """The lowest and the highest whole milliseconds of a bucket (both included)."""
    if bucket <= 0:
        return 0, 0
    if bucket >= len(LATENCY_BUCKETS):
        return LATENCY_BUCKETS[-1], LATENCY_BUCKETS[-1]
    return LATENCY_BUCKETS[bucket - 1], LATENCY_BUCKETS[bucket] - 1


def _value_at(items: Sequence[tuple[int, int]], rank: int) -> float:
    """The ``rank``-th smallest value (from 0) of a histogram's sorted ``(bucket, count)``
    items: the ``count`` values of its bucket taken as evenly spread over the bucket."""
    seen = 0
    for bucket, count in items:
        if rank < seen + count:
            low, high = bucket_range(bucket)
            return low + (rank - seen + 0.5) / count * (high - low)
        seen += count
    raise ValueError(f"rank {rank} is past the {seen} values of the histogram")


def histogram_percentile(histogram: Mapping[int, int], fraction: float) -> float | None:
    """``percentile_cont(fraction)`` of the values a histogram counts, within 5 % (see the
    module); None when it counts none."""
    items = sorted((bucket, count) for bucket, count in histogram.items() if count > 0)
    total = sum(count for _, count in items)
    if not total:
        return None
    position = fraction * (total - 1)
    low = math.floor(position)
    high = min(low + 1, total - 1)
    lower, upper = _value_at(items, low), _value_at(items, high)
    return round(lower + (position - low) * (upper - lower), 3)


def _histogram_json(histogram: Mapping[int, int]) -> dict[str, Any]:
    return {str(bucket): count for bucket, count in sorted(histogram.items()) if count}


# --- interviews and users per day ---------------------------------------------------------


@dataclass(slots=True)
class DayCounts:
    """What happened on one day; never changes once the day is closed (see the module)."""

    created: int = 0
    active_users: int = 0
    started: int = 0
    finished: int = 0
    abandoned: int = 0
    signups: int = 0
    # Reports of the interviews that ended that day, per track: (reports, sum of scores).
    scores: dict[str, tuple[int, float]] = field(default_factory=dict)


async def created_per_day(session: AsyncSession, window: Window) -> dict[date, tuple[int, int]]:
    """Interviews created, and the users who created them."""
    day = utc_day(Interview.created_at)
    rows = await session.execute(
        select(day, func.count(), func.count(distinct(Interview.owner_id)))
        .where(window.holds(Interview.created_at))
        .group_by(day)
    )
    return {d.date(): (int(n), int(users)) for d, n, users in rows}


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


async def scores_per_day(
    session: AsyncSession, window: Window
) -> dict[tuple[date, str], tuple[int, float]]:
    """Reports of the interviews that ended each day, per track: how many, sum of scores."""
    day = utc_day(Interview.finished_at)
    rows = await session.execute(
        select(day, Interview.track, func.count(), func.sum(Report.overall_score))
        .join(Report, Report.interview_id == Interview.id)
        .where(window.holds(Interview.finished_at))
        .group_by(day, Interview.track)
    )
    return {(d.date(), str(track)): (int(n), float(total)) for d, track, n, total in rows}


async def count_days(session: AsyncSession, window: Window) -> dict[date, DayCounts]:
    """Every day of ``window``, counted from the raw rows (open days, and rolling up)."""
    days = {day: DayCounts() for day in window.days()}
    for day, (created, users) in (await created_per_day(session, window)).items():
        days[day].created, days[day].active_users = created, users
    for day, started in (await started_per_day(session, window)).items():
        days[day].started = started
    for (day, status), n in (await ended_per_day(session, window)).items():
        if status == InterviewStatus.finished:
            days[day].finished = n
        elif status == InterviewStatus.abandoned:
            days[day].abandoned = n
    for day, signups in (await signups_per_day(session, window)).items():
        days[day].signups = signups
    for (day, track), score in (await scores_per_day(session, window)).items():
        days[day].scores[track] = score
    return days


async def rolled_days(session: AsyncSession, window: Window) -> dict[date, DayCounts]:
    """The days of ``window`` rolled up already (``stats_day``)."""
    connection = await session.connection()  # plain rows: no ORM objects
    rows = await connection.execute(
        select(
            StatsDay.day,
            StatsDay.created,
            StatsDay.active_users,
            StatsDay.started,
            StatsDay.finished,
            StatsDay.abandoned,
            StatsDay.signups,
            StatsDay.scores,
        ).where(window.holds_day(StatsDay.day))
    )
    return {
        day: DayCounts(
            created,
            active_users,
            started,
            finished,
            abandoned,
            signups,
            {track: (int(n), float(total)) for track, (n, total) in scores.items()},
        )
        for day, created, active_users, started, finished, abandoned, signups, scores in rows
    }


# --- read from the raw rows of the whole range --------------------------------------------


@dataclass(frozen=True, slots=True)
class Usage:
    tokens_in: int
    tokens_out: int
    cost_micro_usd: int


async def usage_per_day(session: AsyncSession, window: Window) -> dict[date, Usage]:
    """Model tokens and cost of the interviews created each day, as they are now.

    Read from the interviews (the calls are rolled up into them as they happen): ten times
    fewer rows than the calls. Never rolled up: an interview's calls land on its row after
    the day it was created on when it runs past midnight.
    """
    day = utc_day(Interview.created_at)
    rows = await session.execute(
        select(
            day,
            func.sum(Interview.tokens_in),
            func.sum(Interview.tokens_out),
            func.sum(Interview.cost_micro_usd),
        )
        .where(window.holds(Interview.created_at))
        .group_by(day)
    )
    return {d.date(): Usage(*(int(v) for v in values)) for d, *values in rows}


@dataclass(frozen=True, slots=True)
class Creators:
    active_users: int  # users who created an interview in the range
    top: list[TopUser]


async def creators(session: AsyncSession, window: Window) -> Creators:
    """The users who created interviews in the range: how many, and the costliest.

    One grouping of the range's interviews per user; ``count(*) OVER ()`` counts its groups
    before the limit (the users), so no second pass counts them.
    """
    cost = func.sum(Interview.cost_micro_usd).label("cost")
    costliest = (
        select(
            Interview.owner_id,
            func.count().label("interviews"),
            cost,
            func.count().over().label("owners"),
        )
        .where(window.holds(Interview.created_at))
        .group_by(Interview.owner_id)
        .order_by(cost.desc(), Interview.owner_id)
        .limit(TOP_USERS)
        .subquery()
    )
    rows = (
        await session.execute(
            select(
                User.id, User.email, costliest.c.interviews, costliest.c.cost, costliest.c.owners
            )
            .join(costliest, costliest.c.owner_id == User.id)
            .order_by(costliest.c.cost.desc(), User.id)
        )
    ).all()
    return Creators(
        active_users=int(rows[0].owners) if rows else 0,
        top=[
            TopUser(user_id=user_id, email=email, interviews=int(n), cost_usd=_usd(int(micro)))
            for user_id, email, n, micro, _ in rows
            if int(micro) > 0
        ],
    )


async def offline_fallbacks(session: AsyncSession, window: Window) -> int:
    """Interviews now on the offline interviewer whose model call failed in the range.

    A switch always follows a failed call (every call is recorded, failures included), so
    this reads the few failed calls (a partial index) and the interviews now on the offline
    interviewer (an index on the provider) instead of every call of every offline interview.
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


# --- provider calls -----------------------------------------------------------------------

CallKey = tuple[str, str, str, str, str | None]  # provider, model, kind, outcome, error code


@dataclass(slots=True)
class CallGroup:
    """Provider calls of one model, kind and outcome (and error code), with the latency and
    time-to-first-token histograms of the calls that succeeded."""

    provider: str
    model: str
    kind: str
    outcome: str
    error_code: str | None
    calls: int = 0
    with_ttft: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_micro_usd: int = 0
    latency: Counter[int] = field(default_factory=Counter)
    ttft: Counter[int] = field(default_factory=Counter)

    @property
    def key(self) -> CallKey:
        return (self.provider, self.model, self.kind, self.outcome, self.error_code)

    def add(self, other: CallGroup) -> None:
        self.calls += other.calls
        self.with_ttft += other.with_ttft
        self.tokens_in += other.tokens_in
        self.tokens_out += other.tokens_out
        self.cost_micro_usd += other.cost_micro_usd
        self.latency.update(other.latency)
        self.ttft.update(other.ttft)


def _merge(groups: Iterable[CallGroup]) -> list[CallGroup]:
    merged: dict[CallKey, CallGroup] = {}
    for group in groups:
        if (into := merged.get(group.key)) is None:
            merged[group.key] = into = CallGroup(*group.key)
        into.add(group)
    return list(merged.values())


async def call_days(session: AsyncSession, window: Window) -> dict[date, list[CallGroup]]:
    """The calls of each day of ``window``, from the raw rows: sums per group, and the
    histograms of the calls that succeeded (two passes: latency, then time to first token)."""
    connection = await session.connection()  # plain rows: no ORM row processing
    day = utc_day(ProviderCall.created_at)
    keys = (
        ProviderCall.provider,
        ProviderCall.model,
        ProviderCall.kind,
        ProviderCall.outcome,
        ProviderCall.error_code,
    )
    # A literal (not a parameter) so the GROUP BY repeats the select list's expression.
    ok = ProviderCall.outcome == literal_column("'ok'")
    latency = case((ok, latency_bucket(ProviderCall.latency_ms)))
    rows = await connection.execute(
        select(
            day,
            *keys,
            latency,
            func.count(),
            func.count(ProviderCall.ttft_ms),
            func.sum(ProviderCall.tokens_in),
            func.sum(ProviderCall.tokens_out),
            func.sum(ProviderCall.cost_micro_usd),
        )
        .where(window.holds(ProviderCall.created_at))
        .group_by(day, *keys, latency)
    )
    groups: dict[tuple[date, CallKey], CallGroup] = {}
    for moment, provider, model, kind, outcome, code, bucket, *sums in rows:
        key = (moment.date(), (provider, model, kind, outcome, code))
        if (group := groups.get(key)) is None:
            groups[key] = group = CallGroup(provider, model, kind, outcome, code)
        calls, with_ttft, tokens_in, tokens_out, cost = (int(v) for v in sums)
        group.calls += calls
        group.with_ttft += with_ttft
        group.tokens_in += tokens_in
        group.tokens_out += tokens_out
        group.cost_micro_usd += cost
        if bucket is not None:
            group.latency[int(bucket)] += calls
    first_token = latency_bucket(ProviderCall.ttft_ms)
    rows = await connection.execute(
        select(day, *keys, first_token, func.count())
        .where(
            window.holds(ProviderCall.created_at),
            ProviderCall.outcome == "ok",
            ProviderCall.ttft_ms.is_not(None),
        )
        .group_by(day, *keys, first_token)
    )
    for moment, provider, model, kind, outcome, code, bucket, n in rows:
        key = (moment.date(), (provider, model, kind, outcome, code))
        if (group := groups.get(key)) is None:  # not at REPEATABLE READ, nor in a closed day
            groups[key] = group = CallGroup(provider, model, kind, outcome, code)
        group.ttft[int(bucket)] += n
    days: dict[date, list[CallGroup]] = defaultdict(list)
    for (moment_day, _), group in groups.items():
        days[moment_day].append(group)
    return dict(days)


async def rolled_call_groups(session: AsyncSession, window: Window) -> list[CallGroup]:
    """The calls of the days of ``window`` rolled up already (``provider_call_day``): about
    30 rows a day, summed here. The histograms (about 45 buckets a row) are read as JSON
    text and added up by their keys, turned into buckets once at the end: a third of the
    time of expanding them with ``json_each`` and summing in SQL."""
    connection = await session.connection()  # plain rows: no ORM row processing
    rows = await connection.execute(
        select(
            ProviderCallDay.provider,
            ProviderCallDay.model,
            ProviderCallDay.kind,
            ProviderCallDay.outcome,
            ProviderCallDay.error_code,
            ProviderCallDay.calls,
            ProviderCallDay.with_ttft,
            ProviderCallDay.tokens_in,
            ProviderCallDay.tokens_out,
            ProviderCallDay.cost_micro_usd,
            cast(ProviderCallDay.latency_hist, Text),
            cast(ProviderCallDay.ttft_hist, Text),
        ).where(window.holds_day(ProviderCallDay.day))
    )
    groups: dict[CallKey, tuple[CallGroup, dict[str, int], dict[str, int]]] = {}
    for provider, model, kind, outcome, code, *sums, latency, ttft in rows:
        key: CallKey = (provider, model, kind, outcome, code or None)  # '' in the key there
        if (found := groups.get(key)) is None:
            groups[key] = found = (CallGroup(*key), {}, {})
        group, latencies, first_tokens = found
        group.calls += sums[0]
        group.with_ttft += sums[1]
        group.tokens_in += sums[2]
        group.tokens_out += sums[3]
        group.cost_micro_usd += sums[4]
        if outcome == "ok":
            _add_json(latencies, latency)
            _add_json(first_tokens, ttft)
    for group, latencies, first_tokens in groups.values():
        group.latency, group.ttft = _counter(latencies), _counter(first_tokens)
    return [group for group, _, _ in groups.values()]


def _add_json(totals: dict[str, int], stored: str) -> None:
    """Add a stored histogram (``{"57": 12, ...}``) to ``totals`` (by the same keys)."""
    found = totals.get
    for bucket, count in orjson.loads(stored).items():
        totals[bucket] = found(bucket, 0) + count


def _counter(totals: dict[str, int]) -> Counter[int]:
    return Counter({int(bucket): count for bucket, count in totals.items()})


async def call_groups(
    session: AsyncSession, window: Window, raw: Sequence[Window]
) -> list[CallGroup]:
    """The range's calls: the rolled-up days merged with the ``raw`` ones (the days of the
    range not rolled up, see ``compute``). Usage, errors and the percentiles all come from
    these."""
    groups = await rolled_call_groups(session, window)
    for part in raw:
        for day_groups in (await call_days(session, part)).values():
            groups.extend(day_groups)
    return _merge(groups)


def _percentiles(histogram: Mapping[int, int]) -> Percentiles | None:
    found = [histogram_percentile(histogram, p) for p in PERCENTILES]
    if any(value is None for value in found):
        return None
    p50, p95 = found
    assert p50 is not None and p95 is not None
    return Percentiles(p50=p50, p95=p95)


def call_latency(groups: Sequence[CallGroup]) -> list[CallLatency]:
    """Latency and time-to-first-token percentiles of successful calls, per model and kind."""
    latency: dict[tuple[str, str], Counter[int]] = defaultdict(Counter)
    first_token: dict[tuple[str, str], Counter[int]] = defaultdict(Counter)
    for group in groups:
        if group.outcome == "ok":
            latency[(group.model, group.kind)].update(group.latency)
            first_token[(group.model, group.kind)].update(group.ttft)
    found = []
    for (model, kind), histogram in sorted(latency.items()):
        total = _percentiles(histogram)
        if total is None:
            continue
        found.append(
            CallLatency(
                model=model,
                kind=kind,
                calls=histogram.total(),
                latency_ms=total,
                ttft_ms=_percentiles(first_token[(model, kind)]),
            )
        )
    return found


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


# --- rolling up ---------------------------------------------------------------------------


async def roll_up(session: AsyncSession, start: date, end: date, *, now: datetime) -> list[date]:
    """Roll up the days of ``start``..``end`` closed at ``now`` and not rolled up yet; the
    days this call rolled up (none when another request did them first).

    Commits: what the session had open before, then each run of consecutive days. Run it at
    READ COMMITTED (before ``begin_snapshot``): a request that finds a day taken by another
    one waits for it, then leaves the day alone (at REPEATABLE READ it would fail instead).
    """
    await session.commit()
    last = min(end, last_closed_day(now))
    if start > last:
        return []
    window = Window(start, last)
    done = set(await session.scalars(select(StatsDay.day).where(window.holds_day(StatsDay.day))))
    rolled: list[date] = []
    for part in Window.runs(day for day in window.days() if day not in done):
        counts = await count_days(session, part)
        calls = await call_days(session, part)
        claimed = await _claim_days(session, counts, now)
        rows = [
            {
                "day": day,
                "provider": group.provider,
                "model": group.model,
                "kind": group.kind,
                "outcome": group.outcome,
                "error_code": group.error_code or "",
                "calls": group.calls,
                "with_ttft": group.with_ttft,
                "tokens_in": group.tokens_in,
                "tokens_out": group.tokens_out,
                "cost_micro_usd": group.cost_micro_usd,
                "latency_hist": _histogram_json(group.latency),
                "ttft_hist": _histogram_json(group.ttft),
            }
            for day in claimed
            for group in _merge(calls.get(day, ()))  # a NULL and an '' code are one key
        ]
        if rows:
            await session.execute(insert(ProviderCallDay), rows)
        await session.commit()
        rolled.extend(claimed)
    return rolled


async def _claim_days(
    session: AsyncSession, counts: Mapping[date, DayCounts], now: datetime
) -> list[date]:
    """Insert the ``stats_day`` rows, oldest first (two requests lock them in the same
    order); the days whose row this insert wrote, not another request's."""
    values = [
        {
            "day": day,
            "created": c.created,
            "active_users": c.active_users,
            "started": c.started,
            "finished": c.finished,
            "abandoned": c.abandoned,
            "signups": c.signups,
            "scores": {track: [n, total] for track, (n, total) in sorted(c.scores.items())},
            "rolled_up_at": now,
        }
        for day, c in sorted(counts.items())
    ]
    dialect = session.get_bind().dialect.name
    statement: ReturningInsert[tuple[date]]
    if dialect == "postgresql":
        statement = (
            postgresql_insert(StatsDay)
            .values(values)
            .on_conflict_do_nothing()
            .returning(StatsDay.day)
        )
    elif dialect == "sqlite":
        statement = (
            sqlite_insert(StatsDay).values(values).on_conflict_do_nothing().returning(StatsDay.day)
        )
    else:  # pragma: no cover - the two backends the service runs on
        raise NotImplementedError(dialect)
    return sorted(await session.scalars(statement))


# --- the statistics -----------------------------------------------------------------------


async def compute(session: AsyncSession, start: date, end: date) -> AdminStats:
    """The statistics of ``start``..``end`` (UTC days, inclusive): the days rolled up read
    from their rollup, every other day from the raw rows."""
    window = Window(start, end)
    counts = await rolled_days(session, window)
    raw = Window.runs(day for day in window.days() if day not in counts)
    for part in raw:
        counts.update(await count_days(session, part))
    usage = await usage_per_day(session, window)
    nothing = Usage(0, 0, 0)
    days = [
        DayStats(
            day=day,
            created=counts[day].created,
            started=counts[day].started,
            finished=counts[day].finished,
            abandoned=counts[day].abandoned,
            signups=counts[day].signups,
            active_users=counts[day].active_users,
            tokens_in=usage.get(day, nothing).tokens_in,
            tokens_out=usage.get(day, nothing).tokens_out,
            cost_usd=_usd(usage.get(day, nothing).cost_micro_usd),
        )
        for day in window.days()
    ]
    finished = sum(d.finished for d in days)
    abandoned = sum(d.abandoned for d in days)
    ended_total = finished + abandoned
    users = await creators(session, window)
    totals = StatsTotals(
        created=sum(d.created for d in days),
        started=sum(d.started for d in days),
        finished=finished,
        abandoned=abandoned,
        completion_rate=round(finished / ended_total, 4) if ended_total else None,
        offline_fallbacks=await offline_fallbacks(session, window),
        signups=sum(d.signups for d in days),
        active_users=users.active_users,
        tokens_in=sum(d.tokens_in for d in days),
        tokens_out=sum(d.tokens_out for d in days),
        cost_usd=_usd(sum(u.cost_micro_usd for u in usage.values())),
    )
    scores: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for day in window.days():
        for track, (n, total) in counts[day].scores.items():
            scores[track][0] += n
            scores[track][1] += total
    groups = await call_groups(session, window, raw)
    return AdminStats(
        start=start,
        end=end,
        days=days,
        totals=totals,
        scores_by_track=[
            TrackScore(track=Track(track), reports=int(n), average_score=round(total / n, 3))
            for track, (n, total) in sorted(scores.items())
            if n
        ],
        latency=call_latency(groups),
        models=model_usage(groups),
        top_users=users.top,
    )
