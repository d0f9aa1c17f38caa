"""The ``interview`` command, run as a real process the way an operator would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import BACKEND, REDIS_URL, TEST_SECRET, FreshDatabase

INTERVIEW = str(Path(sys.executable).parent / "interview")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERVIEW_")}
    env.update(
        INTERVIEW_DATA_DIR=str(tmp_path / "data"),
        INTERVIEW_CLIENT_DIST=str(tmp_path / "dist"),
        INTERVIEW_JWT_SECRET=TEST_SECRET,
    )
    env.pop("GEMINI_API_KEY", None)
    env.update(extra)
    return env


def _run(
    args: list[str], env: dict[str, str], cwd: Path, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [INTERVIEW, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        input=input,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.parametrize("command", [[], ["serve"], ["migrate"], ["create-admin"]])
def test_every_command_has_useful_help(command: list[str], tmp_path: Path) -> None:
    result = _run([*command, "--help"], _env(tmp_path), tmp_path)
    assert result.returncode == 0
    assert "Usage:" in result.stdout
    if command == ["serve"]:
        assert "--workers" in result.stdout and "--port" in result.stdout


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """`interview serve` on the embedded defaults, with a built client beside it."""
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>Interview</title><div id=root>")
    (dist / "assets" / "app.js").write_text("console.log('app')")
    port = _free_port()
    process = subprocess.Popen(
        [INTERVIEW, "serve", "--port", str(port)],
        env=_env(tmp_path),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            process.kill()
            pytest.fail(f"server did not become ready:\n{process.communicate()[0]}")
        yield base
    finally:
        process.terminate()
        output = process.communicate(timeout=15)[0]
        # uvicorn re-raises SIGTERM after a clean shutdown, so -15 is a normal exit here.
        assert process.returncode in (0, -15), output
        assert "Application shutdown complete" in output


def test_serve_on_embedded_defaults_migrates_and_runs_the_whole_first_use_flow(
    served: str, tmp_path: Path
) -> None:
    """Register, see 3 credits, create an interview, read it back: the README's promise."""
    with httpx.Client(base_url=served, timeout=10) as http:
        auth = http.post(
            "/api/auth/register", json={"email": "first@example.com", "password": "first-user-pw"}
        )
        assert auth.status_code == 201
        headers = {"Authorization": f"Bearer {auth.json()['access_token']}"}
        login = http.post(
            "/api/auth/login", json={"email": "first@example.com", "password": "first-user-pw"}
        )
        assert login.status_code == 200
        assert http.get("/api/me", headers=headers).json()["credits"] == 3
        created = http.post(
            "/api/interviews", json={"track": "behavioral", "level": "junior"}, headers=headers
        )
        assert created.status_code == 201
        read = http.get(f"/api/interviews/{created.json()['id']}", headers=headers)
        assert read.status_code == 200 and read.json()["track"] == "behavioral"
        assert http.get("/api/me", headers=headers).json()["credits"] == 2

        # The built client is served, with client-side routes falling back to the app shell.
        assert "<title>Interview</title>" in http.get("/").text
        assert "<title>Interview</title>" in http.get(f"/interviews/{created.json()['id']}").text
        assert http.get("/assets/app.js").text == "console.log('app')"
        assert http.get("/api/nothing-here").status_code == 404
        assert http.get("/api/nothing-here").json()["code"] == "not_found"
        assert (
            http.get("/openapi.json").json()["paths"]["/api/interviews"]["post"]["operationId"]
            == "interviews-create_interview"
        )
    assert (tmp_path / "data" / "interview.db").is_file()


def test_production_mode_refuses_to_start_with_the_placeholder_secret(tmp_path: Path) -> None:
    env = _env(tmp_path, INTERVIEW_ENV="production")
    env.pop("INTERVIEW_JWT_SECRET")
    result = _run(["serve", "--port", str(_free_port())], env, tmp_path)
    assert result.returncode == 2
    assert "INTERVIEW_JWT_SECRET" in result.stderr


def test_an_invalid_setting_is_reported_by_its_variable_name(tmp_path: Path) -> None:
    result = _run(["migrate"], _env(tmp_path, INTERVIEW_FREE_CREDITS="lots"), tmp_path)
    assert result.returncode == 2
    assert "INTERVIEW_FREE_CREDITS" in result.stderr


async def test_migrate_then_create_admin_creates_and_then_promotes(
    fresh_database: FreshDatabase, tmp_path: Path
) -> None:
    url = await fresh_database.new()
    env = _env(tmp_path, INTERVIEW_DATABASE_URL=url)
    if BACKEND == "services":
        env["INTERVIEW_REDIS_URL"] = REDIS_URL
    assert _run(["migrate"], env, tmp_path).returncode == 0

    no_password = _run(["create-admin", "boss@example.com"], env, tmp_path, input="")
    assert no_password.returncode != 0
    assert "--password" in no_password.stderr

    created = _run(
        ["create-admin", "Boss@Example.com", "--password", "admin-password"], env, tmp_path
    )
    assert created.returncode == 0, created.stderr
    assert "Created administrator boss@example.com" in created.stdout
    promoted = _run(["create-admin", "boss@example.com"], env, tmp_path)
    assert promoted.returncode == 0 and "Promoted" in promoted.stdout

    from server.auth.service import authenticate
    from server.store.db import create_engine, create_sessionmaker
    from server.store.models import Role

    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            admin = await authenticate(session, email="boss@example.com", password="admin-password")
            assert admin.role is Role.admin
    finally:
        await engine.dispose()
