"""Domain errors, raised anywhere inside and mapped once to HTTP at the edge."""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import Scope


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


class OwesCredits(AppError):
    """The balance is below zero: a refunded pack's credits had already been spent."""

    status_code = 402
    code = "balance_negative"

    def __init__(self, owed: int) -> None:
        super().__init__(
            f"Your balance is {-owed} credits because a refunded purchase's credits were "
            f"already used. Buy credits to settle the {owed} owed before starting a new "
            "interview."
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
    400: "Refused: the request cannot be carried out as it is (see code)",
    401: "Not signed in, or the token is missing, expired or revoked",
    402: "No interview credits left",
    404: "Not found (or not yours)",
    409: "Conflict with existing data",
    413: "Request body too large",
    429: "Too many attempts (see Retry-After), or today's spending cap is reached",
    502: "The payment provider failed or did not answer; nothing was changed, try again",
    503: "Buying credits is not configured on this server",
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


# Codes that match the ones our own code gives for the same answer.
_HTTP_CODES = {413: "payload_too_large"}
# The order methods are listed in an ``Allow`` header.
_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(routes: Sequence[BaseRoute], scope: Scope) -> list[str]:
    """Every method some route serves at this request's path (OPTIONS is always answered)."""
    probe = {**scope, "type": "http"}
    methods = {"OPTIONS"}
    # FastAPI keeps included routers as branches: walk the routes as it routes them.
    for route in iter_route_contexts(routes):
        match, _ = route.matches(probe)
        if match is Match.NONE:
            continue
        if route.methods:
            methods |= set(route.methods)
        elif isinstance(route.original_route, Mount):  # the client's static files
            methods |= {"GET", "HEAD"}
    return [method for method in _METHOD_ORDER if method in methods]


async def _http_error_handler(request: Request, exc: Exception) -> Response:
    """The framework's own answers (no route, wrong method, unreadable body) in our shape."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        allow = ", ".join(allowed_methods(request.app.router.routes, request.scope))
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": allow})
        message = f"{request.method} is not allowed here; this path answers {allow}."
        return JSONResponse(
            error_body("method_not_allowed", message), status_code=405, headers={"Allow": allow}
        )
    if exc.status_code == 404:
        return JSONResponse(error_body("not_found", "Not found."), status_code=404)
    if exc.status_code == 400:
        # FastAPI's "There was an error parsing the body": bytes that are not UTF-8, JSON
        # nested beyond the parser's depth. Invalid input like any other, answered as such.
        errors = [{"loc": ["body"], "msg": "Body is not valid UTF-8 JSON", "type": "json_invalid"}]
        return JSONResponse(
            {"code": "validation_error", "detail": errors, "message": _summary(errors)},
            status_code=422,
        )
    code = _HTTP_CODES.get(exc.status_code) or (
        HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_").replace("-", "_")
    )
    return JSONResponse(
        error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
    app.add_exception_handler(HTTPException, _http_error_handler)
