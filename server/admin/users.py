"""Admin: accounts. Find them, read their interviews, change a role, adjust credits, disable."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, field_validator

from server.admin import accounts
from server.admin.accounts import AdminUser
from server.auth.deps import CurrentAdmin
from server.deps import LiveDep, SessionDep, SessionsDep
from server.errors import error_responses
from server.interview import service as interview_service
from server.interview.schemas import InterviewDetail, InterviewPublic
from server.store.models import Role
from server.text import NonBlankText

MAX_OFFSET = 1_000_000
# An admin's detail view shows this many of the user's interviews, newest first.
DETAIL_INTERVIEWS = 100
MAX_CREDIT_DELTA = 1000

router = APIRouter(prefix="/users")


class AdminUsers(BaseModel):
    items: list[AdminUser]
    total: int
    limit: int
    offset: int


class AdminUserDetail(AdminUser):
    interviews: list[InterviewPublic] = Field(
        description=f"The newest {DETAIL_INTERVIEWS} interviews (interview_count has them all)."
    )


class RoleChange(BaseModel):
    role: Role


class CreditAdjustment(BaseModel):
    delta: int = Field(
        ge=-MAX_CREDIT_DELTA,
        le=MAX_CREDIT_DELTA,
        description="Credits to add (positive) or remove (negative); not zero.",
        json_schema_extra={"not": {"const": 0}},
    )
    reason: NonBlankText = Field(min_length=1, max_length=200, description="Kept in the audit log.")

    @field_validator("delta")
    @classmethod
    def _not_zero(cls, delta: int) -> int:
        if delta == 0:
            raise ValueError("a credit adjustment cannot be zero")
        return delta


@router.get("", response_model=AdminUsers)
async def list_users(
    session: SessionDep,
    email: Annotated[
        str | None, Query(max_length=320, description="Part of the email, any case.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> AdminUsers:
    """Accounts, newest first; ``email`` keeps those whose address contains it."""
    items, total = await accounts.search(session, email=email, limit=limit, offset=offset)
    return AdminUsers(items=items, total=total, limit=limit, offset=offset)


@router.get("/{user_id}", response_model=AdminUserDetail)
async def get_user(user_id: uuid.UUID, session: SessionDep) -> AdminUserDetail:
    """One account with its newest interviews (status and overall score)."""
    user = await accounts.get(session, user_id)
    interviews, total = await interview_service.list_owned(
        session, user, limit=DETAIL_INTERVIEWS, offset=0
    )
    return AdminUserDetail(**accounts.summary(user, total).model_dump(), interviews=interviews)


@router.get("/{user_id}/interviews/{interview_id}", response_model=InterviewDetail)
async def get_user_interview(
    user_id: uuid.UUID, interview_id: uuid.UUID, session: SessionDep
) -> InterviewDetail:
    """One of the account's interviews as its owner sees it: transcript, scores, report."""
    interview = await interview_service.get_owned(session, user_id, interview_id, full=True)
    return interview_service.detail(
        interview, await interview_service.report_rubrics(session, interview)
    )


@router.patch("/{user_id}/role", response_model=AdminUser, responses=error_responses(409))
async def change_role(
    user_id: uuid.UUID, body: RoleChange, admin: CurrentAdmin, session: SessionDep
) -> AdminUser:
    """Make the account an administrator or a candidate. Your own role cannot be lowered (409)."""
    return await accounts.change_role(session, admin, user_id, body.role)


@router.post("/{user_id}/credits", response_model=AdminUser, responses=error_responses(409))
async def adjust_credits(
    user_id: uuid.UUID, body: CreditAdjustment, admin: CurrentAdmin, session: SessionDep
) -> AdminUser:
    """Grant or remove credits (a ledger entry). A removal below zero is refused (409)."""
    return await accounts.adjust_credits(session, admin, user_id, body.delta, body.reason.strip())


@router.post("/{user_id}/disable", response_model=AdminUser, responses=error_responses(409))
async def disable_user(
    user_id: uuid.UUID,
    admin: CurrentAdmin,
    session: SessionDep,
    live: LiveDep,
    sessions: SessionsDep,
) -> AdminUser:
    """Disable the account: sign-in is refused and every token stops working at once. Its
    live interviews end (reported on what was answered) and its sockets close (4401).
    Your own account cannot be disabled (409)."""
    return await accounts.disable(session, live, sessions, admin, user_id)


@router.post("/{user_id}/enable", response_model=AdminUser)
async def enable_user(user_id: uuid.UUID, admin: CurrentAdmin, session: SessionDep) -> AdminUser:
    """Let a disabled account sign in again; tokens from before stay revoked."""
    return await accounts.enable(session, admin, user_id)
