"""The question bank's admin operations on the database: list and search, create, edit,
retire and restore, import and export. Each runs in the caller's session; the caller writes
the audit entry in the same transaction, commits, then tells the bank (``QuestionBank.changed``).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Text, cast, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from server.errors import Conflict, NotFound
from server.llm.offline.bank import BankError, BankQuestion, parse_question
from server.questions.bank import as_bank_question
from server.questions.schemas import (
    BankFile,
    BankPointPublic,
    MisconceptionPublic,
    QuestionCreate,
    QuestionFields,
    QuestionPublic,
    QuestionUpdate,
)
from server.store.models import Level, Question, Track

# The content an edit can change (and an import compares).
CONTENT_FIELDS = (
    "track",
    "level",
    "topics",
    "text",
    "points",
    "follow_up",
    "model_answer",
    "misconceptions",
)
GENERATED_ID_ATTEMPTS = 5


@dataclass(frozen=True)
class FieldProblem:
    """One reason a question was refused, where it is in the request body."""

    loc: tuple[str | int, ...]
    msg: str


class InvalidQuestions(Exception):
    """Questions that break the bank's rules; nothing was written."""

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        super().__init__("; ".join(p.msg for p in problems))
        self.problems = list(problems)


@dataclass
class ImportOutcome:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def not_found(question_id: str) -> NotFound:
    return NotFound(f"No question has the id {question_id!r}.")


def public(row: Question) -> QuestionPublic:
    return QuestionPublic(
        id=row.id,
        track=row.track,
        level=row.level,
        topics=list(row.topics),
        text=row.text,
        points=[BankPointPublic.model_validate(p) for p in row.points],
        follow_up=row.follow_up,
        model_answer=list(row.model_answer or ()),
        misconceptions=[
            MisconceptionPublic.model_validate({"challenge": "", **m})
            for m in row.misconceptions or ()
        ],
        version=row.version,
        retired_at=row.retired_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


# --- the bank's rules -----------------------------------------------------------------------


def checked(
    track: Track,
    question_id: str,
    fields: QuestionFields,
    loc: tuple[str | int, ...] = ("body",),
    stored: Question | None = None,
) -> BankQuestion:
    """``fields`` as the bank's loader reads a question (the same checks and clean-up), or
    ``InvalidQuestions`` naming the question and the field. A model answer or misconceptions
    left out are kept as ``stored`` (an editor that does not know them cannot wipe them)."""
    entry = fields.model_dump(
        include={"level", "topics", "text", "points", "follow_up", "model_answer", "misconceptions"}
    )
    for name in ("model_answer", "misconceptions"):
        if entry[name] is None:
            entry[name] = list(getattr(stored, name, None) or ())
    entry["id"] = question_id
    try:
        return parse_question(track.value, entry, origin="question")
    except BankError as error:
        where = (*loc, error.field) if error.field else loc
        raise InvalidQuestions(
            [FieldProblem(where, f"question {question_id!r}: {error.problem}")]
        ) from None


def _content(question: BankQuestion) -> dict[str, Any]:
    data = question.as_dict()
    return {name: data[name] for name in CONTENT_FIELDS}


def _row_content(row: Question) -> dict[str, Any]:
    return _content(as_bank_question(row))


def _write(row: Question, question: BankQuestion, admin_id: uuid.UUID) -> None:
    content = _content(question)
    row.track = Track(content["track"])
    row.level = Level(content["level"])
    row.topics = content["topics"]
    row.text = content["text"]
    row.points = content["points"]
    row.follow_up = content["follow_up"]
    row.model_answer = content["model_answer"]
    row.misconceptions = content["misconceptions"]
    row.updated_at = datetime.now(UTC)
    row.updated_by = admin_id


# --- reading --------------------------------------------------------------------------------


def _literal(text: str) -> str:
    """``text`` with LIKE's wildcards escaped (escape character ``\\``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _containing(text: str) -> str:
    """A lower-case LIKE pattern: ``text`` anywhere, ignoring (ASCII) case."""
    return f"%{_literal(text.lower())}%"


async def list_questions(
    session: AsyncSession,
    *,
    track: Track | None,
    level: Level | None,
    tag: str | None,
    search: str | None,
    include_retired: bool,
    limit: int,
    offset: int,
) -> tuple[list[Question], int]:
    """A page of questions by track and id, and how many match in all."""
    conditions = []
    if track is not None:
        conditions.append(Question.track == track)
    if level is not None:
        conditions.append(Question.level == level)
    if not include_retired:
        conditions.append(Question.retired_at.is_(None))
    if tag:
        # The tag as its JSON string ("http" with the quotes) inside the stored list: an
        # exact element, the same on PostgreSQL and SQLite (both keep the JSON text as sent).
        conditions.append(
            func.lower(cast(Question.topics, Text)).like(_containing(json.dumps(tag)), escape="\\")
        )
    if search:
        pattern = _containing(search)
        conditions.append(
            or_(
                func.lower(Question.text).like(pattern, escape="\\"),
                func.lower(Question.id).like(pattern, escape="\\"),
            )
        )
    total = await session.scalar(select(func.count()).select_from(Question).where(*conditions))
    rows = await session.scalars(
        select(Question)
        .where(*conditions)
        .order_by(Question.track, Question.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total or 0


async def get(session: AsyncSession, question_id: str) -> Question:
    row = await session.get(Question, question_id)
    if row is None:
        raise not_found(question_id)
    return row


async def export(session: AsyncSession, track: Track, *, include_retired: bool) -> BankFile:
    conditions = [Question.track == track]
    if not include_retired:
        conditions.append(Question.retired_at.is_(None))
    rows = await session.scalars(select(Question).where(*conditions).order_by(Question.id))
    return BankFile.model_validate(
        {
            "track": track,
            "question": [
                {
                    name: value
                    for name, value in as_bank_question(row).as_dict().items()
                    if name not in ("track", "version")
                }
                for row in rows
            ],
        }
    )


# --- changing -------------------------------------------------------------------------------


async def create(session: AsyncSession, admin_id: uuid.UUID, body: QuestionCreate) -> Question:
    """Add a question; its id is the one given, or the track's next "<track>-<nnn>"."""
    for _ in range(GENERATED_ID_ATTEMPTS):
        question_id = body.id or await _next_id(session, body.track)
        question = checked(body.track, question_id, body)
        if body.id is not None and await session.get(Question, question_id) is not None:
            raise Conflict(f"A question with the id {question_id!r} exists already.")
        row = Question(id=question_id, created_at=datetime.now(UTC))
        _write(row, question, admin_id)
        try:
            async with session.begin_nested():
                session.add(row)
        except IntegrityError:
            if body.id is not None:
                raise Conflict(f"A question with the id {question_id!r} exists already.") from None
            continue  # another admin took that number a moment ago: take the next
        return row
    raise Conflict("Could not find a free id for the question; try again.")


async def _next_id(session: AsyncSession, track: Track) -> str:
    prefix = f"{track.value}-"
    ids = await session.scalars(
        select(Question.id).where(Question.id.like(_literal(prefix) + "%", escape="\\"))
    )
    numbered = re.compile(rf"^{re.escape(prefix)}(\d+)$")
    numbers = [int(m.group(1)) for m in map(numbered.match, ids) if m]
    return f"{prefix}{max(numbers, default=0) + 1:03d}"


async def update(
    session: AsyncSession, admin_id: uuid.UUID, question_id: str, body: QuestionUpdate
) -> tuple[Question, list[str]]:
    """Replace a question's content; the fields that changed (none: nothing was written)."""
    row = await get(session, question_id)
    if body.version is not None and body.version != row.version:
        raise _edited_meanwhile(question_id, row.version)
    question = checked(body.track, question_id, body, stored=row)
    before, after = _row_content(row), _content(question)
    changed = [name for name in CONTENT_FIELDS if before[name] != after[name]]
    if changed:
        _write(row, question, admin_id)
        await _flush(session, question_id)
    return row, changed


async def set_retired(
    session: AsyncSession, admin_id: uuid.UUID, question_id: str, *, retired: bool
) -> tuple[Question, bool]:
    """Retire (or restore) a question; whether that changed anything."""
    row = await get(session, question_id)
    if (row.retired_at is not None) == retired:
        return row, False
    now = datetime.now(UTC)
    row.retired_at = now if retired else None
    row.updated_at = now
    row.updated_by = admin_id
    await _flush(session, question_id)
    return row, True


async def import_file(session: AsyncSession, admin_id: uuid.UUID, file: BankFile) -> ImportOutcome:
    """Upsert a track's questions by id, all or nothing: every question is checked (the
    bank's rules, ids unique in the file and not another track's) before anything is written."""
    problems: list[FieldProblem] = []
    checked_questions: list[BankQuestion] = []
    seen: set[str] = set()
    ids = sorted({entry.id for entry in file.question})
    existing = {
        row.id: row for row in await session.scalars(select(Question).where(Question.id.in_(ids)))
    }
    for index, entry in enumerate(file.question):
        loc: tuple[str | int, ...] = ("body", "question", index)
        if entry.id in seen:
            problems.append(FieldProblem((*loc, "id"), f"question {entry.id!r}: duplicate id"))
            continue
        seen.add(entry.id)
        try:
            checked_questions.append(
                checked(file.track, entry.id, entry, loc, stored=existing.get(entry.id))
            )
        except InvalidQuestions as invalid:
            problems.extend(invalid.problems)
    for index, entry in enumerate(file.question):
        row = existing.get(entry.id)
        if row is not None and row.track != file.track:
            problems.append(
                FieldProblem(
                    ("body", "question", index, "id"),
                    f"question {entry.id!r}: the id belongs to a {row.track.value} question, "
                    f"not {file.track.value}",
                )
            )
    if problems:
        raise InvalidQuestions(problems)
    outcome = ImportOutcome()
    now = datetime.now(UTC)
    for question in checked_questions:
        row = existing.get(question.id)
        if row is None:
            row = Question(id=question.id, created_at=now)
            _write(row, question, admin_id)
            session.add(row)
            outcome.created.append(question.id)
        elif _row_content(row) != _content(question):
            _write(row, question, admin_id)
            outcome.updated.append(question.id)
        else:
            outcome.unchanged.append(question.id)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict("Questions were added meanwhile with the same ids; import again.") from None
    except StaleDataError:
        raise Conflict("Some of these questions were edited meanwhile; import again.") from None
    return outcome


async def _flush(session: AsyncSession, question_id: str) -> None:
    try:
        await session.flush()
    except StaleDataError:
        raise Conflict(
            f"Question {question_id!r} was changed by someone else meanwhile; reload it."
        ) from None


def _edited_meanwhile(question_id: str, version: int) -> Conflict:
    return Conflict(
        f"Question {question_id!r} has changed since you loaded it (it is at version "
        f"{version}); reload it and edit again."
    )
