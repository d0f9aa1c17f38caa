"""Typed FastAPI dependencies: the services the app's lifespan built, one alias each.

Handlers take ``SettingsDep``, ``SessionDep``, ``CountersDep``, ``SessionsDep`` and so on,
instead of reading untyped ``request.app.state`` attributes. Every dependency is ``async``:
FastAPI runs a plain ``def`` one in a worker thread, a thread hop per request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from fastapi.requests import HTTPConnection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.config import Settings
from server.interview.sessions import SessionManager
from server.live.base import Counters, LiveStore
from server.llm.base import Interviewer
from server.questions.bank import QuestionBank

if TYPE_CHECKING:
    from server.gateway.admin import AdminGateway
    from server.gateway.gateway import InterviewGateway
    from server.payments.provider import Razorpay


@dataclass(frozen=True, slots=True)
class Services:
    """Everything the lifespan wires up, kept as ``app.state.services``."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    live: LiveStore
    interviewer: Interviewer
    sessions: SessionManager
    gateway: InterviewGateway
    admin_gateway: AdminGateway
    questions: QuestionBank
    razorpay: Razorpay | None  # None: buying credits is off


async def services(connection: HTTPConnection) -> Services:
    found: Services = connection.app.state.services
    return found


async def settings(connection: HTTPConnection) -> Settings:
    # Settings exist before the lifespan runs (create_app keeps them too).
    found: Settings = connection.app.state.settings
    return found


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    found: Services = request.app.state.services
    async with found.sessionmaker() as session:
        yield session


ServicesDep = Annotated[Services, Depends(services)]
SettingsDep = Annotated[Settings, Depends(settings)]
SessionDep = Annotated[AsyncSession, Depends(db_session)]


async def _counters(found: ServicesDep) -> Counters:
    return found.live.counters


async def _live(found: ServicesDep) -> LiveStore:
    return found.live


async def _sessions(found: ServicesDep) -> SessionManager:
    return found.sessions


async def _interviewer(found: ServicesDep) -> Interviewer:
    return found.interviewer


async def _questions(found: ServicesDep) -> QuestionBank:
    return found.questions


CountersDep = Annotated[Counters, Depends(_counters)]
LiveDep = Annotated[LiveStore, Depends(_live)]
SessionsDep = Annotated[SessionManager, Depends(_sessions)]
InterviewerDep = Annotated[Interviewer, Depends(_interviewer)]
QuestionBankDep = Annotated[QuestionBank, Depends(_questions)]
