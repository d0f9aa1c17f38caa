"""Buying credits: orders, Checkout's confirmation, webhooks, reconciling, refunds.

One state machine, fed by three messengers that may arrive in any order and any number of
times: the candidate's browser (Checkout's signed confirmation), Razorpay's webhooks, and
a refresh that asks Razorpay directly. Each hands a Razorpay payment entity to
``apply_payment``; every change is one guarded UPDATE of our payment row (so of racing
messengers exactly one moves it), and the credits are granted in the same transaction
under a ledger reference unique per Razorpay payment. A refund is applied once per refund id.

No transaction is held open across a call to Razorpay (on SQLite every transaction holds
the write lock): each function commits or rolls back before it goes upstream.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from server.admin import audit
from server.config import CreditPack, Settings
from server.errors import AppError, Conflict, NotFound, RateLimited
from server.payments import ledger
from server.payments.provider import Entity, ProviderUnavailable, Razorpay
from server.store.models import Payment, PaymentEvent, PaymentStatus, User, WebhookDelivery

log = logging.getLogger(__name__)

# Kept long enough to see every redelivery (Razorpay retries a webhook for 24 hours).
WEBHOOK_MEMORY = timedelta(days=7)
HANDLED_EVENTS = frozenset(
    {"payment.authorized", "payment.captured", "payment.failed", "order.paid", "refund.processed"}
)

Settled = (PaymentStatus.captured, PaymentStatus.refunded)
Unsettled = (PaymentStatus.created, PaymentStatus.authorized, PaymentStatus.failed)


class PaymentsDisabled(AppError):
    status_code = 503
    code = "payments_disabled"

    def __init__(self) -> None:
        super().__init__(
            "Buying credits is not available on this server. Your free credits still work."
        )


class PaymentNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No such payment.")


class PaymentMismatch(AppError):
    status_code = 400
    code = "payment_mismatch"


class NotRefundable(Conflict):
    code = "payment_not_refundable"


class UnknownPack(AppError):
    status_code = 400
    code = "unknown_pack"

    def __init__(self, pack: str, packs: Iterable[CreditPack]) -> None:
        names = ", ".join(p.id for p in packs)
        super().__init__(f"There is no credit pack {pack!r}; the packs are: {names}.")


def now() -> datetime:
    return datetime.now(UTC)


# --- orders -------------------------------------------------------------------------------


async def open_order(
    session: AsyncSession, razorpay: Razorpay, settings: Settings, user: User, pack_id: str
) -> Payment:
    """A Razorpay order for ``pack_id`` at the server's price, and our record of it.

    The order is opened first and recorded after: if Razorpay fails, nothing is kept and the
    candidate simply tries again (an order nobody pays costs nothing).
    """
    pack = settings.credit_pack(pack_id)
    if pack is None:
        raise UnknownPack(pack_id, settings.credit_packs)
    hour_ago = now() - timedelta(hours=1)
    recent = await session.scalar(
        select(func.count())
        .select_from(Payment)
        .where(Payment.user_id == user.id, Payment.created_at >= hour_ago)
    )
    await session.commit()  # no transaction (on SQLite, the write lock) across the call
    if (recent or 0) >= settings.payment_orders_per_hour:
        raise RateLimited(
            "You have opened many orders in the last hour. Try again in a little while.",
            retry_after_s=600,
        )
    payment_id = uuid.uuid4()
    order = await razorpay.create_order(
        amount_paise=pack.price_paise,
        receipt=str(payment_id),  # 36 characters: within Razorpay's 40
        notes={"user_id": str(user.id), "payment_id": str(payment_id), "pack": pack.id},
    )
    order_id = order.get("id")
    if not isinstance(order_id, str) or order.get("amount") != pack.price_paise:
        raise ProviderUnavailable("Razorpay opened an order that does not match; try again.")
    payment = Payment(
        id=payment_id,
        user_id=user.id,
        pack=pack.id,
        credits=pack.credits,
        amount_paise=pack.price_paise,
        currency="INR",
        status=PaymentStatus.created,
        razorpay_order_id=order_id,
        history=[PaymentEvent(status=PaymentStatus.created, source="order", detail=order_id)],
    )
    session.add(payment)
    await session.commit()
    return payment


async def owned(session: AsyncSession, user_id: uuid.UUID, payment_id: uuid.UUID) -> Payment:
    payment = await session.scalar(
        select(Payment)
        .where(Payment.id == payment_id, Payment.user_id == user_id)
        .options(selectinload(Payment.history))
    )
    if payment is None:
        raise PaymentNotFound()
    return payment


async def load(session: AsyncSession, payment_id: uuid.UUID) -> Payment:
    """A payment with its history, read afresh (after the changes just committed)."""
    payment = await session.scalar(
        select(Payment)
        .where(Payment.id == payment_id)
        .options(selectinload(Payment.history))
        .execution_options(populate_existing=True)
    )
    if payment is None:
        raise PaymentNotFound()
    return payment


async def list_owned(
    session: AsyncSession, user_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[Payment], int]:
    total = await session.scalar(
        select(func.count()).select_from(Payment).where(Payment.user_id == user_id)
    )
    rows = await session.scalars(
        select(Payment)
        .where(Payment.user_id == user_id)
        .options(selectinload(Payment.history))
        .order_by(Payment.created_at.desc(), Payment.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total or 0)


# --- confirmation from Checkout, and refresh ----------------------------------------------


async def confirm_checkout(
    session: AsyncSession,
    razorpay: Razorpay,
    user: User,
    *,
    order_id: str,
    payment_id: str,
    signature: str,
) -> Payment:
    """Checkout's success handler's three values: the signature proves Razorpay issued them
    for this order; the payment itself is then read from Razorpay (amount, currency, order,
    status) before anything is granted."""
    payment = await session.scalar(
        select(Payment).where(Payment.razorpay_order_id == order_id, Payment.user_id == user.id)
    )
    await session.commit()
    if payment is None:
        raise PaymentNotFound()
    razorpay.check_payment_signature(order_id, payment_id, signature)
    entity = await _settleable(razorpay, payment, await razorpay.fetch_payment(payment_id))
    problem = await apply_payment(session, payment.id, entity, source="checkout")
    await session.commit()
    if problem:
        raise PaymentMismatch(problem)
    return await load(session, payment.id)


async def refresh(session: AsyncSession, razorpay: Razorpay, payment: Payment) -> Payment:
    """Ask Razorpay what became of the order (a confirmation that never arrived, a UPI
    payment finished on the phone, a failure) and apply it."""
    await session.commit()
    if payment.status not in Settled:
        attempts = await razorpay.order_payments(payment.razorpay_order_id)
        for entity in sorted(attempts, key=lambda item: _int(item.get("created_at"))):
            entity = await _settleable(razorpay, payment, entity)
            await apply_payment(session, payment.id, entity, source="refresh")
            await session.commit()
    return await load(session, payment.id)


async def _settleable(razorpay: Razorpay, payment: Payment, entity: Entity) -> Entity:
    """Capture an authorized attempt of this order (orders ask for automatic capture, so
    this is the rare case where the account captures manually or capture lagged)."""
    if entity.get("status") == "authorized" and mismatch(payment, entity) is None:
        return await razorpay.capture(str(entity["id"]), payment.amount_paise)
    return entity


def mismatch(payment: Payment, entity: Entity) -> str | None:
    """Why a Razorpay payment cannot settle our payment, or None when it can."""
    if entity.get("order_id") != payment.razorpay_order_id:
        return "This payment belongs to another order."
    if entity.get("amount") != payment.amount_paise or entity.get("currency") != payment.currency:
        return (
            f"The payment is for {entity.get('amount')} {entity.get('currency')} but the order "
            f"is for {payment.amount_paise} {payment.currency}."
        )
    return None


async def apply_payment(
    session: AsyncSession, our_id: uuid.UUID, entity: Entity, *, source: str
) -> str | None:
    """Move our payment to what ``entity`` (a Razorpay payment of its order) says. Returns a
    reason when the entity cannot apply (it is recorded in the history); the caller commits.
    """
    payment = await session.get(Payment, our_id, populate_existing=True)
    if payment is None:
        raise PaymentNotFound()
    pay_id = str(entity.get("id") or "")
    problem = mismatch(payment, entity)
    if problem:
        log.error("payment %s: %s (%s, from %s)", payment.id, problem, pay_id, source)
        session.add(
            PaymentEvent(
                payment_id=payment.id,
                status=payment.status,
                source=source,
                razorpay_payment_id=pay_id[:64] or None,
                detail=f"not applied: {problem}"[:300],
            )
        )
        return problem
    status = entity.get("status")
    instrument = describe_method(entity)
    if status in ("captured", "refunded"):
        await _capture(session, payment, pay_id, instrument, source)
    elif status == "authorized":
        await _transition(
            session,
            payment,
            PaymentStatus.authorized,
            frm=(PaymentStatus.created, PaymentStatus.failed),
            values={"razorpay_payment_id": pay_id, **instrument},
            source=source,
            pay_id=pay_id,
        )
    elif status == "failed":
        reason = failure_reason(entity)
        await _transition(
            session,
            payment,
            PaymentStatus.failed,
            frm=Unsettled,
            values={"razorpay_payment_id": pay_id, "failure_reason": reason, **instrument},
            source=source,
            pay_id=pay_id,
            detail=reason,
        )
    return None


async def _capture(
    session: AsyncSession, payment: Payment, pay_id: str, instrument: dict[str, Any], source: str
) -> None:
    moved = await _transition(
        session,
        payment,
        PaymentStatus.captured,
        frm=Unsettled,
        values={
            "razorpay_payment_id": pay_id,
            "failure_reason": None,
            "captured_at": now(),
            **instrument,
        },
        source=source,
        pay_id=pay_id,
        detail=f"{payment.credits} credits granted",
    )
    if moved:
        granted = await ledger.grant(
            session,
            payment.user_id,
            payment.credits,
            reason="purchase",
            external_ref=f"razorpay:{pay_id}",
        )
        if not granted:  # the unique reference holds even if the row somehow moved twice
            log.error("payment %s: credits for %s were already granted", payment.id, pay_id)
    elif payment.razorpay_payment_id not in (None, pay_id):
        # A second successful attempt on an order already paid: Razorpay refuses these, but if
        # one gets through it is money taken for nothing, so say so loudly.
        log.error(
            "payment %s: order %s paid twice (%s and %s); refund the second",
            payment.id,
            payment.razorpay_order_id,
            payment.razorpay_payment_id,
            pay_id,
        )


async def _transition(
    session: AsyncSession,
    payment: Payment,
    to: PaymentStatus,
    *,
    frm: tuple[PaymentStatus, ...],
    values: dict[str, Any],
    source: str,
    pay_id: str,
    detail: str | None = None,
) -> bool:
    """One guarded UPDATE: of racing messengers, exactly one moves the row (PostgreSQL
    re-checks the guard after the row lock; SQLite runs one writer at a time)."""
    moved = await session.scalar(
        update(Payment)
        .where(Payment.id == payment.id, Payment.status.in_(frm))
        .values(status=to, updated_at=now(), **values)
        .returning(Payment.id)
    )
    if moved is None:
        return False
    session.add(
        PaymentEvent(
            payment_id=payment.id,
            status=to,
            source=source,
            razorpay_payment_id=pay_id[:64] or None,
            detail=detail,
        )
    )
    return True


# --- webhooks -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebhookOutcome:
    event: str
    handled: bool
    detail: str


async def handle_webhook(
    session: AsyncSession,
    razorpay: Razorpay,
    body: bytes,
    *,
    signature: str | None,
    event_id: str | None,
) -> WebhookOutcome:
    """A webhook delivery: the signature over the raw body first, then once per event id.

    Never calls Razorpay, so it answers fast. Whatever cannot apply (an unknown order, a
    payment that does not match its order) is logged and acknowledged: refusing it would
    only make Razorpay deliver it again for a day.
    """
    razorpay.check_webhook_signature(body, signature or "")
    try:
        document = json.loads(body)
        event = str(document["event"])
        payload = document["payload"]
        if not isinstance(payload, dict):
            raise TypeError("payload is not an object")
    except (ValueError, KeyError, TypeError) as error:
        raise PaymentMismatch(f"The webhook body is not a Razorpay event: {error}") from None
    # Razorpay always sends the event id; without one, the body itself identifies it.
    key = event_id or "sha256:" + hashlib.sha256(body).hexdigest()[:56]
    try:
        async with session.begin_nested():
            session.add(WebhookDelivery(event_id=key[:64], event=event[:48]))
            await session.flush()
    except IntegrityError:
        await session.rollback()
        return WebhookOutcome(event, False, "already handled")
    # Forget deliveries older than any redelivery (an index range; usually nothing).
    await session.execute(
        delete(WebhookDelivery).where(WebhookDelivery.received_at < now() - WEBHOOK_MEMORY)
    )
    if event not in HANDLED_EVENTS:
        await session.commit()
        return WebhookOutcome(event, False, "not an event this server acts on")
    entity = _entity(payload, "payment")
    if entity is None:
        await session.commit()
        log.error("webhook %s (%s) has no payment entity", key, event)
        return WebhookOutcome(event, False, "no payment in the event")
    payment = await session.scalar(
        select(Payment).where(Payment.razorpay_order_id == entity.get("order_id"))
    )
    if payment is None:
        await session.commit()
        log.warning("webhook %s (%s) for an order we never opened: %s", key, event, entity)
        return WebhookOutcome(event, False, "unknown order")
    problem = await apply_payment(session, payment.id, entity, source="webhook")
    if problem is None and event == "refund.processed":
        refund = _entity(payload, "refund")
        if refund is None:
            problem = "no refund in the event"
        else:
            await apply_refund(session, payment.id, refund, source="webhook")
    await session.commit()
    return WebhookOutcome(event, problem is None, problem or "applied")


def _entity(payload: dict[str, Any], name: str) -> Entity | None:
    found = payload.get(name)
    entity = found.get("entity") if isinstance(found, dict) else None
    return entity if isinstance(entity, dict) else None


# --- refunds ------------------------------------------------------------------------------


async def refund(
    session: AsyncSession, razorpay: Razorpay, admin: User, payment_id: uuid.UUID, reason: str
) -> Payment:
    """Refund what is left of a captured payment. Applied now if Razorpay processed it at
    once, else when ``refund.processed`` arrives."""
    payment = await session.get(Payment, payment_id)
    await session.commit()
    if payment is None:
        raise PaymentNotFound()
    refundable = payment.amount_paise - payment.refunded_paise
    if payment.status not in Settled or not payment.razorpay_payment_id or refundable <= 0:
        raise NotRefundable(
            f"This payment is {payment.status.value}"
            + (" and already refunded in full." if refundable <= 0 else "; nothing to refund.")
        )
    entity = await razorpay.refund(
        payment.razorpay_payment_id,
        refundable,
        notes={"reason": reason[:256], "admin_id": str(admin.id), "payment_id": str(payment.id)},
    )
    audit.record(
        session,
        admin,
        "payment.refund",
        target_type="payment",
        target_id=payment.id,
        detail={
            "amount_paise": refundable,
            "reason": reason,
            "refund_id": entity.get("id"),
            "user_id": str(payment.user_id),
        },
    )
    if entity.get("status") == "processed":
        await apply_refund(session, payment.id, entity, source="admin")
    else:
        session.add(
            PaymentEvent(
                payment_id=payment.id,
                status=payment.status,
                source="admin",
                razorpay_payment_id=payment.razorpay_payment_id,
                detail=f"refund of {refundable} paise requested ({entity.get('id')})",
            )
        )
    await session.commit()
    return await load(session, payment.id)


async def apply_refund(
    session: AsyncSession, our_id: uuid.UUID, refund_entity: Entity, *, source: str
) -> bool:
    """Remove the refunded share of the pack's credits, once per refund id (the caller
    commits). A full refund removes them all, even those already spent: the balance may go
    below zero, and new interviews then wait until it is settled."""
    refund_id = str(refund_entity.get("id") or "")
    amount = _int(refund_entity.get("amount"))
    if not refund_id or amount <= 0:
        log.error("payment %s: unusable refund %s", our_id, refund_entity)
        return False
    ref = f"razorpay-refund:{refund_id}"
    try:
        async with session.begin_nested():
            # The refund's own row is the guard: its reference is unique (see the ledger).
            payment = await session.scalar(
                select(Payment).where(Payment.id == our_id).with_for_update()
            )
            if payment is None:
                raise PaymentNotFound()
            refunded = min(payment.amount_paise, payment.refunded_paise + amount)
            target = math.ceil(payment.credits * refunded / payment.amount_paise)
            remove = max(0, target - payment.credits_removed)
            session.add(
                PaymentEvent(
                    payment_id=payment.id,
                    status=PaymentStatus.refunded,
                    source=source,
                    razorpay_payment_id=payment.razorpay_payment_id,
                    razorpay_refund_id=refund_id[:64],
                    detail=f"{amount} paise refunded; {remove} credits removed",
                )
            )
            await session.flush()
            await session.execute(
                update(Payment)
                .where(Payment.id == payment.id)
                .values(
                    status=PaymentStatus.refunded,
                    refunded_paise=refunded,
                    credits_removed=payment.credits_removed + remove,
                    refunded_at=now(),
                    updated_at=now(),
                )
            )
            if remove:
                await ledger.remove_once(
                    session, payment.user_id, remove, reason="refund", external_ref=ref
                )
    except IntegrityError:
        return False  # this refund was applied before
    return True


# --- what people see ----------------------------------------------------------------------


def describe_method(entity: Entity) -> dict[str, Any]:
    """The method and what may be shown of the instrument (never a full VPA or card)."""
    method = entity.get("method")
    if not isinstance(method, str) or not method:
        return {}
    detail: str | None = None
    if method == "upi" and isinstance(entity.get("vpa"), str):
        detail = mask_vpa(entity["vpa"])
    elif method == "card" and isinstance(entity.get("card"), dict):
        card = entity["card"]
        detail = " ".join(
            str(part)
            for part in (
                card.get("network"),
                f"•••• {card['last4']}" if card.get("last4") else None,
            )
            if part
        )
    elif method in ("netbanking", "emandate") and isinstance(entity.get("bank"), str):
        detail = entity["bank"]
    elif method == "wallet" and isinstance(entity.get("wallet"), str):
        detail = entity["wallet"]
    return {"method": method[:24], "method_detail": detail[:80] if detail else None}


def mask_vpa(vpa: str) -> str:
    """``success@razorpay`` → ``su•••••@razorpay``: enough to recognise, not to reuse."""
    handle, at, bank = vpa.partition("@")
    shown = handle[:2]
    return f"{shown}{'•' * max(3, len(handle) - len(shown))}{at}{bank}"


def failure_reason(entity: Entity) -> str:
    """Razorpay's words for the candidate (its description), else its reason code in words."""
    description = entity.get("error_description")
    if isinstance(description, str) and description.strip():
        return description.strip()[:300]
    reason = entity.get("error_reason")
    if isinstance(reason, str) and reason:
        return reason.replace("_", " ").capitalize()[:300]
    return "The payment did not go through."


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


async def balance(session: AsyncSession, user_id: uuid.UUID) -> int:
    found = await session.scalar(select(User.credit_balance).where(User.id == user_id))
    return int(found or 0)
