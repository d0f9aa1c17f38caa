"""The offline interviewer: the curated question bank, rule-based follow-ups and scoring.

No key and no network: the embedded default. Its words are streamed one at a time
at a configurable pace so the experience matches a real model's stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from functools import cached_property
from pathlib import Path

from server.llm import offline_rules as rules
from server.llm.base import (
    AnswerScore,
    CriterionScore,
    InterviewBrief,
    Interviewer,
    ReportDraft,
    TurnRecord,
    TurnRequest,
)

BANK_DIR = Path(__file__).resolve().parent / "bank"
TRACK_LABELS = {
    "backend": "backend engineering",
    "frontend": "frontend engineering",
    "data_ml": "data science and machine learning",
    "product": "product management",
    "behavioral": "behavioral",
}
TRANSITIONS = (
    "Thank you. Let's move on.",
    "Thanks, that's helpful. Next question.",
    "Good. Here's the next one.",
    "Thanks for walking me through that. Moving on.",
)


class OfflineInterviewer(Interviewer):
    name = "offline"
    model = "offline-v1"
    offline = True

    def __init__(self, *, pace_ms: int = 40, bank_dir: Path = BANK_DIR) -> None:
        self.pace_s = pace_ms / 1000
        self.bank_dir = bank_dir

    @cached_property
    def bank(self) -> dict[str, list[rules.BankQuestion]]:
        return rules.load_bank(self.bank_dir)

    @cached_property
    def _by_id(self) -> dict[str, rules.BankQuestion]:
        return {q.id: q for questions in self.bank.values() for q in questions}

    def question(self, question_id: str | None) -> rules.BankQuestion | None:
        return self._by_id.get(question_id or "")

    async def plan(self, brief: InterviewBrief) -> list[str | None]:
        chosen = rules.select_questions(
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
            scores = [
                rules.CriterionScore(c.criterion, c.value, c.evidence, c.suggestion)
                for c in (previous.score.criteria if previous.score else ())
            ]
            return rules.follow_up_text(question, previous.answer, scores)
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
        scores = rules.score_answer(question, answer)
        return AnswerScore(
            criteria=tuple(
                CriterionScore(s.criterion, s.value, s.evidence, s.suggestion) for s in scores
            ),
            rubric_version=rules.RUBRIC_VERSION,
            follow_up_worthy=turn.kind == "question"
            and rules.needs_follow_up(question, answer, scores),
        )

    async def build_report(
        self, brief: InterviewBrief, history: Sequence[TurnRecord]
    ) -> ReportDraft:
        turns = [
            (
                self.question(t.question_id),
                t.answer if t.outcome == "answered" else None,
                [
                    rules.CriterionScore(c.criterion, c.value, c.evidence, c.suggestion)
                    for c in (t.score.criteria if t.score else ())
                ],
            )
            for t in history
        ]
        draft = rules.build_report(turns, track=brief.track)
        return ReportDraft(
            overall_score=draft.overall_score,
            strengths=list(draft.strengths),
            weaknesses=list(draft.weaknesses),
            next_steps=list(draft.next_steps),
            rubric_version=rules.RUBRIC_VERSION,
        )


def _fallback_question(brief: InterviewBrief, turn: TurnRecord) -> rules.BankQuestion:
    """A question record for text that is not in the bank (e.g. a follow-up after a takeover)."""
    return rules.BankQuestion(
        id="adhoc",
        track=brief.track,
        level=brief.level,
        topics=(),
        text=turn.question,
        points=(),
        follow_up="Can you give me a specific example?",
    )
