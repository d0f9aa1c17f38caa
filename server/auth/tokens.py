"""Signed JWTs: short-lived access tokens and longer-lived refresh tokens.

A refresh token also carries its id (``jti``), the row in ``refresh_token`` that records
whether it was spent (``server/auth/refresh.py``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import jwt

from server.errors import NotAuthenticated

ALGORITHM = "HS256"
ISSUER = "interview-engine"
TokenType = Literal["access", "refresh"]


@dataclass(frozen=True)
class TokenClaims:
    user_id: uuid.UUID
    token_version: int
    type: TokenType
    token_id: uuid.UUID | None = None
    expires_at: float = 0.0  # unix seconds


def issue_token(
    *,
    secret: str,
    user_id: uuid.UUID,
    token_version: int,
    type: TokenType,
    ttl_s: int,
    token_id: uuid.UUID | None = None,
) -> str:
    now = datetime.now(UTC)
    payload: dict[str, object] = {
        "sub": str(user_id),
        "ver": token_version,
        "typ": type,
        "iss": ISSUER,
        "iat": now,
        "exp": now + timedelta(seconds=ttl_s),
    }
    if token_id is not None:
        payload["jti"] = str(token_id)
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def decode_token(token: str, *, secret: str, expected_type: TokenType) -> TokenClaims:
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "sub", "typ", "ver", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise NotAuthenticated("Your session has expired; sign in again.") from exc
    except jwt.PyJWTError as exc:
        raise NotAuthenticated("Invalid access token; sign in again.") from exc
    if payload.get("typ") != expected_type:
        raise NotAuthenticated(f"Expected an {expected_type} token.")
    try:
        return TokenClaims(
            user_id=uuid.UUID(str(payload["sub"])),
            token_version=int(payload["ver"]),
            type=expected_type,
            token_id=uuid.UUID(str(payload["jti"])) if "jti" in payload else None,
            expires_at=float(payload["exp"]),
        )
    except (ValueError, TypeError) as exc:
        raise NotAuthenticated("Invalid access token; sign in again.") from exc
