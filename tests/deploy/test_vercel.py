"""The client on another origin (Vercel): vercel.json's headers agree with the server's policies,
and the server lets that origin call the API and open sockets, however it was written."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from server.app import create_app
from server.config import Settings, parse_origin
from server.middleware import APP_POLICY, checkout_policy
from tests.conftest import make_settings

pytestmark = pytest.mark.backend_independent
VERCEL = json.loads((Path(__file__).resolve().parents[2] / "client" / "vercel.json").read_text())


def header_policy(source: str) -> dict[str, list[str]]:
    rule = next(r for r in VERCEL["headers"] if r["source"] == source)
    value = next(h["value"] for h in rule["headers"] if h["key"] == "Content-Security-Policy")
    return {
        name: sources
        for name, *sources in (part.split() for part in value.split(";") if part.strip())
    }


def test_vercel_headers_allow_the_scripts_the_server_allows_per_page() -> None:
    pages = header_policy("/((?!credits).*)")
    credits = header_policy("/credits(.*)")
    checkout = checkout_policy(Settings(_env_file=None).razorpay_checkout_url)  # type: ignore[call-arg]
    assert pages["script-src"] == list(APP_POLICY["script-src"])
    assert credits["script-src"] == list(checkout["script-src"])
    for policy in (pages, credits):
        assert policy["frame-ancestors"] == list(APP_POLICY["frame-ancestors"])
        assert policy["object-src"] == list(APP_POLICY["object-src"])


@pytest.mark.parametrize(
    ("written", "origin"),
    [
        ("https://interview.vercel.app", "https://interview.vercel.app"),
        ("https://Interview.Vercel.app/", "https://interview.vercel.app"),
        (" http://127.0.0.1:5173 ", "http://127.0.0.1:5173"),
    ],
)
def test_an_origin_is_kept_as_browsers_send_it(written: str, origin: str) -> None:
    assert parse_origin(written) == origin


@pytest.mark.parametrize(
    "written", ["interview.vercel.app", "https://interview.vercel.app/app", "ftp://x.example"]
)
def test_a_setting_that_is_no_origin_is_refused_naming_it(
    written: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTERVIEW_CORS_ORIGINS", f"https://ok.example, {written}")
    with pytest.raises(ValidationError, match="expected origins such as"):
        Settings(_env_file=None)  # type: ignore[call-arg]


async def test_the_vercel_origin_gets_cors_answers_when_configured_with_a_slash(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTERVIEW_CORS_ORIGINS", "https://interview.vercel.app/")
    origins = Settings(_env_file=None).cors_origins  # type: ignore[call-arg]
    settings = make_settings(database_url, "test:vercel:", tmp_path, cors_origins=origins)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            preflight = await client.options(
                "/api/auth/login",
                headers={
                    "Origin": "https://interview.vercel.app",
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type",
                },
            )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://interview.vercel.app"
