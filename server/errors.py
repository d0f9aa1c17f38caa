"""Domain errors, raised anywhere inside and mapped once to HTTP at the edge."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel


class AppError(Exception):
    """An error the user can act on: a stable ``code``, a human ``message``, an HTTP status."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers


class NotAuthenticated(AppError):
    status_code = 401
    code = "not_authenticated"

    def __init__(self, message: str = "Sign in to continue.") -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class InvalidCredentials(AppError):
    status_code = 401
    code = "invalid_credentials"

    def __init__(self) -> None:
        super().__init__("Incorrect email or password.")


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class InsufficientCredits(AppError):
    status_code = 402
    code = "insufficient_credits"

    def __init__(self) -> None:
        super().__init__(
            "You have no interview credits left. Buy more credits to start a new interview."
        )


class SpendCapReached(AppError):
    status_code = 429
    code = "spend_cap_reached"


class RateLimited(AppError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after_s)})
        self.retry_after_s = retry_after_s


class ErrorBody(BaseModel):
    """Every error answer: a stable machine code and a message for people."""

    code: str
    detail: str


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorBody(BaseModel):
    code: str = "validation_error"
    detail: list[FieldError]
    message: str


_DESCRIPTIONS = {
    401: "Not signed in, or the token is missing, expired or revoked",
    402: "No interview credits left",
    404: "Not found (or not yours)",
    409: "Conflict with existing data",
    413: "Request body too large",
    429: "Too many attempts (see Retry-After), or today's spending cap is reached",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers a route can give (always with 422)."""
    responses: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorBody, "description": _DESCRIPTIONS[status]} for status in statuses
    }
    responses[422] = {"model": ValidationErrorBody, "description": "Invalid input, per field"}
    return responses


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "detail": message, **extra}


async def _app_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return JSONResponse(
        error_body(exc.code, exc.message), status_code=exc.status_code, headers=exc.headers
    )


async def _validation_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Field-level messages, without echoing the submitted values back (they may be
    # a password or a 20 000-character resume).
    errors = [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]
    return JSONResponse(
        {"code": "validation_error", "detail": errors, "message": _summary(errors)},
        status_code=422,
    )


def _summary(errors: list[dict[str, Any]]) -> str:
    parts = []
    for err in errors[:3]:
        field = ".".join(str(p) for p in err["loc"] if p not in ("body", "query", "path"))
        parts.append(f"{field or 'request'}: {err['msg']}")
    return "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
