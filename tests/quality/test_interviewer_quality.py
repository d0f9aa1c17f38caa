"""The interviewer's quality, measured: a simulated candidate per persona goes through whole
interviews over the real gateway and engine, and the grader's checklist
(``tests/quality/checklist.py``) scores the interviewer.

Two runs share the same code:

- against the fake Gemini API (always, in the normal suite): the plumbing. A scripted
  interviewer that follows the rules passes for every persona, and one scripted to break
  each rule is caught by the checklist;
- against real Gemini (``-m quality``, opt-in, needs ``GEMINI_API_KEY``; the model is
  ``INTERVIEW_GEMINI_MODEL`` or the default): the interviewer itself. Without a key it is
  skipped, and the summary says why.

    GEMINI_API_KEY=... .venv/bin/pytest tests/quality -m quality -p no:cacheprovider
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from server.config import Settings
from tests.fakes.gemini import FakeGemini
from tests.quality import personas
from tests.quality.checklist import grade
from tests.quality.fake_interviewer import Misbehaviour, ScriptedInterviewer
from tests.quality.harness import play
from tests.wsclient import LiveServer


@pytest.fixture
async def fake() -> AsyncIterator[FakeGemini]:
    async with FakeGemini(models=("gemini-test",)) as server:
        yield server


def _on_fake(settings: Settings, fake: FakeGemini) -> Settings:
    return settings.model_copy(
        update={
            "gemini_api_key": SecretStr("test-key"),
            "gemini_model": "gemini-test",
            "gemini_base_url": fake.base_url,
            "gemini_api_version": "v1beta",
            "gemini_prices": {"gemini-test": (1.0, 4.0)},
            "gemini_fallback_offline": False,  # grade Gemini's interviewer, never the offline one
            "max_follow_ups": 1,
        }
    )


@pytest.mark.parametrize("persona", personas.PERSONAS)
async def test_a_well_behaved_interviewer_passes_the_checklist_for_every_persona(
    settings: Settings, fake: FakeGemini, persona: str
) -> None:
    """The whole loop runs: personas answer, the engine scores and reports, the checklist
    grades, and an interviewer that keeps the rules has nothing flagged."""
    ScriptedInterviewer(fake)
    async with LiveServer(_on_fake(settings, fake)).running() as live:
        played = await play(live, persona)

    assert played.detail["status"] == "finished"
    assert played.transcript.report is not None
    assert {t.intent for t in played.transcript.turns} >= {
        personas.answer(persona, "question", None).intent
    }
    result = grade(played.transcript)
    assert result.passed, result.summary()


@pytest.mark.parametrize(
    ("misbehaviour", "persona", "check"),
    [
        (Misbehaviour(two_questions=True), "strong", "one_question_per_turn"),
        (Misbehaviour(leak_point=True), "weak", "no_leaked_answers"),
        (Misbehaviour(reward_wrong_claims=True), "confidently_wrong", "wrong_claims_challenged"),
        (Misbehaviour(invent_report_score=True), "strong", "report_consistent"),
    ],
    ids=["two-questions", "leaked-point", "rewarded-wrong-claim", "invented-score"],
)
async def test_the_checklist_flags_an_interviewer_scripted_to_misbehave(
    settings: Settings, fake: FakeGemini, misbehaviour: Misbehaviour, persona: str, check: str
) -> None:
    """Each broken rule, in a whole interview, is flagged by its own check and no other."""
    ScriptedInterviewer(fake, misbehaviour)
    async with LiveServer(_on_fake(settings, fake)).running() as live:
        played = await play(live, persona)

    result = grade(played.transcript)
    assert result.failed(check), result.summary()
    assert {f.check for f in result.findings} == {check}, result.summary()


@pytest.mark.quality
@pytest.mark.parametrize("persona", personas.PERSONAS)
async def test_gemini_passes_the_checklist(settings: Settings, persona: str) -> None:
    """Real Gemini as the interviewer, graded on every persona (opt-in: costs tokens)."""
    key = os.environ.get("GEMINI_API_KEY")
    if not key:
        pytest.skip("no GEMINI_API_KEY: the quality suite against real Gemini needs a key")
    update: dict[str, object] = {
        "gemini_api_key": SecretStr(key),
        "gemini_base_url": None,
        "gemini_fallback_offline": False,
        "max_follow_ups": 1,
    }
    if os.environ.get("INTERVIEW_GEMINI_MODEL"):
        update["gemini_model"] = os.environ["INTERVIEW_GEMINI_MODEL"]
    async with LiveServer(settings.model_copy(update=update)).running() as live:
        played = await play(live, persona, timeout_s=180.0)

    result = grade(played.transcript)
    print(f"\n[{persona}] {result.summary()}")
    assert result.passed, result.summary()
