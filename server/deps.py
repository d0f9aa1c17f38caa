"""Typed FastAPI dependencies: the services the app's lifespan built, one alias each.

Handlers take ``SettingsDep``, ``SessionDep``, ``CountersDep``, ``SessionsDep`` and so on,
instead of reading untyped ``request.app.state`` attributes.
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

if TYPE_CHECKING:
    from server.gateway.gateway import InterviewGateway


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


def services(connection: HTTPConnection) -> Services:
    found: Services = connection.app.state.services
    return found


def settings(connection: HTTPConnection) -> Settings:
    # Settings exist before the lifespan runs (create_app keeps them too).
    found: Settings = connection.app.state.settings
    return found


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with services(request).sessionmaker() as session:
        yield session


ServicesDep = Annotated[Services, Depends(services)]
SettingsDep = Annotated[Settings, Depends(settings)]
SessionDep = Annotated[AsyncSession, Depends(db_session)]


def _counters(request: Request) -> Counters:
    return services(request).live.counters


def _sessions(request: Request) -> SessionManager:
    return services(request).sessions


def _interviewer(request: Request) -> Interviewer:
    return services(request).interviewer


CountersDep = Annotated[Counters, Depends(_counters)]
SessionsDep = Annotated[SessionManager, Depends(_sessions)]
InterviewerDep = Annotated[Interviewer, Depends(_interviewer)]
