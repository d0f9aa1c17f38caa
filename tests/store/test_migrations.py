"""Alembic: one linear history that goes up, down and up again, and matches the models."""

from __future__ import annotations

import uuid
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, insert, inspect, select, update
from sqlalchemy.engine import Connection

from server.store import migrate
from server.store.db import create_engine
from server.store.models import Base, CreditEntry, User, utcnow
from tests.conftest import FreshDatabase

APP_TABLES = {
    "user",
    "credit_entry",
    "interview",
    "turn",
    "score",
    "report",
    "provider_call",
    "refresh_token_family",
    "refresh_token",
    "password_reset_token",
    "answer_audio",
    "admin_action",
    "admin_note",
    "question",
    "interview_plan",
    "stats_day",
    "provider_call_day",
    "payment",
    "payment_event",
    "webhook_delivery",
}


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    return names - {"alembic_version"}


async def test_upgrade_downgrade_and_upgrade_again(fresh_database: FreshDatabase) -> None:
    url = await fresh_database.new()
    await migrate.upgrade(url)
    assert await _tables(url) == APP_TABLES
    await migrate.downgrade(url, "base")
    assert await _tables(url) == set()
    await migrate.upgrade(url)
    assert await _tables(url) == APP_TABLES


async def test_autogenerate_finds_no_drift_between_models_and_migrations(
    fresh_database: FreshDatabase,
) -> None:
    url = await fresh_database.new()
    await migrate.upgrade(url)
    engine = create_engine(url)

    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "render_as_batch": connection.dialect.name == "sqlite"},
        )
        return list(compare_metadata(context, Base.metadata))

    try:
        async with engine.connect() as conn:
            changes = await conn.run_sync(diff)
    finally:
        await engine.dispose()
    assert changes == []


def test_history_is_linear_and_files_are_named_by_date_and_slug() -> None:
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    assert len(scripts.get_heads()) == 1
    assert len(scripts.get_bases()) == 1
    for revision in scripts.walk_revisions():
        name = Path(revision.path).name
        assert name[:11].count("-") == 2 and name[10] == "_", name


async def test_rebuilding_a_table_keeps_the_rows_that_point_at_it(
    fresh_database: FreshDatabase,
) -> None:
    """0009 rebuilds ``user`` on SQLite (batch mode drops and re-creates it). With foreign
    keys on, that drop deleted every credit entry and interview (ON DELETE CASCADE)."""
    url = await fresh_database.new()
    await migrate.upgrade(url, "0008")
    engine = create_engine(url)
    user_id = uuid.uuid4()
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(User.__table__).values(
                    id=user_id,
                    email="kept@example.com",
                    password_hash="x",
                    role="candidate",
                    token_version=0,
                    credit_balance=3,
                    created_at=utcnow(),
                )
            )
            await conn.execute(
                insert(CreditEntry.__table__).values(
                    user_id=user_id,
                    delta=3,
                    reason="signup_bonus",
                    external_ref=f"signup:{user_id}",
                    created_at=utcnow(),
                )
            )
        await migrate.upgrade(url)
        async with engine.connect() as conn:
            entries = await conn.scalar(
                select(func.count()).select_from(CreditEntry).where(CreditEntry.user_id == user_id)
            )
            # And the balance may now go below zero (a refund of spent credits).
            await conn.execute(
                update(User.__table__).where(User.id == user_id).values(credit_balance=-2)
            )
    finally:
        await engine.dispose()
    assert entries == 1
