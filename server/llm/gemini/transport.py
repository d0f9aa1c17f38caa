"""Talking to the Gemini API: the HTTP transport, errors and their classification, backoff,
closing an abandoned stream, and the usage meter behind each call's ``CallRecord``."""

from __future__ import annotations

import asyncio
import importlib
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from google import genai
from google.genai import errors, types

from server.llm.base import (
    CallKind,
    CallRecord,
    Outcome,
    Prices,
    ProviderError,
    TurnBlocked,
    cost_micro_usd,
)

MODEL_SETTING = "INTERVIEW_GEMINI_MODEL"
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})

T = TypeVar("T")


# --- what each kind of call asks for ------------------------------------------------------

Thinking = Literal["minimal", "low", "medium", "high", "model_default"]


@dataclass(frozen=True, slots=True)
class CallTuning:
    """How one kind of call is generated: thinking level, output limit, temperature, seed.

    ``model_default`` thinking and ``None`` values send nothing: the model's own default.
    """

    thinking: Thinking = "model_default"
    max_output_tokens: int | None = None
    temperature: float | None = None
    seed: int | None = None

    def config(self, **fields: Any) -> types.GenerateContentConfig:
        """A ``GenerateContentConfig`` with these settings and ``fields`` (system instruction,
        response schema, cached content...)."""
        if self.thinking != "model_default":
            level = types.ThinkingLevel[self.thinking.upper()]
            fields["thinking_config"] = types.ThinkingConfig(thinking_level=level)
        if self.max_output_tokens is not None:
            fields["max_output_tokens"] = self.max_output_tokens
        if self.temperature is not None:
            fields["temperature"] = self.temperature
        if self.seed is not None:
            fields["seed"] = self.seed
        return types.GenerateContentConfig(**fields)


MODEL_DEFAULTS = CallTuning()


# --- errors -------------------------------------------------------------------------------


class GeminiError(ProviderError):
    """A Gemini call failed after the provider's own retries; ``code`` is short and stable."""


class ModelNotFound(GeminiError):
    """The configured model does not exist (any more): a configuration error, never retried."""

    def __init__(self, model: str) -> None:
        super().__init__(
            f"Gemini model {model!r} was not found (404 NOT_FOUND). Set {MODEL_SETTING} to an "
            "available model id; the Gemini check lists the models this key can use.",
            "404",
        )
        self.model = model


class InvalidOutput(GeminiError):
    """The model's structured output failed validation on every attempt."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "invalid_output")


class GeminiBlocked(GeminiError, TurnBlocked):
    """The model would not speak a turn, also when asked again in other words."""


class GeminiTimeout(GeminiError):
    """No response in time: before the first chunk, between chunks, or past the turn deadline."""


def as_gemini_error(
    exc: BaseException, what: str, attempts: int, model: str, *, mid_stream: bool = False
) -> GeminiError:
    """The ``GeminiError`` to raise for ``exc``, the last failure of a call after ``attempts``.

    ``mid_stream``: the call is a streamed turn that had already yielded words.
    """
    if isinstance(exc, GeminiError):
        return exc  # already made with the right ``mid_stream``
    if isinstance(exc, errors.APIError) and exc.code == 404:
        return ModelNotFound(model)
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    message = f"Gemini {what} failed{tries}: {describe(exc)}"
    if isinstance(exc, TimeoutError):
        return GeminiTimeout(message, "timeout", mid_stream=mid_stream)
    return GeminiError(message, error_code(exc), mid_stream=mid_stream)


# --- the HTTP transport -------------------------------------------------------------------


def http_transport(max_connections: int) -> Any:
    """An explicit httpx-family transport.

    The SDK uses aiohttp for async calls whenever it is importable, unless it is given a
    transport; aiohttp changes timeout and error behaviour, so it is never used here.
    google-genai 3.x builds on httpx2 (a fork of httpx); older versions on httpx.
    """
    try:
        module = importlib.import_module("httpx2")
    except ImportError:
        module = importlib.import_module("httpx")
    limits = module.Limits(max_connections=max_connections, max_keepalive_connections=64)
    return module.AsyncHTTPTransport(limits=limits)


def make_client(
    *, api_key: str, base_url: str | None, api_version: str | None, max_connections: int
) -> genai.Client:
    """The SDK client every Gemini caller uses: one per caller's life (a collected client
    closes its HTTP pool, even under a running stream), on ``http_transport``."""
    return genai.Client(
        api_key=api_key,
        http_options=types.HttpOptions(
            base_url=base_url,
            api_version=api_version,
            async_client_args={"transport": http_transport(max_connections)},
        ),
    )


def _transport_errors() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = []
    for name in ("httpx2", "httpx"):
        try:
            found.append(importlib.import_module(name).TransportError)
        except ImportError:
            continue
    return tuple(found)


NETWORK_ERRORS: tuple[type[BaseException], ...] = (*_transport_errors(), ConnectionError)
UNREACHABLE: tuple[type[BaseException], ...] = (TimeoutError, *NETWORK_ERRORS)


# --- classifying failures -----------------------------------------------------------------


def error_code(exc: BaseException) -> str:
    if isinstance(exc, GeminiError):
        return exc.code
    if isinstance(exc, errors.APIError):
        return str(exc.code)
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, NETWORK_ERRORS):
        return "network"
    return type(exc).__name__


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, errors.APIError):
        return exc.code in RETRYABLE_STATUS
    if isinstance(exc, GeminiTimeout):
        return exc.code == "timeout"  # no first chunk: nothing was said yet
    return isinstance(exc, UNREACHABLE)


def describe(exc: BaseException) -> str:
    if isinstance(exc, errors.APIError):
        return f"{exc.code} {exc.status}: {exc.message}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


# --- backoff ------------------------------------------------------------------------------


def retry_hint_s(exc: BaseException) -> float | None:
    """The server's RetryInfo delay on a 429, in seconds."""
    details = getattr(exc, "details", None)
    if not isinstance(details, dict):
        return None
    for item in (details.get("error") or {}).get("details") or []:
        delay = item.get("retryDelay") if isinstance(item, dict) else None
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                return float(delay[:-1])
            except ValueError:
                return None
    return None


def backoff_s(attempt: int, exc: BaseException, *, base_s: float, max_s: float) -> float:
    """How long to wait after failed ``attempt`` (1-based): jittered exponential, or the hint."""
    delay = min(max_s, base_s * 2.0 ** (attempt - 1))
    delay *= random.uniform(0.5, 1.0)  # spread the retries of many interviews
    hint = retry_hint_s(exc)
    if hint is not None:
        delay = max(delay, min(hint, max_s))
    return delay


# --- closing an abandoned stream ----------------------------------------------------------


async def close_upstream(stream: AsyncIterator[Any]) -> None:
    """Close the HTTP stream behind an SDK iterator that is not being read.

    ``aclose()`` does not reach the SDK's inner response (the server would keep generating
    until garbage collection); cancelling a pending read does, so start one and cancel it.
    Reads that complete at once only drain what was already received.
    """
    for _ in range(1000):
        reader = asyncio.create_task(_next(stream))
        await asyncio.sleep(0)
        if not reader.done():
            reader.cancel()
        await asyncio.wait({reader})
        if reader.cancelled() or reader.exception() is not None:
            return  # cancelled mid-read (closed), or the stream had ended or failed


async def _next(stream: AsyncIterator[T]) -> T:
    return await anext(stream)


# --- usage --------------------------------------------------------------------------------


class UsageMeter:
    """Collects one call's usage, timing and outcome for its CallRecord."""

    def __init__(self, kind: CallKind) -> None:
        self.kind = kind
        self.started = time.perf_counter()
        self.first_text: float | None = None
        self.prompt_tokens = 0
        self.cached_tokens = 0  # of prompt_tokens, read from a context cache
        self.output_tokens = 0
        self.attempts = 0
        self.outcome: Outcome = "error"
        self.error_code: str | None = None
        self.pending: types.GenerateContentResponseUsageMetadata | None = None

    def add(self, usage: types.GenerateContentResponseUsageMetadata | None) -> None:
        if usage is None:
            return
        self.prompt_tokens += usage.prompt_token_count or 0
        self.cached_tokens += usage.cached_content_token_count or 0
        self.output_tokens += (usage.candidates_token_count or 0) + (
            usage.thoughts_token_count or 0
        )

    def commit(self) -> None:
        """Count the streamed attempt's usage: its latest chunk carries the running total."""
        self.add(self.pending)
        self.pending = None

    def record(self, model: str, prices: Prices) -> CallRecord:
        now = time.perf_counter()
        return CallRecord(
            kind=self.kind,
            model=model,
            prompt_tokens=self.prompt_tokens,
            output_tokens=self.output_tokens,
            latency_ms=round((now - self.started) * 1000),
            ttft_ms=None
            if self.first_text is None
            else round((self.first_text - self.started) * 1000),
            outcome=self.outcome,
            error_code=None if self.outcome == "ok" else self.error_code,
            cost_micro_usd=cost_micro_usd(
                model, self.prompt_tokens, self.output_tokens, prices, self.cached_tokens
            ),
            attempts=self.attempts,
            cached_tokens=self.cached_tokens,
        )
