"""How fast the admin statistics are on a large database: ``python -m server.bench.admin_stats``.

Creates a fresh PostgreSQL database on the server ``--database-url`` points at, migrates it,
fills it (server-side, ``INSERT … SELECT`` from ``generate_series``) with users, interviews
over 120 days with their turns, reports and provider calls, then times
``GET /api/admin/stats`` for a 90-day range: once with nothing rolled up (every day read raw),
then the first request after a deploy (it rolls up the range's closed days: cold), then the
warm queries with the rollup in place (p50 and max of the runs, per query and for the whole
endpoint), and prints ``EXPLAIN (ANALYZE, BUFFERS)`` of each (and of what the cold roll-up
reads). The database is dropped at the end, also on failure or Ctrl-C (unless ``--keep``).

Per interview (the engine's shape, ~90% on Gemini): 6 turns (4 questions, 2 follow-ups; 3 for
an abandoned one), a report once it ended, and 13 provider calls (a turn and a score per
turn, then the report), ~1.5% failing and ~1% cancelled; 2% fall back to the offline
interviewer after two turns.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]
import typer
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.admin import stats
from server.store import migrate
from server.store.db import create_engine, create_sessionmaker
from server.store.models import ProviderCallDay

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_RANGE_DAYS = 90

# Server-side generation; :names are filled in by ``_fill``. setseed makes runs comparable.
FILL = [
    (
        "users",
        """
        INSERT INTO "user" (id, email, password_hash, role, token_version, credit_balance,
                            created_at)
        SELECT gen_random_uuid(), 'bench-' || g || '@example.com', 'not-a-hash', 'candidate',
               0, 5, now() - random() * interval '150 days'
        FROM generate_series(1, {users}) g
        """,
    ),
    (
        "owners",
        """
        CREATE TEMP TABLE bench_owner AS
        SELECT row_number() OVER (ORDER BY id)::int AS n, id FROM "user";
        CREATE UNIQUE INDEX ON bench_owner (n);
        """,
    ),
    (
        "plan",
        # A few heavy users (random()^2 favours small n), statuses by age, providers.
        """
        CREATE TEMP TABLE bench_interview AS
        SELECT gen_random_uuid() AS id, o.id AS owner_id, s.created,
               CASE WHEN s.created > now() - interval '1 hour'
                    THEN CASE WHEN s.r_status < 0.5 THEN 'live' ELSE 'created' END
                    WHEN s.r_status < 0.85 THEN 'finished' ELSE 'abandoned' END AS status,
               CASE WHEN s.r_provider < 0.10 THEN 'offline'
                    WHEN s.r_provider < 0.12 THEN 'fallback' ELSE 'gemini' END AS plan,
               CASE WHEN s.r_provider < 0.92 THEN 'gemini-2.5-flash'
                    ELSE 'gemini-2.5-pro' END AS gemini_model,
               (ARRAY['backend','frontend','data_ml','product','behavioral'])[1 + s.g % 5]
                   AS track,
               (ARRAY['junior','mid','senior'])[1 + s.g % 3] AS level,
               s.minutes
        FROM (
            SELECT g, now() - random() * interval '120 days' AS created, random() AS r_status,
                   random() AS r_provider, 1 + floor({users} * power(random(), 2))::int AS n,
                   15 + floor(random() * 30)::int AS minutes
            FROM generate_series(1, {interviews}) g
        ) s
        JOIN bench_owner o ON o.n = s.n;
        ALTER TABLE bench_interview
            ADD COLUMN started timestamptz, ADD COLUMN finished timestamptz,
            ADD COLUMN turns int;
        UPDATE bench_interview SET
            started = CASE WHEN status <> 'created' THEN created + interval '20 seconds' END,
            finished = CASE WHEN status IN ('finished', 'abandoned')
                            THEN created + minutes * interval '1 minute' END,
            turns = CASE status WHEN 'created' THEN 0 WHEN 'abandoned' THEN 3 ELSE 6 END;
        """,
    ),
    (
        "interviews",
        """
        INSERT INTO interview (id, owner_id, track, level, topics, job_description, resume_text,
                               question_count, answer_time_limit_s, status, provider, model,
                               tokens_in, tokens_out, cost_micro_usd, created_at, started_at,
                               finished_at)
        SELECT id, owner_id, track, level, '["system design"]', '', '', 4, 180, status,
               CASE WHEN plan = 'gemini' THEN 'gemini' ELSE 'offline' END,
               CASE WHEN plan = 'gemini' THEN gemini_model ELSE 'offline-v1' END,
               0, 0, 0, created, started, finished
        FROM bench_interview
        """,
    ),
    (
        "turns",
        """
        INSERT INTO turn (interview_id, index, kind, question, answer, answer_source, outcome,
                          asked_at, answered_at)
        SELECT b.id, t, CASE WHEN t IN (2, 4) THEN 'follow_up' ELSE 'question' END,
               'Question ' || t || ': ' || repeat(md5(b.id::text || t), 3),
               repeat(md5(t || b.id::text), 8), 'typed', 'answered',
               b.started + t * interval '3 minutes', b.started + (t * 3 + 2) * interval '1 minute'
        FROM bench_interview b, generate_series(0, b.turns - 1) t
        """,
    ),
    (
        "reports",
        """
        INSERT INTO report (interview_id, overall_score, strengths, weaknesses, next_steps,
                            rubric_version, provider, created_at)
        SELECT id, round((1 + 4 * random())::numeric, 1)::float8,
               '["Clear structure", "Concrete examples"]',
               '["Trade-offs left implicit"]',
               '["Quantify impact", "Name alternatives", "Summarise first"]',
               'v1', CASE WHEN plan = 'gemini' THEN 'gemini' ELSE 'offline' END, finished
        FROM bench_interview WHERE finished IS NOT NULL
        """,
    ),
    (
        "provider calls",
        # Log-normal latencies (Box-Muller); a fallback interview's Gemini calls stop after
        # two turns.
        """
        INSERT INTO provider_call (interview_id, kind, provider, model, outcome, error_code,
                                   tokens_in, tokens_out, cost_micro_usd, latency_ms, ttft_ms,
                                   attempts, created_at)
        SELECT c.id, c.kind, 'gemini', c.gemini_model, c.outcome,
               CASE WHEN c.outcome = 'error' THEN (ARRAY['rate_limited', 'timeout',
                    'server_error', 'blocked'])[1 + floor(random() * 4)::int] END,
               c.tokens_in, c.tokens_out,
               (c.tokens_in * CASE WHEN c.gemini_model = 'gemini-2.5-pro' THEN 1.25 ELSE 0.3 END
                + c.tokens_out * CASE WHEN c.gemini_model = 'gemini-2.5-pro' THEN 10 ELSE 2.5
                  END)::bigint,
               greatest(50, (c.median * exp(0.4 * sqrt(-2 * ln(1 - random()))
                                             * cos(2 * pi() * random())))::int),
               CASE WHEN c.kind = 'turn' AND c.outcome = 'ok'
                    THEN greatest(80, (600 * exp(0.5 * sqrt(-2 * ln(1 - random()))
                                                  * cos(2 * pi() * random())))::int) END,
               1, c.at
        FROM (
            -- random() in a select list is drawn per row (a subquery with it is not merged)
            SELECT g.*, CASE WHEN g.r < 0.015 THEN 'error'
                             WHEN g.r < 0.025 AND g.kind = 'turn' THEN 'cancelled'
                             ELSE 'ok' END AS outcome
            FROM (
                SELECT b.id, b.gemini_model, k.kind, k.median,
                       b.started + (t * 3 + k.offset_min) * interval '1 minute' AS at,
                       random() AS r, 800 + floor(random() * 3000)::int AS tokens_in,
                       80 + floor(random() * 500)::int AS tokens_out
                FROM bench_interview b
                CROSS JOIN LATERAL generate_series(0, b.turns - 1) t
                CROSS JOIN (VALUES ('turn', 2500, 0), ('score', 1800, 2)) k(kind, median,
                                                                            offset_min)
                WHERE b.plan = 'gemini' OR (b.plan = 'fallback' AND t < 2)
                UNION ALL
                SELECT b.id, b.gemini_model, 'report', 4000, b.finished, random(),
                       2000 + floor(random() * 4000)::int, 300 + floor(random() * 500)::int
                FROM bench_interview b
                WHERE b.plan = 'gemini' AND b.finished IS NOT NULL
                UNION ALL  -- the failed turn after which a fallback interview switched
                SELECT b.id, b.gemini_model, 'turn', 2500, b.started + interval '6 minutes',
                       0.0, 800 + floor(random() * 3000)::int, 0
                FROM bench_interview b
                WHERE b.plan = 'fallback' AND b.turns > 2
            ) g
        ) c
        """,
    ),
    (
        "interview totals",
        """
        UPDATE interview i SET tokens_in = s.tokens_in, tokens_out = s.tokens_out,
                               cost_micro_usd = s.cost
        FROM (SELECT interview_id, sum(tokens_in) AS tokens_in, sum(tokens_out) AS tokens_out,
                     sum(cost_micro_usd) AS cost
              FROM provider_call GROUP BY interview_id) s
        WHERE i.id = s.interview_id
        """,
    ),
    ("vacuum", 'VACUUM (ANALYZE) "user", interview, turn, report, provider_call'),
]


def _dsn(url: str, database: str | None = None) -> str:
    """A plain ``postgresql://`` DSN (asyncpg's), optionally for another database."""
    parts = urlsplit(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    if parts.scheme not in ("postgresql", "postgres"):
        raise typer.BadParameter(f"expected a postgresql:// URL, got {parts.scheme}://")
    path = f"/{database}" if database is not None else parts.path
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def _sqlalchemy_url(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


async def _fill(dsn: str, users: int, interviews: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT setseed(0.42)")
        for step, sql in FILL:
            started = time.perf_counter()
            await conn.execute(sql.format(users=users, interviews=interviews))
            print(f"  {step:<18} {time.perf_counter() - started:6.1f} s", flush=True)
        for table in ("user", "interview", "turn", "report", "provider_call"):
            rows = await conn.fetchval(f'SELECT count(*) FROM "{table}"')
            size = await conn.fetchval(
                f"SELECT pg_size_pretty(pg_total_relation_size('\"{table}\"'))"
            )
            print(f"  {table:<14} {rows:>10,} rows  {size:>8} with indexes")
    finally:
        await conn.close()


QueryRun = Callable[[AsyncSession, stats.Window], Awaitable[Any]]


def _queries(raw: Sequence[stats.Window]) -> dict[str, QueryRun]:
    """What ``compute`` runs, by part; ``raw`` are the range's days not rolled up (open)."""

    async def open_days(session: AsyncSession, window: stats.Window) -> Any:
        return [await stats.count_days(session, part) for part in raw]

    async def open_calls(session: AsyncSession, window: stats.Window) -> Any:
        return [await stats.call_days(session, part) for part in raw]

    async def percentiles(session: AsyncSession, window: stats.Window) -> Any:
        # Python only: merging the histograms and reading the percentiles (and the usage).
        groups = await stats.call_groups(session, window, raw)
        started = time.perf_counter()
        found = stats.call_latency(groups), stats.model_usage(groups)
        _Part.elapsed = time.perf_counter() - started
        return found

    return {
        "rolled_days (stats_day)": stats.rolled_days,
        "count_days (open days)": open_days,
        "usage_per_day": stats.usage_per_day,
        "creators (users, top 10)": stats.creators,
        "offline_fallbacks": stats.offline_fallbacks,
        "rolled_call_groups": stats.rolled_call_groups,
        "call_days (open days)": open_calls,
        "call_latency (histograms)": percentiles,
    }


class _Part:
    """The time of the part of a query function that is measured (see ``percentiles``)."""

    elapsed: float | None = None


async def _request(session: AsyncSession, window: stats.Window) -> stats.AdminStats:
    """What ``GET /api/admin/stats`` does: roll up what is missing, then compute."""
    await stats.roll_up(session, window.start, window.end, now=datetime.now(UTC))
    await stats.begin_snapshot(session)
    return await stats.compute(session, window.start, window.end)


async def _time(
    sessionmaker: async_sessionmaker[AsyncSession],
    window: stats.Window,
    raw: Sequence[stats.Window],
    runs: int,
) -> dict[str, list[float]]:
    queries = _queries(raw)
    times: dict[str, list[float]] = {name: [] for name in queries}
    times["whole endpoint (roll_up + compute)"] = []
    for run in range(runs + 1):  # the first run warms the caches and is not counted
        for name, query in queries.items():
            async with sessionmaker() as session:
                await stats.begin_snapshot(session)
                _Part.elapsed = None
                started = time.perf_counter()
                await query(session, window)
                elapsed = _Part.elapsed or (time.perf_counter() - started)
            if run:
                times[name].append(elapsed * 1000)
        async with sessionmaker() as session:
            started = time.perf_counter()
            await _request(session, window)
            if run:
                times["whole endpoint (roll_up + compute)"].append(
                    (time.perf_counter() - started) * 1000
                )
    return times


_BOUNDS = re.compile(r"\{[0-9,]{200,}\}")


def _short(text: str) -> str:
    """The histogram buckets' bounds (an array literal of ~390 numbers) left out."""
    return _BOUNDS.sub(f"{{…{len(stats.LATENCY_BUCKETS) - 1} bounds…}}", text)


async def _explain(
    sessionmaker: async_sessionmaker[AsyncSession],
    window: stats.Window,
    queries: Mapping[str, QueryRun],
    engine: Any,
) -> None:
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(("SET", "EXPLAIN")):
            captured.append((statement, parameters))

    for name, query in queries.items():
        captured.clear()
        event.listen(engine.sync_engine, "before_cursor_execute", capture)
        try:
            async with sessionmaker() as session:
                await stats.begin_snapshot(session)
                await query(session, window)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", capture)
        statements = list(captured)
        plans: list[tuple[float, str, list[str]]] = []
        async with sessionmaker() as session:
            await stats.begin_snapshot(session)
            connection = await session.connection()
            for statement, parameters in statements:
                result = await connection.exec_driver_sql(
                    "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
                )
                lines = [row[0] for row in result]
                total = next(
                    (float(line.split()[2]) for line in lines if line.startswith("Execution Time")),
                    0.0,
                )
                plans.append((total, statement, lines))
        print(f"\n=== {name}: {len(plans)} statement(s)")
        if len(plans) > 1:
            print("  execution times (ms): " + ", ".join(f"{p[0]:.2f}" for p in plans))
            plans = [max(plans, key=lambda plan: plan[0])]
            print("  the slowest:")
        for _, statement, lines in plans:
            print("  " + _short(" ".join(statement.split())))
            print("\n".join("    " + _short(line) for line in lines))


async def run(
    database_url: str, users: int, interviews: int, days: int, runs: int, keep: bool
) -> None:
    admin_dsn = _dsn(database_url)
    name = f"interview_bench_stats_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = _dsn(database_url, name)
    engine = create_engine(_sqlalchemy_url(dsn))
    try:
        print(f"database {name}: migrating", flush=True)
        await migrate.upgrade(_sqlalchemy_url(dsn))
        print(f"filling: {users:,} users, {interviews:,} interviews over 120 days", flush=True)
        started = time.perf_counter()
        await _fill(dsn, users, interviews)
        print(f"filled in {time.perf_counter() - started:.1f} s")
        sessionmaker = create_sessionmaker(engine)
        now = datetime.now(UTC)
        today = now.date()
        window = stats.Window(today - timedelta(days=days - 1), today)
        print(f"\nrange {window.start} .. {window.end} ({days} days)")
        # Nothing rolled up yet: what compute costs reading every day from the raw rows.
        async with sessionmaker() as session:
            await stats.begin_snapshot(session)
            started = time.perf_counter()
            await stats.compute(session, window.start, window.end)
            unrolled = (time.perf_counter() - started) * 1000
        print(f"compute, nothing rolled up (every day raw):  {unrolled:8.1f} ms")
        # The first request after deploying: it rolls up the range's closed days.
        async with sessionmaker() as session:
            started = time.perf_counter()
            rolled = await stats.roll_up(session, window.start, window.end, now=now)
            rolling = (time.perf_counter() - started) * 1000
            await stats.begin_snapshot(session)
            await stats.compute(session, window.start, window.end)
            first = (time.perf_counter() - started) * 1000
        print(
            f"first request (cold): roll_up of {len(rolled)} days {rolling:8.1f} ms, "
            f"with compute {first:8.1f} ms"
        )
        async with sessionmaker() as session:
            done = set(await stats.rolled_days(session, window))
            rows = await session.scalar(select(func.count()).select_from(ProviderCallDay))
        raw = stats.Window.runs(d for d in window.days() if d not in done)
        print(
            f"rolled up: {len(done)} days, {rows:,} provider_call_day rows; read raw: "
            + ", ".join(f"{w.start}..{w.end}" for w in raw)
        )
        print(f"\n{runs} warm runs")
        times = await _time(sessionmaker, window, raw, runs)
        print(f"\n{'query':<36} {'p50 ms':>8} {'max ms':>8}")
        for query_name, values in times.items():
            if query_name.startswith("whole"):
                print("-" * 54)
            print(f"{query_name:<36} {statistics.median(values):8.1f} {max(values):8.1f}")
        total = sum(statistics.median(v) for k, v in times.items() if not k.startswith("whole"))
        print(f"{'sum of the query p50s':<36} {total:8.1f}")
        closed = stats.Window(window.start, max(done)) if done else window

        async def rollup_reads(session: AsyncSession, _: stats.Window) -> Any:
            return await stats.call_days(session, closed)

        queries = {
            **_queries(raw),
            f"cold: call_days over the {len(done)} closed days (roll_up)": rollup_reads,
        }
        del queries["call_latency (histograms)"]  # Python only
        await _explain(sessionmaker, window, queries, engine)
    finally:
        await engine.dispose()
        if keep:
            print(f"\nkept database {name}")
        else:
            admin = await asyncpg.connect(admin_dsn)
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await admin.close()
            print(f"\ndropped database {name}")


def main(
    database_url: Annotated[
        str,
        typer.Option(help="A PostgreSQL server to create the bench database on (any database)."),
    ] = DEFAULT_URL,
    users: Annotated[int, typer.Option(min=1)] = 20_000,
    interviews: Annotated[int, typer.Option(min=1)] = 100_000,
    days: Annotated[
        int, typer.Option(min=1, max=stats.MAX_DAYS, help="The range queried, ending today.")
    ] = DEFAULT_RANGE_DAYS,
    runs: Annotated[int, typer.Option(min=1, help="Warm runs timed per query.")] = 5,
    keep: Annotated[bool, typer.Option(help="Keep the database (to study it).")] = False,
) -> None:
    """Time the admin statistics' queries on a large PostgreSQL database, then drop it."""
    asyncio.run(run(database_url, users, interviews, days, runs, keep))


if __name__ == "__main__":
    typer.run(main)
