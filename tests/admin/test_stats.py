"""Admin: statistics over UTC days, checked number by number on a small seeded dataset.

The data lives in January 2001, a range no other test writes to (they all write "now").
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from server.store.models import (
    Interview,
    InterviewStatus,
    Level,
    ProviderCall,
    Report,
    Track,
    User,
)
from tests.admin.people import make_admin

D0 = date(2001, 1, 10)


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A moment on day ``day`` of the dataset (0 = D0)."""
    return datetime(D0.year, D0.month, D0.day, hour, minute, second, tzinfo=UTC) + timedelta(
        days=day
    )


def _user(tag: str, n: int, created: datetime) -> User:
    return User(
        id=uuid.uuid4(),
        email=f"stats-{tag}-{n}@example.com",
        password_hash="not-a-hash",
        created_at=created,
    )


def _interview(
    owner: User,
    track: Track,
    created: datetime,
    *,
    started: datetime | None = None,
    finished: datetime | None = None,
    status: InterviewStatus = InterviewStatus.created,
    provider: tuple[str, str] = ("gemini", "gemini-test"),
    usage: tuple[int, int, int] = (0, 0, 0),
) -> Interview:
    return Interview(
        id=uuid.uuid4(),
        owner_id=owner.id,
        track=track,
        level=Level.mid,
        question_count=5,
        answer_time_limit_s=180,
        status=status,
        provider=provider[0],
        model=provider[1],
        tokens_in=usage[0],
        tokens_out=usage[1],
        cost_micro_usd=usage[2],
        created_at=created,
        started_at=started,
        finished_at=finished,
    )


def _report(interview: Interview, score: float) -> Report:
    assert interview.finished_at is not None
    return Report(
        interview_id=interview.id,
        overall_score=score,
        rubric_version="v1",
        provider=interview.provider,
        created_at=interview.finished_at,
    )


def _call(
    model: str,
    kind: str,
    moment: datetime,
    latency_ms: int,
    *,
    ttft_ms: int | None = None,
    outcome: str = "ok",
    error_code: str | None = None,
    interview: Interview | None = None,
) -> ProviderCall:
    return ProviderCall(
        interview_id=interview.id if interview else None,
        kind=kind,
        provider="gemini",
        model=model,
        outcome=outcome,
        error_code=error_code,
        tokens_in=10,
        tokens_out=5,
        cost_micro_usd=1000,
        latency_ms=latency_ms,
        ttft_ms=ttft_ms,
        created_at=moment,
    )


async def _seed(app: FastAPI) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    u1, u2, u3 = _user(tag, 1, at(0, 10)), _user(tag, 2, at(0, 12)), _user(tag, 3, at(1, 9))
    late = _user(tag, 4, at(3, 9))  # signed up the day after the range
    finished, abandoned = InterviewStatus.finished, InterviewStatus.abandoned
    i1 = _interview(
        u1,
        Track.backend,
        at(0, 10, 5),
        started=at(0, 10, 6),
        finished=at(0, 10, 30),
        status=finished,
        usage=(100, 10, 1_500_000),
    )
    i2 = _interview(
        u1,
        Track.backend,
        at(0, 11),
        started=at(0, 11, 1),
        finished=at(1, 0, 10),
        status=finished,
        usage=(50, 5, 500_000),
    )
    i3 = _interview(
        u2,
        Track.frontend,
        at(1, 8),
        started=at(1, 8, 1),
        finished=at(1, 8, 40),
        status=abandoned,
        usage=(20, 2, 250_000),
    )
    i4 = _interview(u2, Track.frontend, at(1, 9))
    i5 = _interview(
        u3,
        Track.behavioral,
        at(2, 23, 59),
        started=at(2, 23, 59, 30),
        finished=at(3, 0, 20),
        status=finished,
    )
    # Fell back to the offline interviewer after two failed turns on the model.
    i6 = _interview(
        u3,
        Track.backend,
        at(2, 10),
        started=at(2, 10, 1),
        finished=at(2, 10, 30),
        status=abandoned,
        provider=("offline", "offline-v1"),
        usage=(10, 1, 100_000),
    )
    # Created before the range, finished on its first day.
    i7 = _interview(
        u1,
        Track.backend,
        at(-1, 22),
        started=at(-1, 22, 1),
        finished=at(0, 1),
        status=finished,
        usage=(999, 99, 9_000_000),
    )
    i8 = _interview(u2, Track.data_ml, at(2, 12), provider=("offline", "offline-v1"))
    model, pro = f"gemini-{tag}", f"gemini-{tag}-pro"
    calls = [
        *(
            _call(model, "turn", at(n // 5, 12, n), 100 * (n + 1), ttft_ms=10 * (n + 1))
            for n in range(10)
        ),
        _call(model, "score", at(2, 9), 3000),
        _call(model, "score", at(2, 9, 1), 1000),
        _call(
            model,
            "turn",
            at(2, 10, 2),
            99_999,
            outcome="error",
            error_code="rate_limited",
            interview=i6,
        ),
        _call(
            model,
            "turn",
            at(2, 10, 3),
            99_999,
            outcome="error",
            error_code="rate_limited",
            interview=i6,
        ),
        _call(model, "score", at(2, 9, 2), 88_888, outcome="error", error_code="timeout"),
        _call(model, "turn", at(2, 9, 3), 5, outcome="cancelled"),
        _call(model, "turn", at(3, 1), 1, ttft_ms=1),  # the day after the range
        _call(pro, "score", at(0, 13), 700),
    ]
    async with app.state.services.sessionmaker() as session:
        session.add_all([u1, u2, u3, late])
        await session.flush()
        session.add_all([i1, i2, i3, i4, i5, i6, i7, i8])
        await session.flush()
        session.add_all([_report(i1, 4.0), _report(i2, 3.0), _report(i3, 2.5), _report(i5, 5.0)])
        session.add(_report(i7, 1.0))
        session.add_all(calls)
        await session.commit()
    return {"users": (u1, u2, u3), "model": model, "pro": pro}


async def _stats(
    client: httpx.AsyncClient, headers: dict[str, str], **params: str
) -> httpx.Response:
    return await client.get("/api/admin/stats", params=params, headers=headers)


def assert_within_bound(found: dict[str, float], exact: dict[str, float]) -> None:
    """A histogram percentile is within 5 % of the exact one (and rounded to 0.001 ms)."""
    assert found.keys() == exact.keys()
    for name, value in exact.items():
        assert abs(found[name] - value) <= 0.05 * value + 0.001, (name, found, exact)


async def test_statistics_of_a_seeded_range_are_exact(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    seeded = await _seed(app)
    admin = await make_admin(app, client)
    u1, u2, u3 = seeded["users"]
    model, pro = seeded["model"], seeded["pro"]

    response = await _stats(
        client, admin.headers, **{"from": D0.isoformat(), "to": (D0 + timedelta(2)).isoformat()}
    )
    assert response.status_code == 200, response.text
    stats = response.json()
    assert (stats["start"], stats["end"]) == ("2001-01-10", "2001-01-12")
    days = [
        (
            d["day"],
            d["created"],
            d["started"],
            d["finished"],
            d["abandoned"],
            d["signups"],
            d["active_users"],
            d["tokens_in"],
            d["tokens_out"],
            d["cost_usd"],
        )
        for d in stats["days"]
    ]
    assert days == [
        ("2001-01-10", 2, 2, 2, 0, 2, 1, 150, 15, 2.0),
        ("2001-01-11", 2, 1, 1, 1, 1, 1, 20, 2, 0.25),
        ("2001-01-12", 3, 2, 0, 1, 0, 2, 10, 1, 0.1),
    ]
    assert stats["totals"] == {
        "created": 7,
        "started": 5,
        "finished": 3,
        "abandoned": 2,
        "completion_rate": 0.6,
        "offline_fallbacks": 1,
        "signups": 3,
        "active_users": 3,
        "tokens_in": 180,
        "tokens_out": 18,
        "cost_usd": 2.35,
    }
    assert stats["scores_by_track"] == [
        {"track": "backend", "reports": 3, "average_score": 2.667},
        {"track": "frontend", "reports": 1, "average_score": 2.5},
    ]
    # Percentiles come from histograms: within 5 % of percentile_cont (exact below 20 ms).
    exact = [
        (model, "score", 2, {"p50": 2000.0, "p95": 2900.0}, None),
        (model, "turn", 10, {"p50": 550.0, "p95": 955.0}, {"p50": 55.0, "p95": 95.5}),
        (pro, "score", 1, {"p50": 700.0, "p95": 700.0}, None),
    ]
    assert [(c["model"], c["kind"], c["calls"]) for c in stats["latency"]] == [
        (m, kind, calls) for m, kind, calls, _, _ in exact
    ]
    for found, (*_, latency, ttft) in zip(stats["latency"], exact, strict=True):
        assert_within_bound(found["latency_ms"], latency)
        if ttft is None:
            assert found["ttft_ms"] is None
        else:
            assert_within_bound(found["ttft_ms"], ttft)
    assert stats["models"] == [
        {
            "provider": "gemini",
            "model": model,
            "calls": 16,
            "errors": 3,
            "cancelled": 1,
            "error_rate": 0.1875,
            "errors_by_code": {"rate_limited": 2, "timeout": 1},
            "tokens_in": 160,
            "tokens_out": 80,
            "cost_usd": 0.016,
        },
        {
            "provider": "gemini",
            "model": pro,
            "calls": 1,
            "errors": 0,
            "cancelled": 0,
            "error_rate": 0.0,
            "errors_by_code": {},
            "tokens_in": 10,
            "tokens_out": 5,
            "cost_usd": 0.001,
        },
    ]
    assert stats["top_users"] == [
        {"user_id": str(u1.id), "email": u1.email, "interviews": 2, "cost_usd": 2.0},
        {"user_id": str(u2.id), "email": u2.email, "interviews": 3, "cost_usd": 0.25},
        {"user_id": str(u3.id), "email": u3.email, "interviews": 2, "cost_usd": 0.1},
    ]


async def test_one_day_is_a_range_and_a_quiet_range_has_zeros(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await make_admin(app, client)
    quiet = date(2001, 6, 1).isoformat()
    response = await _stats(client, admin.headers, **{"from": quiet, "to": quiet})
    assert response.status_code == 200, response.text
    stats = response.json()
    assert [d["day"] for d in stats["days"]] == [quiet]
    assert stats["days"][0]["created"] == 0
    assert stats["totals"]["completion_rate"] is None
    assert (stats["latency"], stats["models"], stats["top_users"]) == ([], [], [])


async def test_the_default_range_is_the_last_thirty_days(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await make_admin(app, client)
    response = await _stats(client, admin.headers)
    assert response.status_code == 200, response.text
    stats = response.json()
    today = datetime.now(UTC).date()
    assert stats["end"] in (today.isoformat(), (today - timedelta(1)).isoformat())  # midnight
    assert len(stats["days"]) == 30
    assert stats["days"][0]["day"] == stats["start"]
    since = await _stats(client, admin.headers, **{"from": "2001-02-01"})
    assert (since.json()["start"], since.json()["end"]) == ("2001-02-01", "2001-03-02")


async def test_a_range_over_366_days_or_backwards_is_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await make_admin(app, client)
    longest = await _stats(client, admin.headers, **{"from": "2003-01-01", "to": "2004-01-01"})
    assert longest.status_code == 200, longest.text
    assert len(longest.json()["days"]) == 366
    too_long = await _stats(client, admin.headers, **{"from": "2003-01-01", "to": "2004-01-02"})
    assert too_long.status_code == 422
    assert too_long.json()["detail"][0]["loc"] == ["query", "to"]
    assert "at most 366 days" in too_long.json()["detail"][0]["msg"]
    backwards = await _stats(client, admin.headers, **{"from": "2003-01-02", "to": "2003-01-01"})
    assert backwards.status_code == 422
    assert backwards.json()["detail"][0]["loc"] == ["query", "from"]
    for params in ({"from": "2003-02-30"}, {"to": "9999-12-31"}, {"from": "yesterday"}):
        assert (await _stats(client, admin.headers, **params)).status_code == 422, params
