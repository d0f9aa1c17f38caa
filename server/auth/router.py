"""Account endpoints: /api/auth/* and /api/me."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request, status

from server.auth import resets, service
from server.auth.deps import CurrentUser, MailSenderDep
from server.auth.schemas import (
    AuthSession,
    ChangePasswordRequest,
    ForgotPasswordRequest,
    LoginRequest,
    PasswordResetRequested,
    RefreshRequest,
    RegisterRequest,
    ResetPasswordRequest,
    UserPublic,
)
from server.auth.throttle import LoginThrottle, email_key
from server.deps import CountersDep, LiveDep, ServicesDep, SessionDep, SettingsDep
from server.errors import ErrorBody, InvalidCredentials, error_responses
from server.ratelimit import enforce

router = APIRouter(tags=["auth"])


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _error(status_code: int, description: str) -> dict[int | str, dict[str, Any]]:
    return {status_code: {"model": ErrorBody, "description": description}}


@router.post(
    "/api/auth/register",
    status_code=status.HTTP_201_CREATED,
    response_model=AuthSession,
    responses=error_responses(409, 413, 429),
)
async def register(
    body: RegisterRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    counters: CountersDep,
) -> AuthSession:
    """Create an account (with the sign-up credits) and sign it in.

    A taken email answers 409: sign-up tells whether an email is registered (see
    docs/architecture.md); sign-in and password reset do not.
    """
    client = _client_ip(request)
    await enforce(
        counters,
        f"register:ip:{client}",
        limit=settings.register_limit_per_ip,
        window_s=settings.register_limit_window_s,
        what="sign-ups from this network",
    )
    user = await service.register(
        session, email=body.email, password=body.password, free_credits=settings.free_credits
    )
    await LoginThrottle(counters, settings).remember_client(user.email, client)
    await service.remember_token_version(counters, user)
    return await service.sign_in(session, user, settings)


@router.post("/api/auth/login", response_model=AuthSession, responses=error_responses(401, 429))
async def login(
    body: LoginRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    counters: CountersDep,
) -> AuthSession:
    """Exchange email and password for an access token and a refresh token.

    Attempts are limited per (email, client), and failures slow down and bound clients
    that have not signed in to this account before; the owner's usual client is not locked out.
    """
    client = _client_ip(request)
    throttle = LoginThrottle(counters, settings)
    await throttle.before_attempt(body.email, client)
    try:
        user = await service.authenticate(session, email=body.email, password=body.password)
    except InvalidCredentials:
        await throttle.failed(body.email)
        raise
    await throttle.remember_client(user.email, client)
    await service.remember_token_version(counters, user)
    return await service.sign_in(session, user, settings)


@router.post("/api/auth/refresh", response_model=AuthSession, responses=error_responses(401))
async def refresh(body: RefreshRequest, session: SessionDep, settings: SettingsDep) -> AuthSession:
    """Trade a refresh token for a new pair; the refresh token is spent (rotated).

    Store the returned refresh token: the one sent works again only within a short grace
    window (it then returns the same successor); any later reuse ends this sign-in (401).
    """
    return await service.refresh_session(session, body.refresh_token, settings)


@router.post(
    "/api/auth/logout-all", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(401)
)
async def logout_all(user: CurrentUser, session: SessionDep, live: LiveDep) -> None:
    """Revoke every access and refresh token issued to this account so far; its open
    interview sockets are closed (4401)."""
    await service.revoke_all_tokens(session, live, user)


@router.post(
    "/api/auth/change-password",
    response_model=AuthSession,
    responses=error_responses(401, 429) | _error(403, "The current password is not right"),
)
async def change_password(
    body: ChangePasswordRequest,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    counters: CountersDep,
    live: LiveDep,
) -> AuthSession:
    """Set a new password (the current one is required).

    Every other session is signed out; the caller gets a new pair of tokens in the answer.
    """
    await enforce(
        counters,
        f"change-password:user:{user.id}",
        limit=settings.login_limit_per_email,
        window_s=settings.login_limit_window_s,
        what="password change attempts",
    )
    return await service.change_password(
        session,
        live,
        user,
        current_password=body.current_password,
        new_password=body.new_password,
        settings=settings,
    )


@router.post(
    "/api/auth/forgot-password",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PasswordResetRequested,
    responses=error_responses(429),
)
async def forgot_password(
    body: ForgotPasswordRequest,
    request: Request,
    background: BackgroundTasks,
    services: ServicesDep,
    settings: SettingsDep,
    counters: CountersDep,
    sender: MailSenderDep,
) -> PasswordResetRequested:
    """Mail a password reset link, if an account has this email.

    The answer is the same whether or not it does; the mail goes out after the answer.
    """
    await enforce(
        counters,
        f"reset:ip:{_client_ip(request)}",
        limit=settings.password_reset_limit_per_ip,
        window_s=settings.password_reset_limit_window_s,
        what="password reset requests from this network",
    )
    # Per email, over the limit nothing is sent, but the answer stays the same.
    count, _ = await counters.hit(
        f"reset:email:{email_key(body.email)}", settings.password_reset_limit_window_s
    )
    if count <= settings.password_reset_limit_per_email:
        background.add_task(
            resets.send_reset_link, services.sessionmaker, sender, settings, body.email
        )
    minutes = settings.password_reset_ttl_s // 60
    return PasswordResetRequested(
        detail=(
            "If an account uses this email, a link to reset its password is on its way. "
            f"It works once, within {minutes} minutes."
        )
    )


@router.post(
    "/api/auth/reset-password",
    response_model=AuthSession,
    responses=error_responses(401, 429) | _error(400, "The reset link is invalid, expired or used"),
)
async def reset_password(
    body: ResetPasswordRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    counters: CountersDep,
    live: LiveDep,
) -> AuthSession:
    """Set a new password with the token from a reset link; signs in, every other session ends."""
    client = _client_ip(request)
    await enforce(
        counters,
        f"reset-confirm:ip:{client}",
        limit=settings.login_limit_per_ip,
        window_s=settings.login_limit_window_s,
        what="password reset attempts from this network",
    )
    result = await service.reset_password(
        session, live, secret=body.token, new_password=body.new_password, settings=settings
    )
    await LoginThrottle(counters, settings).remember_client(result.user.email, client)
    return result


@router.get("/api/me", response_model=UserPublic, responses=error_responses(401))
async def me(user: CurrentUser) -> UserPublic:
    """The signed-in user's profile and credit balance."""
    return service.public(user)
