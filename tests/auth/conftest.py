"""Account test helpers: apps with their own settings, clients at chosen addresses, a mailbox."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from server.app import create_app
from server.auth import deps as auth_deps
from server.auth.mail import MailMessage, MailSender
from tests.conftest import make_settings

MakeApp = Callable[..., Awaitable[FastAPI]]


@pytest.fixture
async def make_app(database_url: str, redis_prefix: str, tmp_path: Path) -> AsyncIterator[MakeApp]:
    """Apps with setting overrides; all made in one test share one live-store prefix."""
    prefix = f"{redis_prefix}{uuid.uuid4().hex[:8]}:"
    async with AsyncExitStack() as stack:

        async def make(**overrides: Any) -> FastAPI:
            app = create_app(make_settings(database_url, prefix, tmp_path, **overrides))
            await stack.enter_async_context(app.router.lifespan_context(app))
            return app

        yield make


def client_at(app: FastAPI, ip: str) -> httpx.AsyncClient:
    """An HTTP client whose requests come from ``ip``."""
    transport = httpx.ASGITransport(app=app, client=(ip, 40_000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


class CapturingMailSender:
    """Keeps every mail instead of sending it."""

    def __init__(self) -> None:
        self.sent: list[MailMessage] = []

    async def send(self, message: MailMessage) -> None:
        self.sent.append(message)

    def to(self, address: str) -> list[MailMessage]:
        return [m for m in self.sent if m.to == address]

    def reset_token(self, address: str) -> str:
        """The token of the newest reset link mailed to ``address``."""
        mails = self.to(address)
        assert mails, f"no mail to {address}"
        found = re.search(r"/reset-password\?token=([A-Za-z0-9_-]+)", mails[-1].text)
        assert found, mails[-1].text
        return found.group(1)


def install_mailbox(app: FastAPI) -> CapturingMailSender:
    box = CapturingMailSender()

    async def sender() -> MailSender:
        return box

    app.dependency_overrides[auth_deps.mail_sender] = sender
    return box


@pytest.fixture
def mailbox(app: FastAPI) -> CapturingMailSender:
    return install_mailbox(app)
