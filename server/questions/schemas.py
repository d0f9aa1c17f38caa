"""Request and response bodies of the question bank's admin endpoints.

Bounds here are the API's; the bank's own rules (``server.llm.offline.bank.parse_question``:
non-empty fields, 3-5 points, STAR points for behavioral questions) run after them, the same
rules the shipped TOML files pass.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from server.interview import schemas as interview_schemas
from server.llm.offline.bank import (
    MAX_MISCONCEPTIONS,
    MAX_MODEL_SENTENCES,
    MAX_POINTS,
    MIN_POINTS,
)
from server.store.models import Level, Track
from server.text import NonBlankText

# Starts with a letter and has a hyphen ("backend-junior-01", "data_ml-007"), so an id is
# never one of the collection's own words ("export", "import").
QUESTION_ID_REGEX = r"[a-z][a-z0-9_]*(?:-[a-z0-9_]+)+"
QUESTION_ID_PATTERN = rf"^{QUESTION_ID_REGEX}$"
MAX_QUESTION_ID_CHARS = 64  # turn.question_id
MAX_TEXT_CHARS = 2000
MAX_FOLLOW_UP_CHARS = 1000
MAX_POINT_CHARS = 200
MAX_KEYWORDS = 20
MAX_KEYWORD_CHARS = 60
MAX_IMPORT_QUESTIONS = 500
MAX_MODEL_SENTENCE_CHARS = 400
MAX_CLAIM_CHARS = 200
MAX_CHALLENGE_CHARS = 400
MAX_SEARCH_CHARS = 100

QuestionId = Annotated[
    str,
    Field(
        min_length=3,
        max_length=MAX_QUESTION_ID_CHARS,
        pattern=QUESTION_ID_PATTERN,
        description="Lower-case letters, digits and _, in parts joined by hyphens.",
        examples=["backend-junior-01"],
    ),
]
Keyword = Annotated[NonBlankText, Field(min_length=1, max_length=MAX_KEYWORD_CHARS)]


class _Strict(BaseModel):
    # Python's regex engine for the patterns, as in InterviewCreate; unknown keys refused,
    # as the TOML loader refuses them.
    model_config = ConfigDict(regex_engine="python-re", extra="forbid")


class BankPointBody(_Strict):
    point: NonBlankText = Field(min_length=1, max_length=MAX_POINT_CHARS)
    keywords: list[Keyword] = Field(
        min_length=1,
        max_length=MAX_KEYWORDS,
        description="Matched as whole words of an answer, stemmed and typo-tolerant "
        "(stored lower-cased).",
    )


class MisconceptionBody(_Strict):
    claim: NonBlankText = Field(min_length=1, max_length=MAX_CLAIM_CHARS)
    cues: list[Keyword] = Field(
        min_length=1,
        max_length=MAX_KEYWORDS,
        description="Phrases that signal an answer asserts the claim, matched as whole words "
        "(stemmed, typo-tolerant, any order).",
    )
    challenge: str = Field(
        default="",
        max_length=MAX_CHALLENGE_CHARS,
        description="The follow-up question that exposes the claim; a generic one when empty.",
    )


ModelSentence = Annotated[NonBlankText, Field(min_length=1, max_length=MAX_MODEL_SENTENCE_CHARS)]


class QuestionFields(_Strict):
    """What an admin writes about a question."""

    level: Level
    topics: list[interview_schemas.Topic] = Field(
        min_length=1, max_length=interview_schemas.MAX_TOPICS
    )
    text: NonBlankText = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    points: list[BankPointBody] = Field(
        min_length=MIN_POINTS,
        max_length=MAX_POINTS,
        description="What a strong answer covers; for behavioral questions each starts with "
        "its STAR element (Situation, Task, Action, Result, Reflection or Learning).",
    )
    follow_up: NonBlankText = Field(min_length=1, max_length=MAX_FOLLOW_UP_CHARS)
    model_answer: list[ModelSentence] | None = Field(
        default=None,
        max_length=MAX_MODEL_SENTENCES,
        description="One to three sentences of a strong answer. Left out: kept as stored "
        "(none for a new question).",
    )
    misconceptions: list[MisconceptionBody] | None = Field(
        default=None,
        max_length=MAX_MISCONCEPTIONS,
        description="Common wrong claims: asserting one lowers coverage and is named in the "
        "feedback. Left out: kept as stored (none for a new question).",
    )


class QuestionCreate(QuestionFields):
    track: Track
    id: QuestionId | None = Field(
        default=None, description='Generated as "<track>-<nnn>" when left out.'
    )


class QuestionUpdate(QuestionFields):
    track: Track
    version: int | None = Field(
        default=None,
        ge=1,
        description="The version this edit was made from: 409 if the question changed since.",
    )


class BankPointPublic(BaseModel):
    point: str
    keywords: list[str]


class MisconceptionPublic(BaseModel):
    claim: str
    cues: list[str]
    challenge: str


class QuestionPublic(BaseModel):
    id: str
    track: Track
    level: Level
    topics: list[str]
    text: str
    points: list[BankPointPublic]
    follow_up: str
    model_answer: list[str]
    misconceptions: list[MisconceptionPublic]
    version: int = Field(description="Goes up by one with every change.")
    retired_at: datetime | None = Field(description="Set while retired: not planned any more.")
    created_at: datetime
    updated_at: datetime
    updated_by: uuid.UUID | None = Field(description="The admin who changed it last.")


class QuestionsPublic(BaseModel):
    items: list[QuestionPublic]
    total: int
    limit: int
    offset: int


class BankFileQuestion(QuestionFields):
    """One ``[[question]]`` of a bank file."""

    id: QuestionId


class BankFile(_Strict):
    """A track's questions in the shipped files' shape (``server/llm/bank/<track>.toml``)."""

    track: Track
    version: Literal[1] = Field(default=1, description="The file format's version.")
    question: list[BankFileQuestion] = Field(max_length=MAX_IMPORT_QUESTIONS)


class ImportResult(BaseModel):
    """What an import did: every question is created, updated or unchanged."""

    created: int
    updated: int
    unchanged: int
    created_ids: list[str]
    updated_ids: list[str]
