"""Request and response bodies of the account endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, EmailStr, Field
from pydantic_core import PydanticCustomError

from server.auth.passwords import is_common_password
from server.store.models import Role


def _normalise_email(value: str) -> str:
    return value.strip().lower()


Email = Annotated[EmailStr, AfterValidator(_normalise_email)]


def _refuse_common(value: str) -> str:
    if is_common_password(value):
        raise PydanticCustomError(
            "common_password",
            "This password is one of the most common ones and is guessed first; choose another.",
        )
    return value


# A password being chosen (sign-up, change, reset): long enough and not a common one.
NewPassword = Annotated[str, Field(min_length=8, max_length=128), AfterValidator(_refuse_common)]


class RegisterRequest(BaseModel):
    email: Email
    password: NewPassword


class LoginRequest(BaseModel):
    email: Email
    password: str = Field(min_length=1, max_length=128)


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=4096)


class UserPublic(BaseModel):
    id: uuid.UUID
    email: str
    role: Role
    created_at: datetime
    credits: int


class AuthSession(BaseModel):
    user: UserPublic
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")


class ChangePasswordRequest(BaseModel):
    current_password: str = Field(min_length=1, max_length=128)
    new_password: NewPassword


class ForgotPasswordRequest(BaseModel):
    email: Email


class ResetPasswordRequest(BaseModel):
    token: str = Field(min_length=1, max_length=256)
    new_password: NewPassword


class PasswordResetRequested(BaseModel):
    """The same answer whether or not an account has this email."""

    detail: str
