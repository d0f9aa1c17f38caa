"""/api/payments: packs, orders, Checkout's confirmation, receipts, and Razorpay's webhook."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request

from server.auth.deps import CurrentUser
from server.deps import ServicesDep, SessionDep, SettingsDep
from server.errors import error_responses
from server.payments import service
from server.payments.provider import Razorpay
from server.payments.schemas import (
    CheckoutConfirmation,
    CheckoutOrder,
    OrderCreate,
    Pack,
    PaymentList,
    PaymentPublic,
    PaymentResult,
    PaymentsConfig,
    Prefill,
    WebhookAck,
)

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/payments", tags=["payments"])


async def razorpay(services: ServicesDep) -> Razorpay:
    if services.razorpay is None:
        raise service.PaymentsDisabled()
    return services.razorpay


RazorpayDep = Annotated[Razorpay, Depends(razorpay)]


@router.get("/config", response_model=PaymentsConfig)
async def get_config(settings: SettingsDep) -> PaymentsConfig:
    """The credit packs and whether they can be bought here (no sign-in needed)."""
    enabled = settings.payments_enabled
    return PaymentsConfig(
        enabled=enabled,
        packs=[Pack.of(pack) for pack in settings.credit_packs],
        key_id=settings.razorpay_key_id if enabled else None,
        checkout_url=settings.razorpay_checkout_url if enabled else None,
        business_name=settings.business_name,
    )


@router.post(
    "/orders",
    response_model=CheckoutOrder,
    status_code=201,
    responses=error_responses(400, 401, 429, 502, 503),
)
async def create_order(
    body: OrderCreate,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    gateway: RazorpayDep,
) -> CheckoutOrder:
    """Open a Razorpay order for a pack, at the server's price, to pay with Checkout."""
    payment = await service.open_order(session, gateway, settings, user, body.pack)
    pack = settings.credit_pack(payment.pack)
    assert pack is not None
    return CheckoutOrder(
        payment_id=payment.id,
        order_id=payment.razorpay_order_id,
        key_id=gateway.key_id,
        amount_paise=payment.amount_paise,
        currency=payment.currency,
        pack=Pack.of(pack),
        name=settings.business_name,
        description=f"{pack.label}: {pack.credits} interview credits",
        prefill=Prefill(email=user.email),
    )


@router.post(
    "/verify",
    response_model=PaymentResult,
    responses=error_responses(400, 401, 404, 502, 503),
)
async def verify(
    body: CheckoutConfirmation, user: CurrentUser, session: SessionDep, gateway: RazorpayDep
) -> PaymentResult:
    """Checkout's confirmation: checked against its signature and Razorpay's own record,
    then the pack's credits are granted (once, whichever of this and the webhook is first)."""
    payment = await service.confirm_checkout(
        session,
        gateway,
        user,
        order_id=body.razorpay_order_id,
        payment_id=body.razorpay_payment_id,
        signature=body.razorpay_signature,
    )
    return PaymentResult(
        payment=PaymentPublic.of(payment), balance=await service.balance(session, user.id)
    )


@router.post(
    "/{payment_id:uuid}/refresh",
    response_model=PaymentResult,
    responses=error_responses(401, 404, 502, 503),
)
async def refresh(
    payment_id: uuid.UUID, user: CurrentUser, session: SessionDep, gateway: RazorpayDep
) -> PaymentResult:
    """Ask Razorpay what became of this payment (e.g. a UPI payment finished on the phone
    after Checkout was closed) and apply it."""
    payment = await service.owned(session, user.id, payment_id)
    payment = await service.refresh(session, gateway, payment)
    return PaymentResult(
        payment=PaymentPublic.of(payment), balance=await service.balance(session, user.id)
    )


@router.get("", response_model=PaymentList, responses=error_responses(401))
async def list_payments(
    user: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> PaymentList:
    """The signed-in user's purchases, newest first, with their history (receipts)."""
    items, total = await service.list_owned(session, user.id, limit=limit, offset=offset)
    return PaymentList(
        items=[PaymentPublic.of(p) for p in items], total=total, limit=limit, offset=offset
    )


@router.get("/{payment_id:uuid}", response_model=PaymentPublic, responses=error_responses(401, 404))
async def get_payment(
    payment_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> PaymentPublic:
    """One purchase with its history."""
    return PaymentPublic.of(await service.owned(session, user.id, payment_id))


@router.post(
    "/webhook",
    response_model=WebhookAck,
    responses=error_responses(400, 503),
)
async def webhook(
    request: Request,
    session: SessionDep,
    gateway: RazorpayDep,
    signature: Annotated[str | None, Header(alias="X-Razorpay-Signature")] = None,
    event_id: Annotated[str | None, Header(alias="x-razorpay-event-id", max_length=64)] = None,
) -> WebhookAck:
    """Razorpay's webhook (payment.captured, order.paid, payment.failed, refund.processed,
    payment.authorized): the signature over the raw body is checked before anything is read;
    a redelivered event is acknowledged and ignored."""
    outcome = await service.handle_webhook(
        session, gateway, await request.body(), signature=signature, event_id=event_id
    )
    log.info(
        "razorpay webhook",
        extra={"event": outcome.event, "handled": outcome.handled, "detail": outcome.detail},
    )
    return WebhookAck(event=outcome.event, handled=outcome.handled, detail=outcome.detail)
