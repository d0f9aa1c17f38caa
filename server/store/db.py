"""Database engine and sessions, tuned per backend (PostgreSQL/asyncpg, SQLite/aiosqlite)."""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def create_engine(url: str, *, pool_size: int = 10, foreign_keys: bool = True) -> AsyncEngine:
    """``foreign_keys=False`` is for migrations on SQLite only: a batch migration rebuilds a
    table by dropping it, and with foreign keys on, that drop deletes (ON DELETE CASCADE)
    every row that refers to it. Migrations check the keys themselves afterwards."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})
        _tune_sqlite(engine, foreign_keys=foreign_keys)
    else:
        engine = create_async_engine(
            url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
        )
    _track_holders(engine)
    return engine


# Who holds each checked-out connection, per engine: a connection still out when the
# process shuts down is a session some task never closed. On SQLite that session keeps
# its BEGIN IMMEDIATE, so every other writer of the file waits for it and then fails
# with "database is locked"; naming the task is what makes such a leak findable.
_holders: weakref.WeakKeyDictionary[Engine, dict[int, str]] = weakref.WeakKeyDictionary()


def _track_holders(engine: AsyncEngine) -> None:
    holders: dict[int, str] = {}
    _holders[engine.sync_engine] = holders

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def _on_checkout(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        holders[id(record)] = _task_description()

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        holders.pop(id(record), None)


def _task_description() -> str:
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running loop: a synchronous caller
        task = None
    if task is None:
        return "no task"
    coro = getattr(task.get_coro(), "__qualname__", "?")
    return f"{task.get_name()} ({coro})"


def connection_holders(engine: AsyncEngine) -> list[str]:
    """The tasks holding this engine's checked-out connections (empty when all are back)."""
    return sorted(_holders.get(engine.sync_engine, {}).values())


def _tune_sqlite(engine: AsyncEngine, *, foreign_keys: bool) -> None:
    """WAL, a busy timeout, enforced foreign keys, and BEGIN IMMEDIATE.

    pysqlite's deferred BEGIN lets two writers both read, then fails one with
    "database is locked" (or silently loses an update); taking the write lock at
    BEGIN makes concurrent credit spends queue up instead.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
