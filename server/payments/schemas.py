"""Request and response bodies of the payment endpoints."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from server.config import CreditPack
from server.store.models import Payment, PaymentStatus
from server.text import NonBlankText

ORDER_ID = r"^order_[A-Za-z0-9]{1,40}$"
PAYMENT_ID = r"^pay_[A-Za-z0-9]{1,40}$"


class Pack(BaseModel):
    id: str
    credits: int
    price_paise: int = Field(description="The price in paise (₹1 = 100 paise).")
    currency: str = "INR"
    label: str

    @classmethod
    def of(cls, pack: CreditPack) -> Pack:
        return cls(id=pack.id, credits=pack.credits, price_paise=pack.price_paise, label=pack.label)


class PaymentsConfig(BaseModel):
    """What the pricing page needs. With ``enabled`` false, buying is off on this server."""

    enabled: bool
    packs: list[Pack]
    key_id: str | None = Field(description="Razorpay's public key id, for Checkout.")
    checkout_url: str | None = Field(description="The Checkout script to load.")
    business_name: str


class OrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pack: str = Field(min_length=1, max_length=32, examples=["five"])


class Prefill(BaseModel):
    email: str


class CheckoutOrder(BaseModel):
    """Everything Checkout is opened with; the amount is the server's, never the client's."""

    payment_id: uuid.UUID
    order_id: str
    key_id: str
    amount_paise: int
    currency: str
    pack: Pack
    name: str = Field(description="The business name Checkout shows.")
    description: str
    prefill: Prefill


class CheckoutConfirmation(BaseModel):
    """The three values Checkout hands its success handler, passed on unchanged."""

    model_config = ConfigDict(extra="forbid")

    razorpay_order_id: str = Field(pattern=ORDER_ID, max_length=64)
    razorpay_payment_id: str = Field(pattern=PAYMENT_ID, max_length=64)
    razorpay_signature: str = Field(pattern=r"^[0-9a-f]{64}$")


class PaymentStep(BaseModel):
    status: PaymentStatus
    source: str = Field(description="order, checkout, webhook, refresh or admin")
    detail: str | None
    at: datetime


class PaymentPublic(BaseModel):
    """A purchase as its buyer sees it (a receipt)."""

    id: uuid.UUID
    pack: str
    credits: int
    amount_paise: int
    currency: str
    status: PaymentStatus
    method: str | None
    method_detail: str | None = Field(description="A masked UPI id, or a card network and last 4.")
    failure_reason: str | None
    refunded_paise: int
    credits_removed: int = Field(description="Credits taken back by refunds.")
    created_at: datetime
    captured_at: datetime | None
    refunded_at: datetime | None
    history: list[PaymentStep]

    @classmethod
    def fields_of(cls, payment: Payment) -> dict[str, object]:
        return {
            "id": payment.id,
            "pack": payment.pack,
            "credits": payment.credits,
            "amount_paise": payment.amount_paise,
            "currency": payment.currency,
            "status": payment.status,
            "method": payment.method,
            "method_detail": payment.method_detail,
            "failure_reason": payment.failure_reason,
            "refunded_paise": payment.refunded_paise,
            "credits_removed": payment.credits_removed,
            "created_at": payment.created_at,
            "captured_at": payment.captured_at,
            "refunded_at": payment.refunded_at,
            "history": [
                PaymentStep(status=e.status, source=e.source, detail=e.detail, at=e.created_at)
                for e in payment.history
            ],
        }

    @classmethod
    def of(cls, payment: Payment) -> PaymentPublic:
        return cls.model_validate(cls.fields_of(payment))


class PaymentResult(BaseModel):
    payment: PaymentPublic
    balance: int = Field(description="The credit balance after this payment.")


class PaymentList(BaseModel):
    items: list[PaymentPublic]
    total: int
    limit: int
    offset: int


class WebhookAck(BaseModel):
    event: str
    handled: bool
    detail: str


# --- admin --------------------------------------------------------------------------------


class AdminPayment(PaymentPublic):
    user_id: uuid.UUID
    email: str
    razorpay_order_id: str
    razorpay_payment_id: str | None


class AdminPaymentList(BaseModel):
    items: list[AdminPayment]
    total: int
    limit: int
    offset: int


class RefundRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: NonBlankText = Field(min_length=1, max_length=200, description="Kept in the audit log.")


class RevenueDay(BaseModel):
    day: date
    payments: int = Field(description="Payments captured that day.")
    gross_paise: int
    refunded_paise: int = Field(description="Refunds applied that day.")
    net_paise: int


class Revenue(BaseModel):
    start: date
    end: date
    days: list[RevenueDay]
    payments: int
    gross_paise: int
    refunded_paise: int
    net_paise: int
