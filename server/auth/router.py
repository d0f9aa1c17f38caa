"""Account endpoints: /api/auth/* and /api/me."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from server.auth import service
from server.auth.deps import CurrentUser
from server.auth.schemas import (
    AuthSession,
    LoginRequest,
    RefreshRequest,
    RegisterRequest,
    UserPublic,
)
from server.deps import CountersDep, SessionDep, SettingsDep
from server.errors import error_responses
from server.ratelimit import enforce

router = APIRouter(tags=["auth"])


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


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
    """Create an account (with the sign-up credits) and sign it in."""
    await enforce(
        counters,
        f"register:ip:{_client_ip(request)}",
        limit=settings.register_limit_per_ip,
        window_s=settings.register_limit_window_s,
        what="sign-ups from this network",
    )
    user = await service.register(
        session, email=body.email, password=body.password, free_credits=settings.free_credits
    )
    await service.remember_token_version(counters, user)
    return service.new_session(user, settings)


@router.post("/api/auth/login", response_model=AuthSession, responses=error_responses(401, 429))
async def login(
    body: LoginRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    counters: CountersDep,
) -> AuthSession:
    """Exchange email and password for an access token and a refresh token."""
    window = settings.login_limit_window_s
    await enforce(
        counters,
        f"login:ip:{_client_ip(request)}",
        limit=settings.login_limit_per_ip,
        window_s=window,
        what="sign-in attempts from this network",
    )
    await enforce(
        counters,
        f"login:email:{body.email}",
        limit=settings.login_limit_per_email,
        window_s=window,
        what="sign-in attempts for this account",
    )
    user = await service.authenticate(session, email=body.email, password=body.password)
    await service.remember_token_version(counters, user)
    return service.new_session(user, settings)


@router.post("/api/auth/refresh", response_model=AuthSession, responses=error_responses(401))
async def refresh(body: RefreshRequest, session: SessionDep, settings: SettingsDep) -> AuthSession:
    """Trade a valid refresh token for a fresh pair of tokens."""
    user = await service.user_from_token(
        session, body.refresh_token, secret=settings.jwt_secret, expected_type="refresh"
    )
    return service.new_session(user, settings)


@router.post(
    "/api/auth/logout-all", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(401)
)
async def logout_all(user: CurrentUser, session: SessionDep, counters: CountersDep) -> None:
    """Revoke every access and refresh token issued to this account so far."""
    await service.revoke_all_tokens(session, counters, user)


@router.get("/api/me", response_model=UserPublic, responses=error_responses(401))
async def me(user: CurrentUser) -> UserPublic:
    """The signed-in user's profile and credit balance."""
    return service.public(user)
