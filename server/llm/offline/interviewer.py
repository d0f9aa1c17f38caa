"""The offline interviewer, the embedded default: no key, no network, and its words streamed
one at a time at a configurable pace, so the experience matches a real model's stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from functools import cached_property
from pathlib import Path

from server.llm.base import (
    TRACK_LABELS,
    AnswerScore,
    InterviewBrief,
    Interviewer,
    ReportDraft,
    TurnRecord,
    TurnRequest,
)
from server.llm.offline import report, scoring
from server.llm.offline.bank import BANK_DIR, BankQuestion, load_bank, select_questions

TRANSITIONS = (
    "Thank you. Let's move on.",
    "Thanks, that's helpful. Next question.",
    "Good. Here's the next one.",
    "Thanks for walking me through that. Moving on.",
)


class OfflineInterviewer(Interviewer):
    """Never raises ``ProviderError``: it has no upstream to fail."""

    name = "offline"
    model = "offline-v1"
    offline = True

    def __init__(self, *, pace_ms: int = 40, bank_dir: Path = BANK_DIR) -> None:
        self.pace_s = pace_ms / 1000
        self.bank_dir = bank_dir

    @cached_property
    def bank(self) -> dict[str, list[BankQuestion]]:
        return load_bank(self.bank_dir)

    @cached_property
    def _by_id(self) -> dict[str, BankQuestion]:
        return {q.id: q for questions in self.bank.values() for q in questions}

    def question(self, question_id: str | None) -> BankQuestion | None:
        return self._by_id.get(question_id or "")

    async def plan(self, brief: InterviewBrief) -> list[str | None]:
        chosen = select_questions(
            self.bank,
            track=brief.track,
            level=brief.level,
            topics=brief.topics,
            count=brief.question_count,
            seed=brief.interview_id,
        )
        return [q.id for q in chosen]

    def turn_text(
        self, brief: InterviewBrief, history: Sequence[TurnRecord], turn: TurnRequest
    ) -> str:
        question = self.question(turn.question_id)
        if turn.kind == "follow_up":
            previous = next(
                (t for t in reversed(history) if t.answer and t.question_id == turn.question_id),
                None,
            )
            if question is None or previous is None or previous.answer is None:
                return "Could you give me a concrete example of that from your own work?"
            scores = previous.score.criteria if previous.score else ()
            return scoring.follow_up_text(question, previous.answer, scores)
        body = question.text if question else "Tell me about a project you are proud of."
        if turn.is_first:
            label = TRACK_LABELS.get(brief.track, brief.track)
            plural = "question" if brief.question_count == 1 else "questions"
            return (
                f"Hello, and welcome. I'll be your interviewer for this {brief.level}-level "
                f"{label} practice interview: {brief.question_count} {plural}, one at a time. "
                f"Take your time with each answer. Let's begin. {body}"
            )
        transition = TRANSITIONS[turn.index % len(TRANSITIONS)]
        return f"{transition} Question {turn.question_number} of {brief.question_count}. {body}"

    async def stream_turn(
        self, brief: InterviewBrief, history: Sequence[TurnRecord], turn: TurnRequest
    ) -> AsyncIterator[str]:
        words = self.turn_text(brief, history, turn).split(" ")
        for position, word in enumerate(words):
            if position and self.pace_s:
                await asyncio.sleep(self.pace_s)
            yield word if position == len(words) - 1 else word + " "

    async def score_answer(self, brief: InterviewBrief, turn: TurnRecord) -> AnswerScore:
        question = self.question(turn.question_id) or _fallback_question(brief, turn)
        answer = turn.answer or ""
        scores = scoring.score_answer(question, answer)
        return AnswerScore(
            criteria=tuple(scores),
            rubric_version=scoring.RUBRIC_VERSION,
            follow_up_worthy=turn.kind == "question"
            and scoring.needs_follow_up(question, answer, scores),
        )

    async def build_report(
        self, brief: InterviewBrief, history: Sequence[TurnRecord]
    ) -> ReportDraft:
        turns = [
            (
                self.question(t.question_id),
                t.answer if t.outcome == "answered" else None,
                t.score.criteria if t.score else (),
            )
            for t in history
        ]
        return report.build_report(turns, track=brief.track)


def _fallback_question(brief: InterviewBrief, turn: TurnRecord) -> BankQuestion:
    """A question record for text that is not in the bank (e.g. a follow-up after a takeover)."""
    return BankQuestion(
        id="adhoc",
        track=brief.track,
        level=brief.level,
        topics=(),
        text=turn.question,
        points=(),
        follow_up="Can you give me a specific example?",
    )
