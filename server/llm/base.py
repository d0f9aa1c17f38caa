"""The provider-neutral interviewer interface: the interview's types, call records and errors.

The engine depends on this and nothing else; the offline, stub and Gemini providers implement it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

Criterion = Literal["coverage", "structure", "specificity", "clarity"]
# Every provider scores these criteria, in this order: one scale in the UI.
CRITERIA: tuple[Criterion, ...] = get_args(Criterion)
TRACK_LABELS = {
    "backend": "backend engineering",
    "frontend": "frontend engineering",
    "data_ml": "data science and machine learning",
    "product": "product management",
    "behavioral": "behavioral",
}

CallKind = Literal["turn", "score", "report", "transcribe", "check"]
Outcome = Literal["ok", "error", "cancelled"]


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
    # An administrator's hidden note for this turn (a follow-up on its topic); never quoted.
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ReportDraft:
    overall_score: float
    strengths: list[str]
    weaknesses: list[str]
    next_steps: list[str]
    rubric_version: str


# --- usage and cost -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One provider call (all its attempts), for usage and cost accounting."""

    kind: CallKind
    model: str
    prompt_tokens: int
    output_tokens: int  # includes thinking tokens: they are billed as output
    latency_ms: int
    ttft_ms: int | None  # time to the first text (streamed turns only)
    outcome: Outcome
    error_code: str | None
    cost_micro_usd: int
    attempts: int


UsageSink = Callable[[str, CallRecord], None]
"""Receives ``(interview_id, record)`` for every finished provider call."""


def cost_micro_usd(
    model: str, prompt_tokens: int, output_tokens: int, prices: Mapping[str, tuple[float, float]]
) -> int:
    """Cost in micro-USD; ``prices`` maps a model id to USD per 1M input and output tokens."""
    price = prices.get(model) or prices.get(model.removeprefix("models/"))
    if price is None:
        return 0
    # USD per million tokens times tokens is exactly micro-USD.
    return round(prompt_tokens * price[0] + output_tokens * price[1])


# --- failures -----------------------------------------------------------------------------


class ProviderError(Exception):
    """A provider call failed for good.

    Raised after the provider's own retries are exhausted; callers must not retry the same
    call. ``code`` is short and stable (``"429"``, ``"timeout"``, ``"invalid_output"``, ...).
    ``mid_stream`` is True when a streamed turn failed after it had already yielded words.
    """

    def __init__(self, message: str, code: str = "error", *, mid_stream: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.mid_stream = mid_stream


# --- the interface ------------------------------------------------------------------------


class Interviewer(ABC):
    """Plans, speaks, scores and reports one kind of interviewer.

    Failure contract: each upstream call is retried by the provider alone, under one policy
    (attempts, backoff, deadlines). A method that still fails raises ``ProviderError``, and
    the caller must not call it again for the same work: it falls back or ends the interview.
    The one exception is a streamed turn that failed with ``mid_stream=True`` (some of its
    words were already yielded): the caller may regenerate that turn at most once. Any
    other exception is a bug, not an upstream failure.
    """

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
        """The interviewer's words for ``turn``, as they are produced.

        Raises ``ProviderError`` with ``mid_stream=False`` if no word was yielded (the caller
        must not retry the turn), or ``mid_stream=True`` if it failed after yielding words
        (the caller may regenerate the turn once). Cancelling the consuming task, or closing
        the iterator, stops the turn upstream at once.
        """

    @abstractmethod
    async def score_answer(self, brief: InterviewBrief, turn: TurnRecord) -> AnswerScore:
        """Score ``turn``'s answer on each of ``CRITERIA``.

        Raises ``ProviderError`` after the provider's own retries; the caller must not retry.
        """

    @abstractmethod
    async def build_report(
        self, brief: InterviewBrief, history: Sequence[TurnRecord]
    ) -> ReportDraft:
        """The end-of-interview feedback.

        Raises ``ProviderError`` after the provider's own retries; the caller must not retry.
        """

    async def targets(self, brief: InterviewBrief, question_id: str | None) -> tuple[str, ...]:
        """The job description and résumé terms a planned main question targets, for the
        room to show beside it; none by default."""
        return ()

    async def close(self) -> None:
        return None
