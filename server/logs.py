"""Structured logging: JSON lines in production, readable text in development.

Every record carries the request id of the HTTP request or WebSocket it belongs to,
and secrets (passwords, tokens, keys) are scrubbed before anything is written.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import sys
import time
from typing import Any

import orjson

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

SENSITIVE_KEYS = frozenset(
    {
        "password",
        "password_hash",
        "token",
        "access_token",
        "refresh_token",
        "authorization",
        "secret",
        "jwt_secret",
        "api_key",
        "gemini_api_key",
        "key_secret",
        "webhook_secret",
    }
)
REDACTED = "[redacted]"

# A JWT, a bearer credential, or key=value pairs whose key looks secret.
_SECRET_PATTERNS = (
    re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/-]+=*"),
    re.compile(r"(?i)((?:password|token|secret|api_key)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+"),
)

_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "request_id", "taskName", "color_message"}
)


def scrub(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def _scrub_value(key: str, value: Any) -> Any:
    if key.lower() in SENSITIVE_KEYS:
        return REDACTED
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _scrub_value(str(k), v) for k, v in value.items()}
    return value


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {
        key: _scrub_value(key, value)
        for key, value in vars(record).items()
        if key not in _STANDARD_ATTRS and not key.startswith("_")
    }


class RequestContextFilter(logging.Filter):
    """Stamps each record with the current request id."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            payload["request_id"] = request_id
        payload.update(_extras(record))
        if record.exc_info:
            payload["exc"] = scrub(self.formatException(record.exc_info))
        return orjson.dumps(payload, default=str).decode()


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        request_id = getattr(record, "request_id", None)
        rid = f" [{request_id[:8]}]" if request_id else ""
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        line = f"{stamp} {record.levelname:<7} {record.name}{rid}: {scrub(record.getMessage())}"
        if extras:
            line += f"  {extras}"
        if record.exc_info:
            line += "\n" + scrub(self.formatException(record.exc_info))
        return line


class _Throttle:
    """One repeating message: when it was last written and how often it happened since."""

    __slots__ = ("extra", "handle", "last_emit", "loop", "suppressed")

    def __init__(self) -> None:
        self.last_emit = -float("inf")
        self.suppressed = 0
        self.extra: dict[str, Any] = {}
        self.handle: asyncio.TimerHandle | None = None
        self.loop: asyncio.AbstractEventLoop | None = None


_throttles: dict[tuple[str, str, int], _Throttle] = {}


def log_throttled(
    logger: logging.Logger,
    message: str,
    *,
    level: int = logging.WARNING,
    interval_s: float = 1.0,
    **extra: Any,
) -> None:
    """Log an expected, repeating failure (an outage: every item fails) as one line a while.

    The first occurrence is written at once; the ones within the next ``interval_s`` are
    counted and written as ONE line when the interval ends, e.g. ``live append failed,
    retrying (x37 in the last 1.0 s)`` with ``count=37`` and the extras of the latest one.
    No traceback: pass what identifies the failure (``error=...``) as an extra.
    """
    if not logger.isEnabledFor(level):
        return
    key = (logger.name, message, level)
    state = _throttles.get(key)
    if state is None:
        state = _throttles[key] = _Throttle()
    now = time.monotonic()
    if state.suppressed == 0 and now - state.last_emit >= interval_s:
        state.last_emit = now
        logger.log(level, message, extra=extra)
        return
    state.suppressed += 1
    state.extra = extra
    if state.handle is not None:
        if state.loop is not None and not state.loop.is_closed():
            return  # the summary is already scheduled
        state.handle = None
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no loop here: write the summary once the interval has passed
        if now - state.last_emit >= interval_s:
            _flush(logger, message, level, state)
        return
    state.loop = loop
    delay = max(0.0, state.last_emit + interval_s - now)
    state.handle = loop.call_later(delay, _flush, logger, message, level, state)


def _flush(logger: logging.Logger, message: str, level: int, state: _Throttle) -> None:
    state.handle = None
    if not state.suppressed:
        return
    now = time.monotonic()
    count, window = state.suppressed, now - state.last_emit
    state.suppressed, state.last_emit = 0, now
    logger.log(
        level,
        f"{message} (x{count} in the last {window:.1f} s)",
        extra={**state.extra, "count": count},
    )


def configure_logging(level: str, fmt: str) -> None:
    """Install one stderr handler on the root logger (idempotent)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RequestContextFilter())
    handler.set_name("interview")
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == "interview":
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # uvicorn's own access log would print query strings; we log requests ourselves.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
