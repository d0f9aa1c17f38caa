"""Registration, sign-in, tokens and their failure modes."""

from __future__ import annotations

import io
import logging
import uuid

import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from server.auth import tokens
from server.logs import JsonFormatter, RequestContextFilter
from server.store.models import User
from tests.conftest import TEST_SECRET, bearer, register, unique_email


async def test_register_login_and_me_show_the_profile_and_three_free_credits(
    client: httpx.AsyncClient,
) -> None:
    """A new account signs in and sees its email, role and 3 credits."""
    email = unique_email()
    registered = await register(client, email.upper())
    assert registered["user"]["email"] == email
    assert registered["user"]["credits"] == 3

    login = await client.post(
        "/api/auth/login", json={"email": email, "password": "correct-horse-battery"}
    )
    assert login.status_code == 200
    body = login.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600

    me = await client.get("/api/me", headers=bearer(body))
    assert me.status_code == 200
    assert me.json() | {"created_at": None} == {
        "id": registered["user"]["id"],
        "email": email,
        "role": "candidate",
        "credits": 3,
        "created_at": None,
    }


async def test_registering_an_email_twice_is_refused_whatever_its_case(
    client: httpx.AsyncClient,
) -> None:
    """The second sign-up with the same address gets 409 and no second account."""
    email = unique_email()
    await register(client, email)
    again = await client.post(
        "/api/auth/register", json={"email": email.upper(), "password": "another-password"}
    )
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"


async def test_wrong_password_and_unknown_email_get_the_same_answer(
    client: httpx.AsyncClient,
) -> None:
    """Login errors do not reveal whether an account exists."""
    email = unique_email()
    await register(client, email)
    wrong = await client.post("/api/auth/login", json={"email": email, "password": "nope-nope"})
    unknown = await client.post(
        "/api/auth/login", json={"email": unique_email(), "password": "nope-nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert (
        wrong.json()
        == unknown.json()
        == {
            "code": "invalid_credentials",
            "detail": "Incorrect email or password.",
        }
    )


async def test_password_is_stored_as_argon2id_and_never_logged(
    client: httpx.AsyncClient, app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    """Neither the database row nor any log line contains the password or the tokens."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    logging.getLogger().addHandler(handler)
    caplog.set_level(logging.DEBUG)
    password = "Sup3r-Secret-Passphrase!"
    try:
        email = unique_email()
        session = await register(client, email, password)
        await client.post("/api/auth/login", json={"email": email, "password": password})
        await client.post("/api/auth/login", json={"email": email, "password": password + "x"})
        await client.get("/api/me", headers=bearer(session))
        logging.getLogger("server.test").info(
            "login attempt",
            extra={"password": password, "detail": f"token={session['access_token']}"},
        )
    finally:
        logging.getLogger().removeHandler(handler)

    async with app.state.services.sessionmaker() as db:
        user = await db.scalar(select(User).where(User.email == email))
    assert user is not None
    assert user.password_hash.startswith("$argon2id$")
    assert password not in user.password_hash

    written = stream.getvalue() + caplog.text
    assert "POST /api/auth/login" in written  # the requests were logged...
    assert password not in written  # ...without the password
    assert session["access_token"] not in written
    assert session["refresh_token"] not in written


async def test_login_attempts_are_rate_limited_per_email_and_client(
    client: httpx.AsyncClient,
) -> None:
    """From one client, after 10 attempts for an email even the right password gets 429.

    (tests/auth/test_login_throttle.py shows the owner's other clients are not locked out.)
    """
    email = unique_email()
    await register(client, email)
    for _ in range(10):
        response = await client.post(
            "/api/auth/login", json={"email": email, "password": "wrong-pw"}
        )
        assert response.status_code == 401
    blocked = await client.post(
        "/api/auth/login", json={"email": email, "password": "correct-horse-battery"}
    )
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "rate_limited"
    assert 0 < int(blocked.headers["Retry-After"]) <= 15 * 60
    # Another account from the same address is not locked out by this one.
    other = unique_email()
    await register(client, other)
    ok = await client.post(
        "/api/auth/login", json={"email": other, "password": "correct-horse-battery"}
    )
    assert ok.status_code == 200


async def test_login_attempts_are_rate_limited_per_ip(client: httpx.AsyncClient) -> None:
    """Spraying many accounts from one address hits the per-IP limit (50 per window)."""
    statuses = []
    for _ in range(51):
        response = await client.post(
            "/api/auth/login", json={"email": unique_email(), "password": "whatever1"}
        )
        statuses.append(response.status_code)
    assert statuses[:50] == [401] * 50
    assert statuses[50] == 429


async def test_sign_ups_are_rate_limited_per_ip(client: httpx.AsyncClient) -> None:
    """The 31st sign-up from one address within an hour gets 429."""
    for _ in range(30):
        await register(client)
    response = await client.post(
        "/api/auth/register", json={"email": unique_email(), "password": "long-enough-pw"}
    )
    assert response.status_code == 429


async def test_refresh_token_gives_a_new_pair_but_cannot_be_used_as_access_token(
    client: httpx.AsyncClient,
) -> None:
    session = await register(client)
    as_access = await client.get(
        "/api/me", headers={"Authorization": f"Bearer {session['refresh_token']}"}
    )
    assert as_access.status_code == 401

    refreshed = await client.post(
        "/api/auth/refresh", json={"refresh_token": session["refresh_token"]}
    )
    assert refreshed.status_code == 200
    assert (await client.get("/api/me", headers=bearer(refreshed.json()))).status_code == 200

    with_access = await client.post(
        "/api/auth/refresh", json={"refresh_token": session["access_token"]}
    )
    assert with_access.status_code == 401


async def test_logout_everywhere_revokes_every_earlier_token(client: httpx.AsyncClient) -> None:
    session = await register(client)
    assert (await client.post("/api/auth/logout-all", headers=bearer(session))).status_code == 204
    assert (await client.get("/api/me", headers=bearer(session))).status_code == 401
    stale = await client.post("/api/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert stale.status_code == 401


async def test_missing_expired_forged_and_malformed_tokens_get_401(
    client: httpx.AsyncClient,
) -> None:
    session = await register(client)
    user_id = uuid.UUID(session["user"]["id"])
    expired = tokens.issue_token(
        secret=TEST_SECRET, user_id=user_id, token_version=0, type="access", ttl_s=-10
    )
    forged = tokens.issue_token(
        secret="someone-elses-secret-" + "y" * 20,
        user_id=user_id,
        token_version=0,
        type="access",
        ttl_s=600,
    )
    unsigned = jwt.encode(
        {"sub": str(user_id), "typ": "access", "ver": 0, "iss": tokens.ISSUER, "exp": 2**40},
        key=None,
        algorithm="none",
    )
    unknown_user = tokens.issue_token(
        secret=TEST_SECRET, user_id=uuid.uuid4(), token_version=0, type="access", ttl_s=600
    )
    cases = {
        "missing": {},
        "expired": {"Authorization": f"Bearer {expired}"},
        "forged": {"Authorization": f"Bearer {forged}"},
        "alg none": {"Authorization": f"Bearer {unsigned}"},
        "garbage": {"Authorization": "Bearer not-a-jwt"},
        "basic scheme": {"Authorization": "Basic dXNlcjpwYXNz"},
        "unknown user": {"Authorization": f"Bearer {unknown_user}"},
    }
    for name, headers in cases.items():
        response = await client.get("/api/me", headers=headers)
        assert response.status_code == 401, name
        assert response.headers["WWW-Authenticate"] == "Bearer", name
        assert response.json()["code"] == "not_authenticated", name
    expired_body = (await client.get("/api/me", headers=cases["expired"])).json()
    assert "expired" in expired_body["detail"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-email", "password": "long-enough-pw"}, "email"),
        ({"email": "a@example.com", "password": "short"}, "password"),
        ({"email": "a@example.com", "password": "x" * 129}, "password"),
        ({"password": "long-enough-pw"}, "email"),
    ],
)
async def test_bad_sign_up_input_gets_a_field_level_422_and_creates_nothing(
    client: httpx.AsyncClient, app: FastAPI, payload: dict[str, str], field: str
) -> None:
    response = await client.post("/api/auth/register", json=payload)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["detail"][0]["loc"] == ["body", field]
    assert "input" not in body["detail"][0]  # submitted values are not echoed back
    if "email" in payload and "@" in payload["email"]:
        async with app.state.services.sessionmaker() as db:
            assert await db.scalar(select(User).where(User.email == payload["email"])) is None
