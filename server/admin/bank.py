"""Admin: the question bank. List and search, create, edit, retire and restore, import and
export questions per track, level and tag.

Every change is audited in the same transaction and, once committed, announced to the bank
(``QuestionBank.changed``): new interviews in this process get it at once, in the others
within seconds. Interviews already running keep the questions they were planned with.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response, status
from fastapi.exceptions import RequestValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.convertors import Convertor, register_url_convertor

from server.admin import audit
from server.auth.deps import CurrentAdmin
from server.deps import QuestionBankDep, SessionDep
from server.errors import error_responses
from server.interview.schemas import MAX_TOPIC_CHARS
from server.questions import service
from server.questions.bank import QuestionBank
from server.questions.schemas import (
    MAX_QUESTION_ID_CHARS,
    MAX_SEARCH_CHARS,
    QUESTION_ID_PATTERN,
    QUESTION_ID_REGEX,
    BankFile,
    ImportResult,
    QuestionCreate,
    QuestionPublic,
    QuestionsPublic,
    QuestionUpdate,
)
from server.questions.toml_file import bank_file_toml
from server.store.models import Level, Track, User

MAX_OFFSET = 1_000_000

router = APIRouter(prefix="/questions")


class _QuestionIdConvertor(Convertor[str]):
    """Routes ``/questions/{id:question_id}`` only for what can be an id, so the collection's
    own words ("export", "import") are never taken for one: ``PUT /questions/export`` is a
    405, as the document says, not an edit of a question called "export"."""

    regex = QUESTION_ID_REGEX

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("question_id", _QuestionIdConvertor())

QuestionIdPath = Annotated[str, Path(max_length=MAX_QUESTION_ID_CHARS, pattern=QUESTION_ID_PATTERN)]


def _invalid(invalid: service.InvalidQuestions) -> RequestValidationError:
    """The bank's refusal as a 422 in the usual per-field shape."""
    return RequestValidationError(
        [{"loc": p.loc, "msg": p.msg, "type": "question_invalid"} for p in invalid.problems]
    )


@router.get("", response_model=QuestionsPublic)
async def list_questions(
    session: SessionDep,
    track: Track | None = None,
    level: Level | None = None,
    tag: Annotated[
        str | None, Query(min_length=1, max_length=MAX_TOPIC_CHARS, description="One topic.")
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=MAX_SEARCH_CHARS,
            description="Part of the question's text or id, any case.",
        ),
    ] = None,
    include_retired: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> QuestionsPublic:
    """Questions by track and id; retired ones only with ``include_retired``."""
    rows, total = await service.list_questions(
        session,
        track=track,
        level=level,
        tag=tag,
        search=q,
        include_retired=include_retired,
        limit=limit,
        offset=offset,
    )
    return QuestionsPublic(
        items=[service.public(row) for row in rows], total=total, limit=limit, offset=offset
    )


@router.get(
    "/export",
    response_model=BankFile,
    responses={
        200: {
            "content": {"application/toml": {"schema": {"type": "string"}}},
            "description": "The track's questions as a bank file (JSON, or TOML with format=toml).",
        }
    },
)
async def export_questions(
    session: SessionDep,
    track: Track,
    file_format: Annotated[Literal["json", "toml"], Query(alias="format")] = "json",
    include_retired: bool = False,
) -> BankFile | Response:
    """A track's questions in the shipped files' shape, ready to import again."""
    file = await service.export(session, track, include_retired=include_retired)
    if file_format == "json":
        return file
    return Response(
        bank_file_toml(file),
        media_type="application/toml",
        headers={"Content-Disposition": f'attachment; filename="{track.value}.toml"'},
    )


@router.post("/import", response_model=ImportResult, responses=error_responses(409))
async def import_questions(
    body: BankFile, admin: CurrentAdmin, session: SessionDep, bank: QuestionBankDep
) -> ImportResult:
    """Create or update a track's questions by id, all or nothing: one question that breaks
    the bank's rules (named, with its field, in the 422) and nothing is written."""
    try:
        outcome = await service.import_file(session, admin.id, body)
    except service.InvalidQuestions as invalid:
        raise _invalid(invalid) from None
    if outcome.created or outcome.updated:
        audit.record(
            session,
            admin,
            "question.import",
            target_type="question",
            target_id=body.track.value,
            detail={
                "created": outcome.created,
                "updated": outcome.updated,
                "unchanged": len(outcome.unchanged),
            },
        )
        await session.commit()
        await bank.changed()
    return ImportResult(
        created=len(outcome.created),
        updated=len(outcome.updated),
        unchanged=len(outcome.unchanged),
        created_ids=outcome.created,
        updated_ids=outcome.updated,
    )


@router.get("/{question_id:question_id}", response_model=QuestionPublic)
async def get_question(question_id: QuestionIdPath, session: SessionDep) -> QuestionPublic:
    """One question, retired or not."""
    return service.public(await service.get(session, question_id))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=QuestionPublic,
    responses=error_responses(409),
)
async def create_question(
    body: QuestionCreate, admin: CurrentAdmin, session: SessionDep, bank: QuestionBankDep
) -> QuestionPublic:
    """Add a question (checked by the bank's rules); an id that exists already is a 409."""
    try:
        row = await service.create(session, admin.id, body)
    except service.InvalidQuestions as invalid:
        raise _invalid(invalid) from None
    audit.record(
        session,
        admin,
        "question.create",
        target_type="question",
        target_id=row.id,
        detail={"track": row.track.value, "level": row.level.value},
    )
    await session.commit()
    await bank.changed()
    return service.public(row)


@router.put(
    "/{question_id:question_id}", response_model=QuestionPublic, responses=error_responses(409)
)
async def update_question(
    question_id: QuestionIdPath,
    body: QuestionUpdate,
    admin: CurrentAdmin,
    session: SessionDep,
    bank: QuestionBankDep,
) -> QuestionPublic:
    """Replace a question's content; a change bumps its version. With ``version``, an edit
    made from an older version is refused (409). Running interviews keep what they had."""
    try:
        row, changed = await service.update(session, admin.id, question_id, body)
    except service.InvalidQuestions as invalid:
        raise _invalid(invalid) from None
    if changed:
        audit.record(
            session,
            admin,
            "question.update",
            target_type="question",
            target_id=row.id,
            detail={"fields": changed, "version": row.version},
        )
        await session.commit()
        await bank.changed()
    return service.public(row)


@router.post("/{question_id:question_id}/retire", response_model=QuestionPublic)
async def retire_question(
    question_id: QuestionIdPath, admin: CurrentAdmin, session: SessionDep, bank: QuestionBankDep
) -> QuestionPublic:
    """Stop planning the question for new interviews (it stays readable by id)."""
    return await _set_retired(question_id, admin, session, bank, retired=True)


@router.post("/{question_id:question_id}/restore", response_model=QuestionPublic)
async def restore_question(
    question_id: QuestionIdPath, admin: CurrentAdmin, session: SessionDep, bank: QuestionBankDep
) -> QuestionPublic:
    """Plan a retired question for new interviews again."""
    return await _set_retired(question_id, admin, session, bank, retired=False)


async def _set_retired(
    question_id: str,
    admin: User,
    session: AsyncSession,
    bank: QuestionBank,
    *,
    retired: bool,
) -> QuestionPublic:
    row, changed = await service.set_retired(session, admin.id, question_id, retired=retired)
    if changed:
        audit.record(
            session,
            admin,
            "question.retire" if retired else "question.restore",
            target_type="question",
            target_id=row.id,
            detail={"version": row.version},
        )
        await session.commit()
        await bank.changed()
    return service.public(row)
