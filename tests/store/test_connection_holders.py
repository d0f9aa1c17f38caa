"""A connection nobody gave back is named, with the task that holds it, at shutdown."""

from __future__ import annotations

import asyncio
import logging

import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.app import create_app
from server.config import Settings
from server.store.db import connection_holders, create_engine, create_sessionmaker


async def _hold_a_transaction(
    sessionmaker: async_sessionmaker[AsyncSession], opened: asyncio.Event, release: asyncio.Event
) -> None:
    async with sessionmaker() as session, session.begin():
        await session.execute(text("SELECT 1"))
        opened.set()
        await release.wait()


async def test_the_engine_names_the_task_holding_each_connection(database_url: str) -> None:
    engine = create_engine(database_url)
    sessionmaker = create_sessionmaker(engine)
    opened = asyncio.Event()
    release = asyncio.Event()
    try:
        assert connection_holders(engine) == []
        holder = asyncio.create_task(
            _hold_a_transaction(sessionmaker, opened, release), name="forgetful"
        )
        await opened.wait()
        assert connection_holders(engine) == ["forgetful (_hold_a_transaction)"]
        release.set()
        await holder
        assert connection_holders(engine) == []
    finally:
        await engine.dispose()


async def test_shutdown_logs_a_session_some_task_never_closed(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app: FastAPI = create_app(settings)
    opened = asyncio.Event()
    release = asyncio.Event()
    with caplog.at_level(logging.ERROR, logger="server.app"):
        async with app.router.lifespan_context(app):
            holder = asyncio.create_task(
                _hold_a_transaction(app.state.services.sessionmaker, opened, release),
                name="leaky-report",
            )
            await opened.wait()
        release.set()
        await holder

    [record] = [r for r in caplog.records if "still in use at shutdown" in r.getMessage()]
    assert record.holders == ["leaky-report (_hold_a_transaction)"]  # type: ignore[attr-defined]


async def test_a_clean_shutdown_logs_no_held_connection(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings)
    with caplog.at_level(logging.ERROR, logger="server.app"):
        async with app.router.lifespan_context(app):
            async with app.state.services.sessionmaker() as session:
                await session.execute(text("SELECT 1"))
    assert not [r for r in caplog.records if "still in use" in r.getMessage()]
