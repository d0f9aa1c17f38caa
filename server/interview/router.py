"""Interview endpoints: /api/interviews."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status

from server.auth.deps import CurrentUser
from server.errors import error_body
from server.interview import service
from server.interview.schemas import (
    InterviewCreate,
    InterviewDetail,
    InterviewPublic,
    InterviewsPublic,
)
from server.llm.base import Interviewer
from server.store.db import SessionDep

router = APIRouter(prefix="/api/interviews", tags=["interviews"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "No interview with this id belongs to you",
        "content": {
            "application/json": {"example": error_body("interview_not_found", "No such interview.")}
        },
    }
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=InterviewPublic,
    responses={402: {"description": "No credits left"}},
)
async def create_interview(
    body: InterviewCreate, request: Request, user: CurrentUser, session: SessionDep
) -> InterviewPublic:
    """Set up an interview; spends one credit."""
    interviewer: Interviewer = request.app.state.interviewer
    interview = await service.create(
        session, user, body, provider=interviewer.name, model=interviewer.model
    )
    return service.public(interview)


@router.get("", response_model=InterviewsPublic)
async def list_interviews(
    user: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> InterviewsPublic:
    """Your interviews, newest first."""
    rows, total = await service.list_owned(session, user, limit=limit, offset=offset)
    return InterviewsPublic(
        items=[service.public(interview, score) for interview, score in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{interview_id}", response_model=InterviewDetail, responses=_NOT_FOUND)
async def get_interview(
    interview_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> InterviewDetail:
    """One interview with its transcript, scores and report."""
    interview = await service.get_owned(session, user, interview_id, full=True)
    return service.detail(interview)


@router.delete("/{interview_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_NOT_FOUND)
async def delete_interview(interview_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> None:
    """Delete an interview and everything recorded for it. The credit is not refunded."""
    await service.delete_owned(session, user, interview_id)
