"""Accounts for the admin tests: candidates signed up over the API, administrators promoted
the way ``interview create-admin`` does it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from server.auth import service as auth_service
from tests.conftest import bearer, register, unique_email

PASSWORD = "correct-horse-battery"


@dataclass
class Person:
    id: uuid.UUID
    email: str
    headers: dict[str, str]
    refresh_token: str
    password: str = PASSWORD


async def sign_up(client: httpx.AsyncClient, email: str | None = None) -> Person:
    body: dict[str, Any] = await register(client, email or unique_email(), PASSWORD)
    return Person(
        uuid.UUID(body["user"]["id"]), body["user"]["email"], bearer(body), body["refresh_token"]
    )


async def make_admin(app: FastAPI, client: httpx.AsyncClient) -> Person:
    person = await sign_up(client)
    async with app.state.services.sessionmaker() as session:
        await auth_service.create_or_promote_admin(session, email=person.email, password=None)
    return person


async def log_in(client: httpx.AsyncClient, person: Person) -> httpx.Response:
    return await client.post(
        "/api/auth/login", json={"email": person.email, "password": person.password}
    )
