"""Admin: purchases. List and filter them, refund one, revenue per day."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from server.admin.stats import Window, resolve_range, utc_day
from server.auth.deps import CurrentAdmin
from server.deps import SessionDep
from server.errors import error_responses
from server.payments import service
from server.payments.router import RazorpayDep
from server.payments.schemas import (
    AdminPayment,
    AdminPaymentList,
    PaymentPublic,
    RefundRequest,
    Revenue,
    RevenueDay,
)
from server.store.models import Payment, PaymentStatus, User

router = APIRouter(prefix="/payments")


def _admin_view(payment: Payment, email: str) -> AdminPayment:
    return AdminPayment.model_validate(
        {
            **PaymentPublic.fields_of(payment),
            "user_id": payment.user_id,
            "email": email,
            "razorpay_order_id": payment.razorpay_order_id,
            "razorpay_payment_id": payment.razorpay_payment_id,
        }
    )


@router.get("", response_model=AdminPaymentList)
async def list_payments(
    session: SessionDep,
    status: PaymentStatus | None = None,
    email: Annotated[
        str | None, Query(max_length=320, description="Part of the buyer's email, any case.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> AdminPaymentList:
    """Purchases, newest first, with their buyer and history."""
    where = []
    if status is not None:
        where.append(Payment.status == status)
    if email:
        where.append(User.email.contains(email.strip().lower(), autoescape=True))
    base = select(Payment, User.email).join(User, User.id == Payment.user_id).where(*where)
    total = await session.scalar(select(func.count()).select_from(base.subquery()))
    rows = await session.execute(
        base.options(selectinload(Payment.history))
        .order_by(Payment.created_at.desc(), Payment.id)
        .limit(limit)
        .offset(offset)
    )
    return AdminPaymentList(
        items=[_admin_view(payment, mail) for payment, mail in rows],
        total=int(total or 0),
        limit=limit,
        offset=offset,
    )


@router.post(
    "/{payment_id:uuid}/refund",
    response_model=AdminPayment,
    responses=error_responses(409, 502, 503),
)
async def refund_payment(
    payment_id: uuid.UUID,
    body: RefundRequest,
    admin: CurrentAdmin,
    session: SessionDep,
    gateway: RazorpayDep,
) -> AdminPayment:
    """Refund what is left of a captured payment through Razorpay. The pack's credits are
    removed when Razorpay reports the refund processed (at once, or by webhook), even below
    zero if they were spent; the buyer then settles before a new interview."""
    payment = await service.refund(session, gateway, admin, payment_id, body.reason)
    email = await session.scalar(select(User.email).where(User.id == payment.user_id))
    return _admin_view(payment, email or "")


async def _range(
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> Window:
    first, last = resolve_range(start, end, today=datetime.now(UTC).date())
    return Window(first, last)


@router.get("/revenue", response_model=Revenue)
async def revenue(session: SessionDep, window: Annotated[Window, Depends(_range)]) -> Revenue:
    """Captured payments and refunds per UTC day (paise). A refund counts on the day it was
    applied, against the revenue of that day."""
    captured_day = utc_day(Payment.captured_at)
    captured = {
        d.date(): (int(n), int(gross))
        for d, n, gross in await session.execute(
            select(captured_day, func.count(), func.sum(Payment.amount_paise))
            .where(window.holds(Payment.captured_at))
            .group_by(captured_day)
        )
    }
    refunded_day = utc_day(Payment.refunded_at)
    refunded = {
        d.date(): int(paise)
        for d, paise in await session.execute(
            select(refunded_day, func.sum(Payment.refunded_paise))
            .where(window.holds(Payment.refunded_at))
            .group_by(refunded_day)
        )
    }
    days = []
    for day in window.days():
        n, gross = captured.get(day, (0, 0))
        back = refunded.get(day, 0)
        days.append(
            RevenueDay(
                day=day, payments=n, gross_paise=gross, refunded_paise=back, net_paise=gross - back
            )
        )
    return Revenue(
        start=window.start,
        end=window.end,
        days=days,
        payments=sum(d.payments for d in days),
        gross_paise=sum(d.gross_paise for d in days),
        refunded_paise=sum(d.refunded_paise for d in days),
        net_paise=sum(d.net_paise for d in days),
    )
