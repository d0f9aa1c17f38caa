"""The runbook's PostgreSQL backup and restore (deploy/postgres-*.sh), run for real: a database
with accounts and interviews in it is dumped and restored into a fresh one, row for row."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from server.app import create_app
from server.store import migrate
from tests.conftest import (
    asyncpg_url,
    create_postgres_database,
    drop_postgres_database,
    make_settings,
    unique_email,
)
from tests.deploy.conftest import require_binary

# PostgreSQL only: it runs in the PostgreSQL + Redis pass.
pytestmark = pytest.mark.needs_redis
ROOT = Path(__file__).resolve().parents[2]


async def run_script(script: str, database: str, file: Path) -> subprocess.CompletedProcess[str]:
    """``deploy/<script> DATABASE_URL FILE``, as the runbook has it."""
    return await asyncio.to_thread(
        subprocess.run,
        [str(ROOT / "deploy" / script), asyncpg_url(database), str(file)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def plain_url(name: str) -> str:
    return asyncpg_url(name).replace("postgresql+asyncpg://", "postgresql://", 1)


async def row_counts(name: str) -> dict[str, int]:
    conn = await asyncpg.connect(plain_url(name))
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        return {t: await conn.fetchval(f'SELECT count(*) FROM "{t}"') for t in sorted(tables)}
    finally:
        await conn.close()


@pytest.fixture
async def databases() -> AsyncIterator[list[str]]:
    created: list[str] = []
    yield created
    for name in created:
        await drop_postgres_database(name)


async def test_a_backup_restores_into_a_fresh_database_row_for_row(
    databases: list[str], tmp_path: Path, redis_prefix: str
) -> None:
    require_binary("pg_dump", "postgresql-client")
    source = await create_postgres_database()
    databases.append(source)
    await migrate.upgrade(asyncpg_url(source))
    settings = make_settings(asyncpg_url(source), redis_prefix, tmp_path)
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        for _ in range(3):
            auth = await http.post(
                "/api/auth/register",
                json={"email": unique_email(), "password": "correct-horse-battery"},
            )
            assert auth.status_code == 201, auth.text
            headers = {"Authorization": f"Bearer {auth.json()['access_token']}"}
            created = await http.post(
                "/api/interviews", json={"track": "backend", "level": "mid"}, headers=headers
            )
            assert created.status_code == 201, created.text
    before = await row_counts(source)
    assert before["user"] == 3 and before["interview"] == 3

    dump = tmp_path / "interview.dump"
    backup = await run_script("postgres-backup.sh", source, dump)
    assert backup.returncode == 0, backup.stderr
    target = await create_postgres_database()
    databases.append(target)
    restore = await run_script("postgres-restore.sh", target, dump)
    assert restore.returncode == 0, restore.stderr

    assert await row_counts(target) == before
    # The schema is at the same revision: the restored database needs no migration.
    conn = await asyncpg.connect(plain_url(target))
    try:
        emails = await conn.fetch('SELECT email FROM "user" ORDER BY email')
    finally:
        await conn.close()
    assert len(emails) == 3


async def test_a_restore_into_a_database_that_is_not_empty_changes_nothing(
    databases: list[str], tmp_path: Path
) -> None:
    """One transaction: a restore that fails half-way leaves the target as it was."""
    require_binary("pg_restore", "postgresql-client")
    source = await create_postgres_database()
    databases.append(source)
    await migrate.upgrade(asyncpg_url(source))
    dump = tmp_path / "interview.dump"
    assert (await run_script("postgres-backup.sh", source, dump)).returncode == 0
    target = await create_postgres_database()
    databases.append(target)
    conn = await asyncpg.connect(plain_url(target))
    try:
        await conn.execute("CREATE TABLE interview (id int)")  # clashes with the backup
    finally:
        await conn.close()
    restore = await run_script("postgres-restore.sh", target, dump)
    assert restore.returncode != 0
    assert await row_counts(target) == {"interview": 0}
