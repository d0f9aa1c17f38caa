"""The audit log: who did what, when, to what. Written in the same transaction as the change."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.store.models import AdminAction, User


def record(
    session: AsyncSession,
    admin: User,
    action: str,
    *,
    target_type: str,
    target_id: str | uuid.UUID,
    detail: dict[str, Any] | None = None,
) -> AdminAction:
    """Add an audit entry to ``session`` (the caller commits it with the change)."""
    entry = AdminAction(
        admin_id=admin.id,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        detail=detail or {},
    )
    session.add(entry)
    return entry
