"""Prometheus metrics: every metric of the service, defined once, and the ``/metrics`` route.

Labels are bounded sets (model, kind, outcome, error code, direction), never a user, an
interview or a connection. The metrics live in prometheus-client's process-wide registry
(the one piece of global state here: the client library keeps it so). Under
``interview serve --workers N`` each worker writes its values to files in
``PROMETHEUS_MULTIPROC_DIR`` (set up by the parent, ``server/cli.py``) and ``/metrics``,
whichever worker answers it, adds them all up; see docs/deploy.md.
"""

from __future__ import annotations

import hmac
import ipaddress
import os

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from pydantic import SecretStr
from starlette.concurrency import run_in_threadpool

from server.errors import NotAuthenticated, NotFound
from server.llm.base import CallRecord

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
# No ``*_created`` series beside every counter and histogram: a timestamp per series that
# doubles what is scraped and that nothing here reads.
disable_created_metrics()

# --- the gateway --------------------------------------------------------------------------

ACTIVE_SOCKETS = Gauge(
    "interview_ws_active_sockets",
    "WebSocket connections open (accepted and not yet closed).",
    multiprocess_mode="livesum",
)
WS_FRAMES = Counter(
    "interview_ws_frames_total",
    "WebSocket data frames received from clients (in) and written to them (out).",
    ["direction"],
)
# Bound once: the hot path increments a child, with no label lookup per frame.
FRAMES_IN = WS_FRAMES.labels(direction="in")
FRAMES_OUT = WS_FRAMES.labels(direction="out")
TOKEN_LATENCY = Histogram(
    "interview_token_latency_seconds",
    "Per turn.delta frame: from its arrival at this process's fan-out (from the live store) "
    "to the end of its write to the socket: the time it waits in the socket's outbox "
    "behind other frames, plus the write.",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)

# --- the engine ---------------------------------------------------------------------------

LIVE_INTERVIEWS = Gauge(
    "interview_live_interviews",
    "Live interviews driven by a runner in this process (summed over processes).",
    multiprocess_mode="livesum",
)
OFFLINE_FALLBACKS = Counter(
    "interview_offline_fallbacks_total",
    "Interviews switched to the offline interviewer after the provider failed.",
)

# --- provider calls (from the usage sink, one CallRecord per call) ------------------------

PROVIDER_CALLS = Counter(
    "interview_provider_calls_total",
    "Provider calls (all attempts of one call count once), by outcome.",
    ["model", "kind", "outcome"],
)
PROVIDER_ERRORS = Counter(
    "interview_provider_errors_total",
    "Provider calls that failed, by the provider's error code (an HTTP status, timeout, ...).",
    ["model", "kind", "error_code"],
)
PROVIDER_CALL_DURATION = Histogram(
    "interview_provider_call_duration_seconds",
    "Provider call latency, retries included.",
    ["model", "kind"],
    buckets=(0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0),
)
PROVIDER_TTFT = Histogram(
    "interview_provider_ttft_seconds",
    "Time to the first text of a streamed turn, as the provider call measured it.",
    ["model"],
    buckets=(0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0),
)
PROVIDER_TOKENS = Counter(
    "interview_provider_tokens_total",
    "Tokens billed by the provider: in (prompt) and out (output, thinking included).",
    ["model", "direction"],
)
PROVIDER_COST = Counter(
    "interview_provider_cost_usd_total",
    "Provider spend in US dollars, at the configured prices.",
    ["model"],
)
_ERROR_CODE_MAX = 40  # codes are short (``"429"``, ``"timeout"``); a longer one is cut


def observe_provider_call(call: CallRecord) -> None:
    """Counts one finished provider call (a few per turn: labels are looked up here)."""
    model, kind = call.model, call.kind
    PROVIDER_CALLS.labels(model, kind, call.outcome).inc()
    if call.error_code:
        PROVIDER_ERRORS.labels(model, kind, call.error_code[:_ERROR_CODE_MAX]).inc()
    PROVIDER_CALL_DURATION.labels(model, kind).observe(call.latency_ms / 1000)
    if call.ttft_ms is not None:
        PROVIDER_TTFT.labels(model).observe(call.ttft_ms / 1000)
    if call.prompt_tokens:
        PROVIDER_TOKENS.labels(model, "in").inc(call.prompt_tokens)
    if call.output_tokens:
        PROVIDER_TOKENS.labels(model, "out").inc(call.output_tokens)
    if call.cost_micro_usd:
        PROVIDER_COST.labels(model).inc(call.cost_micro_usd / 1_000_000)


# --- several worker processes -------------------------------------------------------------


def multiprocess_dir() -> str | None:
    """Where the workers write their values, when this process is one of several."""
    return os.environ.get(MULTIPROC_DIR_ENV) or None


def mark_this_process_dead() -> None:
    """At a worker's shutdown: drop its live gauges (open sockets, interviews) from the sum.

    Its counters and histograms stay: they are totals that keep counting what it did."""
    directory = multiprocess_dir()
    if directory is not None:
        mark_process_dead(os.getpid(), directory)


def exposition() -> bytes:
    """The text exposition: of every worker's files when there are several, else this one's."""
    directory = multiprocess_dir()
    if directory is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    return generate_latest(registry)


# --- GET /metrics -------------------------------------------------------------------------

# A proxy in front adds one of these: a request carrying one did not start on this host,
# whatever its peer address says (a proxy on the same host connects from loopback).
_FORWARDED = (b"x-forwarded-for", b"forwarded", b"x-real-ip")


def _from_loopback(request: Request) -> bool:
    """The TCP peer is this host, and the request was not relayed by a proxy.

    ``request.client`` is the socket's peer unless uvicorn replaced it from a trusted
    proxy's ``X-Forwarded-For``, and a request with that header is refused here anyway."""
    if request.client is None or any(name in _FORWARDED for name, _ in request.headers.raw):
        return False
    try:
        address = ipaddress.ip_address(request.client.host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _check_scraper(request: Request, token: SecretStr | None) -> None:
    if token is None:
        if not _from_loopback(request):
            raise NotFound("Not found.")  # the same answer as a path that does not exist
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    expected = token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
        raise NotAuthenticated("/metrics needs Authorization: Bearer <INTERVIEW_METRICS_TOKEN>.")


def metrics_router(token: SecretStr | None) -> APIRouter:
    """``GET /metrics``: for a scraper with ``token`` if one is set, else from this host only."""
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    async def scrape(request: Request) -> Response:
        _check_scraper(request, token)
        # Reading every worker's files is file I/O: off the event loop.
        body = await run_in_threadpool(exposition)
        # The classic text format (0.0.4): what every Prometheus version parses.
        return Response(body, media_type=CONTENT_TYPE_PLAIN_0_0_4)

    return router
