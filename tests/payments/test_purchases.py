"""Buying a credit pack: order, Checkout's confirmation, the payment read back from Razorpay.

The real ``razorpay`` SDK talks to the local fake (tests/fakes/razorpay.py) over HTTP."""

from __future__ import annotations

import asyncio
import logging
import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from server.app import create_app
from server.config import Settings
from server.store.models import Payment
from tests.conftest import bearer, register
from tests.payments.conftest import Shop


async def _payment_rows(app: FastAPI, user_id: uuid.UUID) -> int:
    async with app.state.services.sessionmaker() as db:
        count = await db.scalar(
            select(func.count()).select_from(Payment).where(Payment.user_id == user_id)
        )
        return int(count or 0)


async def test_without_keys_buying_is_off_and_free_credits_still_work(
    client: httpx.AsyncClient,
) -> None:
    config = await client.get("/api/payments/config")
    assert config.status_code == 200
    body = config.json()
    assert body["enabled"] is False and body["key_id"] is None and body["checkout_url"] is None
    assert [p["id"] for p in body["packs"]] == ["single", "five", "twelve"]
    assert [p["price_paise"] for p in body["packs"]] == [4900, 19900, 39900]
    session = await register(client)
    order = await client.post(
        "/api/payments/orders", json={"pack": "five"}, headers=bearer(session)
    )
    assert order.status_code == 503
    assert order.json()["code"] == "payments_disabled"
    started = await client.post(
        "/api/interviews", json={"track": "backend", "level": "mid"}, headers=bearer(session)
    )
    assert started.status_code == 201


async def test_a_candidate_buys_a_pack_with_upi_and_the_credits_arrive_once(shop: Shop) -> None:
    buyer = await shop.buyer()
    before = await shop.balance(buyer)
    order = await shop.order(buyer, "five")
    assert order["amount_paise"] == 19900 and order["currency"] == "INR"
    assert order["key_id"] == shop.razorpay.key_id
    assert order["prefill"]["email"] == buyer.email
    # What Razorpay was asked: the server's price, our payment id as the receipt, the user id.
    created = shop.razorpay.calls("orders.create")
    assert len(created) == 1
    assert created[0].body["amount"] == 19900
    assert created[0].body["receipt"] == order["payment_id"]
    assert len(created[0].body["receipt"]) <= 40
    assert created[0].body["notes"]["user_id"] == str(buyer.id)

    paid = shop.razorpay.pay(order["order_id"], vpa="success@razorpay")
    verified = await shop.verify(buyer, paid.checkout_response)
    assert verified.status_code == 200, verified.text
    result = verified.json()
    assert result["balance"] == before + 5
    payment = result["payment"]
    assert payment["status"] == "captured"
    assert payment["method"] == "upi"
    assert payment["method_detail"] == "su•••••@razorpay"
    assert [step["status"] for step in payment["history"]] == ["created", "captured"]
    assert await shop.balance(buyer) == before + 5

    # The same confirmation again (a double click, a retried request) grants nothing more.
    again = await shop.verify(buyer, paid.checkout_response)
    assert again.status_code == 200
    assert again.json()["balance"] == before + 5
    assert [e.delta for e in await shop.purchases(buyer)] == [5]

    receipts = await shop.http.get("/api/payments", headers=buyer.headers)
    assert receipts.json()["total"] == 1
    assert receipts.json()["items"][0]["id"] == order["payment_id"]


async def test_a_tampered_signature_is_refused_and_nothing_is_granted(shop: Shop) -> None:
    buyer = await shop.buyer()
    before = await shop.balance(buyer)
    order = await shop.order(buyer)
    paid = shop.razorpay.pay(order["order_id"])
    forged = {**paid.checkout_response, "razorpay_signature": "0" * 64}
    refused = await shop.verify(buyer, forged)
    assert refused.status_code == 400
    assert refused.json()["code"] == "payment_signature_invalid"
    assert shop.razorpay.calls("payments.fetch") == []  # refused before asking Razorpay
    assert await shop.balance(buyer) == before


async def test_the_price_comes_from_the_server_never_the_client(shop: Shop) -> None:
    buyer = await shop.buyer()
    with_amount = await shop.http.post(
        "/api/payments/orders", json={"pack": "twelve", "amount": 100}, headers=buyer.headers
    )
    assert with_amount.status_code == 422
    unknown = await shop.http.post(
        "/api/payments/orders", json={"pack": "hundred"}, headers=buyer.headers
    )
    assert unknown.status_code == 400
    assert unknown.json()["code"] == "unknown_pack"
    assert "single, five, twelve" in unknown.json()["detail"]
    assert shop.razorpay.calls("orders.create") == []


async def test_a_cheap_payment_cannot_confirm_an_expensive_order(shop: Shop) -> None:
    """A payment made on the ₹49 order, presented (with its own valid signature) as the
    confirmation of the ₹399 order: the signature binds order and payment, so it is refused;
    and re-signing it for the other order (as if the key leaked) still fails the amount check."""
    buyer = await shop.buyer()
    before = await shop.balance(buyer)
    cheap = await shop.order(buyer, "single")
    dear = await shop.order(buyer, "twelve")
    paid = shop.razorpay.pay(cheap["order_id"])
    swapped = {**paid.checkout_response, "razorpay_order_id": dear["order_id"]}
    refused = await shop.verify(buyer, swapped)
    assert refused.status_code == 400
    assert refused.json()["code"] == "payment_signature_invalid"
    swapped["razorpay_signature"] = shop.razorpay.checkout_signature(dear["order_id"], paid.id)
    mismatch = await shop.verify(buyer, swapped)
    assert mismatch.status_code == 400
    assert mismatch.json()["code"] == "payment_mismatch"
    assert await shop.balance(buyer) == before


async def test_someone_elses_order_is_not_found(shop: Shop) -> None:
    owner, other = await shop.buyer(), await shop.buyer()
    order = await shop.order(owner)
    paid = shop.razorpay.pay(order["order_id"])
    stolen = await shop.verify(other, paid.checkout_response)
    assert stolen.status_code == 404
    assert (
        await shop.http.get(f"/api/payments/{order['payment_id']}", headers=other.headers)
    ).status_code == 404
    refresh = await shop.http.post(
        f"/api/payments/{order['payment_id']}/refresh", headers=other.headers
    )
    assert refresh.status_code == 404
    # The owner still gets them.
    assert (await shop.verify(owner, paid.checkout_response)).status_code == 200


async def test_an_authorized_payment_is_captured_before_credits_are_granted(shop: Shop) -> None:
    buyer = await shop.buyer()
    before = await shop.balance(buyer)
    order = await shop.order(buyer)
    paid = shop.razorpay.pay(order["order_id"], capture=False)
    assert paid.status == "authorized"
    verified = await shop.verify(buyer, paid.checkout_response)
    assert verified.status_code == 200
    assert verified.json()["payment"]["status"] == "captured"
    captures = shop.razorpay.calls("payments.capture")
    assert [c.body["amount"] for c in captures] == [19900]
    assert shop.razorpay.payments[paid.id]["status"] == "captured"
    assert await shop.balance(buyer) == before + 5


async def test_a_failed_payment_records_its_reason_and_a_retry_on_the_order_succeeds(
    shop: Shop,
) -> None:
    buyer = await shop.buyer()
    before = await shop.balance(buyer)
    order = await shop.order(buyer)
    failed = shop.razorpay.pay(order["order_id"], vpa="failure@razorpay")
    assert not failed.succeeded
    refreshed = await shop.http.post(
        f"/api/payments/{order['payment_id']}/refresh", headers=buyer.headers
    )
    assert refreshed.status_code == 200
    payment = refreshed.json()["payment"]
    assert payment["status"] == "failed"
    assert payment["failure_reason"] == "Payment failed"
    assert refreshed.json()["balance"] == before

    # Checkout lets the candidate try again on the same order.
    paid = shop.razorpay.pay(order["order_id"])
    verified = await shop.verify(buyer, paid.checkout_response)
    assert verified.json()["payment"]["status"] == "captured"
    assert verified.json()["payment"]["failure_reason"] is None
    assert [s["status"] for s in verified.json()["payment"]["history"]] == [
        "created",
        "failed",
        "captured",
    ]
    assert verified.json()["balance"] == before + 5


async def test_refresh_settles_a_payment_whose_confirmation_never_arrived(shop: Shop) -> None:
    """Checkout closed after the UPI app paid, and no webhook came (yet): asking Razorpay
    grants the credits."""
    buyer = await shop.buyer()
    before = await shop.balance(buyer)
    order = await shop.order(buyer)
    shop.razorpay.pay(order["order_id"])
    refreshed = await shop.http.post(
        f"/api/payments/{order['payment_id']}/refresh", headers=buyer.headers
    )
    assert refreshed.json()["payment"]["status"] == "captured"
    assert refreshed.json()["balance"] == before + 5


async def test_razorpay_failures_give_a_clear_error_and_leave_nothing_half_made(
    shop: Shop,
) -> None:
    buyer = await shop.buyer()
    shop.razorpay.fail_next("orders.create", 503)
    shop.razorpay.garbage_next("orders.create")
    shop.razorpay.stall_next("orders.create", 3.0, applied=False)
    for expected in ("failed", "unreadable", "in time"):
        refused = await shop.http.post(
            "/api/payments/orders", json={"pack": "five"}, headers=buyer.headers
        )
        assert refused.status_code == 502, refused.text
        assert refused.json()["code"] == "payment_provider_error"
        assert expected in refused.json()["detail"]
    assert await _payment_rows(shop.app, buyer.id) == 0
    # The order can simply be opened again.
    order = await shop.order(buyer)
    assert await _payment_rows(shop.app, buyer.id) == 1

    # Razorpay failing while the payment is read back: nothing granted, the retry works.
    paid = shop.razorpay.pay(order["order_id"])
    before = await shop.balance(buyer)
    shop.razorpay.fail_next("payments.fetch", 500)
    failed = await shop.verify(buyer, paid.checkout_response)
    assert failed.status_code == 502
    assert await shop.balance(buyer) == before
    assert (await shop.verify(buyer, paid.checkout_response)).json()["balance"] == before + 5


async def test_bad_credentials_are_a_provider_error_not_a_crash(shop: Shop) -> None:
    buyer = await shop.buyer()
    shop.razorpay.key_secret = "rotated-elsewhere"  # the server still has the old one
    refused = await shop.http.post(
        "/api/payments/orders", json={"pack": "five"}, headers=buyer.headers
    )
    assert refused.status_code == 502
    assert "refused" in refused.json()["detail"]


async def test_many_concurrent_confirmations_grant_once(shop: Shop) -> None:
    buyer = await shop.buyer()
    before = await shop.balance(buyer)
    order = await shop.order(buyer)
    paid = shop.razorpay.pay(order["order_id"])
    answers = await asyncio.gather(*[shop.verify(buyer, paid.checkout_response) for _ in range(8)])
    assert {a.status_code for a in answers} == {200}
    assert await shop.balance(buyer) == before + 5
    assert len(await shop.purchases(buyer)) == 1


async def test_opening_orders_is_limited_per_hour(shop: Shop) -> None:
    shop.app.state.settings.payment_orders_per_hour = 2
    buyer = await shop.buyer()
    await shop.order(buyer)
    await shop.order(buyer)
    limited = await shop.http.post(
        "/api/payments/orders", json={"pack": "five"}, headers=buyer.headers
    )
    assert limited.status_code == 429
    assert limited.headers["Retry-After"]
    assert len(shop.razorpay.calls("orders.create")) == 2


async def test_malformed_confirmations_are_refused_by_shape(shop: Shop) -> None:
    buyer = await shop.buyer()
    good = {
        "razorpay_order_id": "order_" + "A" * 14,
        "razorpay_payment_id": "pay_" + "B" * 14,
        "razorpay_signature": "a" * 64,
    }
    for field, value in [
        ("razorpay_order_id", "order_../x"),
        ("razorpay_payment_id", "pay_\u0000"),
        ("razorpay_signature", "Z" * 64),
        ("razorpay_signature", 12),
    ]:
        answer = await shop.verify(buyer, {**good, field: value})
        assert answer.status_code == 422, (field, value)
    unknown = await shop.verify(buyer, good)
    assert unknown.status_code == 404


async def test_the_start_up_log_says_when_buying_is_off(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings)
    with caplog.at_level(logging.INFO, logger="server.app"):
        async with app.router.lifespan_context(app):
            pass
    assert any("buying credits is off" in r.getMessage() for r in caplog.records)
    assert any("INTERVIEW_RAZORPAY_WEBHOOK_SECRET" in r.getMessage() for r in caplog.records)
