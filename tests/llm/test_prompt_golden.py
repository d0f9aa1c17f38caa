"""Golden snapshots of what the Gemini interviewer says to the model, so any prompt change
shows up in review as a diff of committed text.

For a fixed brief and history this renders the turn system instruction, the turn contents
(the first question, a later main question and a follow-up: the conversation, the state
block and the task), the scoring instruction and prompt, the planning instruction and
prompt, and the report instruction and prompt, and compares each with
``tests/llm/golden/<name>.txt``.

After an intended prompt change, regenerate the files and review their diff:

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/llm/test_prompt_golden.py

Without ``UPDATE_GOLDEN=1`` a missing or different file fails with the diff.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from google.genai import types

from server.llm.base import (
    AnswerScore,
    CriterionScore,
    InterviewBrief,
    QuestionRubric,
    ScoreContext,
    TurnRecord,
    TurnRequest,
)
from server.llm.gemini import prompts

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

BRIEF = InterviewBrief(
    interview_id="golden",
    track="backend",
    level="mid",
    topics=("databases", "caching"),
    job_description="Payments team: Python, PostgreSQL and Redis behind high-volume APIs.",
    resume_text="Five years at Acme building checkout services in Python.",
    question_count=3,
)
RUBRIC_1 = QuestionRubric(
    number=1,
    question_id="backend-mid-golden-1",
    question="How would you make a slow checkout endpoint faster?",
    expected_points=(
        "Measure first: find where the time goes",
        "Index or rewrite the slow query",
        "Cache what is read often, with invalidation",
    ),
    pitfalls=("Caching everything without thinking about invalidation",),
)
RUBRIC_2 = QuestionRubric(
    number=2,
    question_id=None,
    question="How do you make a payment API safe to retry?",
    expected_points=("Idempotency keys", "Store the first result and return it on a retry"),
    pitfalls=("POST is idempotent",),
)
ANSWER_1 = (
    "First I measured p95 latency with tracing and found one query scanning the orders "
    "table. We added an index and a Redis cache with a 60 second TTL, and p95 fell from "
    "900 ms to 120 ms."
)
FOLLOW_UP_ANSWER = "We invalidated the cache entry whenever an order changed."


def _score(values: Sequence[int]) -> AnswerScore:
    return AnswerScore(
        criteria=tuple(
            CriterionScore(c, v, "found one query scanning the orders table", f"More {c}.")
            for c, v in zip(
                ("coverage", "structure", "specificity", "clarity"), values, strict=True
            )
        ),
        rubric_version="gemini-golden",
        follow_up_worthy=True,
    )


TURN_1 = TurnRecord(
    0,
    "question",
    "backend-mid-golden-1",
    RUBRIC_1.question,
    ANSWER_1,
    "answered",
    replace(
        _score((4, 4, 5, 4)),
        notes="Measured before changing anything; said nothing about cache invalidation.",
        follow_up_focus="how the cache stays correct when an order changes",
    ),
)
FOLLOW_UP = TurnRecord(
    1,
    "follow_up",
    None,
    "How did you keep the cache correct?",
    FOLLOW_UP_ANSWER,
    "answered",
    replace(_score((3, 3, 2, 4)), incorrect_statements=("A TTL alone keeps a cache correct",)),
)
TURN_2 = TurnRecord(2, "question", None, RUBRIC_2.question, None, "skipped")
HISTORY = [TURN_1, FOLLOW_UP, TURN_2]


def _contents(contents: Sequence[types.Content]) -> str:
    blocks = []
    for content in contents:
        text = "\n".join(part.text or "" for part in content.parts or ())
        blocks.append(f"[{content.role}]\n{text}")
    return "\n\n".join(blocks)


def _renders() -> dict[str, Callable[[], str]]:
    first = TurnRequest(0, "question", 1, RUBRIC_1.question_id, True, rubric=RUBRIC_1)
    follow_up = TurnRequest(1, "follow_up", 1, None, False, rubric=RUBRIC_1)
    main = TurnRequest(2, "question", 2, None, False, rubric=RUBRIC_2)
    return {
        "turn_system_instruction": lambda: prompts.turn_system_instruction(BRIEF),
        "turn_first": lambda: _contents(prompts.turn_contents(BRIEF, [], first, RUBRIC_1.question)),
        "turn_follow_up": lambda: _contents(prompts.turn_contents(BRIEF, [TURN_1], follow_up)),
        "turn_main": lambda: _contents(
            prompts.turn_contents(BRIEF, [TURN_1, FOLLOW_UP], main, RUBRIC_2.question)
        ),
        "score_system_instruction": prompts.score_system_instruction,
        "score_prompt_follow_up": lambda: prompts.score_prompt(
            BRIEF, FOLLOW_UP, ScoreContext(rubric=RUBRIC_1, parent=TURN_1)
        ),
        "plan_system_instruction": prompts.plan_system_instruction,
        "plan_prompt": lambda: prompts.plan_prompt(BRIEF),
        "report_system_instruction": prompts.report_system_instruction,
        "report_prompt": lambda: prompts.report_prompt(BRIEF, HISTORY, [RUBRIC_1, RUBRIC_2]),
    }


def check_golden(path: Path, rendered: str, *, update: bool) -> None:
    """Compare ``rendered`` with the file at ``path`` (or write it when ``update``)."""
    text = rendered.rstrip("\n") + "\n"
    if update:
        path.write_text(text, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"{path} is missing: run with UPDATE_GOLDEN=1 to write it, then review it")
    expected = path.read_text(encoding="utf-8")
    if expected != text:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                text.splitlines(keepends=True),
                f"{path.name} (committed)",
                f"{path.name} (rendered now)",
            )
        )
        pytest.fail(
            f"the prompt changed; if intended, rerun with UPDATE_GOLDEN=1 and commit:\n{diff}"
        )


@pytest.mark.parametrize("name", sorted(_renders()))
def test_the_prompt_matches_its_golden_snapshot(name: str) -> None:
    """What the model is told for the fixed brief and history is exactly the committed text."""
    check_golden(GOLDEN / f"{name}.txt", _renders()[name](), update=UPDATE)


def test_every_golden_file_belongs_to_a_rendered_prompt() -> None:
    """A renamed or dropped prompt leaves no stale snapshot behind."""
    assert sorted(p.stem for p in GOLDEN.glob("*.txt")) == sorted(_renders())


def test_a_changed_prompt_fails_with_its_diff(tmp_path: Path) -> None:
    """The comparison itself can fail: one changed word is reported as a diff."""
    golden = tmp_path / "prompt.txt"
    check_golden(golden, "Ask one question.", update=True)

    with pytest.raises(pytest.fail.Exception) as failure:
        check_golden(golden, "Ask two questions.", update=False)

    assert "-Ask one question." in str(failure.value)
    assert "+Ask two questions." in str(failure.value)
    with pytest.raises(pytest.fail.Exception, match="UPDATE_GOLDEN=1"):
        check_golden(tmp_path / "missing.txt", "text", update=False)
