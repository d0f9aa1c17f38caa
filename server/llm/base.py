"""The provider-neutral interviewer interface: the interview's types, call records and errors.

The engine depends on this and nothing else; the offline, stub and Gemini providers implement it.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
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

CallKind = Literal["plan", "turn", "score", "report", "transcribe", "check"]
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
class QuestionRubric:
    """The interviewer's private rubric for one main question: what a strong answer covers
    and the usual mistakes. Given to the scorer and, as hidden context, to the interviewer;
    never shown to the candidate before the report."""

    number: int  # 1-based main question
    question_id: str | None  # the bank question, or None for one written for this interview
    question: str  # the question as planned (the interviewer poses it in its own words)
    expected_points: tuple[str, ...]
    pitfalls: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CriterionScore:
    criterion: str
    value: int  # 1..5
    evidence: str  # a quote from the answer
    suggestion: str


ReplyKind = Literal["answer", "clarification", "dont_know", "off_topic"]
# What a candidate's reply was: an answer is scored; a clarifying question is answered and
# the same question stays open; "I don't know" is scaffolded; off-topic is redirected.
REPLY_KINDS: tuple[ReplyKind, ...] = get_args(ReplyKind)


@dataclass(frozen=True, slots=True)
class AnswerScore:
    criteria: tuple[CriterionScore, ...]
    rubric_version: str
    follow_up_worthy: bool  # the answer leaves something worth probing
    reply: ReplyKind = "answer"
    # Wrong claims found in the answer; any caps coverage (see ``cap_coverage``).
    incorrect_statements: tuple[str, ...] = ()
    # The interviewer's private notes on the answer: never shown to the candidate live.
    notes: str = ""
    # What a follow-up should probe (a vague claim, a missing result, a wrong statement).
    follow_up_focus: str | None = None

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
class ScoreContext:
    """What the scorer knows beside the answer: the main question's private rubric and, for
    a follow-up (or an answer after a clarification), the main question and its answer."""

    rubric: QuestionRubric | None = None
    parent: TurnRecord | None = None


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
    # The main question's private rubric: hidden context, never quoted to the candidate.
    rubric: QuestionRubric | None = None


@dataclass(frozen=True, slots=True)
class ReportDraft:
    overall_score: float
    strengths: list[str]
    weaknesses: list[str]
    next_steps: list[str]
    rubric_version: str


def cap_coverage(score: AnswerScore) -> AnswerScore:
    """An answer that states something wrong cannot score above ``WRONG_COVERAGE_CAP`` on
    coverage, whatever the scorer said: the rule is kept here, not left to a prompt."""
    if not score.incorrect_statements:
        return score
    capped = tuple(
        replace(c, value=min(c.value, WRONG_COVERAGE_CAP)) if c.criterion == "coverage" else c
        for c in score.criteria
    )
    return replace(score, criteria=capped)


WRONG_COVERAGE_CAP = 2

# "We" recounting past work ("we rebuilt", "we've added"), not a hypothetical ("we would").
_WE_DID = re.compile(
    r"\bwe(?:'ve| have)?\s+(?:(?:also|then|just|finally)\s+)?(?:\w+ed|built|did|made|had|wrote"
    r"|ran|led|chose|took|found|went|got|began|kept|set|cut|put|sent|spent|brought|bought|won"
    r"|rebuilt|rewrote|split|shipped|swapped)\b",
    re.IGNORECASE,
)
_I = re.compile(r"\b(?:i|i'm|i've|i'd|my|me)\b", re.IGNORECASE)


def says_we_not_i(answer: str) -> bool:
    """The answer recounts work as the team's ("we rebuilt ...") and never says what the
    candidate did ("I"): worth asking what they personally did. A hypothetical "we would"
    is not a story about the candidate's work."""
    text = answer.replace("\u2019", "'")
    return bool(_WE_DID.search(text)) and not _I.search(text)


PERSONAL_ROLE_FOCUS = (
    'the candidate said "we" throughout: what they personally did, decided and owned'
)


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
    # Of ``prompt_tokens``, those read from a context cache (billed at the cached price).
    cached_tokens: int = 0


UsageSink = Callable[[str, CallRecord], None]
"""Receives ``(interview_id, record)`` for every finished provider call."""


Prices = Mapping[str, tuple[float, ...]]
"""A model id to USD per 1M input, output and (optionally) cached input tokens."""


def cost_micro_usd(
    model: str, prompt_tokens: int, output_tokens: int, prices: Prices, cached_tokens: int = 0
) -> int:
    """Cost in micro-USD. ``cached_tokens`` are the part of ``prompt_tokens`` read from a
    context cache: charged at the cached price (a price entry without one: the input price)."""
    price = prices.get(model) or prices.get(model.removeprefix("models/"))
    if price is None:
        return 0
    # USD per million tokens times tokens is exactly micro-USD.
    cached = min(max(cached_tokens, 0), prompt_tokens)
    cached_price = price[2] if len(price) > 2 else price[0]
    return round(
        (prompt_tokens - cached) * price[0] + cached * cached_price + output_tokens * price[1]
    )


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


class TurnBlocked(ProviderError):
    """The model would not speak the turn (a safety or other block, or no text), even when
    asked again in other words. Nothing was said: the caller speaks ``planned_question`` (the
    planned main question's text, if any) or a neutral question of its own, and goes on."""

    def __init__(self, message: str, *, planned_question: str | None = None) -> None:
        super().__init__(message, "blocked")
        self.planned_question = planned_question


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
    async def plan(self, brief: InterviewBrief) -> list[QuestionRubric]:
        """One entry per main question, with its private rubric: a bank question (its id) or
        one written for this interview (no id). The engine stores the plan with the interview,
        so a resumed interview keeps it; it is never shown to the candidate before the report."""

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
    async def score_answer(
        self, brief: InterviewBrief, turn: TurnRecord, context: ScoreContext | None = None
    ) -> AnswerScore:
        """Score ``turn``'s answer on each of ``CRITERIA`` (against ``context``'s rubric, and
        for a follow-up its main question), and say what kind of reply it was.

        Raises ``ProviderError`` after the provider's own retries; the caller must not retry.
        """

    @abstractmethod
    async def build_report(
        self,
        brief: InterviewBrief,
        history: Sequence[TurnRecord],
        rubrics: Sequence[QuestionRubric] = (),
    ) -> ReportDraft:
        """The end-of-interview feedback, written with the main questions' ``rubrics`` (the
        plan stored with the interview) when given.

        Raises ``ProviderError`` after the provider's own retries; the caller must not retry.
        """

    async def targets(self, brief: InterviewBrief, question_id: str | None) -> tuple[str, ...]:
        """The job description and résumé terms a planned main question targets, for the
        room to show beside it; none by default."""
        return ()

    async def end_interview(self, interview_id: str) -> None:
        """The interview is over: release what the provider holds for it (a context cache).
        Never raises."""
        return None

    async def close(self) -> None:
        return None
