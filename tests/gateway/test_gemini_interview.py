"""A whole interview with the Gemini provider: the real SDK against the local fake API."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from server.config import Settings
from server.store.models import Interview
from tests.conftest import BACKEND, REDIS_URL
from tests.fakes.gemini import Fail, FakeGemini, Reply, Stream
from tests.wsclient import (
    STRONG_ANSWER,
    InterviewClient,
    LiveServer,
    answer_everything,
    new_session,
)

SCORE = {
    "reply": "answer",
    "incorrect_statements": [],
    "criteria": [
        {
            "criterion": c,
            "evidence": "we added an index on the orders table",
            "rationale": "Matches the anchor.",
            "value": v,
            "suggestion": f"Say more about {c}.",
        }
        for c, v in (("coverage", 4), ("structure", 3), ("specificity", 5), ("clarity", 4))
    ],
    "notes": "Concrete; little on trade-offs.",
    "follow_up_focus": "",
    "follow_up_worthy": False,
}
REPORT = {
    "overall_score": 4.0,
    "strengths": ["Concrete numbers"],
    "weaknesses": ["Little on trade-offs"],
    "next_steps": ["Practise trade-offs", "Lead with the result", "Time your answers"],
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeGemini]:
    async with FakeGemini(models=("gemini-test",)) as server:
        yield server


@pytest.fixture
async def live(settings: Settings, fake: FakeGemini) -> AsyncIterator[LiveServer]:
    tuned = settings.model_copy(
        update={
            "gemini_api_key": SecretStr("test-key"),
            "gemini_model": "gemini-test",
            "gemini_base_url": fake.base_url,
            "gemini_api_version": "v1beta",
            "gemini_prices": {"gemini-test": (1.0, 4.0)},
        }
    )
    async with LiveServer(tuned).running() as server:
        yield server


async def test_a_gemini_interview_streams_scores_reports_and_counts_its_cost(
    live: LiveServer, fake: FakeGemini
) -> None:
    chunks = ("Hello, I'm your interviewer. ", "Tell me about a time you ", "made a system faster.")
    fake.script("stream", Stream(chunks=chunks, delay_s=0.02, usage=(200, 40)))
    fake.script("generate", Reply.of(SCORE, usage=(300, 80)), Reply.of(REPORT, usage=(500, 120)))
    session = await new_session(live.http, question_count=1)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    ready = await client.connect()
    assert (ready["provider"], ready["model"], ready["offline"]) == ("gemini", "gemini-test", False)

    ended = await answer_everything(client, STRONG_ANSWER)
    assert ended["status"] == "finished"
    deltas = [f["text"] for f in client.of_type("turn.delta")]
    assert "".join(deltas) == "".join(chunks) and len(deltas) >= 2  # streamed, not whole
    score = client.of_type("score")[0]
    assert score["rubric_version"].startswith("gemini")
    assert [c["value"] for c in score["criteria"]] == [4, 3, 5, 4]

    await asyncio.sleep(0.2)  # usage is written in the background
    detail = await session.detail()
    assert detail["provider"] == "gemini" and detail["report"]["overall_score"] == 4.0
    assert detail["turns"][0]["scores"][0]["evidence"] in STRONG_ANSWER
    assert (detail["tokens_in"], detail["tokens_out"]) == (200 + 300 + 500, 40 + 80 + 120)
    # 1000 tokens in at $1/M and 240 out at $4/M.
    assert detail["cost_usd"] == pytest.approx((1000 * 1.0 + 240 * 4.0) / 1_000_000)
    # Every call is kept for model health: kind, outcome, tokens, latency, time to first token.
    from sqlalchemy import select

    from server.store.models import ProviderCall

    async with live.app.state.services.sessionmaker() as db:
        calls = (
            await db.scalars(
                select(ProviderCall)
                .where(ProviderCall.interview_id == uuid.UUID(session.interview_id))
                .order_by(ProviderCall.id)
            )
        ).all()
    assert [(c.kind, c.outcome, c.tokens_in) for c in calls] == [
        ("turn", "ok", 200),
        ("score", "ok", 300),
        ("report", "ok", 500),
    ]
    assert calls[0].ttft_ms is not None and calls[0].latency_ms >= calls[0].ttft_ms
    # The candidate's answer went to Gemini inside its fence.
    score_request = fake.calls("generateContent")[0]
    assert (
        "<candidate_answer>" in score_request.contents_text
        and STRONG_ANSWER[:40] in score_request.contents_text
    )


async def test_a_turn_that_fails_half_way_is_retried_and_no_completed_turn_is_lost(
    live: LiveServer, fake: FakeGemini
) -> None:
    """A mid-stream error: the client sees provider_failed, then the regenerated question."""
    fake.script(
        "stream",
        Stream(chunks=("Hello. ", "Tell me ", "about"), error_after=2),
        Stream(chunks=("Hello. ", "Tell me about your last project.")),
    )
    fake.script("generate", Reply.of(SCORE), Reply.of(REPORT))
    session = await new_session(live.http, question_count=1)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    error = await client.until("error")
    assert error["code"] == "provider_failed" and error["retryable"] is True and error["seq"] > 0
    restart = await client.until("turn.start")
    assert restart["turn"] == 0  # the same turn, regenerated: the client replaces its text
    end = await client.until("turn.end")
    assert end["text"] == "Hello. Tell me about your last project."
    assert client.turn_texts()[0] == end["text"]
    await client.send({"type": "answer", "text": STRONG_ANSWER})
    await client.until("ended", timeout=20)
    detail = await session.detail()
    assert detail["turns"][0]["question"] == end["text"]


async def test_unknown_model_fails_the_turn_with_a_clear_error(
    settings: Settings, fake: FakeGemini
) -> None:
    tuned = settings.model_copy(
        update={
            "gemini_api_key": SecretStr("test-key"),
            "gemini_model": "gemini-2.0-flash",  # shut down: the API answers 404
            "gemini_base_url": fake.base_url,
            "gemini_api_version": "v1beta",
        }
    )
    fake.forever("stream", Fail(404, "models/gemini-2.0-flash is not found"))
    async with LiveServer(tuned).running() as live:
        session = await new_session(live.http, question_count=1)
        client = InterviewClient(live.ws_url(session.interview_id), session.token)
        await client.connect()
        error = await client.until("error")
        assert error["code"] == "provider_failed"
        ended = await client.until("ended", timeout=30)
        assert ended["status"] == "abandoned"
        async with live.app.state.services.sessionmaker() as db:
            row = await db.get(Interview, uuid.UUID(session.interview_id))
            assert row is not None and row.status.value == "abandoned"


async def test_check_gemini_reports_the_model_or_a_precise_diagnosis(
    fake: FakeGemini, tmp_path: Path
) -> None:
    interview = str(Path(sys.executable).parent / "interview")

    async def run(**env: str) -> tuple[int, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("INTERVIEW_", "GEMINI"))}
        process = await asyncio.create_subprocess_exec(
            interview,
            "check-gemini",
            env={
                **base,
                "INTERVIEW_GEMINI_BASE_URL": fake.base_url,
                "INTERVIEW_GEMINI_API_VERSION": "v1beta",
                **env,
            },
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(process.communicate(), 60)
        return process.returncode or 0, out.decode()

    code, out = await run(GEMINI_API_KEY="test-key", INTERVIEW_GEMINI_MODEL="gemini-test")
    assert code == 0 and "gemini-test" in out and "latency" in out
    code, out = await run(GEMINI_API_KEY="wrong-key", INTERVIEW_GEMINI_MODEL="gemini-test")
    assert code == 1 and "key" in out.lower()
    code, out = await run(GEMINI_API_KEY="test-key", INTERVIEW_GEMINI_MODEL="gemini-9-nope")
    assert code == 1 and "INTERVIEW_GEMINI_MODEL" in out and "gemini-test" in out
    code, out = await run()
    assert code == 2 and "GEMINI_API_KEY" in out


async def test_daily_spend_caps_stop_new_interviews_with_a_clear_message(
    settings: Settings, fake: FakeGemini
) -> None:
    import httpx
    from sqlalchemy import update

    tuned = settings.model_copy(
        update={
            "gemini_api_key": SecretStr("test-key"),
            "gemini_model": "gemini-test",
            "gemini_base_url": fake.base_url,
            "daily_spend_cap_usd_per_user": 0.03,
            "daily_spend_cap_usd": 0.05,
        }
    )
    async with LiveServer(tuned).running() as live:
        spender = await new_session(live.http, question_count=1)
        other = await new_session(live.http, question_count=1)

        async def spend(interview_id: str, micro_usd: int) -> None:
            async with live.app.state.services.sessionmaker() as db:
                await db.execute(
                    update(Interview)
                    .where(Interview.id == uuid.UUID(interview_id))
                    .values(cost_micro_usd=micro_usd)
                )
                await db.commit()

        async def start(headers: dict[str, str]) -> httpx.Response:
            async with httpx.AsyncClient(base_url=live.http) as http:
                return await http.post(
                    "/api/interviews", json={"track": "product", "level": "mid"}, headers=headers
                )

        await spend(spender.interview_id, 30_000)  # $0.03: this user's cap
        refused = await start(spender.headers)
        assert refused.status_code == 429
        assert refused.json()["code"] == "spend_cap_reached"
        assert "today's practice limit" in refused.json()["detail"]
        assert (await start(other.headers)).status_code == 201  # others are not affected

        await spend(other.interview_id, 25_000)  # under its own cap; everyone: $0.055
        refused = await start(other.headers)
        assert refused.status_code == 429 and "budget" in refused.json()["detail"]
        async with httpx.AsyncClient(base_url=live.http) as http:
            me = await http.get("/api/me", headers=spender.headers)
        assert me.json()["credits"] == 2  # refusals spend nothing


async def test_with_the_fallback_enabled_a_failing_gemini_hands_over_to_the_offline_interviewer(
    settings: Settings, fake: FakeGemini
) -> None:
    tuned = settings.model_copy(
        update={
            "gemini_api_key": SecretStr("test-key"),
            "gemini_model": "gemini-test",
            "gemini_base_url": fake.base_url,
            "gemini_fallback_offline": True,
            "offline_pace_ms": 1,
        }
    )
    fake.forever("stream", Fail(503, "The model is overloaded"))
    async with LiveServer(tuned).running() as live:
        session = await new_session(live.http, question_count=1)
        client = InterviewClient(live.ws_url(session.interview_id), session.token)
        await client.connect()
        changed = await client.until("interviewer.changed", timeout=40)
        assert (changed["provider"], changed["offline"]) == ("offline", True)
        assert "offline" in changed["reason"]
        ended = await answer_everything(client)
        assert ended["status"] == "finished"
        assert all(e["code"] == "provider_failed" for e in client.of_type("error"))
        detail = await session.detail()
    assert (detail["provider"], detail["model"]) == ("offline", "offline-v1")
    assert detail["report"]["provider"] == "offline"
    assert detail["turns"][-1]["scores"][0]["rubric_version"] == "offline-2"


async def test_interrupt_closes_the_upstream_gemini_stream_within_200_ms(
    live: LiveServer, fake: FakeGemini
) -> None:
    import time

    fake.script("stream", Stream(chunks=[f"word{n} " for n in range(200)], delay_s=0.03))
    session = await new_session(live.http, question_count=1)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    await client.until("turn.delta")
    await client.until("turn.delta")
    sent = time.perf_counter()
    await client.send({"type": "interrupt"})
    end = await client.until("turn.end")
    assert end["interrupted"] is True
    deadline = time.perf_counter() + 2
    while not fake.disconnects and time.perf_counter() < deadline:
        await asyncio.sleep(0.005)
    assert fake.disconnects, "the upstream stream was never closed"
    assert fake.disconnects[0] - sent < 0.2
    assert fake.completed == 0  # the model did not finish generating (and billing) the turn


async def test_an_accepted_answer_survives_losing_the_live_store_and_its_scorer(
    live: LiveServer, fake: FakeGemini
) -> None:
    """Scoring is slow; the process and every live datum vanish meanwhile. The answer the
    candidate saw accepted was saved at once, and the next server scores it from there."""
    fake.script("stream", Stream(chunks=("Tell me about ", "a system you built.")))
    fake.script("generate", Reply.of(SCORE, delay_s=60))  # the scorer the process dies in
    session = await new_session(live.http, question_count=1)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    end = await client.until("turn.end")
    await client.send({"type": "answer", "text": STRONG_ANSWER, "turn": end["turn"]})
    accepted = await client.until("answer.accepted")
    saved = (await session.detail())["turns"]
    assert [(t["answer"], t["outcome"], t["scores"]) for t in saved] == [
        (STRONG_ANSWER, None, [])  # kept, its score pending
    ]
    await client.close()
    await live.stop()  # the process goes away mid-scoring...
    if BACKEND == "services":  # ...and so does everything the live store had
        from redis.asyncio import Redis

        redis = Redis.from_url(REDIS_URL)
        try:
            keys = [k async for k in redis.scan_iter(match=live.settings.redis_key_prefix + "*")]
            assert keys
            await redis.delete(*keys)
        finally:
            await redis.aclose()

    fake.script("generate", Reply.of(SCORE, delay_s=0.5), Reply.of(REPORT))
    async with LiveServer(live.settings).running() as again:
        client.url = again.ws_url(session.interview_id)
        ready = await client.connect()
        assert ready["resumed"] is False and ready["epoch"] != accepted["epoch"]
        assert ready["phase"] == "scoring" and ready["turn"] == end["turn"]
        assert (await client.recv())["type"] == "resync"
        client.last_seq = ready["head_seq"]
        score = await client.until("score", timeout=20)
        assert score["turn"] == end["turn"]
        await client.send({"type": "end"})
        assert (await client.until("ended"))["status"] == "finished"
        session.http = again.http
        turn = (await session.detail())["turns"][0]
    assert (turn["answer"], turn["outcome"]) == (STRONG_ANSWER, "answered")
    assert [s["value"] for s in turn["scores"]] == [4, 3, 5, 4]
    assert turn["question"] == end["text"]


async def test_a_turn_the_model_will_not_speak_becomes_the_planned_question(
    live: LiveServer, fake: FakeGemini
) -> None:
    """Blocked, then blocked again when asked in other words: the interview does not end;
    the candidate is asked the planned question as the bank words it."""
    from tests.fakes.gemini import Blocked

    fake.script("stream", Blocked(reason="SAFETY"), Stream(chunks=(), finish="PROHIBITED_CONTENT"))
    fake.script("generate", Reply.of(SCORE), Reply.of(REPORT))
    session = await new_session(live.http, question_count=1)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    end = await client.until("turn.end")
    first = fake.calls("streamGenerateContent")[0].contents_text
    planned = first.split("<question>\n")[1].split("\n</question>")[0]
    assert end["text"] == planned and planned.strip()
    assert not client.of_type("error")
    await client.send({"type": "answer", "text": STRONG_ANSWER})
    ended = await client.until("ended", timeout=20)
    assert ended["status"] == "finished"
    detail = await session.detail()
    assert detail["turns"][0]["question"] == planned


async def test_a_long_prefix_is_cached_its_turns_cost_less_and_the_cache_is_deleted_at_the_end(
    settings: Settings, fake: FakeGemini
) -> None:
    """The persona, job description and resume are cached once; later turns name the cache,
    their cached tokens are kept and charged at the cached price; the end deletes it."""
    from sqlalchemy import select

    from server.store.models import ProviderCall
    from tests.fakes.gemini import RecordedRequest

    def answer(request: RecordedRequest) -> Reply | Fail:
        if "assess one answer" in request.system_text:
            return Reply.of(SCORE, usage=(300, 80))
        if "end-of-interview feedback" in request.system_text:
            return Reply.of(REPORT, usage=(500, 120))
        return Fail(400, "not scripted")  # planning: the bank's questions are asked instead

    fake.forever("generate", answer)
    fake.forever(
        "stream", Stream(chunks=("Tell me about ", "a system you built."), usage=(200, 40))
    )
    fake.cache_tokens = 1000
    tuned = settings.model_copy(
        update={
            "gemini_api_key": SecretStr("test-key"),
            "gemini_model": "gemini-test",
            "gemini_base_url": fake.base_url,
            "gemini_api_version": "v1beta",
            "gemini_prices": {"gemini-test": (1.0, 4.0, 0.1)},
            "gemini_cache_min_tokens": 100,
        }
    )
    async with LiveServer(tuned).running() as live:
        session = await new_session(
            live.http, question_count=2, job_description="Payments APIs in Python. " * 80
        )
        client = InterviewClient(live.ws_url(session.interview_id), session.token)
        await client.connect()
        ended = await answer_everything(client, STRONG_ANSWER)
        assert ended["status"] == "finished"
        for _ in range(100):  # the cache is deleted as the interview ends
            if fake.deleted_caches:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # usage is written in the background
        async with live.app.state.services.sessionmaker() as db:
            turns = (
                await db.scalars(
                    select(ProviderCall)
                    .where(
                        ProviderCall.interview_id == uuid.UUID(session.interview_id),
                        ProviderCall.kind == "turn",
                    )
                    .order_by(ProviderCall.id)
                )
            ).all()

    first, second = fake.calls("streamGenerateContent")
    assert first.cached_content is None and "Payments APIs" in first.system_text
    assert second.cached_content is not None and second.system_text == ""
    assert fake.deleted_caches == [second.cached_content] and not fake.caches
    assert [(t.tokens_in, t.cached_tokens) for t in turns] == [(200, 0), (1200, 1000)]
    # 200 in at $1/M and 40 out at $4/M; then 1000 more read from the cache at $0.1/M.
    assert [t.cost_micro_usd for t in turns] == [200 + 160, 200 + 100 + 160]
