"""Sign-in throttling: a guesser is stopped, the account's owner is not locked out."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from server.auth.throttle import slowdown_s
from tests.auth.conftest import MakeApp, client_at
from tests.conftest import make_settings, unique_email

PASSWORD = "correct-horse-battery"
OWNER_IP = "198.51.100.1"


async def test_a_guesser_on_one_address_gets_429_after_the_per_client_limit(
    make_app: MakeApp,
) -> None:
    """After 10 attempts from one address even the right password gets 429 there."""
    app = await make_app(login_slowdown_base_s=0.0)
    email = unique_email()
    async with client_at(app, OWNER_IP) as owner, client_at(app, "203.0.113.7") as guesser:
        assert (
            await owner.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        ).status_code == 201
        for attempt in range(10):
            wrong = await guesser.post(
                "/api/auth/login", json={"email": email, "password": f"guess-{attempt}"}
            )
            assert wrong.status_code == 401
        blocked = await guesser.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert blocked.status_code == 429
        assert blocked.json()["code"] == "rate_limited"
        assert 0 < int(blocked.headers["Retry-After"]) <= 15 * 60

        mine = await owner.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert mine.status_code == 200


async def test_guessing_from_rotating_addresses_is_bounded_per_email(make_app: MakeApp) -> None:
    """New addresses share one per-email bound: the 6th gets 429, the owner still signs in."""
    app = await make_app(login_slowdown_base_s=0.0, login_limit_per_email_new_clients=5)
    email = unique_email()
    async with client_at(app, OWNER_IP) as owner:
        await owner.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        for n in range(5):
            async with client_at(app, f"203.0.113.{10 + n}") as guesser:
                response = await guesser.post(
                    "/api/auth/login", json={"email": email, "password": f"guess-{n}"}
                )
                assert response.status_code == 401
        async with client_at(app, "203.0.113.99") as guesser:
            bounded = await guesser.post(
                "/api/auth/login", json={"email": email, "password": PASSWORD}
            )
        assert bounded.status_code == 429
        assert "new devices" in bounded.json()["detail"]
        assert 0 < int(bounded.headers["Retry-After"]) <= 60 * 60

        mine = await owner.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert mine.status_code == 200

    # Another account is not affected by this one's bound.
    other = unique_email()
    async with client_at(app, "192.0.2.50") as elsewhere:
        await elsewhere.post("/api/auth/register", json={"email": other, "password": PASSWORD})
    async with client_at(app, "203.0.113.99") as fresh:
        ok = await fresh.post("/api/auth/login", json={"email": other, "password": PASSWORD})
    assert ok.status_code == 200


async def test_the_owner_signs_in_at_once_from_their_usual_address_while_someone_guesses(
    make_app: MakeApp,
) -> None:
    """Failures slow down new addresses; the owner's known address is not slowed or bounded."""
    app = await make_app(
        login_slowdown_after_failures=1,
        login_slowdown_base_s=1.5,
        login_slowdown_cap_s=1.5,
        login_limit_per_email_new_clients=3,
    )
    email = unique_email()
    async with client_at(app, OWNER_IP) as owner:
        await owner.post("/api/auth/register", json={"email": email, "password": PASSWORD})
        async with client_at(app, "203.0.113.20") as guesser:
            first = await guesser.post(
                "/api/auth/login", json={"email": email, "password": "guess-one"}
            )
            assert first.status_code == 401
            started = time.monotonic()
            second = await guesser.post(
                "/api/auth/login", json={"email": email, "password": "guess-two"}
            )
            assert second.status_code == 401
            assert time.monotonic() - started >= 1.5  # the guesser waits...

        started = time.monotonic()
        mine = await owner.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert mine.status_code == 200
        assert time.monotonic() - started < 1.2  # ...the owner does not


async def test_failures_slow_new_clients_down_exponentially_up_to_a_cap(make_app: MakeApp) -> None:
    """Each failure doubles the wait of the next new client, until the cap."""
    app = await make_app(
        login_slowdown_after_failures=1, login_slowdown_base_s=0.25, login_slowdown_cap_s=0.5
    )
    email = unique_email()
    async with client_at(app, OWNER_IP) as owner:
        await owner.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    waits = []
    for n in range(4):
        async with client_at(app, f"203.0.113.{40 + n}") as guesser:
            started = time.monotonic()
            response = await guesser.post(
                "/api/auth/login", json={"email": email, "password": f"guess-{n}"}
            )
            waits.append(time.monotonic() - started)
            assert response.status_code == 401
    # No wait before the first failure, then 0.25 s, 0.5 s, and 0.5 s (capped, not 1 s).
    assert waits[1] >= 0.25
    assert waits[2] >= 0.5
    assert 0.5 <= waits[3] < 0.95


def test_the_slowdown_doubles_per_failure_from_the_threshold_up_to_the_cap(
    tmp_path: Path,
) -> None:
    settings = make_settings(
        "sqlite+aiosqlite:///unused.db",
        "unused:",
        tmp_path,
        login_slowdown_after_failures=3,
        login_slowdown_base_s=0.5,
        login_slowdown_cap_s=5.0,
    )
    assert [slowdown_s(n, settings) for n in range(9)] == [
        0.0,
        0.0,
        0.0,
        0.5,
        1.0,
        2.0,
        4.0,
        5.0,
        5.0,
    ]


@pytest.mark.needs_redis
async def test_the_limits_hold_across_gateway_processes(make_app: MakeApp) -> None:
    """Guesses spread over two processes sharing Redis meet one per-(email, client) limit."""
    first = await make_app(login_slowdown_base_s=0.0)
    second = await make_app(login_slowdown_base_s=0.0)
    email = unique_email()
    async with client_at(first, OWNER_IP) as owner:
        await owner.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    async with client_at(first, "203.0.113.7") as a, client_at(second, "203.0.113.7") as b:
        for attempt in range(10):
            via = a if attempt % 2 else b
            wrong = await via.post(
                "/api/auth/login", json={"email": email, "password": f"guess-{attempt}"}
            )
            assert wrong.status_code == 401
        assert (
            await a.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        ).status_code == 429
        assert (
            await b.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        ).status_code == 429
