"""A whole Gemini interview's report over REST, question by question: the overall score is
the one rule's, never the model's number, follow-ups sit under their main question, and the
bank's rubric shows what a strong answer covers once the interview is over."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from server.config import Settings
from tests.fakes.gemini import FakeGemini, RecordedRequest, Reply, Stream
from tests.wsclient import InterviewClient, LiveServer, answer_everything, new_session


def _score(value: int, *, follow_up: bool) -> dict[str, object]:
    return {
        "reply": "answer",
        "incorrect_statements": [],
        "criteria": [
            {
                "criterion": c,
                "evidence": "I added an index",
                "rationale": "As the level describes.",
                "value": value,
                "suggestion": f"Say more about {c}.",
            }
            for c in ("coverage", "structure", "specificity", "clarity")
        ],
        "notes": "",
        "follow_up_focus": "the index" if follow_up else "",
        "follow_up_worthy": follow_up,
    }


REPORT = {
    "overall_score": 5.0,  # the model's own number: never used
    "strengths": ["Clear."],
    "weaknesses": ["Skipped a follow-up."],
    "next_steps": ["One.", "Two.", "Three."],
}


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[tuple[LiveServer, FakeGemini]]:
    async with FakeGemini(models=("gemini-test",)) as fake:
        tuned = settings.model_copy(
            update={
                "gemini_api_key": SecretStr("test-key"),
                "gemini_model": "gemini-test",
                "gemini_base_url": fake.base_url,
                "gemini_api_version": "v1beta",
                "gemini_fallback_offline": False,
                "max_follow_ups": 1,
            }
        )
        async with LiveServer(tuned).running() as server:
            yield server, fake


async def test_the_stored_report_counts_by_main_question_and_ignores_the_models_overall(
    live: tuple[LiveServer, FakeGemini],
) -> None:
    server, fake = live
    fake.forever("stream", Stream(chunks=("Tell me about ", "an index you added.")))
    fake.script(
        "generate",
        Reply.of(_score(4, follow_up=True)),  # question 1: worth a follow-up
        Reply.of(_score(5, follow_up=False)),  # question 2
        Reply.of(REPORT),
    )
    session = await new_session(server.http, question_count=2)
    client = InterviewClient(server.ws_url(session.interview_id), session.token)
    await client.connect()
    kinds: dict[int, str] = {}
    while True:
        frame = await client.until("turn.start", "turn.end", "ended", timeout=30)
        if frame["type"] == "ended":
            break
        if frame["type"] == "turn.start":
            kinds[frame["turn"]] = frame["kind"]
        elif kinds[frame["turn"]] == "follow_up":
            await client.send({"type": "skip", "turn": frame["turn"]})
        else:
            await client.send(
                {
                    "type": "answer",
                    "text": "I added an index on the orders table.",
                    "turn": frame["turn"],
                }
            )
    await client.close()

    report = (await session.detail())["report"]

    # Question 1: 4 and its skipped follow-up (1.0) make 2.5; question 2 is 5: 3.75, shown 3.8.
    assert report["overall_score"] == 3.8
    first, second = report["questions"]
    assert (first["score"], first["follow_ups"], second["score"]) == (2.5, 1, 5.0)
    assert [f["outcome"] for f in first["follow_up_turns"]] == ["skipped"]
    assert second["follow_up_turns"] == []
    assert first["strong_answer"] and second["strong_answer"]  # the bank's expected points
    report_request = fake.calls("generateContent")[-1]
    assert "Follow-up 1 to question 1:" in report_request.contents_text
    assert "[skipped: counts 1.0]" in report_request.contents_text


def _by_call(request: RecordedRequest) -> Reply:
    """Plan, score or report, by the response schema the request asks for."""
    properties = request.generation_config["responseSchema"]["properties"]
    if "questions" in properties:
        return Reply.of(
            {
                "questions": [
                    {
                        "question": f"Written question {n} about the payments ledger?",
                        "expected_points": [f"Ledger point {n}a", f"Ledger point {n}b", "Audit"],
                        "pitfalls": [f"Ledger pitfall {n}"],
                    }
                    for n in (1, 2)
                ]
            }
        )
    if "criteria" in properties:
        return Reply.of(_score(4, follow_up=False))
    return Reply.of(REPORT)


async def test_the_report_is_written_with_the_rubrics_stored_for_the_interview(
    live: tuple[LiveServer, FakeGemini],
) -> None:
    """Questions written from the job description have no bank entry: their stored rubrics
    reach the report prompt, and the REST report shows them."""
    server, fake = live
    fake.forever("stream", Stream(chunks=("Tell me about ", "the ledger.")))
    fake.forever("generate", _by_call)
    session = await new_session(server.http, question_count=2, job_description="Payments team.")
    client = InterviewClient(server.ws_url(session.interview_id), session.token)
    await client.connect()
    await answer_everything(client, "I designed the ledger tables and their audit trail.")
    await client.close()

    report = (await session.detail())["report"]

    assert [q["strong_answer"] for q in report["questions"]] == [
        ["Ledger point 1a", "Ledger point 1b", "Audit"],
        ["Ledger point 2a", "Ledger point 2b", "Audit"],
    ]
    report_request = next(
        r
        for r in fake.calls("generateContent")
        if "strengths" in r.generation_config["responseSchema"]["properties"]
    )
    assert "Ledger point 2b" in report_request.contents_text
