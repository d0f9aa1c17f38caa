"""Who may call what: every route of the app against every kind of caller.

The routes come from the app's own route table, so a route added without a rule here fails
``test_every_route_has_an_access_rule``. Each rule says who gets the route's answer:

- ``public``: everyone gets it, whatever token they send (or none);
- ``signed_in``: any valid access token (candidates and admins); no token, an expired, a
  revoked or a refresh token used as an access token: 401;
- ``owner``: the owner of the resource (candidate A); other users, admins included: 404,
  the same as a missing resource, so ids do not leak; invalid tokens: 401;
- ``admin``: administrators; other signed-in users 404 (the admin API does not show that it
  exists); invalid tokens, and a disabled administrator's, 401.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy import update
from starlette.routing import Mount, WebSocketRoute

from server.app import create_app
from server.auth import service as auth_service
from server.auth import tokens
from server.config import Settings
from server.gateway.router import InterviewSocketRoute
from server.store.models import AnswerAudio, Level, Question, Track, User, utcnow
from tests.conftest import TEST_SECRET, make_settings, unique_email
from tests.fakes.razorpay import FakeRazorpay

PASSWORD = "matrix-password-long"
Access = Literal["public", "signed_in", "owner", "admin"]
IDENTITIES = [
    "anonymous",
    "candidate_a",
    "candidate_b",
    "admin",
    "disabled_admin",
    "expired_token",
    "revoked_token",
    "refresh_as_access",
]
# Routes this matrix does not call, each with the reason (never skipped silently).
NOT_COVERED = {
    ("WEBSOCKET", "/ws/interviews/{interview_id}"): "the socket's own authorisation tests "
    "(tests/gateway) cover hello tokens, ownership and close codes",
    ("WEBSOCKET", "/ws/admin"): "tests/gateway/test_admin_socket.py: anonymous and forged "
    "tokens 4401, candidates 4404, disabled administrators 4401, administrators served",
    ("GET", "/metrics"): "no user's route: a scraper's INTERVIEW_METRICS_TOKEN or a loopback "
    "peer, whatever user token is sent (tests/test_metrics.py)",
    ("POST", "/api/payments/webhook"): "Razorpay's signature over the raw body is its only "
    "authorisation, whatever user token is sent (tests/payments/test_webhooks_and_refunds.py: "
    "missing, tampered, wrong-secret and non-UTF-8 signatures get 400)",
}


@dataclass
class Identity:
    kind: str
    headers: dict[str, str] = field(default_factory=dict)
    email: str = ""
    password: str = PASSWORD


@dataclass
class World:
    """The app and a client, the owner of the resources (candidate A), and how to make callers."""

    app: FastAPI
    client: httpx.AsyncClient
    owner: Identity
    razorpay: FakeRazorpay
    # Callers kept across tests, except where the call spends them (see Rule).
    callers: dict[str, Identity] = field(default_factory=dict)

    async def sign_up(self, kind: str = "candidate") -> tuple[Identity, dict[str, Any]]:
        email = unique_email()
        response = await self.client.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        identity = Identity(kind, {"Authorization": f"Bearer {body['access_token']}"}, email=email)
        return identity, body

    async def identity(self, kind: str, *, fresh: bool) -> Identity:
        if kind == "anonymous":
            return Identity(kind)
        if kind == "candidate_a":
            return self.owner
        if not fresh and kind in self.callers:
            return self.callers[kind]
        self.callers[kind] = identity = await self._new_identity(kind)
        return identity

    async def _new_identity(self, kind: str) -> Identity:
        identity, body = await self.sign_up(kind)
        if kind in ("admin", "disabled_admin"):
            async with self.app.state.services.sessionmaker() as session:
                admin, _ = await auth_service.create_or_promote_admin(
                    session, email=identity.email, password=None
                )
                if kind == "disabled_admin":  # as the database has it: the token stays current
                    await session.execute(
                        update(User).where(User.id == admin.id).values(disabled_at=utcnow())
                    )
                    await session.commit()
        elif kind == "expired_token":
            token = tokens.issue_token(
                secret=TEST_SECRET,
                user_id=uuid.UUID(body["user"]["id"]),
                token_version=0,
                type="access",
                ttl_s=-60,
            )
            identity.headers = {"Authorization": f"Bearer {token}"}
        elif kind == "revoked_token":
            revoked = await self.client.post("/api/auth/logout-all", headers=identity.headers)
            assert revoked.status_code == 204, revoked.text
        elif kind == "refresh_as_access":
            identity.headers = {"Authorization": f"Bearer {body['refresh_token']}"}
        return identity

    async def owned_interview(self, *, shared: bool = False) -> str:
        created = await self.client.post(
            "/api/interviews", json={"track": "backend", "level": "mid"}, headers=self.owner.headers
        )
        assert created.status_code == 201, created.text
        interview_id: str = created.json()["id"]
        if shared:
            share = await self.client.post(
                f"/api/interviews/{interview_id}/share", headers=self.owner.headers
            )
            assert share.status_code == 200, share.text
        return interview_id

    async def owned_payment(self, *, paid: bool = False, verified: bool = False) -> dict[str, Any]:
        """The owner's order for a pack, paid at (fake) Checkout and confirmed if asked."""
        opened = await self.client.post(
            "/api/payments/orders", json={"pack": "single"}, headers=self.owner.headers
        )
        assert opened.status_code == 201, opened.text
        order: dict[str, Any] = opened.json()
        if paid or verified:
            order["confirmation"] = self.razorpay.pay(order["order_id"]).checkout_response
        if verified:
            confirmed = await self.client.post(
                "/api/payments/verify", json=order["confirmation"], headers=self.owner.headers
            )
            assert confirmed.status_code == 200, confirmed.text
        return order


@dataclass(frozen=True)
class Call:
    path: str
    json: Any = None
    files: Any = None  # a multipart upload instead of a JSON body


@dataclass(frozen=True)
class Rule:
    access: Access
    success: int
    call: Callable[[World, Identity], Awaitable[Call]]
    # The call changes the caller's own sign-in (logout-all, change-password): the owner is
    # then a fresh candidate, not candidate A.
    spends_identity: bool = False


def fixed(path: str, json: Any = None) -> Callable[[World, Identity], Awaitable[Call]]:
    async def call(_world: World, _caller: Identity) -> Call:
        return Call(path, json)

    return call


async def _register(_world: World, _caller: Identity) -> Call:
    return Call("/api/auth/register", {"email": unique_email(), "password": PASSWORD})


async def _login(world: World, _caller: Identity) -> Call:
    return Call("/api/auth/login", {"email": world.owner.email, "password": PASSWORD})


async def _refresh(world: World, _caller: Identity) -> Call:
    _, body = await world.sign_up()
    return Call("/api/auth/refresh", {"refresh_token": body["refresh_token"]})


async def _change_password(_world: World, caller: Identity) -> Call:
    return Call(
        "/api/auth/change-password",
        {"current_password": caller.password, "new_password": "another-matrix-password-7"},
    )


async def _interview(world: World, _caller: Identity) -> Call:
    return Call(f"/api/interviews/{await world.owned_interview()}")


async def _unshared_interview(world: World, _caller: Identity) -> Call:
    return Call(f"/api/interviews/{await world.owned_interview()}/share")


async def _interview_share(world: World, _caller: Identity) -> Call:
    return Call(f"/api/interviews/{await world.owned_interview(shared=True)}/share")


async def _answer_audio(world: World, _caller: Identity) -> Call:
    """An interview with a kept recording of its first answer."""
    interview_id = await world.owned_interview()
    async with world.app.state.services.sessionmaker() as session:
        session.add(
            AnswerAudio(
                interview_id=uuid.UUID(interview_id),
                upload_id="matrix-recording",
                turn=0,
                sample_rate=16000,
                pcm=b"\x00\x00" * 1600,
            )
        )
        await session.commit()
    return Call(f"/api/interviews/{interview_id}/turns/0/audio")


async def _payment_verify(world: World, _caller: Identity) -> Call:
    order = await world.owned_payment(paid=True)
    return Call("/api/payments/verify", order["confirmation"])


def _payment(suffix: str = "") -> Callable[[World, Identity], Awaitable[Call]]:
    async def call(world: World, _caller: Identity) -> Call:
        order = await world.owned_payment()
        return Call(f"/api/payments/{order['payment_id']}{suffix}")

    return call


async def _payment_refund(world: World, _caller: Identity) -> Call:
    order = await world.owned_payment(verified=True)
    return Call(f"/api/admin/payments/{order['payment_id']}/refund", {"reason": "matrix"})


async def _someone(world: World) -> str:
    """A new candidate's id: what an admin's change is made to, never a caller of the matrix."""
    _, body = await world.sign_up()
    user_id: str = body["user"]["id"]
    return user_id


def _admin_user(suffix: str = "", json: Any = None) -> Callable[[World, Identity], Awaitable[Call]]:
    async def call(world: World, _caller: Identity) -> Call:
        return Call(f"/api/admin/users/{await _someone(world)}{suffix}", json)

    return call


async def _admin_user_interview(world: World, _caller: Identity) -> Call:
    interview_id = await world.owned_interview()
    me = await world.client.get("/api/me", headers=world.owner.headers)
    return Call(f"/api/admin/users/{me.json()['id']}/interviews/{interview_id}")


# A question an admin may add: never one the other tests' interviews are planned from changed.
_QUESTION = {
    "track": "backend",
    "level": "mid",
    "topics": ["authz"],
    "text": "How would you decide who may call each route of an API?",
    "points": [
        {"point": "Authentication first", "keywords": ["token", "authenticat"]},
        {"point": "Ownership checks", "keywords": ["owner", "404"]},
        {"point": "A test per route", "keywords": ["matrix", "every route"]},
    ],
    "follow_up": "How would you notice a route that was added without a rule?",
}


async def _unchanged_question(world: World, _caller: Identity) -> Call:
    """An edit that saves a seeded question as it is (it changes nothing)."""
    async with world.app.state.services.sessionmaker() as session:
        question = await session.get(Question, "backend-junior-01")
        assert question is not None
        body = {
            "track": question.track.value,
            "level": question.level.value,
            "topics": question.topics,
            "text": question.text,
            "points": question.points,
            "follow_up": question.follow_up,
        }
    return Call("/api/admin/questions/backend-junior-01", body)


async def _retired_question(world: World, _caller: Identity) -> Call:
    """A question of the matrix's own, retired already (retiring it again changes nothing)."""
    question_id = f"backend-authz-{uuid.uuid4().hex[:8]}"
    async with world.app.state.services.sessionmaker() as session:
        session.add(
            Question(
                id=question_id,
                track=Track.backend,
                level=Level.mid,
                topics=_QUESTION["topics"],
                text=_QUESTION["text"],
                points=_QUESTION["points"],
                follow_up=_QUESTION["follow_up"],
                retired_at=utcnow(),
            )
        )
        await session.commit()
    return Call(f"/api/admin/questions/{question_id}/retire")


async def _resume_upload(_world: World, _caller: Identity) -> Call:
    return Call(
        "/api/resumes/extract",
        files={"file": ("resume.txt", b"Backend engineer: Python, Redis, Kafka.", "text/plain")},
    )


async def _shared_report(world: World, _caller: Identity) -> Call:
    interview_id = await world.owned_interview(shared=True)
    detail = await world.client.get(f"/api/interviews/{interview_id}", headers=world.owner.headers)
    return Call(f"/api/shared/{detail.json()['share_token']}")


RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/healthz"): Rule("public", 200, fixed("/healthz")),
    ("GET", "/readyz"): Rule("public", 200, fixed("/readyz")),
    ("GET", "/openapi.json"): Rule("public", 200, fixed("/openapi.json")),
    ("GET", "/docs"): Rule("public", 200, fixed("/docs")),
    ("GET", "/docs/oauth2-redirect"): Rule("public", 200, fixed("/docs/oauth2-redirect")),
    ("GET", "/redoc"): Rule("public", 200, fixed("/redoc")),
    ("POST", "/api/auth/register"): Rule("public", 201, _register),
    ("POST", "/api/auth/login"): Rule("public", 200, _login),
    ("POST", "/api/auth/refresh"): Rule("public", 200, _refresh),
    ("POST", "/api/auth/forgot-password"): Rule(
        "public", 202, fixed("/api/auth/forgot-password", {"email": "someone@example.com"})
    ),
    # Without a mailed token the answer is the invalid-token one, for every caller alike.
    ("POST", "/api/auth/reset-password"): Rule(
        "public",
        400,
        fixed(
            "/api/auth/reset-password",
            {"token": "not-a-reset-token", "new_password": "another-matrix-password-7"},
        ),
    ),
    ("POST", "/api/auth/logout-all"): Rule(
        "signed_in", 204, fixed("/api/auth/logout-all"), spends_identity=True
    ),
    ("POST", "/api/auth/change-password"): Rule(
        "signed_in", 200, _change_password, spends_identity=True
    ),
    ("GET", "/api/me"): Rule("signed_in", 200, fixed("/api/me")),
    ("POST", "/api/interviews"): Rule(
        "signed_in", 201, fixed("/api/interviews", {"track": "backend", "level": "mid"})
    ),
    ("GET", "/api/interviews"): Rule("signed_in", 200, fixed("/api/interviews")),
    ("GET", "/api/interviews/{interview_id}"): Rule("owner", 200, _interview),
    ("DELETE", "/api/interviews/{interview_id}"): Rule("owner", 204, _interview),
    ("POST", "/api/interviews/{interview_id}/share"): Rule("owner", 200, _unshared_interview),
    ("DELETE", "/api/interviews/{interview_id}/share"): Rule("owner", 204, _interview_share),
    ("GET", "/api/interviews/{interview_id}/turns/{index}/audio"): Rule(
        "owner", 200, _answer_audio
    ),
    ("GET", "/api/shared/{token}"): Rule("public", 200, _shared_report),
    ("POST", "/api/resumes/extract"): Rule("signed_in", 200, _resume_upload),
    # Buying credits (against the fake Razorpay API).
    ("GET", "/api/payments/config"): Rule("public", 200, fixed("/api/payments/config")),
    ("POST", "/api/payments/orders"): Rule(
        "signed_in", 201, fixed("/api/payments/orders", {"pack": "single"})
    ),
    ("GET", "/api/payments"): Rule("signed_in", 200, fixed("/api/payments")),
    ("POST", "/api/payments/verify"): Rule("owner", 200, _payment_verify),
    ("GET", "/api/payments/{payment_id:uuid}"): Rule("owner", 200, _payment()),
    ("POST", "/api/payments/{payment_id:uuid}/refresh"): Rule("owner", 200, _payment("/refresh")),
    ("GET", "/api/admin/payments"): Rule("admin", 200, fixed("/api/admin/payments")),
    ("GET", "/api/admin/payments/revenue"): Rule(
        "admin", 200, fixed("/api/admin/payments/revenue")
    ),
    ("POST", "/api/admin/payments/{payment_id:uuid}/refund"): Rule("admin", 200, _payment_refund),
    # The admin console: accounts, the audit log, statistics.
    ("GET", "/api/admin/users"): Rule("admin", 200, fixed("/api/admin/users")),
    ("GET", "/api/admin/users/{user_id}"): Rule("admin", 200, _admin_user()),
    ("GET", "/api/admin/users/{user_id}/interviews/{interview_id}"): Rule(
        "admin", 200, _admin_user_interview
    ),
    ("PATCH", "/api/admin/users/{user_id}/role"): Rule(
        "admin", 200, _admin_user("/role", {"role": "admin"})
    ),
    ("POST", "/api/admin/users/{user_id}/credits"): Rule(
        "admin", 200, _admin_user("/credits", {"delta": 2, "reason": "matrix"})
    ),
    ("POST", "/api/admin/users/{user_id}/disable"): Rule("admin", 200, _admin_user("/disable")),
    ("POST", "/api/admin/users/{user_id}/enable"): Rule("admin", 200, _admin_user("/enable")),
    ("GET", "/api/admin/audit"): Rule("admin", 200, fixed("/api/admin/audit?action=user")),
    ("GET", "/api/admin/stats"): Rule("admin", 200, fixed("/api/admin/stats")),
    ("GET", "/api/admin/monitor"): Rule("admin", 200, fixed("/api/admin/monitor")),
    # The question bank: its changes here are no-ops, except one question created.
    ("GET", "/api/admin/questions"): Rule("admin", 200, fixed("/api/admin/questions")),
    ("GET", "/api/admin/questions/export"): Rule(
        "admin", 200, fixed("/api/admin/questions/export?track=backend")
    ),
    ("POST", "/api/admin/questions/import"): Rule(
        "admin", 200, fixed("/api/admin/questions/import", {"track": "product", "question": []})
    ),
    ("POST", "/api/admin/questions"): Rule("admin", 201, fixed("/api/admin/questions", _QUESTION)),
    ("GET", "/api/admin/questions/{question_id:question_id}"): Rule(
        "admin", 200, fixed("/api/admin/questions/backend-junior-01")
    ),
    ("PUT", "/api/admin/questions/{question_id:question_id}"): Rule(
        "admin", 200, _unchanged_question
    ),
    ("POST", "/api/admin/questions/{question_id:question_id}/retire"): Rule(
        "admin", 200, _retired_question
    ),
    ("POST", "/api/admin/questions/{question_id:question_id}/restore"): Rule(
        "admin", 200, fixed("/api/admin/questions/backend-junior-01/restore")
    ),
    # The web app, when client/dist is present (it is, in this test).
    ("GET", "/assets"): Rule("public", 200, fixed("/assets/app.js")),
    ("GET", "/{path:path}"): Rule("public", 200, fixed("/interviews/some-client-route")),
}


def expected_status(rule: Rule, identity: str) -> int:
    if rule.access == "public":
        return rule.success
    if identity in (
        "anonymous",
        "disabled_admin",
        "expired_token",
        "revoked_token",
        "refresh_as_access",
    ):
        return 401
    if rule.access == "signed_in":
        return rule.success
    if rule.access == "owner":
        return rule.success if identity == "candidate_a" else 404
    return rule.success if identity == "admin" else 404


def route_table(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves, as its router sees them."""
    table: set[tuple[str, str]] = set()
    for route in iter_route_contexts(app.routes):
        original = route.original_route
        if isinstance(original, WebSocketRoute):
            table.add(("WEBSOCKET", original.path))
        elif isinstance(original, Mount):
            table.add(("GET", original.path))
        else:
            assert route.path and route.methods, f"a route of an unknown kind: {original!r}"
            table |= {(method, route.path) for method in route.methods if method != "HEAD"}
    # The interview socket is served ahead of the router, by a middleware of its own.
    for middleware in app.user_middleware:
        if middleware.cls is InterviewSocketRoute:
            table.add(("WEBSOCKET", InterviewSocketRoute.path))
    return table


def _client_dist(root: Path) -> Path:
    dist = root / "dist"
    (dist / "assets").mkdir(parents=True, exist_ok=True)
    (dist / "index.html").write_text("<!doctype html><title>Interview</title>")
    (dist / "assets" / "app.js").write_text("console.log('app')")
    return dist


def _matrix_settings(
    database_url: str, prefix: str, root: Path, razorpay: FakeRazorpay | None = None
) -> Settings:
    keys: dict[str, Any] = {}
    if razorpay is not None:
        keys = {
            "razorpay_key_id": razorpay.key_id,
            "razorpay_key_secret": razorpay.key_secret,
            "razorpay_webhook_secret": razorpay.webhook_secret,
            "razorpay_base_url": razorpay.base_url,
            "payment_orders_per_hour": 10_000,
        }
    return make_settings(
        database_url,
        prefix,
        root,
        client_dist=_client_dist(root),
        **keys,
        free_credits=500,
        register_limit_per_ip=10_000,
        login_limit_per_ip=10_000,
        login_limit_per_email=10_000,
    )


def test_every_route_has_an_access_rule(tmp_path: Path) -> None:
    """A new route (an auth route, an admin page) fails here until it is given a rule."""
    app = create_app(_matrix_settings("sqlite+aiosqlite:///unused.db", "x:", tmp_path))
    routes = route_table(app)
    unclassified = routes - RULES.keys() - NOT_COVERED.keys()
    assert not unclassified, f"routes without an access rule: {sorted(unclassified)}"
    stale = (RULES.keys() | NOT_COVERED.keys()) - routes
    assert not stale, f"rules for routes that no longer exist: {sorted(stale)}"


@pytest.fixture(scope="module")
async def world(
    module_database_url: str, redis_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    root = tmp_path_factory.mktemp("authz")
    async with FakeRazorpay() as razorpay:
        app = create_app(
            _matrix_settings(module_database_url, f"{redis_prefix}authz:", root, razorpay)
        )
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                placeholder = World(app, http, Identity("candidate_a"), razorpay)
                owner, _ = await placeholder.sign_up("candidate_a")
                yield World(app, http, owner, razorpay)


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize("route", sorted(RULES), ids=lambda route: f"{route[0]} {route[1]}")
async def test_each_caller_gets_what_the_route_rule_says(
    world: World, route: tuple[str, str], identity: str
) -> None:
    rule = RULES[route]
    if rule.spends_identity:
        owner, _ = await world.sign_up("candidate_a")
        world = World(world.app, world.client, owner, world.razorpay)
    caller = await world.identity(identity, fresh=rule.spends_identity)
    call = await rule.call(world, caller)
    response = await world.client.request(
        route[0], call.path, json=call.json, files=call.files, headers=caller.headers
    )
    expected = expected_status(rule, identity)
    assert response.status_code == expected, (
        f"{identity} on {route[0]} {route[1]}: {response.status_code} {response.text[:300]}"
    )
    if expected >= 400:
        assert response.json()["code"], response.text
