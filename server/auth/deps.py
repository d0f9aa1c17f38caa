"""FastAPI dependencies: the current user from a bearer token, the mail sender."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from server.auth import mail, service
from server.deps import SessionDep, SettingsDep
from server.errors import NotAuthenticated, NotFound
from server.store.models import Role, User

_bearer = HTTPBearer(auto_error=False, description="Access token from /api/auth/login")


async def current_user(
    settings: SettingsDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated()
    return await service.user_from_access_token(
        session, credentials.credentials, secret=settings.jwt_secret
    )


CurrentUser = Annotated[User, Depends(current_user)]


async def current_admin(user: CurrentUser) -> User:
    """An administrator; anyone else gets the 404 an unknown path gets, so the admin API
    does not even show that it exists."""
    if user.role is not Role.admin:
        raise NotFound("Not found.")
    return user


CurrentAdmin = Annotated[User, Depends(current_admin)]


async def mail_sender(settings: SettingsDep) -> mail.MailSender:
    """The configured sender; tests override this dependency with one that captures mail."""
    return mail.sender_for(settings)


MailSenderDep = Annotated[mail.MailSender, Depends(mail_sender)]
