"""A step that keeps making runners fail is set aside: never a crash loop.

The fault is real: the database itself refuses the rows of one interview (a trigger),
as it refused a NUL before text was cleaned at the edge. Each failed runner is counted
beside the interview's live state; the next runner takes over (as another process would)
and, at the limit, stops repeating what fails.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

from sqlalchemy import text

from server.config import Settings
from tests.conftest import BACKEND
from tests.wsclient import STRONG_ANSWER, InterviewClient, LiveServer, new_session

LIMIT = 2  # INTERVIEW_RUNNER_FAILURE_LIMIT's default


@contextlib.asynccontextmanager
async def refused_by_the_database(
    live: LiveServer, interview_id: str, *, tables: tuple[str, ...]
) -> AsyncIterator[None]:
    """The database refuses, for this interview only, new ``score`` rows and/or updates of
    its ``turn`` rows."""
    sessionmaker = live.app.state.services.sessionmaker
    tag = uuid.uuid4().hex[:8]
    iid = uuid.UUID(interview_id)
    create, drop = [], []
    for table in tables:
        name = f"refuse_{table}_{tag}"
        if BACKEND == "services":
            if table == "score":
                check = (
                    f"EXISTS (SELECT 1 FROM turn WHERE id = NEW.turn_id AND interview_id = '{iid}')"
                )
                event = "INSERT ON score"
            else:
                check = f"NEW.interview_id = '{iid}'"
                event = "UPDATE ON turn"
            create += [
                f"CREATE FUNCTION {name}() RETURNS trigger AS $$ BEGIN "
                f"IF {check} THEN RAISE EXCEPTION 'refused by a test trigger'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql",
                f"CREATE TRIGGER {name} BEFORE {event} FOR EACH ROW EXECUTE FUNCTION {name}()",
            ]
            drop += [f"DROP TRIGGER {name} ON {table}", f"DROP FUNCTION {name}()"]
        else:
            if table == "score":
                when = f"NEW.turn_id IN (SELECT id FROM turn WHERE interview_id = '{iid.hex}')"
                event = "INSERT ON score"
            else:
                when = f"NEW.interview_id = '{iid.hex}'"
                event = "UPDATE ON turn"
            create.append(
                f"CREATE TRIGGER {name} BEFORE {event} WHEN {when} "
                "BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END"
            )
            drop.append(f"DROP TRIGGER {name}")
    async with sessionmaker() as db:
        for statement in create:
            await db.execute(text(statement))
        await db.commit()
    try:
        yield
    finally:
        async with sessionmaker() as db:
            for statement in drop:
                await db.execute(text(statement))
            await db.commit()


def _tuned(settings: Settings) -> Settings:
    # A short lease: the runner that replaces a failed one comes within half a second.
    return settings.model_copy(update={"offline_pace_ms": 5, "lease_ttl_ms": 1500})


async def test_an_answer_whose_score_cannot_be_saved_is_set_aside_and_the_interview_goes_on(
    settings: Settings,
) -> None:
    async with LiveServer(_tuned(settings)).running() as live:
        session = await new_session(live.http, question_count=2)
        client = InterviewClient(live.ws_url(session.interview_id), session.token)
        await client.connect()
        first = await client.until("turn.end")
        async with refused_by_the_database(live, session.interview_id, tables=("score",)):
            await client.send({"type": "answer", "text": STRONG_ANSWER, "turn": first["turn"]})
            await client.until("answer.accepted")
            error = await client.until("error", "score", timeout=30)
        assert error["type"] == "error" and error["code"] == "internal" and error["seq"] > 0
        assert "saved without a score" in error["message"] and error["phase"] == "asking"
        snapshot = await live.app.state.services.live.events.snapshot(session.interview_id)
        assert snapshot is not None and snapshot.failures == LIMIT  # tried twice, then no more
        following = await client.until("turn.start")
        assert (following["turn"], following["kind"]) == (first["turn"] + 1, "question")
        await client.until("turn.end")

        detail = await session.detail()
        kept = detail["turns"][0]
        assert (kept["answer"], kept["outcome"], kept["scores"]) == (STRONG_ANSWER, "answered", [])
        await client.send({"type": "end"})
        ended = await client.until("ended")
        assert ended["status"] == "finished"
        assert (await session.detail())["status"] == "finished"


async def test_an_interview_that_cannot_even_set_the_step_aside_ends_instead_of_looping(
    settings: Settings,
) -> None:
    async with LiveServer(_tuned(settings)).running() as live:
        session = await new_session(live.http, question_count=2)
        client = InterviewClient(live.ws_url(session.interview_id), session.token)
        await client.connect()
        first = await client.until("turn.end")
        tables = ("score", "turn")
        async with refused_by_the_database(live, session.interview_id, tables=tables):
            await client.send({"type": "answer", "text": STRONG_ANSWER, "turn": first["turn"]})
            await client.until("answer.accepted")
            error = await client.until("error", "score", timeout=30)
            ended = await client.until("ended", timeout=10)
        assert error["code"] == "internal" and "could not go on" in error["message"]
        assert ended["status"] == "abandoned"
        snapshot = await live.app.state.services.live.events.snapshot(session.interview_id)
        assert snapshot is not None and snapshot.failures == 2 * LIMIT
        assert not live.app.state.services.sessions.runs(session.interview_id)
        detail = await session.detail()
        assert detail["status"] == "abandoned"
        # The answer was saved when it was accepted, before anything failed.
        assert detail["turns"][0]["answer"] == STRONG_ANSWER
