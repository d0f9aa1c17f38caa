"""What an administrator does to accounts: find them, change a role, adjust credits, disable.

Every change is written to the audit log in the transaction that makes it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.admin import audit
from server.auth import service as auth_service
from server.errors import Conflict, NotFound
from server.interview.commands import EndByAdmin, Envelope
from server.interview.sessions import SessionManager
from server.interview.state import LiveState
from server.live.base import LiveStore
from server.payments import ledger
from server.protocol import Phase
from server.store.models import Interview, InterviewStatus, Role, User, utcnow

# Disabling waits this long for the account's live interviews to end (their reports
# included) before it closes the account's sockets, so those sockets hear ``ended``.
ENDING_WAIT_S = 5.0
# ... and then this long, so the ``ended`` frames are written before the sockets close
# (a revocation closes a socket at once, dropping what its outbox still holds).
ENDED_DELIVERY_S = 0.5
_POLL_S = 0.05


class UserNotFound(NotFound):
    code = "user_not_found"

    def __init__(self) -> None:
        super().__init__("No such user.")


class AdminUser(BaseModel):
    """An account as the admin console lists it."""

    id: uuid.UUID
    email: str
    role: Role
    credit_balance: int
    created_at: datetime
    disabled_at: datetime | None = Field(description="Set while the account is disabled.")
    interview_count: int


async def get(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise UserNotFound()
    return user


def summary(user: User, interview_count: int) -> AdminUser:
    return AdminUser(
        id=user.id,
        email=user.email,
        role=user.role,
        credit_balance=user.credit_balance,
        created_at=user.created_at,
        disabled_at=user.disabled_at,
        interview_count=interview_count,
    )


async def interview_counts(
    session: AsyncSession, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    if not user_ids:
        return {}
    rows = await session.execute(
        select(Interview.owner_id, func.count())
        .where(Interview.owner_id.in_(user_ids))
        .group_by(Interview.owner_id)
    )
    return {owner_id: int(count) for owner_id, count in rows}


async def describe(session: AsyncSession, user: User) -> AdminUser:
    counts = await interview_counts(session, [user.id])
    return summary(user, counts.get(user.id, 0))


async def search(
    session: AsyncSession, *, email: str | None, limit: int, offset: int
) -> tuple[list[AdminUser], int]:
    """Accounts whose email contains ``email`` (all without it), newest first."""
    where = []
    if email:
        # Emails are stored lower-cased; % and _ in the query match themselves.
        where.append(User.email.contains(email.strip().lower(), autoescape=True))
    total = await session.scalar(select(func.count()).select_from(User).where(*where))
    users = list(
        await session.scalars(
            select(User)
            .where(*where)
            .order_by(User.created_at.desc(), User.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )
    counts = await interview_counts(session, [user.id for user in users])
    return [summary(user, counts.get(user.id, 0)) for user in users], int(total or 0)


async def change_role(
    session: AsyncSession, admin: User, user_id: uuid.UUID, role: Role
) -> AdminUser:
    if user_id == admin.id and role is not Role.admin:
        raise Conflict("You cannot remove your own administrator role; another administrator can.")
    user = await get(session, user_id)
    result = await describe(session, user)
    if user.role is role:
        return result  # nothing changes, nothing to record
    audit.record(
        session,
        admin,
        "user.role",
        target_type="user",
        target_id=user.id,
        detail={"from": user.role.value, "to": role.value},
    )
    user.role = role
    await session.commit()
    return result.model_copy(update={"role": role})


async def adjust_credits(
    session: AsyncSession, admin: User, user_id: uuid.UUID, delta: int, reason: str
) -> AdminUser:
    """Grant (``delta`` > 0) or remove credits: a ledger entry under a fresh reference, and
    the admin's reason in the audit log (the ledger's own reason is a short code)."""
    user = await get(session, user_id)
    result = await describe(session, user)
    external_ref = f"admin:{uuid.uuid4()}"
    balance = await ledger.adjust(
        session,
        user.id,
        delta,
        reason="admin_grant" if delta > 0 else "admin_removal",
        external_ref=external_ref,
    )
    audit.record(
        session,
        admin,
        "credits.grant" if delta > 0 else "credits.remove",
        target_type="user",
        target_id=user.id,
        detail={
            "delta": delta,
            "reason": reason,
            "balance": balance,
            "external_ref": external_ref,
            # Kept here too: the entry's admin_id is cleared if that account is deleted.
            "admin_id": str(admin.id),
        },
    )
    await session.commit()
    return result.model_copy(update={"credit_balance": balance})


async def disable(
    session: AsyncSession,
    live: LiveStore,
    sessions: SessionManager,
    admin: User,
    user_id: uuid.UUID,
) -> AdminUser:
    """The account can no longer sign in, and every token it holds stops working at once.

    Its live interviews are ended (scored and reported on what was answered); its open
    sockets hear ``ended``, then are closed (4401).
    """
    if user_id == admin.id:
        raise Conflict("You cannot disable your own account.")
    user = await get(session, user_id)
    result = await describe(session, user)
    if user.disabled_at is not None:
        return result
    live_ids = list(
        await session.scalars(
            select(Interview.id).where(
                Interview.owner_id == user.id, Interview.status == InterviewStatus.live
            )
        )
    )
    user.disabled_at = utcnow()
    audit.record(
        session,
        admin,
        "user.disable",
        target_type="user",
        target_id=user.id,
        detail={"ended_interviews": [str(interview_id) for interview_id in live_ids]},
    )
    # Commits the change, the audit entry and the revocation together. Nothing is read
    # afterwards: on SQLite a new transaction would hold the write lock that the ending
    # interviews need.
    await auth_service.revoke_all_tokens(
        session, live, user, reason="disabled", close_sockets=False
    )
    try:
        await end_interviews(live, sessions, [str(i) for i in live_ids])
    finally:
        await auth_service.close_revoked_sockets(live, user)
    return result.model_copy(update={"disabled_at": user.disabled_at})


async def enable(session: AsyncSession, admin: User, user_id: uuid.UUID) -> AdminUser:
    """The account can sign in again (its old tokens stay revoked)."""
    user = await get(session, user_id)
    result = await describe(session, user)
    if user.disabled_at is None:
        return result
    audit.record(
        session,
        admin,
        "user.enable",
        target_type="user",
        target_id=user.id,
        detail={"disabled_at": user.disabled_at.isoformat()},
    )
    user.disabled_at = None
    await session.commit()
    return result.model_copy(update={"disabled_at": None})


async def end_interviews(
    live: LiveStore, sessions: SessionManager, interview_ids: Sequence[str]
) -> None:
    """Ask each interview's runner (here or elsewhere) to end it, then wait, bounded, until
    they have: a runner that takes longer ends it all the same."""
    if not interview_ids:
        return
    for interview_id in interview_ids:
        await sessions.submit(interview_id, Envelope(command=EndByAdmin()))
    waiting = set(interview_ids)
    deadline = time.monotonic() + ENDING_WAIT_S
    while waiting and time.monotonic() < deadline:
        await asyncio.sleep(_POLL_S)
        for interview_id, snapshot in (await live.events.snapshots(waiting)).items():
            if snapshot is None or LiveState.decode(snapshot.state).phase is Phase.ended:
                waiting.discard(interview_id)
    await asyncio.sleep(ENDED_DELIVERY_S)
