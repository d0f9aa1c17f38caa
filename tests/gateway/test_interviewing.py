"""How the Gemini interviewer interviews, end to end (the real SDK against the fake API):
follow-up depth, clarifying questions, "we" answers, wrong claims, and the private rubrics
(kept across a restart, never shown to the candidate)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from server.config import Settings
from server.store.models import Interview
from tests.fakes.gemini import Fail, FakeGemini, RecordedRequest, Reply, Stream
from tests.wsclient import STRONG_ANSWER, InterviewClient, LiveServer, new_session

REPORT = {
    "overall_score": 4.0,
    "strengths": ["Concrete numbers"],
    "weaknesses": ["Little on trade-offs"],
    "next_steps": ["Practise trade-offs", "Lead with the result", "Time your answers"],
}
JOB = "Payments platform team: Python, PostgreSQL, Kafka; we own refunds and ledgers."
WRITTEN = [
    {
        "question": "How would you make refunds idempotent in a payments API?",
        "expected_points": ["POINT-ALPHA idempotency keys", "dedupe table", "retries are safe"],
        "pitfalls": ["PITFALL-BETA relying on the client never retrying"],
    },
    {
        "question": "How would you reconcile the ledger with the bank's statements?",
        "expected_points": ["POINT-GAMMA daily batch", "match on references", "alerts"],
        "pitfalls": ["PITFALL-DELTA trusting the balance alone"],
    },
]
PRIVATE = ("POINT-ALPHA", "PITFALL-BETA", "POINT-GAMMA", "PITFALL-DELTA")


def score(
    *,
    reply: str = "answer",
    worthy: bool = False,
    coverage: int = 4,
    wrong: list[str] | None = None,
    focus: str = "",
) -> dict[str, Any]:
    return {
        "reply": reply,
        "incorrect_statements": wrong or [],
        "criteria": [
            {
                "criterion": name,
                "evidence": "we added an index on the orders table",
                "rationale": "Matches the anchor.",
                "value": value,
                "suggestion": f"Say more about {name}.",
            }
            for name, value in (
                ("coverage", coverage),
                ("structure", 3),
                ("specificity", 5),
                ("clarity", 4),
            )
        ],
        "notes": "Private note for the interviewer.",
        "follow_up_focus": focus,
        "follow_up_worthy": worthy,
    }


def scoring(fake: FakeGemini) -> list[RecordedRequest]:
    return [r for r in fake.calls("generateContent") if "You assess one reply" in r.system_text]


def planning(fake: FakeGemini) -> list[RecordedRequest]:
    return [
        r for r in fake.calls("generateContent") if "You plan a mock interview" in r.system_text
    ]


def turn_task(request: RecordedRequest) -> str:
    return str(request.contents[-1]["parts"][-1]["text"])


@pytest.fixture
async def fake() -> AsyncIterator[FakeGemini]:
    async with FakeGemini(models=("gemini-test",)) as server:
        yield server


def gemini_settings(settings: Settings, fake: FakeGemini, **extra: Any) -> Settings:
    return settings.model_copy(
        update={
            "gemini_api_key": SecretStr("test-key"),
            "gemini_model": "gemini-test",
            "gemini_base_url": fake.base_url,
            "gemini_api_version": "v1beta",
            **extra,
        }
    )


async def start(live: LiveServer, **session: Any) -> tuple[Any, InterviewClient]:
    created = await new_session(live.http, **session)
    client = InterviewClient(live.ws_url(created.interview_id), created.token)
    await client.connect()
    return created, client


async def answer(client: InterviewClient, text: str) -> dict[str, Any]:
    end = await client.until("turn.end", timeout=30)
    await client.send({"type": "answer", "text": text, "turn": end["turn"]})
    return end


async def stored_rubrics(live: LiveServer, interview_id: str) -> list[dict[str, Any]]:
    async with live.app.state.services.sessionmaker() as db:
        rubrics = await db.scalar(
            select(Interview.rubrics).where(Interview.id == uuid.UUID(interview_id))
        )
    return list(rubrics or [])


async def test_a_question_gets_a_second_follow_up_when_the_limit_is_two(
    settings: Settings, fake: FakeGemini
) -> None:
    """Follow-ups on follow-ups happen up to max_follow_ups, and each follow-up is scored with
    its main question, that question's answer and its rubric."""
    fake.script(
        "generate",
        Reply.of(score(worthy=True)),
        Reply.of(score(worthy=True, focus="how the cache is invalidated")),
        Reply.of(score(worthy=True)),  # worth a third, but the limit is two
        Reply.of(REPORT),
    )
    async with LiveServer(gemini_settings(settings, fake, max_follow_ups=2)).running() as live:
        session, client = await start(live, question_count=1)
        for _ in range(3):
            await answer(client, STRONG_ANSWER)
        ended = await client.until("ended", timeout=30)
        rubric = (await stored_rubrics(live, session.interview_id))[0]

    assert ended["status"] == "finished"
    starts = client.of_type("turn.start")
    assert [(s["kind"], s["question_number"]) for s in starts] == [
        ("question", 1),
        ("follow_up", 1),
        ("follow_up", 1),
    ]
    assert len(client.of_type("score")) == 3
    # The second follow-up aims at the focus the scorer noted on the first one's answer.
    assert "how the cache is invalidated" in turn_task(fake.calls("streamGenerateContent")[2])
    main_question = client.turn_texts()[0]
    first, second, third = scoring(fake)
    for request in (first, second, third):
        assert f"- {rubric['expected_points'][0]}" in request.contents_text
        for pitfall in rubric["pitfalls"]:
            assert f"- {pitfall}" in request.contents_text
        assert "Calibration examples" in request.system_text
    assert "<main_question>" not in first.contents_text
    for request in (second, third):
        assert f"<main_question>\n{main_question}\n</main_question>" in request.contents_text
        assert f"<main_answer>\n{STRONG_ANSWER}\n</main_answer>" in request.contents_text


async def test_a_clarifying_question_is_answered_unscored_and_the_question_stays_open(
    settings: Settings, fake: FakeGemini
) -> None:
    """The reply "what do you mean?" is not scored: the interviewer answers it and the same
    main question waits for the real answer, which is scored as usual."""
    fake.script("generate", Reply.of(score(reply="clarification")), Reply.of(score()))
    fake.script("generate", Reply.of(REPORT))
    async with LiveServer(gemini_settings(settings, fake, max_follow_ups=0)).running() as live:
        session, client = await start(live, question_count=1)
        await answer(client, "Do you mean latency for reads or for writes?")
        clarified = await client.until("answer.clarification")
        restart = await client.until("turn.start")
        await answer(client, STRONG_ANSWER)
        scored = await client.until("score")
        ended = await client.until("ended", timeout=30)
        detail = await session.detail()

    assert clarified["turn"] == 0 and clarified["phase"] == "asking"
    assert (restart["turn"], restart["kind"], restart["question_number"]) == (1, "follow_up", 1)
    assert "clarifying question" in turn_task(fake.calls("streamGenerateContent")[1])
    assert scored["turn"] == 1 and len(client.of_type("score")) == 1
    assert ended["status"] == "finished"
    turns = detail["turns"]
    assert [(t["reply"], t["outcome"], len(t["scores"])) for t in turns] == [
        ("clarification", "answered", 0),
        ("answer", "answered", 4),
    ]
    assert detail["report"]["overall_score"] == 4.0  # the clarification does not count


async def test_an_answer_told_as_we_is_followed_up_on_what_the_candidate_did(
    settings: Settings, fake: FakeGemini
) -> None:
    """ "We" and never "I": the follow-up asks what the candidate personally did, even when
    the scorer saw nothing else worth probing."""
    team = "We rebuilt the checkout service and our p95 latency fell from 900 ms to 120 ms."
    fake.script("generate", Reply.of(score(worthy=False)), Reply.of(score()), Reply.of(REPORT))
    async with LiveServer(gemini_settings(settings, fake, max_follow_ups=1)).running() as live:
        _, client = await start(live, question_count=1)
        await answer(client, team)
        follow_up = await client.until("turn.start")
        await answer(client, STRONG_ANSWER)
        await client.until("ended", timeout=30)

    assert follow_up["kind"] == "follow_up"
    assert "what they personally did" in turn_task(fake.calls("streamGenerateContent")[1])


async def test_a_wrong_statement_caps_coverage_and_is_named_in_the_feedback(
    settings: Settings, fake: FakeGemini
) -> None:
    """The scorer lists a wrong claim: coverage is capped at 2 (in the score event and in
    the database) and the coverage suggestion names the claim."""
    claim = "Redis is single-threaded so a cache stampede cannot happen"
    fake.script("generate", Reply.of(score(coverage=5, wrong=[claim])), Reply.of(REPORT))
    async with LiveServer(gemini_settings(settings, fake, max_follow_ups=0)).running() as live:
        session, client = await start(live, question_count=1)
        await answer(client, STRONG_ANSWER)
        event = await client.until("score")
        await client.until("ended", timeout=30)
        stored = (await session.detail())["turns"][0]["scores"]

    for criteria in (event["criteria"], stored):
        coverage = next(c for c in criteria if c["criterion"] == "coverage")
        assert coverage["value"] == 2 and claim in coverage["suggestion"]


async def test_written_questions_keep_their_rubrics_across_a_restart_and_stay_private(
    settings: Settings, fake: FakeGemini
) -> None:
    """With a job description, one planning call writes the questions and their rubrics.
    They are stored with the interview: the process that resumes it scores against the same
    rubric without planning again. No frame or REST answer shows them to the candidate."""
    fake.script("generate", Reply.of({"questions": WRITTEN}))
    fake.script("generate", Reply.of(score(), delay_s=60))  # the process dies while scoring
    tuned = gemini_settings(settings, fake, max_follow_ups=0)
    live = await LiveServer(tuned).start()
    try:
        session, client = await start(live, question_count=2, job_description=JOB)
        await answer(client, STRONG_ANSWER)
        await client.until("answer.accepted")
        before = await session.detail()
    finally:
        await client.close()
        await live.stop()
    seen = [json.dumps(client.frames), json.dumps(before)]

    fake.script("generate", Reply.of(score()), Reply.of(score()), Reply.of(REPORT))
    async with LiveServer(tuned).running() as again:
        client = InterviewClient(again.ws_url(session.interview_id), session.token)
        await client.connect(last_seq=0)
        await client.until("score", timeout=30)
        end = await client.until("turn.end", timeout=30)
        session.http = again.http
        during = await session.detail()  # the last question is open: no report yet
        await client.send({"type": "answer", "text": STRONG_ANSWER, "turn": end["turn"]})
        await client.until("score", timeout=30)
        frames_before_report = json.dumps(client.frames)
        await client.until("ended", timeout=30)
        seen += [frames_before_report, json.dumps(during)]

    assert len(planning(fake)) == 1
    plan = planning(fake)[0]
    assert f"<job_description>\n{JOB}\n</job_description>" in plan.contents_text
    first_turn, second_turn = fake.calls("streamGenerateContent")[:2]
    assert WRITTEN[0]["question"] in turn_task(first_turn)
    assert WRITTEN[1]["question"] in turn_task(second_turn)
    # The interviewer gets the rubric as hidden context, told never to quote it.
    assert "POINT-GAMMA daily batch" in turn_task(second_turn)
    assert "never quote it" in turn_task(second_turn)
    dead, resumed, second = scoring(fake)
    for request in (dead, resumed):
        assert "- POINT-ALPHA idempotency keys" in request.contents_text
        assert "- PITFALL-BETA relying on the client never retrying" in request.contents_text
        assert JOB in request.contents_text
    assert "- POINT-GAMMA daily batch" in second.contents_text
    for payload in seen:
        for secret in PRIVATE:
            assert secret not in payload


async def test_bank_questions_carry_their_rubric_to_the_scorer(
    settings: Settings, fake: FakeGemini
) -> None:
    """Without a job description the questions come from the bank, with its points and
    misconceptions as their rubric, stored with the interview; no planning call is made."""
    fake.script("generate", Reply.of(score()), Reply.of(REPORT))
    fake.script("stream", Stream(chunks=("Tell me how you would cache a slow page.",)))
    async with LiveServer(gemini_settings(settings, fake, max_follow_ups=0)).running() as live:
        session, client = await start(live, question_count=1)
        await answer(client, STRONG_ANSWER)
        await client.until("ended", timeout=30)
        rubrics = await stored_rubrics(live, session.interview_id)
        bank = live.app.state.services.questions
        planned = await bank.question(session.interview_id, rubrics[0]["question_id"])

    assert planning(fake) == []
    assert planned is not None and rubrics[0]["question"] == planned.text
    assert rubrics[0]["expected_points"][: len(planned.points)] == [p.point for p in planned.points]
    (request,) = scoring(fake)
    for point in planned.points:
        assert f"- {point.point}" in request.contents_text


# --- the offline interviewer, the same engine ----------------------------------------------


async def test_offline_a_question_gets_a_second_follow_up_when_the_limit_is_two(
    settings: Settings,
) -> None:
    """Two "I don't know"s in a row are each scaffolded, then the limit moves on."""
    tuned = settings.model_copy(update={"offline_pace_ms": 1, "max_follow_ups": 2})
    async with LiveServer(tuned).running() as live:
        _, client = await start(live, question_count=1)
        for _ in range(3):
            await answer(client, "I don't know, sorry.")
        ended = await client.until("ended", timeout=30)

    assert ended["status"] == "finished"
    kinds = [s["kind"] for s in client.of_type("turn.start")]
    assert kinds == ["question", "follow_up", "follow_up"]
    texts = client.turn_texts()
    assert texts[1].startswith("That's all right") and texts[2].startswith("That's all right")


async def test_offline_a_clarifying_question_is_answered_and_the_question_stays_open(
    settings: Settings,
) -> None:
    """The offline rules spot a question back: it is not scored, the interviewer repeats
    the question, and the answer that follows is scored."""
    tuned = settings.model_copy(update={"offline_pace_ms": 1, "max_follow_ups": 0})
    async with LiveServer(tuned).running() as live:
        _, client = await start(live, question_count=1)
        end = await answer(client, "Do you mean for reads or for writes?")
        await client.until("answer.clarification")
        await answer(client, STRONG_ANSWER)
        scored = await client.until("score")
        await client.until("ended", timeout=30)

    question = end["text"].split("Let's begin. ")[-1]
    assert f"Again: {question}" in client.turn_texts()[1]
    assert scored["turn"] == 1 and len(client.of_type("score")) == 1


async def test_after_a_fallback_the_unasked_questions_take_the_offline_plan(
    settings: Settings, fake: FakeGemini
) -> None:
    """Gemini wrote the plan but never spoke: the offline interviewer takes over with its own
    bank questions and rubrics, stored in place of the unasked written ones."""
    fake.script("generate", Reply.of({"questions": WRITTEN}))
    fake.forever("stream", Fail(503, "The model is overloaded"))
    tuned = gemini_settings(
        settings, fake, gemini_fallback_offline=True, offline_pace_ms=1, max_follow_ups=0
    )
    async with LiveServer(tuned).running() as live:
        session, client = await start(live, question_count=2, job_description=JOB)
        await client.until("interviewer.changed", timeout=40)
        first = await answer(client, STRONG_ANSWER)
        await answer(client, STRONG_ANSWER)
        await client.until("ended", timeout=30)
        rubrics = await stored_rubrics(live, session.interview_id)

    assert all(r["question_id"] for r in rubrics)
    bank = live.app.state.services.questions
    planned = await bank.question(session.interview_id, rubrics[0]["question_id"])
    assert planned is not None and planned.text in first["text"]


async def test_the_follow_up_limit_holds_across_a_restart(
    settings: Settings, fake: FakeGemini
) -> None:
    """A follow-up's answer is being scored when the process dies: the next process counts
    the follow-ups already asked, so the question still gets two, not more."""
    fake.script("generate", Reply.of(score(worthy=True)), Reply.of(score(worthy=True), delay_s=60))
    tuned = gemini_settings(settings, fake, max_follow_ups=2)
    live = await LiveServer(tuned).start()
    try:
        session, client = await start(live, question_count=1)
        await answer(client, STRONG_ANSWER)
        await answer(client, STRONG_ANSWER)  # the first follow-up: scored by a process that dies
        await client.until("answer.accepted")
    finally:
        await client.close()
        await live.stop()

    fake.forever("generate", Reply.of(score(worthy=True)))
    async with LiveServer(tuned).running() as again:
        client = InterviewClient(again.ws_url(session.interview_id), session.token)
        await client.connect(last_seq=0)
        ended = await answer_all(client)
        session.http = again.http
        turns = (await session.detail())["turns"]

    assert ended["status"] == "finished"
    assert [t["kind"] for t in turns] == ["question", "follow_up", "follow_up"]


async def answer_all(client: InterviewClient) -> dict[str, Any]:
    while True:
        frame = await client.until("turn.end", "ended", timeout=30)
        if frame["type"] == "ended":
            return frame
        if frame["phase"] == "listening":
            await client.send({"type": "answer", "text": STRONG_ANSWER, "turn": frame["turn"]})
