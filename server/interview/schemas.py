"""Request and response bodies of the interview endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from server.llm.base import ReplyKind
from server.protocol import Delivery
from server.store.models import AnswerSource, InterviewStatus, Level, Track, TurnKind, TurnOutcome
from server.text import Text

MAX_JOB_DESCRIPTION_CHARS = 20_000
MAX_RESUME_CHARS = 20_000
MAX_TOPICS = 10
MAX_TOPIC_CHARS = 40
# One source for the rule and the schema that shows it: letters, digits, spaces and . + # / _ -,
# at least one of them not a space. Linear to match (no nested repetition).
TOPIC_PATTERN = r"^ *[\w.+#/-][\w .+#/-]*$"

Topic = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_TOPIC_CHARS,
        pattern=TOPIC_PATTERN,
        description="Letters, digits, spaces or . + # / _ -; stored lower-cased, "
        "runs of spaces collapsed.",
        examples=["system design"],
    ),
]


def _clean_topics(topics: list[str]) -> list[str]:
    # The pattern has vetted every character; this only normalises and de-duplicates.
    cleaned: list[str] = []
    for raw in topics:
        topic = " ".join(raw.split()).lower()
        if topic not in cleaned:
            cleaned.append(topic)
    return cleaned


class InterviewCreate(BaseModel):
    # Python's regex engine for TOPIC_PATTERN, the one schema-driven clients (and our fuzz
    # tests) read it with: both agree on what a Unicode word character is.
    model_config = ConfigDict(regex_engine="python-re")

    track: Track
    level: Level
    topics: Annotated[list[Topic], AfterValidator(_clean_topics)] = Field(
        default_factory=list, max_length=MAX_TOPICS
    )
    # Normalised on arrival: see server/text.py.
    job_description: Text = Field(default="", max_length=MAX_JOB_DESCRIPTION_CHARS)
    resume_text: Text = Field(default="", max_length=MAX_RESUME_CHARS)
    question_count: int = Field(default=5, ge=1, le=15)
    answer_time_limit_s: int = Field(
        default=180, ge=30, le=1800, description="Seconds the candidate has for each answer."
    )


class DeliverySummary(BaseModel):
    """How the spoken answers of one interview were delivered, taken together."""

    answers: int = Field(ge=1, description="Spoken answers measured.")
    words_per_minute: float = Field(ge=0, description="Words over speaking time, all answers.")
    filler_words: int = Field(ge=0)
    fillers_per_minute: float = Field(ge=0, description="Filler words per minute of speaking.")
    long_pauses: int = Field(ge=0)
    speaking_ms: int = Field(ge=0)


class InterviewPublic(BaseModel):
    id: uuid.UUID
    track: Track
    level: Level
    topics: list[str]
    question_count: int
    answer_time_limit_s: int
    status: InterviewStatus
    provider: str
    model: str
    overall_score: float | None = Field(description="Set once the report exists.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    delivery: DeliverySummary | None = Field(
        description="Over the spoken answers, when there were any (for the dashboard's trend)."
    )
    criteria: dict[str, float] = Field(
        default_factory=dict,
        description="Mean score per criterion over the scored answers (for the dashboard's "
        "per-criterion trend); empty before any answer is scored.",
    )


class InterviewsPublic(BaseModel):
    items: list[InterviewPublic]
    total: int
    limit: int
    offset: int


class ScorePublic(BaseModel):
    criterion: str
    value: int = Field(ge=1, le=5)
    evidence: str
    suggestion: str
    rubric_version: str


class TurnPublic(BaseModel):
    index: int
    kind: TurnKind
    question: str
    answer: str | None
    answer_source: AnswerSource | None
    outcome: TurnOutcome | None
    asked_at: datetime
    answered_at: datetime | None
    scores: list[ScorePublic]
    delivery: Delivery | None = Field(description="For a spoken answer: how it was delivered.")
    reply: ReplyKind = Field(
        default="answer",
        description="What the reply was: an answer, or a clarifying question (not scored; the "
        "next turn answered it), or an answer read as 'I don't know' or off the question.",
    )


class FollowUpScore(BaseModel):
    """A follow-up that was asked (one never asked is not listed, and counts for nothing)."""

    question: str
    outcome: TurnOutcome
    score: float | None = Field(description="The mean of its criterion scores; None: not scored.")


class Drill(BaseModel):
    """A concrete practice exercise for one weakness of one question."""

    focus: str = Field(
        description='The weakness: a criterion, "point" (a missed expected point) or "unanswered".'
    )
    text: str


class QuestionScore(BaseModel):
    """One main question with its follow-ups folded in, as the overall score counts it."""

    number: int = Field(description="1-based main question.")
    question: str = Field(description="The main question as it was asked.")
    outcome: TurnOutcome | None = Field(description="Of the main question itself.")
    follow_ups: int
    answered: int = Field(description="Answers given to it (the question and its follow-ups).")
    unanswered: int = Field(description="Its turns skipped or timed out with nothing said.")
    score: float | None = Field(description="Counted into the overall score; None: nothing was.")
    follow_up_turns: list[FollowUpScore] = Field(
        description="Its follow-ups as they were asked, in order."
    )
    strong_answer: list[str] = Field(
        description="What a strong answer covers (the question's private rubric, shown once "
        "the interview is over); empty when the question had no rubric.",
    )
    pitfalls: list[str] = Field(description="Common mistakes on it.")
    missed_points: list[str] = Field(description="Expected points the answers left out.")
    drills: list[Drill] = Field(description="A practice exercise per weakness of this question.")


class ReportPublic(BaseModel):
    overall_score: float
    overall_rule: str = Field(description="How the overall score is computed, in words.")
    questions: list[QuestionScore] = Field(
        description="The main questions with their follow-ups, as the overall score counts them."
    )
    strengths: list[str]
    weaknesses: list[str]
    next_steps: list[str]
    rubric_version: str
    provider: str
    created_at: datetime


class SharedInterview(InterviewPublic):
    """What a share link shows: the transcript, scores and report, nothing private."""

    turns: list[TurnPublic]
    report: ReportPublic | None
    pauses: int = Field(description="Pauses the candidate took between questions.")
    paused_s: int = Field(description="Their total length; no answer clock ran meanwhile.")


class InterviewDetail(SharedInterview):
    job_description: str
    resume_text: str
    tokens_in: int
    tokens_out: int
    cost_usd: float
    share_token: str | None = Field(description="Set while the report is shared.")


class ShareLink(BaseModel):
    token: str
    path: str = Field(description="Where the shared report is shown, e.g. /shared/<token>.")
