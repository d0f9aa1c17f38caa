"""X-Forwarded-For is believed only from the proxies in INTERVIEW_TRUSTED_PROXIES.

Run against a real ``interview serve`` process: the client IP the sign-in rate limiter
counts is the socket peer unless that peer is a trusted proxy.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import redis

from tests.conftest import BACKEND, REDIS_URL, FreshDatabase
from tests.test_cli import INTERVIEW, _env, _free_port

LIMIT_PER_IP = 3


@contextmanager
def serving(tmp_path: Path, database_url: str, *args: str, **env: str) -> Iterator[str]:
    """`interview serve` with a sign-in limit of LIMIT_PER_IP per client IP."""
    port = _free_port()
    prefix = f"test:proxies:{port}:{time.monotonic_ns()}:"
    extra = {
        "INTERVIEW_DATABASE_URL": database_url,
        "INTERVIEW_LOGIN_LIMIT_PER_IP": str(LIMIT_PER_IP),
        "INTERVIEW_LOGIN_LIMIT_PER_EMAIL": "1000",
        "INTERVIEW_REDIS_KEY_PREFIX": prefix,
        **env,
    }
    if BACKEND == "services":
        extra["INTERVIEW_REDIS_URL"] = REDIS_URL
    process = subprocess.Popen(
        [INTERVIEW, "serve", "--port", str(port), "--migrate", *args],
        env=_env(tmp_path, **extra),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            process.kill()
            pytest.fail(f"server did not become ready:\n{process.communicate()[0]}")
        yield base
    finally:
        process.terminate()
        output = process.communicate(timeout=15)[0]
        if BACKEND == "services":  # the sign-in counters it left
            with redis.Redis.from_url(REDIS_URL) as client:
                keys = list(client.scan_iter(match=prefix + "*", count=500))
                if keys:
                    client.delete(*keys)
        assert process.returncode in (0, -15), output


def _sign_in_attempts(base: str, forwarded_for: list[str | None]) -> list[int]:
    """One failed sign-in per entry, each with that X-Forwarded-For (or none)."""
    statuses = []
    with httpx.Client(base_url=base, timeout=10) as http:
        for address in forwarded_for:
            headers = {"X-Forwarded-For": address} if address else {}
            response = http.post(
                "/api/auth/login",
                json={"email": "nobody@example.com", "password": "wrong-password"},
                headers=headers,
            )
            statuses.append(response.status_code)
    return statuses


ROTATING = [f"203.0.113.{n}" for n in range(1, 9)]


@pytest.fixture
async def database_for_serve(fresh_database: FreshDatabase, tmp_path: Path) -> str:
    return await fresh_database.new()


def test_a_rotating_x_forwarded_for_from_an_untrusted_peer_does_not_escape_the_ip_limit(
    tmp_path: Path, database_for_serve: str
) -> None:
    """By default no proxy is trusted: the headers are ignored and the peer is rate limited."""
    with serving(tmp_path, database_for_serve) as base:
        statuses = _sign_in_attempts(base, ROTATING)
        claimed_tls = httpx.get(f"{base}/healthz", headers={"X-Forwarded-Proto": "https"})
    assert statuses[:LIMIT_PER_IP] == [401] * LIMIT_PER_IP
    assert set(statuses[LIMIT_PER_IP:]) == {429}
    assert "strict-transport-security" not in claimed_tls.headers


def test_the_header_is_ignored_when_the_peer_is_not_among_the_trusted_proxies(
    tmp_path: Path, database_for_serve: str
) -> None:
    with serving(
        tmp_path, database_for_serve, INTERVIEW_TRUSTED_PROXIES="10.0.0.0/8,192.0.2.7"
    ) as base:
        statuses = _sign_in_attempts(base, ROTATING)
    assert set(statuses[LIMIT_PER_IP:]) == {429}


def test_a_trusted_proxys_x_forwarded_for_is_the_client_ip_the_limiter_counts(
    tmp_path: Path, database_for_serve: str
) -> None:
    """From a trusted peer each forwarded address is its own client, limited on its own."""
    with serving(tmp_path, database_for_serve, INTERVIEW_TRUSTED_PROXIES="127.0.0.1") as base:
        rotating = _sign_in_attempts(base, ROTATING)
        one_client = _sign_in_attempts(base, ["198.51.100.20"] * (LIMIT_PER_IP + 2))
        # The proxy's own requests (no header) are limited as the proxy's address.
        direct = _sign_in_attempts(base, [None] * (LIMIT_PER_IP + 1))
    assert set(rotating) == {401}
    assert one_client[:LIMIT_PER_IP] == [401] * LIMIT_PER_IP
    assert set(one_client[LIMIT_PER_IP:]) == {429}
    assert direct[-1] == 429


def test_the_command_line_overrides_the_setting_and_a_trusted_proxy_sets_the_scheme(
    tmp_path: Path, database_for_serve: str
) -> None:
    """--forwarded-allow-ips beats INTERVIEW_TRUSTED_PROXIES; X-Forwarded-Proto turns on HSTS."""
    with serving(
        tmp_path,
        database_for_serve,
        "--forwarded-allow-ips",
        "127.0.0.0/8",
        INTERVIEW_TRUSTED_PROXIES="192.0.2.7",
    ) as base:
        statuses = _sign_in_attempts(base, ROTATING)
        over_tls = httpx.get(f"{base}/healthz", headers={"X-Forwarded-Proto": "https"})
        plain = httpx.get(f"{base}/healthz")
    assert set(statuses) == {401}
    assert over_tls.headers["strict-transport-security"] == "max-age=31536000"
    assert "strict-transport-security" not in plain.headers


def test_a_trusted_proxies_value_that_is_no_address_is_refused_by_name(tmp_path: Path) -> None:
    result = subprocess.run(
        [INTERVIEW, "serve", "--port", str(_free_port())],
        env=_env(tmp_path, INTERVIEW_TRUSTED_PROXIES="10.0.0.0/8,the-load-balancer"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "INTERVIEW_TRUSTED_PROXIES" in result.stderr
    assert "the-load-balancer" in result.stderr
