"""Settings: embedded defaults, production safety, CORS and log format."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import httpx
import orjson
import pytest

from server.app import create_app
from server.config import DEV_SECRET, ConfigError, Settings
from server.logs import JsonFormatter, RequestContextFilter
from tests.conftest import make_settings


def test_the_defaults_need_nothing_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("INTERVIEW_DATABASE_URL", "INTERVIEW_REDIS_URL", "GEMINI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.resolved_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.resolved_database_url.endswith("/data/interview.db")
    assert settings.redis_url is None
    assert settings.provider_name == "offline"
    assert settings.free_credits == 3


def test_gemini_api_key_switches_the_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "AIza-test")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.provider_name, settings.provider_model) == ("gemini", "gemini-3.8-flash")


@pytest.mark.parametrize("secret", [DEV_SECRET, "change-me", "short-but-not-a-placeholder"])
def test_production_refuses_a_placeholder_secret_and_names_the_setting(secret: str) -> None:
    with pytest.raises(ConfigError, match="INTERVIEW_JWT_SECRET"):
        Settings(_env_file=None, env="production", jwt_secret=secret)  # type: ignore[call-arg]


def test_production_accepts_a_real_secret() -> None:
    settings = Settings(_env_file=None, env="production", jwt_secret="k" * 40)  # type: ignore[call-arg]
    assert settings.effective_log_format == "json"


def test_cors_origins_come_as_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERVIEW_CORS_ORIGINS", "https://app.example.com, https://x.vercel.app")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.cors_origins == ["https://app.example.com", "https://x.vercel.app"]


async def test_configured_origins_get_cors_headers_and_others_do_not(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        database_url, "test:cors:", tmp_path, cors_origins=["https://app.example.com"]
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            preflight = {"Access-Control-Request-Method": "POST"}
            allowed = await client.options(
                "/api/auth/login", headers={"Origin": "https://app.example.com", **preflight}
            )
            other = await client.options(
                "/api/auth/login", headers={"Origin": "https://evil.example", **preflight}
            )
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "access-control-allow-origin" not in other.headers


def test_json_logs_carry_the_request_id_and_scrub_secrets() -> None:
    from server.logs import request_id_var

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    logger = logging.getLogger("server.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    token = request_id_var.set("req-42")
    try:
        logger.warning(
            "calling with Authorization: Bearer abc.def.ghi and password=hunter22",
            extra={"api_key": "AIza-secret", "user": "a@example.com"},
        )
    finally:
        request_id_var.reset(token)
        logger.removeHandler(handler)
    line = orjson.loads(stream.getvalue())
    assert line["request_id"] == "req-42"
    assert line["level"] == "warning"
    assert line["api_key"] == "[redacted]"
    assert line["user"] == "a@example.com"
    assert "abc.def.ghi" not in line["msg"] and "hunter22" not in line["msg"]


def test_env_example_documents_every_setting_and_yields_the_defaults() -> None:
    example = Path(__file__).resolve().parent.parent / ".env.example"
    documented = {
        line.split("=", 1)[0]
        for line in example.read_text().splitlines()
        if line and not line.startswith("#")
    }
    expected = {f"INTERVIEW_{name.upper()}" for name in Settings.model_fields}
    assert documented == expected
    settings = Settings(_env_file=example)  # type: ignore[call-arg]
    assert settings.provider_name == "offline"
    assert settings.is_sqlite and settings.redis_url is None
    assert settings.jwt_secret.get_secret_value() == DEV_SECRET
    assert settings.effective_log_format == "text"


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({"razorpay_key_id": "rzp_test_x"}, "INTERVIEW_RAZORPAY_KEY_SECRET"),
        (
            {"razorpay_key_id": "rzp_test_x", "razorpay_key_secret": "key-secret"},
            "INTERVIEW_RAZORPAY_WEBHOOK_SECRET",
        ),
        ({"razorpay_webhook_secret": "hook-secret"}, "INTERVIEW_RAZORPAY_KEY_ID"),
    ],
)
def test_half_a_razorpay_configuration_is_refused_naming_what_is_missing(
    given: dict[str, str], missing: str
) -> None:
    with pytest.raises(ConfigError, match=missing):
        Settings(_env_file=None, **given)  # type: ignore[call-arg]


def test_the_webhook_secret_must_not_be_the_key_secret() -> None:
    with pytest.raises(ConfigError, match="not the API key's"):
        Settings(  # type: ignore[call-arg]
            _env_file=None,
            razorpay_key_id="rzp_test_x",
            razorpay_key_secret="same",
            razorpay_webhook_secret="same",
        )


def test_credit_packs_come_from_json_and_their_ids_must_differ(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "INTERVIEW_CREDIT_PACKS",
        '[{"id": "ten", "credits": 10, "price_paise": 29900, "label": "10"}]',
    )
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.credit_pack("ten") is not None
    assert settings.credit_pack("ten").price_paise == 29900  # type: ignore[union-attr]
    assert settings.payments_enabled is False
    twice = '[{"id": "a", "credits": 1, "price_paise": 100, "label": "x"}]'
    monkeypatch.setenv("INTERVIEW_CREDIT_PACKS", twice[:-1] + "," + twice[1:])
    with pytest.raises(ConfigError, match="pack ids must differ"):
        Settings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.setenv("INTERVIEW_CREDIT_PACKS", twice.replace("100", "50"))
    with pytest.raises(ValueError, match="price_paise"):
        Settings(_env_file=None)  # type: ignore[call-arg]
