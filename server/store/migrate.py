"""Run Alembic from inside the service (CLI, app start-up, tests) without a nested event loop."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from server.config import PROJECT_ROOT
from server.store.db import create_engine


def alembic_config(url: str | None = None) -> Config:
    ini = PROJECT_ROOT / "alembic.ini"
    if not ini.exists():
        ini = Path.cwd() / "alembic.ini"
    config = Config(str(ini))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def _run(url: str, action: str, revision: str) -> None:
    if url.startswith("sqlite"):
        db_path = url.split("///", 1)[-1]
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, foreign_keys=False)
    config = alembic_config(url)

    def _do(connection: Connection) -> None:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)
        check_foreign_keys(connection)

    try:
        async with engine.connect() as connection:
            await connection.run_sync(_do)
            await connection.commit()
    finally:
        await engine.dispose()


def check_foreign_keys(connection: Connection) -> None:
    """On SQLite, where migrations run with foreign keys off (see ``create_engine``): refuse
    to commit a migration that left a row pointing at nothing."""
    if connection.dialect.name != "sqlite":
        return
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"the migration left rows with broken foreign keys: {broken[:5]}")


async def upgrade(url: str, revision: str = "head") -> None:
    await _run(url, "upgrade", revision)


async def downgrade(url: str, revision: str = "base") -> None:
    await _run(url, "downgrade", revision)
