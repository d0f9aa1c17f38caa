"""Security headers on every answer: the API, the web app's shell and assets, and errors."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from server.app import create_app
from server.config import Settings
from server.middleware import (
    API_POLICY,
    APP_POLICY,
    RAZORPAY_CHECKOUT,
    SecurityHeadersMiddleware,
    render_policy,
    with_sources,
)
from tests.conftest import TEST_SECRET, bearer, make_settings, register


def _directives(header: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *sources = part.split()
        parsed[name] = sources
    return parsed


@pytest.fixture
def settings(database_url: str, redis_prefix: str, tmp_path: Path) -> Settings:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(
        "<!doctype html><title>Interview</title><div id=root></div>"
        '<script type="module" src="/assets/app.js"></script>'
    )
    (dist / "assets" / "app.js").write_text("console.log('app')")
    (dist / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    return make_settings(
        database_url, f"{redis_prefix}{uuid.uuid4().hex[:8]}:", tmp_path, client_dist=dist
    )


def assert_secured(response: httpx.Response, *, document: bool) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    policy = _directives(response.headers["content-security-policy"])
    assert policy["frame-ancestors"] == ["'none'"]
    if document:  # the web app: its own origin only, no inline or eval'd script
        assert policy["default-src"] == ["'self'"]
        assert policy["script-src"] == ["'self'"]
        assert policy["object-src"] == ["'none'"]
        assert "razorpay" not in response.headers["content-security-policy"]
    else:  # JSON: nothing may load from it
        assert policy["default-src"] == ["'none'"]
    assert "strict-transport-security" not in response.headers  # plain HTTP here


async def test_api_answers_carry_the_security_headers(client: httpx.AsyncClient) -> None:
    session = await register(client)
    for response in (
        await client.get("/healthz"),
        await client.get("/api/me", headers=bearer(session)),
        await client.get("/openapi.json"),
    ):
        assert response.status_code == 200
        assert_secured(response, document=False)


async def test_the_web_app_shell_and_its_assets_carry_the_security_headers(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/", "/interviews/123", "/assets/app.js", "/favicon.svg"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert_secured(response, document=True)
    assert "<title>Interview</title>" in (await client.get("/interviews/123")).text


async def test_error_answers_carry_the_security_headers(client: httpx.AsyncClient) -> None:
    errors = [
        (await client.get("/api/nothing-here"), 404),
        (await client.get("/api/me"), 401),
        (await client.get("/api/auth/login"), 405),
        (await client.post("/api/auth/login", json={}), 422),
        (await client.post("/api/auth/login", content=b"x" * 600_000), 413),
        (await client.get("/api/interviews/not-a-uuid"), 401),
        (await client.get("/api/shared/x"), 422),
    ]
    for response, status in errors:
        assert response.status_code == status, response.text
        assert response.json()["code"]
        assert_secured(response, document=False)


async def test_hsts_is_sent_only_on_requests_that_came_over_tls(app: FastAPI) -> None:
    for scheme, expected in (("https", True), ("http", False)):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"{scheme}://t") as http:
            for path in ("/", "/healthz", "/api/nothing"):
                response = await http.get(path)
                assert ("strict-transport-security" in response.headers) is expected
                if expected:
                    assert response.headers["strict-transport-security"] == "max-age=31536000"


async def test_an_unhandled_error_is_answered_with_the_headers_and_the_error_shape() -> None:
    """Starlette sends its 500 from outside every middleware; ours answers first."""

    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    app = SecurityHeadersMiddleware(broken, policies={"/": APP_POLICY})
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        response = await http.get("/anything")
    assert response.status_code == 500
    assert response.json() == {
        "code": "internal_error",
        "detail": "Something went wrong on our side.",
    }
    assert_secured(response, document=True)


async def test_the_policy_is_chosen_by_the_longest_matching_path_prefix() -> None:
    """Where Razorpay Checkout is allowed: the payment page's prefix, nowhere else."""

    async def ok(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    checkout = with_sources(APP_POLICY, RAZORPAY_CHECKOUT)
    app = SecurityHeadersMiddleware(
        ok, policies={"/": APP_POLICY, "/api/": API_POLICY, "/credits/buy": checkout}
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        policies = {
            path: _directives((await http.get(path)).headers["content-security-policy"])
            for path in ("/credits/buy", "/credits/buy/upi", "/credits", "/", "/api/me")
        }
    for path in ("/credits/buy", "/credits/buy/upi"):
        assert policies[path]["script-src"] == ["'self'", "https://checkout.razorpay.com"]
        assert "https://api.razorpay.com" in policies[path]["frame-src"]
        assert policies[path]["frame-ancestors"] == ["'none'"]
    for path in ("/credits", "/"):
        assert policies[path]["script-src"] == ["'self'"]
        assert "frame-src" not in policies[path]
    assert policies["/api/me"]["default-src"] == ["'none'"]


@pytest.fixture
async def production_client(
    database_url: str, redis_prefix: str, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    app_settings = make_settings(
        database_url, f"{redis_prefix}{uuid.uuid4().hex[:8]}:", tmp_path, env="production"
    )
    assert app_settings.jwt_secret.get_secret_value() == TEST_SECRET
    application = create_app(app_settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            yield http


async def test_production_serves_no_cdn_backed_api_docs(
    production_client: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    for path in ("/docs", "/redoc"):
        assert (await production_client.get(path)).status_code == 404
        # Outside production they are served, with the CDN allowed on their pages only.
        development = await client.get(path)
        assert development.status_code == 200
        policy = _directives(development.headers["content-security-policy"])
        assert "https://cdn.jsdelivr.net" in policy["script-src"]
    assert (await production_client.get("/openapi.json")).status_code == 200
    app_policy = _directives((await client.get("/")).headers["content-security-policy"])
    assert "https://cdn.jsdelivr.net" not in app_policy["script-src"]
    assert render_policy(APP_POLICY) == (await client.get("/")).headers["content-security-policy"]


async def test_checkout_is_allowed_on_the_credits_page_only_and_only_when_buying_is_on(
    tmp_path: Path,
) -> None:
    keys = {
        "razorpay_key_id": "rzp_test_headers",
        "razorpay_key_secret": "key-secret",
        "razorpay_webhook_secret": "webhook-secret",
        "razorpay_checkout_url": "http://127.0.0.1:9/checkout.js",
    }
    found: dict[bool, dict[str, dict[str, list[str]]]] = {}
    for enabled in (True, False):
        settings = make_settings(
            "sqlite+aiosqlite:///unused.db", "x:", tmp_path, **(keys if enabled else {})
        )
        transport = httpx.ASGITransport(app=create_app(settings))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            found[enabled] = {
                path: _directives((await http.get(path)).headers["content-security-policy"])
                for path in ("/credits", "/", "/interviews/x")
            }
    credits = found[True]["/credits"]
    assert credits["script-src"] == ["'self'", "http://127.0.0.1:9"]
    assert "http://127.0.0.1:9" in credits["connect-src"]
    assert "https://api.razorpay.com" in credits["frame-src"]
    for path in ("/", "/interviews/x"):
        assert found[True][path]["script-src"] == ["'self'"]
    assert found[False]["/credits"]["script-src"] == ["'self'"]
