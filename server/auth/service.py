"""Account operations: register, sign in, refresh, change or reset a password, resolve a token,
make an admin."""

from __future__ import annotations

import uuid

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.auth import passwords, refresh, resets, tokens
from server.auth.schemas import AuthSession, UserPublic
from server.config import Settings
from server.errors import AppError, Conflict, InvalidCredentials, NotAuthenticated
from server.live.base import Counters, LiveStore
from server.payments import ledger
from server.store.models import Role, User


async def get_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email.strip().lower()))


async def register(session: AsyncSession, *, email: str, password: str, free_credits: int) -> User:
    if await get_by_email(session, email) is not None:
        raise Conflict("An account with this email already exists. Sign in instead.")
    user = User(id=uuid.uuid4(), email=email, password_hash=await passwords.hash_password(password))
    session.add(user)
    try:
        await session.flush()
        if free_credits:
            await ledger.grant(
                session,
                user.id,
                free_credits,
                reason="signup_bonus",
                external_ref=f"signup:{user.id}",
            )
        await session.commit()
    except IntegrityError as exc:  # two registrations for one email raced
        await session.rollback()
        raise Conflict("An account with this email already exists. Sign in instead.") from exc
    await session.refresh(user)
    return user


class AccountDisabled(NotAuthenticated):
    code = "account_disabled"

    def __init__(self) -> None:
        super().__init__("This account is disabled.")


async def authenticate(session: AsyncSession, *, email: str, password: str) -> User:
    user = await get_by_email(session, email)
    ok = await passwords.verify_password(user.password_hash if user else None, password)
    if user is None or not ok:
        raise InvalidCredentials()
    # Only after the password: nobody learns that an account is disabled without it.
    if user.disabled_at is not None:
        raise AccountDisabled()
    return user


async def user_from_token(
    session: AsyncSession, token: str, *, secret: SecretStr, expected_type: tokens.TokenType
) -> User:
    claims = tokens.decode_token(
        token, secret=secret.get_secret_value(), expected_type=expected_type
    )
    user = await session.get(User, claims.user_id)
    if user is not None and user.disabled_at is not None:
        raise AccountDisabled()
    if user is None or user.token_version != claims.token_version:
        raise NotAuthenticated("Your session is no longer valid; sign in again.")
    return user


async def user_from_access_token(session: AsyncSession, token: str, *, secret: SecretStr) -> User:
    return await user_from_token(session, token, secret=secret, expected_type="access")


# A socket's hello is authorised from its token alone plus this cached token version, so a
# burst of connections costs no query each; revocation writes it through (fail closed).
TOKEN_VERSION_CACHE_S = 600


def _token_version_key(user_id: uuid.UUID) -> str:
    return f"tv:{user_id}"


def decode_access(token: str, *, secret: SecretStr) -> tokens.TokenClaims:
    """What an access token says, checked by its signature and expiry alone (no I/O)."""
    return tokens.decode_token(token, secret=secret.get_secret_value(), expected_type="access")


async def check_not_revoked(
    counters: Counters,
    sessionmaker: async_sessionmaker[AsyncSession],
    claims: tokens.TokenClaims,
) -> None:
    """Raise NotAuthenticated if the token was revoked since it was issued; no User row
    is loaded while the token version is cached."""
    key = _token_version_key(claims.user_id)
    version = await counters.get_int(key)
    if version is None:
        async with sessionmaker() as session:
            version = await session.scalar(
                select(User.token_version).where(User.id == claims.user_id)
            )
        if version is not None:
            await counters.set_int(key, version, TOKEN_VERSION_CACHE_S)
    if version is None or version != claims.token_version:
        raise NotAuthenticated("Your session is no longer valid; sign in again.")


async def access_claims(
    counters: Counters,
    sessionmaker: async_sessionmaker[AsyncSession],
    token: str,
    *,
    secret: SecretStr,
) -> tokens.TokenClaims:
    """What an access token says, if it has not been revoked; no User row is loaded."""
    claims = decode_access(token, secret=secret)
    await check_not_revoked(counters, sessionmaker, claims)
    return claims


async def remember_token_version(counters: Counters, user: User) -> None:
    """Warm the cache when tokens are issued: the sockets that follow read no row."""
    await counters.set_int(_token_version_key(user.id), user.token_version, TOKEN_VERSION_CACHE_S)


async def is_active_admin(session: AsyncSession, user_id: uuid.UUID) -> bool:
    """Whether the account is an administrator's and not disabled."""
    user = await session.get(User, user_id)
    return user is not None and user.role is Role.admin and user.disabled_at is None


async def revoke_all_tokens(
    session: AsyncSession,
    live: LiveStore,
    user: User,
    *,
    reason: str = "logout_all",
    close_sockets: bool = True,
) -> None:
    """Invalidate every token issued so far, at once in every process: new requests and
    hellos are refused, and open sockets signed in with them are closed (4401).

    With ``close_sockets=False`` the caller closes them later (``close_revoked_sockets``),
    e.g. once their interviews have told them they ended.
    """
    user.token_version += 1
    # The cache first: if the commit then fails, old tokens are refused until it expires.
    key = _token_version_key(user.id)
    await live.counters.set_int(key, user.token_version, TOKEN_VERSION_CACHE_S)
    session.add(user)
    await refresh.revoke_all(session, user.id, reason=reason)
    await session.commit()
    if close_sockets:
        await close_revoked_sockets(live, user)


async def close_revoked_sockets(live: LiveStore, user: User) -> None:
    """Close, in every process, the user's sockets signed in before their current version."""
    await live.events.announce_revocation(str(user.id), user.token_version)


class WrongPassword(AppError):
    status_code = 403
    code = "wrong_password"

    def __init__(self) -> None:
        super().__init__("Your current password is not right.")


async def change_password(
    session: AsyncSession,
    live: LiveStore,
    user: User,
    *,
    current_password: str,
    new_password: str,
    settings: Settings,
) -> AuthSession:
    """Set a new password; every other session ends, the caller gets a new pair."""
    if not await passwords.verify_password(user.password_hash, current_password):
        raise WrongPassword()
    user.password_hash = await passwords.hash_password(new_password)
    await revoke_all_tokens(session, live, user, reason="password")
    return await sign_in(session, user, settings)


async def reset_password(
    session: AsyncSession, live: LiveStore, *, secret: str, new_password: str, settings: Settings
) -> AuthSession:
    """Spend a reset link, set the new password, end every session and sign in afresh."""
    password_hash = await passwords.hash_password(new_password)  # before the write lock
    user = await resets.spend_reset_token(session, secret)
    if user.disabled_at is not None:
        raise AccountDisabled()
    user.password_hash = password_hash
    await revoke_all_tokens(session, live, user, reason="password")
    return await sign_in(session, user, settings)


def public(user: User) -> UserPublic:
    return UserPublic(
        id=user.id,
        email=user.email,
        role=user.role,
        created_at=user.created_at,
        credits=user.credit_balance,
    )


def session_with(user: User, refresh_token: str, settings: Settings) -> AuthSession:
    """A fresh access token beside the given refresh token."""
    return AuthSession(
        user=public(user),
        access_token=tokens.issue_token(
            secret=settings.jwt_secret.get_secret_value(),
            user_id=user.id,
            token_version=user.token_version,
            type="access",
            ttl_s=settings.access_token_ttl_s,
        ),
        refresh_token=refresh_token,
        expires_in=settings.access_token_ttl_s,
    )


async def sign_in(session: AsyncSession, user: User, settings: Settings) -> AuthSession:
    """A new sign-in: a new refresh token family and a pair of tokens."""
    return session_with(user, await refresh.start_family(session, user, settings), settings)


async def refresh_session(
    session: AsyncSession, refresh_token: str, settings: Settings
) -> AuthSession:
    """Rotate the refresh token: the answer carries its successor (``server/auth/refresh.py``)."""
    try:
        rotated = await refresh.rotate(session, refresh_token, settings)
    except NotAuthenticated:
        # Disabling revoked every sign-in: say why instead of "no longer valid".
        if await _disabled(session, refresh_token, settings):
            raise AccountDisabled() from None
        raise
    if rotated.user.disabled_at is not None:
        raise AccountDisabled()
    return session_with(rotated.user, rotated.refresh_token, settings)


async def _disabled(session: AsyncSession, refresh_token: str, settings: Settings) -> bool:
    try:
        claims = tokens.decode_token(
            refresh_token, secret=settings.jwt_secret.get_secret_value(), expected_type="refresh"
        )
    except NotAuthenticated:
        return False
    disabled_at = await session.scalar(select(User.disabled_at).where(User.id == claims.user_id))
    return disabled_at is not None


async def create_or_promote_admin(
    session: AsyncSession, *, email: str, password: str | None
) -> tuple[User, bool]:
    """Returns the admin and whether the account was newly created."""
    user = await get_by_email(session, email)
    if user is not None:
        user.role = Role.admin
        await session.commit()
        return user, False
    if not password:
        raise ValueError("a password is needed to create a new account")
    user = User(
        id=uuid.uuid4(),
        email=email.strip().lower(),
        password_hash=await passwords.hash_password(password),
        role=Role.admin,
    )
    session.add(user)
    await session.commit()
    return user, True
