"""The Gemini report: the interview question by question, the overall score by the one rule
(never the model's number), and each question's rubric in the prompt."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from server.llm.base import AnswerScore, CriterionScore, InterviewBrief, TurnRecord
from server.llm.gemini import GeminiInterviewer
from server.llm.offline.bank import FileQuestionSource
from tests.fakes.gemini import FakeGemini, Reply

BRIEF = InterviewBrief(
    interview_id="iv-report",
    track="backend",
    level="junior",
    topics=(),
    job_description="",
    resume_text="",
    question_count=2,
)
INDEX_QUESTION = "backend-junior-03"
REPORT = {
    "overall_score": 5.0,  # a number the model should not be writing: ignored
    "strengths": ["You explained B-trees."],
    "weaknesses": ["Nothing on write costs."],
    "next_steps": ["Explain write costs.", "Name a query plan tool.", "Time your answers."],
}


def _score(value: int) -> AnswerScore:
    return AnswerScore(
        criteria=tuple(
            CriterionScore(c, value, "", "")
            for c in ("coverage", "structure", "specificity", "clarity")
        ),
        rubric_version="gemini-1",
        follow_up_worthy=False,
    )


HISTORY = [
    TurnRecord(
        0, "question", INDEX_QUESTION, "What is an index?", "A B-tree.", "answered", _score(4)
    ),
    TurnRecord(1, "follow_up", None, "How do you check it?", None, "skipped"),
    TurnRecord(
        2, "question", None, "What is a cache?", "Hot data in memory.", "answered", _score(5)
    ),
]


@pytest.fixture
async def fake() -> AsyncIterator[FakeGemini]:
    async with FakeGemini(models=("gemini-test",)) as server:
        yield server


@pytest.fixture
async def gemini(fake: FakeGemini) -> AsyncIterator[GeminiInterviewer]:
    provider = GeminiInterviewer(
        api_key="test-key",
        model="gemini-test",
        base_url=fake.base_url,
        api_version="v1beta",
        max_attempts=1,
        questions=FileQuestionSource(),
    )
    try:
        yield provider
    finally:
        await provider.close()


async def test_the_overall_score_is_computed_by_the_rule_not_taken_from_the_model(
    fake: FakeGemini, gemini: GeminiInterviewer
) -> None:
    """Question 1: 4 and a skipped follow-up (1.0) make 2.5; question 2 is 5: overall 3.8,
    whatever the model says, and the response schema asks it for no number."""
    fake.script("generate", Reply.of(REPORT))

    report = await gemini.build_report(BRIEF, HISTORY)

    assert report.overall_score == 3.8
    assert report.weaknesses == ["Nothing on write costs."]
    schema: dict[str, Any] = fake.requests[0].generation_config["responseSchema"]
    assert "overall_score" not in schema["properties"]


async def test_the_report_prompt_goes_question_by_question_with_rubric_and_scores(
    fake: FakeGemini, gemini: GeminiInterviewer
) -> None:
    """Follow-ups sit under their main question, a skipped one is marked as counted 1.0,
    a bank question's expected points come fenced, and the computed scores are given."""
    fake.script("generate", Reply.of(REPORT))

    await gemini.build_report(BRIEF, HISTORY)

    prompt = fake.requests[0].contents_text
    assert "main questions: 2, follow-ups asked: 1" in prompt
    first, second = prompt.split("Question 1 (score 2.5 of 5):")[1].split(
        "Question 2 (score 5.0 of 5):"
    )
    assert "<rubric>" in first and "Slower writes and extra storage" in first
    assert "Follow-up 1 to question 1:" in first and "[skipped: counts 1.0]" in first
    assert "<rubric>" not in second  # not a bank question, and no stored rubric given
    assert "Overall score (computed, do not restate another): 3.8" in second
    assert "never state a different overall" in fake.requests[0].system_text
