"""Changing and resetting a password, and refusing common ones."""

from __future__ import annotations

import hashlib
import io
import logging
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from server.auth.mail import ConsoleMailSender, DroppingMailSender, MailMessage, sender_for
from server.store.models import PasswordResetToken, User, utcnow
from tests.auth.conftest import CapturingMailSender, MakeApp, client_at, install_mailbox
from tests.conftest import bearer, make_settings, register, unique_email

PASSWORD = "correct-horse-battery"
NEW_PASSWORD = "a-brand-new-passphrase"


async def _login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/auth/login", json={"email": email, "password": password})


async def test_changing_the_password_keeps_the_caller_signed_in_and_ends_other_sessions(
    client: httpx.AsyncClient,
) -> None:
    """The caller gets a new working pair; every other token (theirs included) is refused."""
    email = unique_email()
    mine = await register(client, email, PASSWORD)
    other = (await _login(client, email, PASSWORD)).json()

    changed = await client.post(
        "/api/auth/change-password",
        headers=bearer(mine),
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 200, changed.text
    fresh = changed.json()
    assert (await client.get("/api/me", headers=bearer(fresh))).status_code == 200
    refreshed = await client.post(
        "/api/auth/refresh", json={"refresh_token": fresh["refresh_token"]}
    )
    assert refreshed.status_code == 200

    for stale in (mine, other):
        assert (await client.get("/api/me", headers=bearer(stale))).status_code == 401
        again = await client.post(
            "/api/auth/refresh", json={"refresh_token": stale["refresh_token"]}
        )
        assert again.status_code == 401
    assert (await _login(client, email, PASSWORD)).status_code == 401
    assert (await _login(client, email, NEW_PASSWORD)).status_code == 200


async def test_changing_the_password_needs_the_current_one(client: httpx.AsyncClient) -> None:
    """A wrong current password gets 403 and changes nothing: the old tokens still work."""
    email = unique_email()
    session = await register(client, email, PASSWORD)
    refused = await client.post(
        "/api/auth/change-password",
        headers=bearer(session),
        json={"current_password": "not-my-password", "new_password": NEW_PASSWORD},
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "wrong_password"
    assert (await client.get("/api/me", headers=bearer(session))).status_code == 200
    assert (await _login(client, email, PASSWORD)).status_code == 200
    assert (await _login(client, email, NEW_PASSWORD)).status_code == 401

    unsigned = await client.post(
        "/api/auth/change-password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert unsigned.status_code == 401


async def test_a_reset_request_answers_the_same_whether_or_not_the_email_exists(
    client: httpx.AsyncClient, mailbox: CapturingMailSender
) -> None:
    """Same status and body for a known and an unknown email; only the known one gets mail."""
    email = unique_email()
    await register(client, email, PASSWORD)
    unknown = unique_email()
    known_answer = await client.post("/api/auth/forgot-password", json={"email": email.upper()})
    unknown_answer = await client.post("/api/auth/forgot-password", json={"email": unknown})
    assert known_answer.status_code == unknown_answer.status_code == 202
    assert known_answer.json() == unknown_answer.json()
    assert len(mailbox.to(email)) == 1
    assert mailbox.to(unknown) == []
    assert "http://127.0.0.1:8000/reset-password?token=" in mailbox.to(email)[0].text


async def test_a_reset_link_sets_a_new_password_once_signs_in_and_ends_other_sessions(
    client: httpx.AsyncClient, mailbox: CapturingMailSender
) -> None:
    email = unique_email()
    old_session = await register(client, email, PASSWORD)
    await client.post("/api/auth/forgot-password", json={"email": email})
    token = mailbox.reset_token(email)

    reset = await client.post(
        "/api/auth/reset-password", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert reset.status_code == 200, reset.text
    assert (await client.get("/api/me", headers=bearer(reset.json()))).status_code == 200
    assert (await client.get("/api/me", headers=bearer(old_session))).status_code == 401
    stale = await client.post(
        "/api/auth/refresh", json={"refresh_token": old_session["refresh_token"]}
    )
    assert stale.status_code == 401
    assert (await _login(client, email, PASSWORD)).status_code == 401
    assert (await _login(client, email, NEW_PASSWORD)).status_code == 200

    again = await client.post(
        "/api/auth/reset-password", json={"token": token, "new_password": "yet-another-phrase"}
    )
    assert again.status_code == 400
    assert again.json()["code"] == "invalid_reset_token"
    assert (await _login(client, email, NEW_PASSWORD)).status_code == 200


async def test_using_one_reset_link_spends_the_others(
    client: httpx.AsyncClient, mailbox: CapturingMailSender
) -> None:
    """Two links were mailed; once one is used, the older one no longer works."""
    email = unique_email()
    await register(client, email, PASSWORD)
    await client.post("/api/auth/forgot-password", json={"email": email})
    older = mailbox.reset_token(email)
    await client.post("/api/auth/forgot-password", json={"email": email})
    newer = mailbox.reset_token(email)
    assert older != newer
    used = await client.post(
        "/api/auth/reset-password", json={"token": newer, "new_password": NEW_PASSWORD}
    )
    assert used.status_code == 200
    late = await client.post(
        "/api/auth/reset-password", json={"token": older, "new_password": "yet-another-phrase"}
    )
    assert late.status_code == 400


async def test_an_expired_or_made_up_reset_token_is_refused(
    client: httpx.AsyncClient, app: FastAPI, mailbox: CapturingMailSender
) -> None:
    email = unique_email()
    await register(client, email, PASSWORD)
    await client.post("/api/auth/forgot-password", json={"email": email})
    token = mailbox.reset_token(email)
    async with app.state.services.sessionmaker() as db:
        await db.execute(
            update(PasswordResetToken)
            .where(PasswordResetToken.token_hash == hashlib.sha256(token.encode()).hexdigest())
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await db.commit()
    for candidate in (token, "made-up-token"):
        response = await client.post(
            "/api/auth/reset-password", json={"token": candidate, "new_password": NEW_PASSWORD}
        )
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_reset_token"
    assert (await _login(client, email, PASSWORD)).status_code == 200


async def test_only_the_hash_of_a_reset_token_is_stored(
    client: httpx.AsyncClient, app: FastAPI, mailbox: CapturingMailSender
) -> None:
    email = unique_email()
    session = await register(client, email, PASSWORD)
    await client.post("/api/auth/forgot-password", json={"email": email})
    token = mailbox.reset_token(email)
    async with app.state.services.sessionmaker() as db:
        rows = (
            await db.scalars(
                select(PasswordResetToken)
                .join(User, User.id == PasswordResetToken.user_id)
                .where(User.email == session["user"]["email"])
            )
        ).all()
    assert len(rows) == 1
    stored = [str(value) for value in vars(rows[0]).values()]
    assert token not in " ".join(stored)
    assert rows[0].token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert rows[0].expires_at - rows[0].created_at == timedelta(minutes=30)


async def test_reset_mail_per_email_is_capped_without_changing_the_answer(
    client: httpx.AsyncClient, mailbox: CapturingMailSender
) -> None:
    """The 4th request in an hour is answered the same, but no 4th mail goes out."""
    email = unique_email()
    await register(client, email, PASSWORD)
    answers = [
        await client.post("/api/auth/forgot-password", json={"email": email}) for _ in range(4)
    ]
    assert {a.status_code for a in answers} == {202}
    assert len({a.text for a in answers}) == 1
    assert len(mailbox.to(email)) == 3


async def test_reset_requests_from_one_address_are_rate_limited(make_app: MakeApp) -> None:
    app = await make_app(password_reset_limit_per_ip=2)
    install_mailbox(app)
    async with client_at(app, "203.0.113.5") as client:
        statuses = [
            (
                await client.post("/api/auth/forgot-password", json={"email": unique_email()})
            ).status_code
            for _ in range(3)
        ]
    assert statuses == [202, 202, 429]


@pytest.mark.parametrize("common", ["Password123", "qwertyuiop", " iloveyou2 "])
async def test_common_passwords_are_refused_at_sign_up_change_and_reset(
    client: httpx.AsyncClient, mailbox: CapturingMailSender, common: str
) -> None:
    """Each place a password is chosen answers 422 on the password field, and nothing changes."""
    email = unique_email()
    signup = await client.post("/api/auth/register", json={"email": email, "password": common})
    assert signup.status_code == 422
    assert signup.json()["detail"][0]["loc"] == ["body", "password"]
    assert signup.json()["detail"][0]["type"] == "common_password"
    assert "common" in signup.json()["message"]

    session = await register(client, email, PASSWORD)
    change = await client.post(
        "/api/auth/change-password",
        headers=bearer(session),
        json={"current_password": PASSWORD, "new_password": common},
    )
    assert change.status_code == 422
    assert change.json()["detail"][0]["loc"] == ["body", "new_password"]

    await client.post("/api/auth/forgot-password", json={"email": email})
    reset = await client.post(
        "/api/auth/reset-password",
        json={"token": mailbox.reset_token(email), "new_password": common},
    )
    assert reset.status_code == 422
    assert reset.json()["detail"][0]["loc"] == ["body", "new_password"]
    assert (await _login(client, email, PASSWORD)).status_code == 200


async def test_the_development_mail_sender_prints_the_whole_link() -> None:
    """The console sender writes the link in full (the log scrubber would have hidden it)."""
    stream = io.StringIO()
    link = "http://127.0.0.1:8000/reset-password?token=abc-123_XYZ"
    await ConsoleMailSender(stream).send(MailMessage("a@example.com", "Reset", f"Open {link}"))
    assert link in stream.getvalue()
    assert "To: a@example.com" in stream.getvalue()


async def test_production_without_a_mail_backend_drops_mail_and_logs_no_link(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings("sqlite+aiosqlite:///unused.db", "unused:", tmp_path, env="production")
    sender = sender_for(settings)
    assert isinstance(sender, DroppingMailSender)
    caplog.set_level(logging.WARNING)
    await sender.send(MailMessage("a@example.com", "Reset", "token=secret-value-123"))
    assert "not sent" in caplog.text
    assert "secret-value-123" not in caplog.text
