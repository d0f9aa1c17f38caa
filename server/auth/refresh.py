"""Refresh tokens that rotate on every use, grouped in families (one per sign-in).

Each refresh spends the token it was given and issues its successor in the same family.
A spent token presented again is honest only when it is the family's previous token and
comes back within ``refresh_reuse_grace_s`` (two tabs, or a retried request whose answer was
lost): it gets the same successor again. Any other reuse means two parties hold the chain:
the whole family is revoked and the request answers 401.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import CursorResult, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import tokens
from server.config import Settings
from server.errors import NotAuthenticated
from server.store.models import RefreshToken, RefreshTokenFamily, User, utcnow

log = logging.getLogger(__name__)

# Revoked families are kept this long (a reused token still finds them), then pruned.
_KEEP_REVOKED = timedelta(days=1)


class RefreshTokenReused(NotAuthenticated):
    code = "refresh_token_reused"

    def __init__(self) -> None:
        super().__init__(
            "This sign-in was ended because its refresh token was used twice; sign in again."
        )


_ENDED = "Your session is no longer valid; sign in again."


@dataclass(frozen=True, slots=True)
class Rotated:
    user: User
    refresh_token: str


async def start_family(session: AsyncSession, user: User, settings: Settings) -> str:
    """A new sign-in: a family with its first refresh token (committed); returns the token."""
    now = utcnow()
    await session.execute(
        delete(RefreshTokenFamily)
        .where(
            RefreshTokenFamily.user_id == user.id,
            or_(
                RefreshTokenFamily.expires_at < now,
                RefreshTokenFamily.revoked_at < now - _KEEP_REVOKED,
            ),
        )
        .execution_options(synchronize_session=False)
    )
    expires_at = now + timedelta(seconds=settings.refresh_token_ttl_s)
    family = RefreshTokenFamily(
        id=uuid.uuid4(), user_id=user.id, created_at=now, expires_at=expires_at
    )
    session.add(family)
    await session.flush()
    first = RefreshToken(id=uuid.uuid4(), family_id=family.id, issued_at=now, expires_at=expires_at)
    session.add(first)
    await session.commit()
    return _encode(first, user, settings, now)


async def rotate(session: AsyncSession, refresh_token: str, settings: Settings) -> Rotated:
    """Spend ``refresh_token`` and return its successor (see the module docstring)."""
    claims = tokens.decode_token(
        refresh_token, secret=settings.jwt_secret.get_secret_value(), expected_type="refresh"
    )
    if claims.token_id is None:  # issued before rotation existed
        raise NotAuthenticated(_ENDED)
    for _ in range(2):
        token, family, user = await _load(session, claims)
        now = utcnow()
        if token.spent_at is None:
            successor = await _spend(session, token, family, settings, now)
            if successor is not None:
                return Rotated(user, _encode(successor, user, settings, now))
            # Another request spent it between our read and our write: judge it as a reuse.
            await session.rollback()
            continue
        return Rotated(user, await _judge_reuse(session, token, family, user, settings, now))
    raise NotAuthenticated(_ENDED)


async def revoke_all(session: AsyncSession, user_id: uuid.UUID, *, reason: str) -> None:
    """Revoke every family of the user (not committed: the caller's transaction does)."""
    await session.execute(
        update(RefreshTokenFamily)
        .where(RefreshTokenFamily.user_id == user_id, RefreshTokenFamily.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )


async def _load(
    session: AsyncSession, claims: tokens.TokenClaims
) -> tuple[RefreshToken, RefreshTokenFamily, User]:
    row = (
        await session.execute(
            select(RefreshToken, RefreshTokenFamily, User)
            .join(RefreshTokenFamily, RefreshToken.family_id == RefreshTokenFamily.id)
            .join(User, RefreshTokenFamily.user_id == User.id)
            .where(RefreshToken.id == claims.token_id)
            .execution_options(populate_existing=True)
        )
    ).first()
    if row is None:
        raise NotAuthenticated(_ENDED)
    token, family, user = row
    if (
        family.revoked_at is not None
        or user.id != claims.user_id
        or user.token_version != claims.token_version
    ):
        raise NotAuthenticated(_ENDED)
    return token, family, user


async def _spend(
    session: AsyncSession,
    token: RefreshToken,
    family: RefreshTokenFamily,
    settings: Settings,
    now: datetime,
) -> RefreshToken | None:
    """Spend the token and commit its successor; None when another request spent it first."""
    successor = RefreshToken(
        id=uuid.uuid4(),
        family_id=family.id,
        issued_at=now,
        expires_at=now + timedelta(seconds=settings.refresh_token_ttl_s),
    )
    # One guarded statement: of two concurrent refreshes with one token, exactly one wins.
    spent = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == token.id, RefreshToken.spent_at.is_(None))
        .values(spent_at=now, successor_id=successor.id)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(spent, CursorResult)
    if spent.rowcount != 1:
        return None
    session.add(successor)
    family.expires_at = successor.expires_at
    # Tokens past their expiry can never be presented again (the JWT is refused first).
    await session.execute(
        delete(RefreshToken)
        .where(RefreshToken.family_id == family.id, RefreshToken.expires_at < now)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return successor


async def _judge_reuse(
    session: AsyncSession,
    token: RefreshToken,
    family: RefreshTokenFamily,
    user: User,
    settings: Settings,
    now: datetime,
) -> str:
    assert token.spent_at is not None
    if token.successor_id is not None and now - token.spent_at <= timedelta(
        seconds=settings.refresh_reuse_grace_s
    ):
        successor = await session.get(RefreshToken, token.successor_id, populate_existing=True)
        if successor is not None and successor.spent_at is None:
            await session.commit()  # nothing written; ends the read (a rollback would expire)
            return _encode(successor, user, settings, now)
    await session.execute(
        update(RefreshTokenFamily)
        .where(RefreshTokenFamily.id == family.id, RefreshTokenFamily.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason="reuse")
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    log.warning(
        "a spent refresh token was presented again; sign-in %s of user %s is revoked",
        family.id,
        user.id,
    )
    raise RefreshTokenReused()


def _encode(token: RefreshToken, user: User, settings: Settings, now: datetime) -> str:
    return tokens.issue_token(
        secret=settings.jwt_secret.get_secret_value(),
        user_id=user.id,
        token_version=user.token_version,
        type="refresh",
        ttl_s=max(1, int((token.expires_at - now).total_seconds())),
        token_id=token.id,
    )
