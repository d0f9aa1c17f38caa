"""The credit ledger. Every movement is a row with a unique external reference, so
no grant or spend can ever be applied twice; ``user.credit_balance`` caches the sum.

Spending never takes the balance below zero; only a refund's removal of a pack's credits
(``remove_once``) can, when they were already spent, and then new interviews wait until the
balance is settled (``OwesCredits``).
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import Conflict, InsufficientCredits, OwesCredits
from server.store.models import CreditEntry, User


class BalanceTooLow(Conflict):
    code = "balance_too_low"

    def __init__(self, balance: int, delta: int) -> None:
        super().__init__(
            f"Removing {-delta} credits would take the balance below zero: "
            f"the account has {balance}."
        )


async def grant(
    session: AsyncSession, user_id: uuid.UUID, delta: int, *, reason: str, external_ref: str
) -> bool:
    """Add ``delta`` credits once per ``external_ref``. Returns False if it was already applied.

    Runs in a savepoint so a duplicate leaves the caller's transaction usable.
    """
    if delta <= 0:
        raise ValueError("grant needs a positive delta")
    return await _apply_once(session, user_id, delta, reason=reason, external_ref=external_ref)


async def remove_once(
    session: AsyncSession, user_id: uuid.UUID, credits: int, *, reason: str, external_ref: str
) -> bool:
    """Take ``credits`` away once per ``external_ref``, even below zero (a refunded pack whose
    credits were spent). Returns False if it was already applied."""
    if credits <= 0:
        raise ValueError("remove_once needs a positive number of credits")
    return await _apply_once(session, user_id, -credits, reason=reason, external_ref=external_ref)


async def _apply_once(
    session: AsyncSession, user_id: uuid.UUID, delta: int, *, reason: str, external_ref: str
) -> bool:
    try:
        async with session.begin_nested():
            session.add(
                CreditEntry(user_id=user_id, delta=delta, reason=reason, external_ref=external_ref)
            )
            await session.flush()
            await session.execute(
                update(User)
                .where(User.id == user_id)
                .values(credit_balance=User.credit_balance + delta)
            )
    except IntegrityError:
        return False
    return True


async def spend_one(
    session: AsyncSession, user_id: uuid.UUID, *, reason: str, external_ref: str
) -> int:
    """Take one credit or raise ``InsufficientCredits``; returns the new balance.

    One guarded UPDATE: concurrent spenders queue on the row (PostgreSQL) or on
    the write lock (SQLite, BEGIN IMMEDIATE), and the guard refuses an overdraft.
    """
    new_balance = await session.scalar(
        update(User)
        .where(User.id == user_id, User.credit_balance >= 1)
        .values(credit_balance=User.credit_balance - 1)
        .returning(User.credit_balance)
    )
    if new_balance is None:
        balance = await session.scalar(select(User.credit_balance).where(User.id == user_id))
        if balance is not None and balance < 0:
            raise OwesCredits(-int(balance))
        raise InsufficientCredits()
    session.add(CreditEntry(user_id=user_id, delta=-1, reason=reason, external_ref=external_ref))
    return int(new_balance)


async def adjust(
    session: AsyncSession, user_id: uuid.UUID, delta: int, *, reason: str, external_ref: str
) -> int:
    """Add ``delta`` credits, of either sign; returns the new balance (not committed).

    One guarded UPDATE, like ``spend_one``: a removal that would take the balance below
    zero changes nothing and raises ``BalanceTooLow``.
    """
    if delta == 0:
        raise ValueError("an adjustment needs a non-zero delta")
    new_balance = await session.scalar(
        update(User)
        .where(User.id == user_id, User.credit_balance + delta >= 0)
        .values(credit_balance=User.credit_balance + delta)
        .returning(User.credit_balance)
    )
    if new_balance is None:
        balance = await session.scalar(select(User.credit_balance).where(User.id == user_id))
        raise BalanceTooLow(int(balance or 0), delta)
    session.add(CreditEntry(user_id=user_id, delta=delta, reason=reason, external_ref=external_ref))
    return int(new_balance)


async def ledger_balance(session: AsyncSession, user_id: uuid.UUID) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(CreditEntry.delta), 0)).where(CreditEntry.user_id == user_id)
    )
    return int(total or 0)
