"""Admin: the audit log, newest first, with who did each thing."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from server.deps import SessionDep
from server.store.models import AdminAction, User

MAX_OFFSET = 1_000_000

router = APIRouter(prefix="/audit")


class AuditEntry(BaseModel):
    id: int
    created_at: datetime
    admin_id: uuid.UUID | None = Field(description="None once that account was deleted.")
    admin_email: str | None
    action: str = Field(examples=["credits.grant"])
    target_type: str = Field(examples=["user"])
    target_id: str
    detail: dict[str, Any]


class AuditEntries(BaseModel):
    items: list[AuditEntry]
    total: int
    limit: int
    offset: int


@router.get("", response_model=AuditEntries)
async def list_audit(
    session: SessionDep,
    action: Annotated[
        str | None,
        Query(
            max_length=48,
            pattern=r"^[a-z_.]+$",
            description='Actions starting with this, e.g. "credits" or "user.disable".',
        ),
    ] = None,
    admin_id: uuid.UUID | None = None,
    target_type: Annotated[str | None, Query(max_length=24)] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> AuditEntries:
    """What administrators did, newest first, filtered by action prefix, admin or target."""
    where = []
    if action:
        where.append(AdminAction.action.startswith(action, autoescape=True))
    if admin_id is not None:
        where.append(AdminAction.admin_id == admin_id)
    if target_type:
        where.append(AdminAction.target_type == target_type)
    if target_id:
        where.append(AdminAction.target_id == target_id)
    total = await session.scalar(select(func.count()).select_from(AdminAction).where(*where))
    rows = await session.execute(
        select(AdminAction, User.email)
        .outerjoin(User, User.id == AdminAction.admin_id)
        .where(*where)
        .order_by(AdminAction.created_at.desc(), AdminAction.id.desc())
        .limit(limit)
        .offset(offset)
    )
    items = [
        AuditEntry(
            id=entry.id,
            created_at=entry.created_at,
            admin_id=entry.admin_id,
            admin_email=email,
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
            detail=entry.detail,
        )
        for entry, email in rows
    ]
    return AuditEntries(items=items, total=int(total or 0), limit=limit, offset=offset)
