"""The question bank in the database: what admins can do with it, what the interviewers get
from it, and that an interview already running never sees an edit."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from server.app import create_app
from server.auth import service as auth_service
from server.config import Settings
from server.llm.base import InterviewBrief, QuestionRubric
from server.llm.offline.bank import BANK_DIR, BankQuestion, load_bank
from server.questions.bank import QuestionBank
from server.store import migrate
from server.store.models import AdminAction, InterviewPlan
from tests.conftest import FreshDatabase, make_settings, register, unique_email
from tests.wsclient import STRONG_ANSWER, InterviewClient, LiveServer, new_session

QUESTIONS = "/api/admin/questions"
STAR_POINTS = [
    {"point": "Situation: the context", "keywords": ["at the time", "we were"]},
    {"point": "Task: your goal", "keywords": ["my goal", "deadline"]},
    {"point": "Action: what you did", "keywords": ["i proposed", "i built"]},
    {"point": "Result: the outcome", "keywords": ["as a result", "%"]},
]


def new_question(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "track": "backend",
        "level": "mid",
        "topics": ["queues", "reliability"],
        "text": "How would you make a job queue survive a worker crashing half-way?",
        "points": [
            {"point": "Acknowledge after the work", "keywords": ["ack", "acknowledge"]},
            {"point": "Idempotent jobs", "keywords": ["idempoten", "dedup"]},
            {"point": "Retries with a limit", "keywords": ["retry", "dead letter"]},
        ],
        "follow_up": "How would you notice jobs that keep failing?",
    }
    body.update(overrides)
    return body


def content(question: dict[str, Any]) -> dict[str, Any]:
    """What an edit changes, from a question as the API returns it."""
    return {k: question[k] for k in ("track", "level", "topics", "text", "points", "follow_up")}


@pytest.fixture
async def bank_settings(
    fresh_database: FreshDatabase, redis_prefix: str, tmp_path: Path
) -> Settings:
    """A database of its own, seeded by the migration: these tests change the bank."""
    url = await fresh_database.new()
    await migrate.upgrade(url)
    return make_settings(
        url,
        f"{redis_prefix}{uuid.uuid4().hex[:8]}:",
        tmp_path,
        offline_pace_ms=1,
        max_follow_ups=0,
    )


@pytest.fixture
async def app(bank_settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(bank_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def sign_in_admin(app: FastAPI, http: httpx.AsyncClient) -> dict[str, str]:
    email = unique_email()
    body = await register(http, email)
    async with app.state.services.sessionmaker() as session:
        await auth_service.create_or_promote_admin(session, email=email, password=None)
    return {"Authorization": f"Bearer {body['access_token']}"}


@pytest.fixture
async def admin(app: FastAPI, http: httpx.AsyncClient) -> dict[str, str]:
    return await sign_in_admin(app, http)


async def audit_log(app: FastAPI) -> list[AdminAction]:
    async with app.state.services.sessionmaker() as session:
        rows = await session.scalars(select(AdminAction).order_by(AdminAction.id))
        return list(rows)


async def candidate_interview(
    http: httpx.AsyncClient, *, track: str = "backend", level: str = "mid", count: int = 3
) -> InterviewBrief:
    """A real interview row (so its plan can be pinned), as the interviewer's brief."""
    body = await register(http)
    created = await http.post(
        "/api/interviews",
        json={"track": track, "level": level, "question_count": count},
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert created.status_code == 201, created.text
    return InterviewBrief(
        interview_id=created.json()["id"],
        track=track,
        level=level,
        topics=(),
        job_description="",
        resume_text="",
        question_count=count,
    )


def brief_for(track: str, level: str, count: int) -> InterviewBrief:
    """A brief of an interview that has no row: planned, but its plan is not kept."""
    return InterviewBrief(str(uuid.uuid4()), track, level, (), "", "", count)


async def eventually(check: Callable[[], Coroutine[Any, Any, bool]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "not seen in time"
        await asyncio.sleep(0.1)


# --- the seeded bank ------------------------------------------------------------------------


async def test_a_fresh_database_holds_the_shipped_questions(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """The migration seeds all 180 questions from the TOML files, as the loader reads them."""
    shipped = {q.id: q for questions in load_bank(BANK_DIR).values() for q in questions}

    listed = await http.get(QUESTIONS, params={"limit": 200}, headers=admin)

    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["total"] == len(shipped) == 180
    for item in body["items"]:
        expected = shipped[item["id"]].as_dict()
        assert content(item) == {k: expected[k] for k in content(item)}
        assert item["version"] == 1 and item["retired_at"] is None and item["updated_by"] is None


# --- create, read, edit ---------------------------------------------------------------------


async def test_a_created_question_gets_the_tracks_next_id_and_reads_back(
    app: FastAPI, http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """Without an id it is "<track>-<nnn>"; the bank's loader has cleaned it (keywords)."""
    first = await http.post(QUESTIONS, json=new_question(), headers=admin)
    second = await http.post(QUESTIONS, json=new_question(level="senior"), headers=admin)

    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    assert (first.json()["id"], second.json()["id"]) == ("backend-001", "backend-002")
    read = await http.get(f"{QUESTIONS}/backend-001", headers=admin)
    assert read.json() == first.json()
    assert read.json()["version"] == 1
    me = await http.get("/api/me", headers=admin)
    assert read.json()["updated_by"] == me.json()["id"]
    data_ml = await http.post(QUESTIONS, json=new_question(track="data_ml"), headers=admin)
    assert data_ml.json()["id"] == "data_ml-001"  # "_" is no wildcard when numbering


async def test_an_id_given_for_a_new_question_must_be_free(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await http.post(QUESTIONS, json=new_question(id="backend-queues-01"), headers=admin)
    again = await http.post(QUESTIONS, json=new_question(id="backend-queues-01"), headers=admin)
    taken = await http.post(QUESTIONS, json=new_question(id="backend-junior-01"), headers=admin)

    assert created.status_code == 201 and created.json()["id"] == "backend-queues-01"
    assert again.status_code == 409 and taken.status_code == 409
    assert again.json()["code"] == "conflict"


async def test_an_edit_bumps_the_version_and_an_edit_from_an_old_version_is_refused(
    app: FastAPI, http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """Optimistic concurrency: ``version`` names what the edit was made from."""
    original = (await http.get(f"{QUESTIONS}/backend-mid-01", headers=admin)).json()
    edited = {**content(original), "text": "A new wording of the caching question?"}

    saved = await http.put(
        f"{QUESTIONS}/backend-mid-01", json={**edited, "version": 1}, headers=admin
    )
    stale = await http.put(
        f"{QUESTIONS}/backend-mid-01",
        json={**edited, "text": "Someone else's wording?", "version": 1},
        headers=admin,
    )
    same = await http.put(f"{QUESTIONS}/backend-mid-01", json=edited, headers=admin)

    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 2 and saved.json()["text"] == edited["text"]
    assert stale.status_code == 409 and "version 2" in stale.json()["detail"]
    assert same.status_code == 200 and same.json()["version"] == 2  # nothing changed
    updates = [a for a in await audit_log(app) if a.action == "question.update"]
    assert [(a.target_id, a.detail) for a in updates] == [
        ("backend-mid-01", {"fields": ["text"], "version": 2})
    ]


async def test_a_missing_or_malformed_question_id_is_404_and_an_overlong_one_422(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """What cannot be an id is no question (the collection's "export" is never one)."""
    assert (await http.get(f"{QUESTIONS}/backend-nope-99", headers=admin)).status_code == 404
    assert (await http.get(f"{QUESTIONS}/Not_An_Id", headers=admin)).status_code == 404
    assert (await http.put(f"{QUESTIONS}/export", json={}, headers=admin)).status_code == 405
    overlong = await http.get(f"{QUESTIONS}/backend-{'x' * 60}", headers=admin)
    assert overlong.status_code == 422
    edit = await http.put(f"{QUESTIONS}/backend-nope-99", json=new_question(), headers=admin)
    assert edit.status_code == 404


async def test_a_question_that_breaks_the_banks_rules_is_refused_naming_the_field(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """The loader's rules (STAR points for behavioral questions) and the API's bounds."""
    no_result = [*STAR_POINTS[:3], {"point": "Outcome: what happened", "keywords": ["so"]}]
    behavioral = await http.post(
        QUESTIONS,
        json=new_question(track="behavioral", id="behavioral-x-01", points=no_result),
        headers=admin,
    )
    too_long = await http.post(QUESTIONS, json=new_question(text="x" * 2001), headers=admin)
    two_points = await http.post(
        QUESTIONS, json=new_question(points=new_question()["points"][:2]), headers=admin
    )

    assert behavioral.status_code == 422, behavioral.text
    [problem] = behavioral.json()["detail"]
    assert problem["loc"] == ["body", "points"]
    assert "behavioral-x-01" in problem["msg"] and "Outcome" in problem["msg"]
    assert too_long.status_code == 422 and too_long.json()["detail"][0]["loc"] == ["body", "text"]
    assert two_points.status_code == 422
    assert (await http.get(f"{QUESTIONS}/behavioral-x-01", headers=admin)).status_code == 404


# --- search ---------------------------------------------------------------------------------


async def test_the_list_filters_by_track_level_tag_and_text_and_pages(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    async def ids(**params: Any) -> tuple[list[str], int]:
        response = await http.get(QUESTIONS, params=params, headers=admin)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]], response.json()["total"]

    mid, total = await ids(track="backend", level="mid", limit=200)
    assert total == 12 and all(i.startswith("backend-mid-") for i in mid)
    tagged, _ = await ids(tag="indexing", limit=200)
    assert "backend-junior-03" in tagged and "backend-junior-01" not in tagged
    await http.post(QUESTIONS, json=new_question(topics=["data_ml"]), headers=admin)
    assert (await ids(tag="data_ml"))[1] == 1  # "_" is matched as itself
    assert (await ids(tag="data ml"))[1] == 0
    found, _ = await ids(q="IDEMPOTENT")
    assert "backend-junior-02" in found
    assert (await ids(q="backend-junior-0"))[1] == 9
    page_one, total = await ids(track="product", limit=10, offset=0)
    page_two, _ = await ids(track="product", limit=10, offset=10)
    assert total == 36 and len(page_one) == len(page_two) == 10
    assert not set(page_one) & set(page_two) and page_one == sorted(page_one)


# --- retire and restore ---------------------------------------------------------------------


async def test_a_retired_question_is_never_planned_until_it_is_restored(
    app: FastAPI, http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """A 15-question interview takes every question of its level: all but the retired one."""
    interviewer = app.state.services.interviewer

    async def planned() -> list[str | None]:
        return [r.question_id for r in await interviewer.plan(brief_for("frontend", "senior", 15))]

    assert "frontend-senior-04" in await planned()

    retired = await http.post(f"{QUESTIONS}/frontend-senior-04/retire", headers=admin)
    assert retired.status_code == 200 and retired.json()["retired_at"] is not None
    assert retired.json()["version"] == 2
    for _ in range(20):
        assert "frontend-senior-04" not in await planned()
    hidden = await http.get(QUESTIONS, params={"track": "frontend", "limit": 200}, headers=admin)
    assert "frontend-senior-04" not in [i["id"] for i in hidden.json()["items"]]
    shown = await http.get(
        QUESTIONS, params={"track": "frontend", "include_retired": True}, headers=admin
    )
    assert shown.json()["total"] == 36
    assert (await http.get(f"{QUESTIONS}/frontend-senior-04", headers=admin)).status_code == 200

    restored = await http.post(f"{QUESTIONS}/frontend-senior-04/restore", headers=admin)
    assert restored.json()["retired_at"] is None and restored.json()["version"] == 3
    assert "frontend-senior-04" in await planned()
    again = await http.post(f"{QUESTIONS}/frontend-senior-04/restore", headers=admin)
    assert again.json()["version"] == 3  # restoring an active question changes nothing
    actions = [(a.action, a.target_id) for a in await audit_log(app)]
    assert actions == [
        ("question.retire", "frontend-senior-04"),
        ("question.restore", "frontend-senior-04"),
    ]


# --- import and export ----------------------------------------------------------------------


async def test_exporting_then_importing_every_track_changes_nothing(
    app: FastAPI, http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    for track in ("backend", "frontend", "data_ml", "product", "behavioral"):
        exported = await http.get(f"{QUESTIONS}/export", params={"track": track}, headers=admin)
        assert exported.status_code == 200, exported.text
        file = exported.json()
        assert file["track"] == track and file["version"] == 1 and len(file["question"]) == 36

        imported = await http.post(f"{QUESTIONS}/import", json=file, headers=admin)

        assert imported.status_code == 200, imported.text
        assert imported.json() == {
            "created": 0,
            "updated": 0,
            "unchanged": 36,
            "created_ids": [],
            "updated_ids": [],
        }
    assert await audit_log(app) == []  # nothing changed, nothing to record


async def test_the_toml_export_is_a_bank_file_the_loader_reads_back(
    http: httpx.AsyncClient, admin: dict[str, str], tmp_path: Path
) -> None:
    """Quotes, backslashes, line breaks and non-ASCII text survive the round trip."""
    tricky = 'What does "\\n" print in C,\nand why does café ☕ need UTF-8?'
    await http.post(
        QUESTIONS, json=new_question(text=tricky, topics=["c", "encoding"]), headers=admin
    )

    exported = await http.get(
        f"{QUESTIONS}/export", params={"track": "backend", "format": "toml"}, headers=admin
    )

    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("application/toml")
    assert 'filename="backend.toml"' in exported.headers["content-disposition"]
    (tmp_path / "backend.toml").write_text(exported.text, encoding="utf-8")
    [questions] = load_bank(tmp_path).values()
    as_json = (await http.get(f"{QUESTIONS}/export?track=backend", headers=admin)).json()
    assert [q.as_dict() | {"track": None, "version": None} for q in questions] == [
        {**q, "track": None, "version": None} for q in as_json["question"]
    ]
    assert next(q for q in questions if q.id == "backend-001").text == tricky


async def test_an_import_creates_and_updates_by_id_and_is_audited(
    app: FastAPI, http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    file = (await http.get(f"{QUESTIONS}/export?track=product", headers=admin)).json()
    file["question"][0]["text"] = "A reworded product question?"
    file["question"].append(
        {k: v for k, v in new_question(id="product-new-01").items() if k != "track"}
    )

    imported = await http.post(f"{QUESTIONS}/import", json=file, headers=admin)

    assert imported.status_code == 200, imported.text
    assert imported.json() == {
        "created": 1,
        "updated": 1,
        "unchanged": 35,
        "created_ids": ["product-new-01"],
        "updated_ids": [file["question"][0]["id"]],
    }
    updated = (await http.get(f"{QUESTIONS}/{file['question'][0]['id']}", headers=admin)).json()
    assert updated["text"] == "A reworded product question?" and updated["version"] == 2
    [entry] = await audit_log(app)
    assert (entry.action, entry.target_type, entry.target_id) == (
        "question.import",
        "question",
        "product",
    )
    assert entry.detail == {
        "created": ["product-new-01"],
        "updated": [file["question"][0]["id"]],
        "unchanged": 35,
    }


async def test_an_invalid_import_names_the_question_and_field_and_writes_nothing(
    app: FastAPI, http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    file = (await http.get(f"{QUESTIONS}/export?track=behavioral", headers=admin)).json()
    file["question"][0]["text"] = "An edit that must not be saved?"
    file["question"].append(
        {
            **{k: v for k, v in new_question(id="behavioral-new-01").items() if k != "track"},
            "points": [*STAR_POINTS[:3], {"point": "Outcome: it worked", "keywords": ["so"]}],
        }
    )
    file["question"].append({**file["question"][1]})  # the same id twice
    file["question"].append(  # another track's question
        {k: v for k, v in new_question(id="backend-junior-01").items() if k != "track"}
        | {"points": STAR_POINTS}
    )

    refused = await http.post(f"{QUESTIONS}/import", json=file, headers=admin)

    assert refused.status_code == 422, refused.text
    problems = {(tuple(p["loc"]), p["msg"]) for p in refused.json()["detail"]}
    duplicate = file["question"][1]["id"]
    assert {loc for loc, _ in problems} == {
        ("body", "question", 36, "points"),
        ("body", "question", 37, "id"),
        ("body", "question", 38, "id"),
    }
    messages = " | ".join(msg for _, msg in problems)
    assert "question 'behavioral-new-01': behavioral point 'Outcome: it worked'" in messages
    assert f"{duplicate!r}: duplicate id" in messages
    assert "'backend-junior-01': the id belongs to a backend question" in messages
    unchanged = (await http.get(f"{QUESTIONS}/{file['question'][0]['id']}", headers=admin)).json()
    assert unchanged["version"] == 1 and unchanged["text"] != "An edit that must not be saved?"
    assert (await http.get(f"{QUESTIONS}/behavioral-new-01", headers=admin)).status_code == 404
    assert await audit_log(app) == []


# --- the audit log --------------------------------------------------------------------------


async def test_every_change_writes_an_audit_entry_naming_the_admin_and_question(
    app: FastAPI, http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = (await http.post(QUESTIONS, json=new_question(), headers=admin)).json()
    path = f"{QUESTIONS}/{created['id']}"
    await http.put(path, json={**content(created), "text": "Reworded?"}, headers=admin)
    await http.post(f"{path}/retire", headers=admin)
    await http.post(f"{path}/restore", headers=admin)
    file = (await http.get(f"{QUESTIONS}/export?track=backend", headers=admin)).json()
    file["question"][-1]["text"] = "Reworded once more?"
    await http.post(f"{QUESTIONS}/import", json=file, headers=admin)

    me = (await http.get("/api/me", headers=admin)).json()
    entries = await audit_log(app)
    assert [(e.action, e.target_id) for e in entries] == [
        ("question.create", created["id"]),
        ("question.update", created["id"]),
        ("question.retire", created["id"]),
        ("question.restore", created["id"]),
        ("question.import", "backend"),
    ]
    assert {str(e.admin_id) for e in entries} == {me["id"]}
    assert {e.target_type for e in entries} == {"question"}


# --- running interviews ---------------------------------------------------------------------


async def test_an_edit_during_an_interview_does_not_change_its_next_question(
    bank_settings: Settings,
) -> None:
    """The second question is asked as planned; a new interview asks the edited text."""
    async with (
        LiveServer(bank_settings).running() as live,
        httpx.AsyncClient(base_url=live.http, timeout=10) as http,
    ):
        admin = await sign_in_admin(live.app, http)
        session = await new_session(live.http, question_count=2, track="backend", level="mid")
        client = InterviewClient(live.ws_url(session.interview_id), session.token)
        await client.connect()
        first = await client.until("turn.end")
        async with live.app.state.services.sessionmaker() as db:
            plan = await db.get(InterviewPlan, uuid.UUID(session.interview_id))
        assert plan is not None
        asked, following = (BankQuestion.from_dict(q) for q in plan.questions)
        assert first["text"].endswith(asked.text)
        current = (await http.get(f"{QUESTIONS}/{following.id}", headers=admin)).json()
        edited = {**content(current), "text": "EDITED: how would you shard this table?"}
        saved = await http.put(f"{QUESTIONS}/{following.id}", json=edited, headers=admin)
        assert saved.status_code == 200, saved.text

        await client.send({"type": "answer", "text": STRONG_ANSWER, "turn": first["turn"]})
        second = await client.until("turn.end")

        assert second["text"].endswith(following.text) and "EDITED" not in second["text"]
        await client.close()

        # Leave only the edited question at this level: a new interview must ask it, edited.
        others = await http.get(
            QUESTIONS, params={"track": "backend", "level": "mid"}, headers=admin
        )
        for item in others.json()["items"]:
            if item["id"] != following.id:
                retired = await http.post(f"{QUESTIONS}/{item['id']}/retire", headers=admin)
                assert retired.status_code == 200
        fresh = await new_session(live.http, question_count=1, track="backend", level="mid")
        newcomer = InterviewClient(live.ws_url(fresh.interview_id), fresh.token)
        await newcomer.connect()
        asked_now = await newcomer.until("turn.end")
        assert asked_now["text"].endswith(edited["text"])
        await newcomer.close()


async def test_another_process_plans_from_an_edit_within_seconds_and_keeps_old_plans(
    app: FastAPI, http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """A second bank on the same database and live store, as another process has: it sees
    the edit within its poll interval, and an interview planned before keeps its questions
    there too (a takeover asks what was planned)."""
    services = app.state.services
    other = QuestionBank(services.sessionmaker, services.live.counters, poll_s=0.2)
    await other.start()
    running = await candidate_interview(http, track="data_ml", level="junior", count=15)
    planned = await services.questions.plan(running)
    target = next(q for q in planned if q.id == "data_ml-junior-05")

    current = (await http.get(f"{QUESTIONS}/{target.id}", headers=admin)).json()
    edited = {**content(current), "text": "EDITED: how do you split time series data?"}
    assert (await http.put(f"{QUESTIONS}/{target.id}", json=edited, headers=admin)).is_success

    async def other_plans_the_edit() -> bool:
        fresh = await other.plan(brief_for("data_ml", "junior", 15))
        return any(q.text == edited["text"] for q in fresh)

    await eventually(other_plans_the_edit, timeout=5)
    taken_over = await other.plan(running)
    assert [q.as_dict() for q in taken_over] == [q.as_dict() for q in planned]
    assert (await other.question(running.interview_id, target.id)) == target


@pytest.mark.needs_redis
async def test_a_second_app_on_the_same_redis_sees_an_edit_within_seconds(
    bank_settings: Settings,
) -> None:
    """Two processes' worth of apps: a retirement on one is never planned on the other."""
    first, second = create_app(bank_settings), create_app(bank_settings)
    async with (
        first.router.lifespan_context(first),
        second.router.lifespan_context(second),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=first), base_url="http://first"
        ) as http,
    ):
        admin = await sign_in_admin(first, http)
        interviewer = second.state.services.interviewer

        def ids(rubrics: list[QuestionRubric]) -> list[str | None]:
            return [r.question_id for r in rubrics]

        assert "product-mid-07" in ids(await interviewer.plan(brief_for("product", "mid", 15)))

        retired = await http.post(f"{QUESTIONS}/product-mid-07/retire", headers=admin)
        assert retired.status_code == 200

        async def gone_on_the_second() -> bool:
            planned = await interviewer.plan(brief_for("product", "mid", 15))
            return "product-mid-07" not in ids(planned)

        started = time.monotonic()
        await eventually(gone_on_the_second, timeout=6)
        assert time.monotonic() - started < 5
