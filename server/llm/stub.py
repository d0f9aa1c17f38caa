"""A synthetic interviewer for benchmarks: N tokens at a fixed pace, instant scoring.

Each token is ``t<unix-ms> `` with the moment it was yielded, so a load client can
measure provider-yield → client-receive latency per token.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence

from server.llm.base import (
    AnswerScore,
    CriterionScore,
    InterviewBrief,
    Interviewer,
    QuestionRubric,
    ReportDraft,
    ScoreContext,
    TurnRecord,
    TurnRequest,
)


class StubInterviewer(Interviewer):
    name = "stub"
    model = "stub-v1"
    offline = True

    def __init__(self, *, tokens: int = 200, interval_ms: float = 20.0) -> None:
        self.tokens = tokens
        self.interval_s = interval_ms / 1000

    async def plan(self, brief: InterviewBrief) -> list[QuestionRubric]:
        return [
            QuestionRubric(n, None, f"Benchmark question {n}.", ("a benchmark point",), ())
            for n in range(1, brief.question_count + 1)
        ]

    async def stream_turn(
        self, brief: InterviewBrief, history: Sequence[TurnRecord], turn: TurnRequest
    ) -> AsyncIterator[str]:
        started = time.monotonic()
        for i in range(self.tokens):
            # Deadline pacing: a slow loop catches up instead of drifting.
            wait = started + i * self.interval_s - time.monotonic()
            # Always yield to the loop, even when behind: a real stream awaits the network.
            await asyncio.sleep(max(0.0, wait))
            yield f"t{time.time() * 1000:.1f} "

    async def score_answer(
        self, brief: InterviewBrief, turn: TurnRecord, context: ScoreContext | None = None
    ) -> AnswerScore:
        quote = (turn.answer or "")[:40]
        return AnswerScore(
            criteria=(CriterionScore("coverage", 3, quote, "Benchmark answer."),),
            rubric_version="stub-1",
            follow_up_worthy=False,
        )

    async def build_report(
        self,
        brief: InterviewBrief,
        history: Sequence[TurnRecord],
        rubrics: Sequence[QuestionRubric] = (),
    ) -> ReportDraft:
        return ReportDraft(3.0, ["Benchmark"], ["Benchmark"], ["a", "b", "c"], "stub-1")
