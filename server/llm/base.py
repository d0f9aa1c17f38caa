"""The interviewer provider interface: stream a turn, score an answer, build a report.

The engine depends on this and nothing else; ``offline.py`` (the embedded default),
``stub.py`` (benchmarks) and the Gemini provider implement it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class InterviewBrief:
    """What the interviewer knows about the interview it runs."""

    interview_id: str
    track: str
    level: str
    topics: tuple[str, ...]
    job_description: str
    resume_text: str
    question_count: int


@dataclass(frozen=True, slots=True)
class CriterionScore:
    criterion: str
    value: int  # 1..5
    evidence: str  # a quote from the answer
    suggestion: str


@dataclass(frozen=True, slots=True)
class AnswerScore:
    criteria: tuple[CriterionScore, ...]
    rubric_version: str
    follow_up_worthy: bool  # the answer leaves something worth probing

    @property
    def average(self) -> float:
        if not self.criteria:
            return 0.0
        return round(sum(c.value for c in self.criteria) / len(self.criteria), 2)


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """A finished turn as the interviewer sees it."""

    index: int
    kind: Literal["question", "follow_up"]
    question_id: str | None
    question: str
    answer: str | None
    outcome: Literal["answered", "skipped", "timed_out"]
    score: AnswerScore | None = None


@dataclass(frozen=True, slots=True)
class TurnRequest:
    """The turn the engine wants spoken next."""

    index: int
    kind: Literal["question", "follow_up"]
    question_number: int  # 1-based number of the main question this turn belongs to
    question_id: str | None  # for main questions from a plan
    is_first: bool


@dataclass(frozen=True, slots=True)
class ReportDraft:
    overall_score: float
    strengths: list[str]
    weaknesses: list[str]
    next_steps: list[str]
    rubric_version: str


class Interviewer(ABC):
    name: str
    model: str
    offline: bool

    @abstractmethod
    async def plan(self, brief: InterviewBrief) -> list[str | None]:
        """One entry per main question: a question id to ask, or None to let the model choose."""

    @abstractmethod
    def stream_turn(
        self, brief: InterviewBrief, history: Sequence[TurnRecord], turn: TurnRequest
    ) -> AsyncIterator[str]:
        """The interviewer's words for ``turn``, as they are produced."""

    @abstractmethod
    async def score_answer(self, brief: InterviewBrief, turn: TurnRecord) -> AnswerScore: ...

    @abstractmethod
    async def build_report(
        self, brief: InterviewBrief, history: Sequence[TurnRecord]
    ) -> ReportDraft: ...

    async def close(self) -> None:
        return None
