"""Pure ASGI middleware: request ids with an access log line, a request-body cap, and the
security headers (CSP by path prefix, nosniff, framing, referrer, HSTS over TLS)."""

from __future__ import annotations

import logging
import re
import time
import uuid
from urllib.parse import urlsplit

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.logs import request_id_var

log = logging.getLogger("server.access")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_id_of(scope: Scope) -> str:
    """The caller's ``X-Request-ID`` when it is sane, else a new one."""
    incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
    return incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex


class RequestIdMiddleware:
    """Takes a sane ``X-Request-ID`` from the caller or makes one; logs one line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        token = request_id_var.set(request_id)
        if scope["type"] == "websocket":
            # No wrapper around a socket's sends: they are the hot path of every interview.
            try:
                await self.app(scope, receive, send)
            finally:
                request_id_var.reset(token)
            return
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope["type"] == "http" and scope["path"] not in ("/healthz", "/readyz"):
                log.info(
                    "%s %s %s",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={"duration_ms": round((time.perf_counter() - started) * 1000, 1)},
                )
            request_id_var.reset(token)


class BodySizeLimitMiddleware:
    """Refuses request bodies above ``max_bytes`` with 413 before the app reads them;
    ``per_path`` gives the few routes that take files a limit of their own."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, per_path: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.default_max_bytes = max_bytes
        self.per_path = per_path or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.per_path.get(scope["path"], self.default_max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            await self._reject(send, max_bytes)
            return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise _BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not response_started:
                await self._reject(send, max_bytes)

    async def _reject(self, send: Send, max_bytes: int) -> None:
        body = orjson.dumps(
            {
                "code": "payload_too_large",
                "detail": f"Request body is larger than {max_bytes} bytes.",
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(HTTPException):
    # An HTTPException so FastAPI's body parsing re-raises it rather than turning it into a 400.
    def __init__(self) -> None:
        super().__init__(413, "Request body is too large.")


# A Content-Security-Policy as directive -> sources; rendered in this order.
Policy = dict[str, tuple[str, ...]]

# The web app: its own scripts, styles, images and fonts only, and API calls and the live
# socket to its own origin ('self' covers ws:/wss: to the same host under CSP 3).
# style-src needs 'unsafe-inline' for style *attributes* in markup: React sets styles through
# the CSSOM (allowed without it), but Recharts' server-side text measurement and any HTML with
# a style="" (and libraries that insert <style>) need it. It lets injected CSS style the page,
# not run script: no script source allows inline code or eval.
APP_POLICY: Policy = {
    "default-src": ("'self'",),
    "script-src": ("'self'",),
    "style-src": ("'self'", "'unsafe-inline'"),
    "img-src": ("'self'", "data:"),
    "font-src": ("'self'",),
    "connect-src": ("'self'",),
    "object-src": ("'none'",),
    "base-uri": ("'self'",),
    "form-action": ("'self'",),
    "frame-ancestors": ("'none'",),
}
# JSON answers are never rendered as documents: nothing may load from them.
API_POLICY: Policy = {"default-src": ("'none'",), "frame-ancestors": ("'none'",)}
# Razorpay Checkout (checkout.js, which opens its own frame): added to the policy of the one
# route that takes payments, the credits page (``checkout_policy``). That page is always
# opened with a full page load (the client links to it with ``reloadDocument``): a document
# keeps the policy it was loaded with.
RAZORPAY_CHECKOUT: Policy = {
    "script-src": ("https://checkout.razorpay.com",),
    "frame-src": ("https://api.razorpay.com", "https://checkout.razorpay.com"),
    "connect-src": ("https://api.razorpay.com", "https://lumberjack.razorpay.com"),
}


def checkout_policy(script_url: str) -> Policy:
    """The app's policy plus Razorpay Checkout, loaded from ``script_url``'s origin (Razorpay's,
    or a stand-in a test serves), which may also be called from the page."""
    parts = urlsplit(script_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    connect = (*RAZORPAY_CHECKOUT["connect-src"], origin)
    return with_sources(
        APP_POLICY, {**RAZORPAY_CHECKOUT, "script-src": (origin,), "connect-src": connect}
    )


HSTS = b"max-age=31536000"


def with_sources(policy: Policy, extra: Policy) -> Policy:
    """``policy`` with ``extra``'s sources added (a directive it lacks starts from default-src)."""
    merged = dict(policy)
    for directive, sources in extra.items():
        base = merged.get(directive, merged.get("default-src", ()))
        merged[directive] = tuple(dict.fromkeys((*base, *sources)))
    return merged


def render_policy(policy: Policy) -> str:
    return "; ".join(f"{directive} {' '.join(sources)}" for directive, sources in policy.items())


class SecurityHeadersMiddleware:
    """Security headers on every HTTP answer, errors included; the CSP chosen by path prefix.

    ``policies`` maps path prefixes to policies; the longest prefix that matches wins, ``"/"``
    is the fallback. HSTS only on requests that came over TLS (directly, or through a trusted
    proxy's X-Forwarded-Proto, which uvicorn has already applied to the scope): over plain
    HTTP it would be ignored, and on a development machine it would pin localhost to HTTPS.
    """

    def __init__(self, app: ASGIApp, policies: dict[str, Policy]) -> None:
        self.app = app
        if "/" not in policies:
            raise ValueError('policies need a fallback for "/"')
        rendered = {prefix: render_policy(policy).encode() for prefix, policy in policies.items()}
        self._policies = sorted(rendered.items(), key=lambda item: len(item[0]), reverse=True)

    def policy_for(self, path: str) -> bytes:
        return next(policy for prefix, policy in self._policies if path.startswith(prefix))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = [
            (b"content-security-policy", self.policy_for(scope["path"])),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
        ]
        if scope.get("scheme") == "https":
            headers.append((b"strict-transport-security", HSTS))
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            # Starlette sends its 500 from outside every middleware, without these headers
            # and not in our error shape; answer here, then let it log the exception.
            if not started:
                body = orjson.dumps(
                    {"code": "internal_error", "detail": "Something went wrong on our side."}
                )
                await send_with_headers(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [(b"content-type", b"application/json")],
                    }
                )
                await send_with_headers({"type": "http.response.body", "body": body})
            raise
