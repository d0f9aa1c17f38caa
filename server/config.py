"""Every knob of the service, read from ``INTERVIEW_*`` environment variables or ``.env``.

Each setting has a default that works on a laptop with nothing else installed:
a SQLite file under ``data_dir``, the in-process live store, the offline interviewer.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
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


# USD per 1M input and output tokens, and optionally cached input tokens (else: the input price).
PriceEntry = tuple[float, float] | tuple[float, float, float]
# A Gemini call's thinking level, as the SDK names them (types.ThinkingLevel), or none sent.
ThinkingSetting = Literal["minimal", "low", "medium", "high", "model_default"]


class ConfigError(Exception):
    """A setting is missing or unsafe; the message names the variable to fix."""


def parse_origin(value: str) -> str:
    """An ``INTERVIEW_CORS_ORIGINS`` entry as browsers send ``Origin`` (``https://host[:port]``,
    lower case, no slash): a pasted ``https://App.example.com/`` would otherwise never match."""
    text = value.strip()
    if text == "*":
        return text
    parts = urlsplit(text.rstrip("/"))
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or "@" in parts.netloc
        or parts.path
        or parts.query
        or parts.fragment
    ):
        raise ValueError(f"expected origins such as https://app.example.com, got {value!r}")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def parse_trusted_proxies(value: str | list[str]) -> list[str]:
    """``INTERVIEW_TRUSTED_PROXIES`` as a list; ValueError names an entry that is no address."""
    items = value.split(",") if isinstance(value, str) else value
    proxies = [item.strip() for item in items if item.strip()]
    for item in proxies:
        if item == "*":
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(
                f'expected IP addresses or CIDR networks (or "*"), got {item!r}'
            ) from None
    return proxies


class CreditPack(BaseModel):
    """Credits sold together at one price (INR; the amount charged is always this one)."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    credits: int = Field(ge=1, le=1000)
    # Razorpay's smallest order is ₹1 (100 paise).
    price_paise: int = Field(ge=100, le=10_000_000)
    label: str = Field(min_length=1, max_length=60)


def default_prices() -> dict[str, PriceEntry]:
    return {
        # Launch price, said to double on 2027-01-01 (1.50 / 7.50 / 0.15): override with JSON.
        "gemini-3.8-flash": (0.75, 3.75, 0.075),
        "gemini-3.5-flash": (0.30, 2.50, 0.03),
        "gemini-3.5-flash-lite": (0.10, 0.40, 0.01),
        # Audio is billed per input token (32 a second): the Flash audio-input rate, until
        # a price is listed for this model (override with JSON).
        "gemini-3.5-transcribe": (1.00, 2.50),
    }


def default_credit_packs() -> list[CreditPack]:
    return [
        CreditPack(id="single", credits=1, price_paise=4_900, label="1 interview"),
        CreditPack(id="five", credits=5, price_paise=19_900, label="5 interviews"),
        CreditPack(id="twelve", credits=12, price_paise=39_900, label="12 interviews"),
    ]


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

    # Accounts: sign-in throttling, refresh token rotation, password reset (docs/architecture.md).
    # ``login_limit_per_email`` above counts attempts per (email, client IP). Beyond it: failed
    # sign-ins for an email (from any client) slow down clients not known for that account,
    # exponentially from ``_base_s`` after ``_after_failures`` failures, up to ``_cap_s``; and
    # those clients together get at most ``login_limit_per_email_new_clients`` attempts per
    # window. A client is known for an account for ``login_known_client_ttl_s`` after signing
    # in to it; known clients are never slowed down or bounded by the other clients.
    login_slowdown_after_failures: int = Field(default=3, ge=0)
    login_slowdown_base_s: float = Field(default=0.5, ge=0)
    login_slowdown_cap_s: float = Field(default=5.0, ge=0, le=30)
    login_limit_per_email_new_clients: int = Field(default=100, ge=1)
    login_limit_per_email_new_clients_window_s: int = Field(default=60 * 60, ge=1)
    login_known_client_ttl_s: int = Field(default=30 * 24 * 60 * 60, ge=60)
    # A spent refresh token presented again this soon gets the same successor (two tabs, a
    # retried request); later, or when its successor was used too, it revokes its sign-in.
    refresh_reuse_grace_s: int = Field(default=30, ge=0, le=300)
    password_reset_ttl_s: int = Field(default=30 * 60, ge=60, le=24 * 60 * 60)
    password_reset_limit_per_ip: int = Field(default=10, ge=1)
    password_reset_limit_per_email: int = Field(default=3, ge=1)
    password_reset_limit_window_s: int = Field(default=60 * 60, ge=1)
    # Where people open the app; reset links point here (never at the request's Host header).
    public_url: str = "http://127.0.0.1:8000"
    # log: development prints mails to stderr (production drops them with a warning); smtp: sends.
    mail_backend: Literal["log", "smtp"] = "log"
    mail_from: str = "Mock Interview <no-reply@localhost>"
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = True

    # Product
    free_credits: int = Field(default=3, ge=0)
    # Provider spend per UTC day (USD) after which new interviews are refused; 0 = no cap.
    daily_spend_cap_usd_per_user: float = Field(default=0.0, ge=0)
    daily_spend_cap_usd: float = Field(default=0.0, ge=0)

    # Buying credits (Razorpay; docs/deploy.md). Off unless the key id, key secret and webhook
    # secret are all set. The webhook secret is the one set on the webhook in Razorpay's
    # dashboard, not the key secret.
    credit_packs: list[CreditPack] = Field(default_factory=default_credit_packs, min_length=1)
    razorpay_key_id: str | None = None
    razorpay_key_secret: SecretStr | None = None
    razorpay_webhook_secret: SecretStr | None = None
    razorpay_base_url: str | None = None  # None: Razorpay's API (tests: a local fake)
    razorpay_timeout_s: float = Field(default=10.0, gt=0, le=60)
    # The Checkout script the pricing page loads (a test serves a stand-in).
    razorpay_checkout_url: str = "https://checkout.razorpay.com/v1/checkout.js"
    # Orders a candidate may open per hour (each is a Razorpay API call).
    payment_orders_per_hour: int = Field(default=20, ge=1)
    business_name: str = "Mock Interview"

    # Voice answers
    # auto: Gemini's speech-to-text model when a key is set, else the embedded pocketsphinx.
    voice_recognizer: Literal["auto", "pocketsphinx", "gemini"] = "auto"
    gemini_transcribe_model: str = "gemini-3.5-transcribe"
    # Per answer. At most 480: Gemini takes up to 20 MB inline, about 490 s of this audio.
    voice_max_seconds: int = Field(default=180, ge=5, le=480)
    # Recordings being uploaded at once per process; more are refused (too_many_uploads).
    voice_max_uploads: int = Field(default=50, ge=1)
    # Transcriptions run at once per process by the embedded recogniser (one worker process
    # each); more wait their turn.
    voice_workers: int = Field(default=1, ge=1, le=32)
    voice_upload_ttl_s: int = Field(default=15 * 60, ge=60)
    # Keep each answer's audio after transcription (deleted with the interview, and after
    # voice_audio_retention_days); off: audio is discarded once transcribed.
    voice_keep_audio: bool = False
    voice_audio_retention_days: int = Field(default=30, ge=1)

    # Interviewer provider
    gemini_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("INTERVIEW_GEMINI_API_KEY", "GEMINI_API_KEY"),
    )
    # The newest stable Flash (3.5 Flash is legacy since 2026-11, and legacy models are shut
    # down later, as 2.0 Flash was).
    gemini_model: str = "gemini-3.8-flash"
    gemini_base_url: str | None = None  # another endpoint (a proxy, or a local fake in tests)
    gemini_api_version: str | None = None  # None: the SDK's default
    # USD per 1M input / output / cached input tokens. Defaults as of 2026-11; override with
    # JSON. An entry of two prices (input, output) still works: its cached input is charged
    # at the input price.
    gemini_prices: dict[str, PriceEntry] = Field(default_factory=default_prices)
    # Each kind of Gemini call, tuned for its job (docs/architecture.md, "The Gemini
    # interviewer"). Thinking is the SDK's thinking level (minimal, low, medium, high), or
    # model_default to send none; output limits count thinking tokens too; a temperature
    # of None leaves the model's default (Google advises against lowering it on Gemini 3
    # models; scoring does, for repeatable scores). Spoken turns think least: the candidate
    # waits for their first word. 3.7 and 3.8 Flash refuse "minimal" (400): "low" is their
    # least; "minimal" suits models that take it (3.5 Flash, Flash-Lite).
    gemini_turn_thinking: ThinkingSetting = "low"
    gemini_turn_max_output_tokens: int = Field(default=1024, ge=16)
    gemini_turn_temperature: float | None = Field(default=None, ge=0, le=2)
    gemini_score_thinking: ThinkingSetting = "low"
    gemini_score_max_output_tokens: int = Field(default=4096, ge=16)
    gemini_score_temperature: float | None = Field(default=0.2, ge=0, le=2)
    gemini_score_seed: int | None = 7  # with the low temperature: a re-score agrees with itself
    gemini_report_thinking: ThinkingSetting = "medium"
    gemini_report_max_output_tokens: int = Field(default=8192, ge=16)
    gemini_report_temperature: float | None = Field(default=None, ge=0, le=2)
    gemini_plan_thinking: ThinkingSetting = "low"
    gemini_plan_max_output_tokens: int = Field(default=8192, ge=16)
    gemini_plan_temperature: float | None = Field(default=None, ge=0, le=2)
    gemini_transcribe_thinking: ThinkingSetting = "model_default"
    gemini_transcribe_max_output_tokens: int = Field(default=4096, ge=16)
    gemini_check_thinking: ThinkingSetting = "low"
    gemini_check_max_output_tokens: int = Field(default=64, ge=16)
    # A turn sends a compact state of the interview plus only this many last turns verbatim.
    gemini_history_turns: int = Field(default=4, ge=0, le=50)
    # The fixed start of every turn (persona, job description, resume) is cached per
    # interview when it is at least this many tokens (the model's minimum for explicit
    # caching, 4096 for 3.8 Flash; estimated at 4 characters a token); shorter ones are sent
    # each turn. 0: off.
    gemini_cache_min_tokens: int = Field(default=4096, ge=0)
    gemini_cache_ttl_s: int = Field(default=3600, ge=60, le=24 * 60 * 60)
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
    # At most one turn.delta per interview per this interval (the first words at once).
    # 50 ms is 20 frames a second, far above reading speed; 40 cost 20 % more CPU per stream.
    stream_flush_ms: int = Field(default=50, ge=0, le=1000)
    lease_ttl_ms: int = Field(default=5000, ge=500)
    # Runners that may fail on one interview before the step they fail on is set aside.
    runner_failure_limit: int = Field(default=2, ge=1, le=10)
    event_log_cap: int = Field(default=10_000, ge=100)
    ws_hello_timeout_s: float = Field(default=5.0, gt=0)
    ws_ping_interval_s: float = Field(default=20.0, gt=0)
    ws_ping_timeout_s: float = Field(default=20.0, gt=0)
    ws_send_queue_max: int = Field(default=1000, ge=4)
    # Kernel send buffer per socket: bounds what a client that stops reading can hold up
    # before its events queue here (and it is told 4503).
    ws_send_buffer_bytes: int = Field(default=64 * 1024, ge=4096, le=8 * 1024 * 1024)
    ws_frames_per_second: float = Field(default=10.0, gt=0)
    ws_frame_burst: int = Field(default=30, ge=1)
    # Hellos handled at once per process once its event loop is busy (from 80 % of its
    # time computing); more wait their turn (first come, first served). Few: a start is a
    # few round trips and 1.5-3 ms of the loop, and many at once stall every stream already
    # running. Measured (interview bench, 500 interviews started within one second, runs
    # interleaved): medians over 5-7 runs of time to first token p99 807 ms with 2 at once,
    # 653 ms with 6, token latency p99 81 and 79 ms; single runs with 4, 8 and 10 showed no
    # better. The price is paid in larger bursts: at 1,100, token latency p99 137 ms with 2
    # (2 runs), 159 ms with 6 (3 runs). With 32, 115-144 ms already at 650. Once starts
    # cost a quarter less (the live store's Redis pool and writes), medians of 3 engine-only
    # runs at 500: time to first token p99 668 ms with 6, 456 with 10, 237 with 16; token
    # latency p99 73, 82 and 92 ms. Against the relay (3 runs each): 6 is 1.51 times its token
    # latency p99 and +90 ms on first tokens, 12 1.72 and 16 1.68 times (both below its first
    # token p99): more at once trades the streams' tail for first tokens. Once a runner's
    # refusals, epochs and upkeep were settled (3 runs each against the relay, PostgreSQL
    # and Redis, medians): 6 busy / 16 idle were 0.75 times the relay's token latency p99
    # but +268 ms on first tokens; 10 / 32, 0.74 times and -43 ms; 16 / 64, 0.70 times and
    # -259 ms (each of the 3 runs within both targets), and at 700 and 900 below the
    # relay's token latency too; beside 2,500 idle interviews, 0.38 times.
    ws_concurrent_starts: int = Field(default=16, ge=1)
    # ...and while the loop has time to spare (below 50 %; in proportion in between): a
    # start is mostly waiting on round trips, and two at a time left a burst of 300
    # starting over 2.8 s with the loop 72 % busy.
    ws_concurrent_starts_idle: int = Field(default=64, ge=1)

    # The HTTP edge
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed: IP addresses or CIDR
    # networks, comma-separated ("*" trusts every peer: only when nothing but the proxy can
    # reach the port). None: the socket peer is the client, and forwarded headers are ignored.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Swagger UI (/docs) and ReDoc (/redoc) load their scripts from a CDN: served outside
    # production unless set. /openapi.json is always served.
    api_docs: bool | None = None
    # GET /metrics (Prometheus) asks for ``Authorization: Bearer <this>`` when set; unset, it
    # answers only requests from this host's loopback that no proxy relayed (404 to others).
    metrics_token: SecretStr | None = None

    # Serving
    client_dist: Path = PROJECT_ROOT / "client" / "dist"
    log_level: str = "INFO"
    log_format: str | None = None  # "json" or "text"; default: json in production
    shutdown_grace_s: float = Field(default=10.0, gt=0)

    @field_validator(
        "gemini_api_key",
        "metrics_token",
        "razorpay_key_id",
        "razorpay_key_secret",
        "razorpay_webhook_secret",
        "razorpay_base_url",
        "gemini_base_url",
        "gemini_api_version",
        "gemini_turn_temperature",
        "gemini_score_temperature",
        "gemini_score_seed",
        "gemini_report_temperature",
        "gemini_plan_temperature",
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
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list):
            return value
        return [parse_origin(str(item)) for item in items if str(item).strip()]

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_proxies(cls, value: Any) -> Any:
        return parse_trusted_proxies(value) if isinstance(value, str | list) else value

    @field_validator("api_docs", mode="before")
    @classmethod
    def _empty_docs_means_default(cls, value: Any) -> Any:
        return None if value == "" else value

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
        razorpay = {
            "INTERVIEW_RAZORPAY_KEY_ID": self.razorpay_key_id,
            "INTERVIEW_RAZORPAY_KEY_SECRET": self.razorpay_key_secret,
            "INTERVIEW_RAZORPAY_WEBHOOK_SECRET": self.razorpay_webhook_secret,
        }
        missing = [name for name, value in razorpay.items() if not value]
        if missing and len(missing) < len(razorpay):
            raise ConfigError(
                f"{', '.join(missing)} not set: buying credits needs the Razorpay key id, key "
                "secret and webhook secret together (or none of them, to keep it off)."
            )
        if (
            self.razorpay_webhook_secret
            and self.razorpay_key_secret
            and self.razorpay_webhook_secret.get_secret_value()
            == self.razorpay_key_secret.get_secret_value()
        ):
            raise ConfigError(
                "INTERVIEW_RAZORPAY_WEBHOOK_SECRET equals the key secret: set the secret you "
                "chose for the webhook in Razorpay's dashboard, not the API key's."
            )
        ids = [pack.id for pack in self.credit_packs]
        if len(set(ids)) != len(ids):
            raise ConfigError(f"INTERVIEW_CREDIT_PACKS: pack ids must differ, got {ids}")
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
    def docs_enabled(self) -> bool:
        if self.api_docs is not None:
            return self.api_docs
        return self.env is not Environment.production

    @property
    def payments_enabled(self) -> bool:
        return bool(
            self.razorpay_key_id and self.razorpay_key_secret and self.razorpay_webhook_secret
        )

    def credit_pack(self, pack_id: str) -> CreditPack | None:
        return next((pack for pack in self.credit_packs if pack.id == pack_id), None)

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
