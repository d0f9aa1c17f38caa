"""Shared fixtures. The backend comes from ``TEST_BACKEND``:

- ``embedded`` (default): a SQLite file and the in-process live store;
- ``services``: a fresh PostgreSQL database (created and dropped here) and Redis
  under a random key prefix (deleted afterwards). Tests that ask for ``redis_cluster_url``
  also get a Redis Cluster: ``TEST_REDIS_CLUSTER_URL`` if set, else three local masters
  started from ``redis-server`` for the session (see ``tests/redis_cluster.py``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from redis.cluster import RedisCluster
from sqlalchemy import make_url

from server.app import create_app
from server.config import Settings
from server.live.connect import cluster_seed_url
from server.store import migrate
from server.store.db import connection_holders
from tests.redis_cluster import ClusterStartError, LocalRedisCluster

BACKEND = os.environ.get("TEST_BACKEND", "embedded")
if BACKEND not in ("embedded", "services"):
    raise RuntimeError(f'TEST_BACKEND must be "embedded" or "services", got {BACKEND!r}')
POSTGRES_ADMIN_DSN = os.environ.get(
    "TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# An existing cluster, as INTERVIEW_REDIS_URL names one (redis+cluster://host:port).
REDIS_CLUSTER_URL = os.environ.get("TEST_REDIS_CLUSTER_URL", "")
TEST_SECRET = "test-secret-" + "x" * 40


def pytest_report_header() -> str:
    return f"backend: {BACKEND}"


_deselected_for_redis: list[str] = []
# Fixtures that talk to a Redis server or a Redis Cluster.
_REDIS_FIXTURES = {"redis_live", "cluster_live", "redis_cluster_url"}


_deselected_for_cluster: list[str] = []


def _needs_cluster(item: pytest.Item) -> bool:
    if {"cluster_live", "redis_cluster_url"} & set(getattr(item, "fixturenames", ())):
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and "cluster" in callspec.params.values()


def _cluster_available() -> bool:
    """A cluster to test against: one named, or the binaries to start a local one."""
    return bool(REDIS_CLUSTER_URL) or all(
        shutil.which(binary) for binary in ("redis-server", "redis-cli")
    )


def _deselect(config: pytest.Config, items: list[pytest.Item], gone: list[pytest.Item]) -> None:
    config.hook.pytest_deselected(items=gone)
    items[:] = [item for item in items if item not in gone]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that need Redis run in the services pass; cluster tests where a cluster can run."""
    if BACKEND == "services":
        if _cluster_available():
            return
        if os.environ.get("CI") == "true":
            raise pytest.UsageError(
                "the Redis Cluster tests need redis-server and redis-cli "
                "(or TEST_REDIS_CLUSTER_URL)"
            )
        gone = [item for item in items if _needs_cluster(item)]
        _deselect(config, items, gone)
        _deselected_for_cluster.extend(item.nodeid for item in gone)
        return
    needs = [
        item
        for item in items
        if item.get_closest_marker("needs_redis")
        or _REDIS_FIXTURES & set(getattr(item, "fixturenames", ()))
    ]
    if needs:
        _deselect(config, items, needs)
        _deselected_for_redis.extend(item.nodeid for item in needs)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _deselected_for_redis:
        terminalreporter.write_line(
            f"{len(_deselected_for_redis)} tests need a Redis server or Redis Cluster and run "
            "in the PostgreSQL + Redis pass (TEST_BACKEND=services), not in this one.",
            yellow=True,
        )
    if _deselected_for_cluster:
        terminalreporter.write_line(
            f"{len(_deselected_for_cluster)} Redis Cluster tests did NOT run: install "
            "redis-server and redis-cli, or set TEST_REDIS_CLUSTER_URL.",
            yellow=True,
        )


def asyncpg_url(database: str) -> str:
    base, _, _ = POSTGRES_ADMIN_DSN.rpartition("/")
    return base.replace("postgresql://", "postgresql+asyncpg://", 1) + "/" + database


async def create_postgres_database() -> str:
    name = f"interview_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def drop_postgres_database(name: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


class FreshDatabase:
    """Makes empty databases of the current backend and removes them at the end."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.created: list[str] = []

    async def new(self) -> str:
        if BACKEND == "services":
            name = await create_postgres_database()
            self.created.append(name)
            return asyncpg_url(name)
        return f"sqlite+aiosqlite:///{self.tmp / f'{uuid.uuid4().hex[:8]}.db'}"

    async def cleanup(self) -> None:
        for name in self.created:
            await drop_postgres_database(name)


@pytest.fixture(scope="session")
async def fresh_database(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FreshDatabase]:
    databases = FreshDatabase(tmp_path_factory.mktemp("db"))
    yield databases
    await databases.cleanup()


@pytest.fixture(scope="session")
async def migrated_database_url(fresh_database: FreshDatabase) -> str:
    """One migrated database for the whole session; tests isolate by creating their own users."""
    url = await fresh_database.new()
    await migrate.upgrade(url)
    return url


def _own_copy(migrated_url: str, directory: Path) -> str:
    """On SQLite, a copy of the migrated file for one test (or module): a session some test
    leaves open keeps SQLite's write lock, and on a shared file that would fail every test
    after it instead of the one that leaked. PostgreSQL has no such lock: the shared one."""
    if BACKEND == "services":
        return migrated_url
    template = Path(make_url(migrated_url).database or "")
    copy = directory / "migrated-copy.db"
    shutil.copyfile(template, copy)
    return f"sqlite+aiosqlite:///{copy}"


@pytest.fixture(scope="module")
def module_database_url(
    migrated_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """The database of a module-scoped app (a fuzzed or chaos-tested server)."""
    return _own_copy(migrated_database_url, tmp_path_factory.mktemp("moduledb"))


@pytest.fixture
def database_url(migrated_database_url: str, tmp_path: Path) -> str:
    """The database of one test: every app the test starts shares it."""
    return _own_copy(migrated_database_url, tmp_path)


@pytest.fixture(scope="session")
async def redis_prefix() -> AsyncIterator[str]:
    prefix = f"test:{uuid.uuid4().hex[:10]}:"
    yield prefix
    if BACKEND == "services":
        redis = Redis.from_url(REDIS_URL)
        try:
            keys = [key async for key in redis.scan_iter(match=prefix + "*", count=500)]
            if keys:
                await redis.delete(*keys)
        finally:
            await redis.aclose()


@pytest.fixture(scope="session")
def redis_cluster_url(redis_prefix: str) -> Iterator[str]:
    """A Redis Cluster's URL (``redis+cluster://...``), in the services pass only."""
    assert BACKEND == "services", "deselected in the embedded pass (pytest_collection_modifyitems)"
    if REDIS_CLUSTER_URL:
        yield REDIS_CLUSTER_URL
        _delete_cluster_keys(REDIS_CLUSTER_URL, redis_prefix)
        return
    cluster = LocalRedisCluster(masters=3)
    try:
        url = cluster.start(timeout_s=60)
    except (ClusterStartError, OSError, subprocess.SubprocessError) as exc:
        pytest.fail(f"could not start a local Redis Cluster: {exc}")
    try:
        yield url
    finally:
        cluster.stop()


def _delete_cluster_keys(url: str, prefix: str) -> None:
    seed = cluster_seed_url(url)
    assert seed is not None, f"TEST_REDIS_CLUSTER_URL is not a cluster URL: {url}"
    cluster = RedisCluster.from_url(seed)
    try:
        for key in cluster.scan_iter(
            match=prefix + "*", count=500, target_nodes=RedisCluster.PRIMARIES
        ):
            cluster.delete(key)
    finally:
        cluster.close()


def make_settings(database_url: str, prefix: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "database_url": database_url,
        "redis_url": REDIS_URL if BACKEND == "services" else None,
        "redis_key_prefix": prefix,
        "data_dir": tmp_path / "data",
        "client_dist": tmp_path / "no-client",
        "jwt_secret": TEST_SECRET,
        "log_format": "text",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(database_url: str, redis_prefix: str, tmp_path: Path) -> Settings:
    # A key prefix per test keeps rate-limit windows from leaking between tests.
    return make_settings(database_url, f"{redis_prefix}{uuid.uuid4().hex[:8]}:", tmp_path)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application
    # A session the test (or the app) left open fails here, in the test that leaked it.
    assert connection_holders(application.state.services.engine) == []


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def unique_email() -> str:
    return f"candidate-{uuid.uuid4().hex[:10]}@example.com"


async def register(
    client: httpx.AsyncClient, email: str | None = None, password: str = "correct-horse-battery"
) -> dict[str, Any]:
    response = await client.post(
        "/api/auth/register", json={"email": email or unique_email(), "password": password}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['access_token']}"}
