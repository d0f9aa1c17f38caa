"""Interview endpoints: /api/interviews."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from server.auth.deps import CurrentUser
from server.deps import InterviewerDep, SessionDep, SessionsDep, SettingsDep
from server.errors import error_responses
from server.interview import records, service
from server.interview.commands import DeleteInterview, Envelope
from server.interview.schemas import (
    InterviewCreate,
    InterviewDetail,
    InterviewPublic,
    InterviewsPublic,
    SharedInterview,
    ShareLink,
)
from server.protocol import MAX_TURN

# Bounds the schema shows: an offset past this is no page anyone reaches, and one past
# 2**63 overflowed the database's integer (a 500).
MAX_LIST_OFFSET = 1_000_000
# Share tokens are URL-safe base64 (secrets.token_urlsafe).
SHARE_TOKEN_PATTERN = r"^[A-Za-z0-9_-]+$"

router = APIRouter(prefix="/api/interviews", tags=["interviews"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=InterviewPublic,
    responses=error_responses(401, 402, 413, 429),
)
async def create_interview(
    body: InterviewCreate,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    interviewer: InterviewerDep,
    sessions: SessionsDep,
) -> InterviewPublic:
    """Set up an interview; spends one credit."""
    if not interviewer.offline:  # the offline interviewer costs nothing
        await service.check_spend_caps(
            session,
            user,
            per_user_usd=settings.daily_spend_cap_usd_per_user,
            global_usd=settings.daily_spend_cap_usd,
        )
    interview = await service.create(
        session, user, body, provider=interviewer.name, model=interviewer.model
    )
    await sessions.prepare(records.facts_of(interview, owner_email=user.email))
    return service.public(interview)


@router.get("", response_model=InterviewsPublic, responses=error_responses(401))
async def list_interviews(
    user: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_LIST_OFFSET)] = 0,
) -> InterviewsPublic:
    """Your interviews, newest first."""
    items, total = await service.list_owned(session, user, limit=limit, offset=offset)
    return InterviewsPublic(
        items=items,
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{interview_id}", response_model=InterviewDetail, responses=error_responses(401, 404))
async def get_interview(
    interview_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> InterviewDetail:
    """One interview with its transcript, scores and report."""
    interview = await service.get_owned(session, user.id, interview_id, full=True)
    return service.detail(interview, await service.report_rubrics(session, interview))


@router.delete(
    "/{interview_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(401, 404)
)
async def delete_interview(
    interview_id: uuid.UUID, user: CurrentUser, session: SessionDep, sessions: SessionsDep
) -> None:
    """Delete an interview and everything recorded for it. The credit is not refunded.

    A live interview is stopped: its connected clients receive `ended`.
    """
    await service.delete_owned(session, user, interview_id)
    await sessions.submit(str(interview_id), Envelope(command=DeleteInterview()))


@router.get(
    "/{interview_id}/turns/{index}/audio",
    response_class=Response,
    responses={
        200: {"content": {"audio/wav": {}}, "description": "16 kHz 16-bit mono WAV"},
        **error_responses(401, 404),
    },
)
async def get_answer_audio(
    interview_id: uuid.UUID,
    index: Annotated[int, Path(ge=0, le=MAX_TURN)],
    user: CurrentUser,
    session: SessionDep,
) -> Response:
    """The last recording made for a spoken answer, as WAV: kept only when the operator
    keeps recordings (INTERVIEW_VOICE_KEEP_AUDIO), and deleted with the interview."""
    wav = await service.answer_audio(session, user.id, interview_id, index)
    return Response(wav, media_type="audio/wav", headers={"Cache-Control": "private, no-store"})


@router.post("/{interview_id}/share", response_model=ShareLink, responses=error_responses(401, 404))
async def share_interview(
    interview_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> ShareLink:
    """Turn on a read-only link to this interview's report (off until asked for)."""
    token = await service.share(session, user, interview_id)
    return ShareLink(token=token, path=f"/shared/{token}")


@router.delete(
    "/{interview_id}/share",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 404),
)
async def unshare_interview(
    interview_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> None:
    """Revoke the share link: it stops working at once."""
    await service.unshare(session, user, interview_id)


shared_router = APIRouter(prefix="/api/shared", tags=["shared"])


@shared_router.get("/{token}", response_model=SharedInterview, responses=error_responses(404))
async def get_shared_interview(
    token: Annotated[str, Path(min_length=8, max_length=64, pattern=SHARE_TOKEN_PATTERN)],
    session: SessionDep,
) -> SharedInterview:
    """A shared report, readable without signing in (no resume, job description or cost)."""
    interview = await service.get_shared(session, token)
    return service.shared(interview, await service.report_rubrics(session, interview))
