"""Password reset: a single-use, short-lived link by mail; only the secret's hash is stored."""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.auth.mail import MailMessage, MailSender
from server.config import Settings
from server.errors import AppError
from server.store.models import PasswordResetToken, User, utcnow

log = logging.getLogger(__name__)


class InvalidResetToken(AppError):
    status_code = 400
    code = "invalid_reset_token"

    def __init__(self) -> None:
        super().__init__("This reset link is invalid, expired or already used. Ask for a new one.")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def reset_link(settings: Settings, secret: str) -> str:
    return f"{settings.public_url.rstrip('/')}/reset-password?token={secret}"


async def send_reset_link(
    sessionmaker: async_sessionmaker[AsyncSession],
    sender: MailSender,
    settings: Settings,
    email: str,
) -> None:
    """Mail a reset link if an account has this email; runs after the answer was sent.

    Nothing the caller sees depends on whether the account exists (not even the timing),
    so failures are logged here, not raised.
    """
    try:
        async with sessionmaker() as session:
            user = await session.scalar(select(User).where(User.email == email))
            if user is None:
                return
            secret = secrets.token_urlsafe(32)
            now = utcnow()
            session.add(
                PasswordResetToken(
                    id=uuid.uuid4(),
                    user_id=user.id,
                    token_hash=_hash(secret),
                    created_at=now,
                    expires_at=now + timedelta(seconds=settings.password_reset_ttl_s),
                )
            )
            await session.commit()
            to = user.email
        minutes = settings.password_reset_ttl_s // 60
        await sender.send(
            MailMessage(
                to=to,
                subject="Reset your Mock Interview password",
                text=(
                    "Someone (hopefully you) asked to reset the password of your Mock Interview "
                    f"account. Open this link within {minutes} minutes to choose a new one:\n\n"
                    f"{reset_link(settings, secret)}\n\n"
                    "The link works once. If you did not ask for it, ignore this mail: your "
                    "password stays as it is."
                ),
            )
        )
    except Exception:
        log.exception("could not send a password reset link")


async def spend_reset_token(session: AsyncSession, secret: str) -> User:
    """The account a valid link belongs to; the link, and every other of that account, is spent.

    Not committed: the caller commits it with the new password.
    """
    now = utcnow()
    user_id = await session.scalar(
        update(PasswordResetToken)
        .where(
            PasswordResetToken.token_hash == _hash(secret),
            PasswordResetToken.used_at.is_(None),
            PasswordResetToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(PasswordResetToken.user_id)
        .execution_options(synchronize_session=False)
    )
    if user_id is None:
        await session.rollback()
        raise InvalidResetToken()
    await session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    user = await session.get(User, user_id)
    if user is None:  # deleted meanwhile (the row cascades, so this is a race)
        await session.rollback()
        raise InvalidResetToken()
    return user
