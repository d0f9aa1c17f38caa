"""Every knob of the service, read from ``INTERVIEW_*`` environment variables or ``.env``.

Each setting has a default that works on a laptop with nothing else installed:
a SQLite file under ``data_dir``, the in-process live store, the offline interviewer.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Values that mean "nobody chose a secret"; refused in production.
DEV_SECRET = "dev-only-secret-change-me-in-production"
PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", DEV_SECRET})
MIN_SECRET_LENGTH = 32


class Environment(StrEnum):
    development = "development"
    production = "production"
    test = "test"


class ConfigError(Exception):
    """A setting is missing or unsafe; the message names the variable to fix."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="INTERVIEW_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    env: Environment = Environment.development
    data_dir: Path = Path("data")

    # Storage
    database_url: str | None = None
    database_pool_size: int = Field(default=10, ge=1, le=200)
    redis_url: str | None = None
    redis_key_prefix: str = "interview:"

    # Security
    jwt_secret: SecretStr = SecretStr(DEV_SECRET)
    access_token_ttl_s: int = Field(default=60 * 60, ge=60)
    refresh_token_ttl_s: int = Field(default=30 * 24 * 60 * 60, ge=300)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    login_limit_per_email: int = Field(default=10, ge=1)
    login_limit_per_ip: int = Field(default=50, ge=1)
    login_limit_window_s: int = Field(default=15 * 60, ge=1)
    register_limit_per_ip: int = Field(default=30, ge=1)
    register_limit_window_s: int = Field(default=60 * 60, ge=1)
    max_request_body_bytes: int = Field(default=512 * 1024, ge=1024)

    # Product
    free_credits: int = Field(default=3, ge=0)
    # Provider spend per UTC day (USD) after which new interviews are refused; 0 = no cap.
    daily_spend_cap_usd_per_user: float = Field(default=0.0, ge=0)
    daily_spend_cap_usd: float = Field(default=0.0, ge=0)

    # Interviewer provider
    gemini_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("INTERVIEW_GEMINI_API_KEY", "GEMINI_API_KEY"),
    )
    gemini_model: str = "gemini-3.5-flash"
    gemini_base_url: str | None = None  # another endpoint (a proxy, or a local fake in tests)
    gemini_api_version: str | None = None  # None: the SDK's default
    # USD per 1M input / output tokens. Defaults as published in 2026-11; override with JSON.
    gemini_prices: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: {
            "gemini-3.5-flash": (0.30, 2.50),
            "gemini-3.5-flash-lite": (0.10, 0.40),
        }
    )
    # auto: Gemini when a key is set, else offline. stub: a synthetic token stream for benchmarks.
    interviewer: Literal["auto", "offline", "stub"] = "auto"
    # After repeated Gemini failures, continue the interview on the offline interviewer.
    gemini_fallback_offline: bool = False
    offline_pace_ms: int = Field(default=40, ge=0, le=2000)
    stub_tokens: int = Field(default=200, ge=1)
    stub_interval_ms: float = Field(default=20.0, ge=0)

    # Live interviews
    max_follow_ups: int = Field(default=1, ge=0, le=2)
    abandon_after_s: int = Field(default=300, ge=1)
    stream_flush_ms: int = Field(default=40, ge=0, le=1000)
    lease_ttl_ms: int = Field(default=5000, ge=500)
    event_log_cap: int = Field(default=10_000, ge=100)
    ws_hello_timeout_s: float = Field(default=5.0, gt=0)
    ws_ping_interval_s: float = Field(default=20.0, gt=0)
    ws_ping_timeout_s: float = Field(default=20.0, gt=0)
    ws_send_queue_max: int = Field(default=1000, ge=4)
    ws_frames_per_second: float = Field(default=10.0, gt=0)
    ws_frame_burst: int = Field(default=30, ge=1)
    # Hellos handled at once per process; more wait their turn, so starts cannot stall streams.
    ws_concurrent_starts: int = Field(default=32, ge=1)

    # Serving
    client_dist: Path = PROJECT_ROOT / "client" / "dist"
    log_level: str = "INFO"
    log_format: str | None = None  # "json" or "text"; default: json in production
    shutdown_grace_s: float = Field(default=10.0, gt=0)

    @field_validator(
        "gemini_api_key",
        "gemini_base_url",
        "gemini_api_version",
        "log_format",
        "database_url",
        "redis_url",
        mode="before",
    )
    @classmethod
    def _empty_means_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("jwt_secret", mode="before")
    @classmethod
    def _empty_secret_means_default(cls, value: Any) -> Any:
        return DEV_SECRET if value == "" else value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("log_format")
    @classmethod
    def _check_log_format(cls, value: str | None) -> str | None:
        if value is not None and value not in {"json", "text"}:
            raise ValueError('expected "json" or "text"')
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env is Environment.production:
            secret = self.jwt_secret.get_secret_value()
            if secret.lower() in PLACEHOLDER_SECRETS or len(secret) < MIN_SECRET_LENGTH:
                raise ConfigError(
                    "INTERVIEW_JWT_SECRET is a placeholder or shorter than "
                    f"{MIN_SECRET_LENGTH} characters; production refuses to start with it. "
                    'Set it to a random value, e.g. `python -c "import secrets; '
                    'print(secrets.token_hex(32))"`.'
                )
        return self

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'interview.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def effective_log_format(self) -> str:
        if self.log_format:
            return self.log_format
        return "json" if self.env is Environment.production else "text"

    @property
    def provider_name(self) -> str:
        if self.interviewer != "auto":
            return self.interviewer
        return "gemini" if self.gemini_api_key else "offline"

    @property
    def provider_model(self) -> str:
        return {"gemini": self.gemini_model, "offline": "offline-v1", "stub": "stub-v1"}[
            self.provider_name
        ]
