"""``create_app(settings)``: wires storage, the live store and the routers."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from server import __version__, health
from server.admin.router import router as admin_router
from server.auth.router import router as auth_router
from server.config import Settings
from server.deps import Services
from server.errors import install_error_handlers
from server.gateway.admin import AdminGateway
from server.gateway.gateway import InterviewGateway
from server.gateway.router import InterviewSocketRoute
from server.gateway.router import router as gateway_router
from server.interview.engine import EngineDeps
from server.interview.monitor import MonitorPublisher
from server.interview.router import router as interview_router
from server.interview.router import shared_router
from server.interview.sessions import SessionManager
from server.interview.usage import UsageRecorder
from server.live import create_live_store
from server.live.fanout import Fanout
from server.llm import create_interviewer
from server.llm.base import CallRecord
from server.llm.offline import OfflineInterviewer
from server.logs import configure_logging
from server.metrics import mark_this_process_dead, metrics_router
from server.middleware import (
    API_POLICY,
    APP_POLICY,
    BodySizeLimitMiddleware,
    Policy,
    RequestIdMiddleware,
    SecurityHeadersMiddleware,
    checkout_policy,
    with_sources,
)
from server.payments.provider import Razorpay, RazorpayConfig
from server.payments.router import router as payments_router
from server.questions.bank import QuestionBank
from server.resumes.extract import MAX_BYTES as MAX_RESUME_BYTES
from server.resumes.router import UPLOAD_PATH as RESUME_UPLOAD_PATH
from server.resumes.router import router as resumes_router
from server.spa import API_PREFIXES, mount_client
from server.store.db import connection_holders, create_engine, create_sessionmaker
from server.voice.factory import make_recognizer
from server.voice.uploads import VoiceService

log = logging.getLogger(__name__)

# The client's page that opens Razorpay Checkout (client/src/pages/Credits.tsx).
CHECKOUT_PAGE = "/credits"
# The collector's thresholds (CPython: 700, 10, 10); see _lifespan.
GC_THRESHOLDS = (10_000, 1, 43)


def _operation_id(route: APIRoute) -> str:
    # Stable ids ("interviews-get_interview") make the generated client readable.
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


# Swagger UI and ReDoc as FastAPI serves them: scripts and styles from a CDN, started by an
# inline script. Outside production only (INTERVIEW_API_DOCS); the rest of the site stays
# on self-hosted assets.
_DOCS_ASSETS: Policy = {
    "script-src": ("https://cdn.jsdelivr.net", "'unsafe-inline'"),
    "style-src": ("https://cdn.jsdelivr.net", "https://fonts.googleapis.com"),
    "font-src": ("https://fonts.gstatic.com",),
    "img-src": ("https://fastapi.tiangolo.com", "https://cdn.redoc.ly"),
    "worker-src": ("blob:",),
}


def content_security_policies(settings: Settings) -> dict[str, Policy]:
    """The CSP per path prefix (the longest matching prefix wins).

    A route that needs a third party gets its own entry here, e.g. the payment page
    ``checkout_policy`` on the credits page (server/middleware.py).
    """
    policies = {"/": APP_POLICY, "/metrics": API_POLICY, **dict.fromkeys(API_PREFIXES, API_POLICY)}
    if settings.payments_enabled:
        policies[CHECKOUT_PAGE] = checkout_policy(settings.razorpay_checkout_url)
    if settings.docs_enabled:
        docs = with_sources(APP_POLICY, _DOCS_ASSETS)
        policies.update({"/docs": docs, "/redoc": docs})
    return policies


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    engine = create_engine(settings.resolved_database_url, pool_size=settings.database_pool_size)
    sessionmaker = create_sessionmaker(engine)
    live = create_live_store(
        settings.redis_url, settings.redis_key_prefix, log_cap=settings.event_log_cap
    )
    usage = UsageRecorder(sessionmaker)
    monitor = MonitorPublisher(live)

    def usage_sink(interview_id: str, call: CallRecord) -> None:
        usage.record(interview_id, call)
        monitor.on_call(interview_id, call)

    questions = QuestionBank(sessionmaker, live.counters)
    await questions.start()
    interviewer = create_interviewer(settings, usage_sink=usage_sink, questions=questions)
    fanout = Fanout(live.events)
    await live.events.start(fanout.listener())
    fallback = (
        OfflineInterviewer(pace_ms=settings.offline_pace_ms, questions=questions)
        if settings.gemini_fallback_offline and not interviewer.offline
        else None
    )
    deps = EngineDeps(settings, sessionmaker, live, interviewer, fallback)
    sessions = SessionManager(deps, fanout)
    await sessions.start()
    monitor.start(sessions)
    voice = VoiceService(
        settings,
        live.uploads,
        live.events,
        make_recognizer(settings, usage_sink=usage.record),
        sessionmaker,
    )
    voice.start()
    gateway = InterviewGateway(settings, sessionmaker, live, fanout, sessions, voice)
    admin_gateway = AdminGateway(settings, sessionmaker, live, fanout, sessions)
    razorpay_config = RazorpayConfig.from_settings(settings)
    if razorpay_config is None:
        log.info(
            "buying credits is off: set INTERVIEW_RAZORPAY_KEY_ID, INTERVIEW_RAZORPAY_KEY_SECRET "
            "and INTERVIEW_RAZORPAY_WEBHOOK_SECRET to sell credit packs (free credits still work)"
        )
    app.state.services = Services(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        live=live,
        interviewer=interviewer,
        sessions=sessions,
        gateway=gateway,
        admin_gateway=admin_gateway,
        questions=questions,
        razorpay=Razorpay(razorpay_config) if razorpay_config else None,
    )
    log.info(
        "ready",
        extra={
            "env": settings.env.value,
            "database": engine.dialect.name,
            "live": live.name,
            "provider": interviewer.name,
        },
    )
    # Everything imported and built so far lives as long as the process: keep it out of
    # the collector's full passes, which otherwise walk it all and stall every stream for
    # about 100 ms a few times a minute under load (gen-2 pauses measured under interview
    # bench at N = 500: 85 to 132 ms before, 20 to 77 ms after).
    gc.freeze()
    # Collect the youngest objects every 10,000 allocations, not 700: a token's frames,
    # futures and timers live a few tens of milliseconds, long enough to outlive two young
    # collections at 700 and be promoted, and promotions trigger full passes over every
    # live interview's objects. Measured with 500 streaming and 2,500 idle interviews
    # (500,000 objects): full passes of 390-495 ms every few seconds and a token latency
    # p99 of 500-650 ms at 700; one 95 ms pass and 77-80 ms at 10,000.
    # One collection in three includes the middle generation, not one in eleven: what a
    # burst of starts leaves behind (100,000 objects after 2,500 idle interviews connect)
    # is then walked in passes of 6-24 ms, not in one of 45-95 ms as their streams begin.
    # The oldest is looked at after 44 of those, one collection in ~135 as with CPython's
    # 10 and 10, so full passes come no more often.
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        await gateway.drain()
        await voice.close()
        await monitor.close()
        await sessions.close()
        await interviewer.close()
        await usage.drain()
        await live.close()
        if held := connection_holders(engine):
            log.error("database connections still in use at shutdown", extra={"holders": held})
        await engine.dispose()
        mark_this_process_dead()  # one of several workers: its live gauges leave the sum


def _declare_edge_answers(app: FastAPI) -> None:
    """Adds to the OpenAPI document what the middleware answers for every route.

    The body cap answers 413 for any operation that takes a body, before its handler runs.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            for operations in document.get("paths", {}).values():
                for operation in operations.values():
                    if "requestBody" in operation:
                        operation["responses"].setdefault("413", _TOO_LARGE)
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]


_TOO_LARGE = {
    "description": "Request body too large",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.effective_log_format)
    app = FastAPI(
        title="Interview engine",
        version=__version__,
        summary="Real-time AI mock interviews: accounts, credits, interviews, live sessions.",
        lifespan=_lifespan,
        generate_unique_id_function=_operation_id,
        docs_url="/docs" if settings.docs_enabled else None,
        redoc_url="/redoc" if settings.docs_enabled else None,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(auth_router)
    app.include_router(interview_router)
    app.include_router(admin_router)
    app.include_router(payments_router)
    app.include_router(shared_router)
    app.include_router(resumes_router)
    app.include_router(gateway_router)
    app.include_router(metrics_router(settings.metrics_token))
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=600,
        )
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_request_body_bytes,
        # A résumé file, with room for the multipart framing around it.
        per_path={
            RESUME_UPLOAD_PATH: max(settings.max_request_body_bytes, MAX_RESUME_BYTES + 65_536)
        },
    )
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, policies=content_security_policies(settings))
    app.add_middleware(InterviewSocketRoute)  # outermost: the hot path skips the rest
    _declare_edge_answers(app)
    if mount_client(app, settings.client_dist):
        log.debug("serving the built client", extra={"dist": str(settings.client_dist)})
    return app
