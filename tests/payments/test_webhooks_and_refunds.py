"""Razorpay's webhooks (signed, redelivered, out of order) and refunds, against the real SDK."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import httpx
import pytest
import razorpay
from sqlalchemy import func, select

from server.app import create_app
from server.store.models import WebhookDelivery
from tests.fakes.razorpay import FakeRazorpay
from tests.payments.conftest import Shop, balances_match_ledger, shop_settings


async def _deliveries(shop: Shop, event_id: str) -> int:
    async with shop.app.state.services.sessionmaker() as db:
        count = await db.scalar(
            select(func.count())
            .select_from(WebhookDelivery)
            .where(WebhookDelivery.event_id == event_id)
        )
        return int(count or 0)


async def test_the_same_webhook_delivered_ten_times_at_once_grants_once(shop: Shop) -> None:
    buyer = await shop.buyer()
    before = await shop.balance(buyer)
    order = await shop.order(buyer)
    paid = shop.razorpay.pay(order["order_id"])
    hook = shop.razorpay.webhook("payment.captured", payment_id=paid.id)
    answers = await asyncio.gather(*[shop.deliver(hook) for _ in range(10)])
    assert {a.status_code for a in answers} == {200}
    handled = [a.json() for a in answers if a.json()["handled"]]
    assert len(handled) == 1
    assert {a.json()["detail"] for a in answers} == {"applied", "already handled"}
    assert await shop.balance(buyer) == before + 5
    assert len(await shop.purchases(buyer)) == 1
    assert await _deliveries(shop, hook.event_id) == 1


async def test_a_webhook_before_the_checkout_confirmation_grants_and_verify_is_a_no_op(
    shop: Shop,
) -> None:
    buyer = await shop.buyer()
    before = await shop.balance(buyer)
    order = await shop.order(buyer)
    paid = shop.razorpay.pay(order["order_id"])
    delivered = await shop.deliver(shop.razorpay.webhook("order.paid", order_id=order["order_id"]))
    assert delivered.json() == {"event": "order.paid", "handled": True, "detail": "applied"}
    assert await shop.balance(buyer) == before + 5
    verified = await shop.verify(buyer, paid.checkout_response)
    assert verified.status_code == 200
    assert verified.json()["balance"] == before + 5
    history = verified.json()["payment"]["history"]
    assert [(s["status"], s["source"]) for s in history] == [
        ("created", "order"),
        ("captured", "webhook"),
    ]


async def test_payment_captured_and_order_paid_for_one_payment_grant_once(shop: Shop) -> None:
    buyer = await shop.buyer()
    before = await shop.balance(buyer)
    order = await shop.order(buyer)
    paid = shop.razorpay.pay(order["order_id"])
    # Any order, each twice (different deliveries of the same events).
    hooks = [
        shop.razorpay.webhook("order.paid", payment_id=paid.id),
        shop.razorpay.webhook("payment.captured", payment_id=paid.id),
        shop.razorpay.webhook("payment.authorized", payment_id=paid.id),
    ]
    for hook in [*hooks, *reversed(hooks)]:
        assert (await shop.deliver(hook)).status_code == 200
    assert await shop.balance(buyer) == before + 5
    assert len(await shop.purchases(buyer)) == 1
    receipt = await shop.http.get(f"/api/payments/{order['payment_id']}", headers=buyer.headers)
    # A late "authorized" never moves a captured payment back.
    assert receipt.json()["status"] == "captured"


async def test_payment_failed_is_recorded_and_a_late_one_never_undoes_a_success(
    shop: Shop,
) -> None:
    buyer = await shop.buyer()
    before = await shop.balance(buyer)
    order = await shop.order(buyer)
    failed = shop.razorpay.pay(order["order_id"], reason="insufficient_funds")
    hook = shop.razorpay.webhook("payment.failed", payment_id=failed.id)
    assert (await shop.deliver(hook)).json()["handled"] is True
    receipt = await shop.http.get(f"/api/payments/{order['payment_id']}", headers=buyer.headers)
    assert receipt.json()["status"] == "failed"
    assert "insufficient account balance" in receipt.json()["failure_reason"]

    paid = shop.razorpay.pay(order["order_id"])
    await shop.deliver(shop.razorpay.webhook("payment.captured", payment_id=paid.id))
    # The failed attempt's event delivered again, later, under a new event id.
    late = shop.razorpay.webhook("payment.failed", payment_id=failed.id)
    assert (await shop.deliver(late)).status_code == 200
    receipt = await shop.http.get(f"/api/payments/{order['payment_id']}", headers=buyer.headers)
    assert receipt.json()["status"] == "captured"
    assert await shop.balance(buyer) == before + 5


async def test_bad_signatures_are_refused_before_anything_is_read(shop: Shop) -> None:
    buyer = await shop.buyer()
    before = await shop.balance(buyer)
    order = await shop.order(buyer)
    paid = shop.razorpay.pay(order["order_id"])
    hook = shop.razorpay.webhook("payment.captured", payment_id=paid.id)
    cases = {
        "tampered body": hook.tampered(),
        "signed with the key secret": hook.resigned(shop.razorpay.key_secret),
        "re-serialised": hook.tampered(json.dumps(hook.payload).encode()),
        "not UTF-8": hook.tampered(b"\xff\xfe" + hook.body),
    }
    for name, bad in cases.items():
        refused = await shop.deliver(bad)
        assert refused.status_code == 400, name
        assert refused.json()["code"] == "payment_signature_invalid", name
    unsigned = await shop.http.post("/api/payments/webhook", content=hook.body)
    assert unsigned.status_code == 400
    assert await shop.balance(buyer) == before
    assert await _deliveries(shop, hook.event_id) == 0  # nothing remembered: the real one works
    assert (await shop.deliver(hook)).json()["handled"] is True
    assert await shop.balance(buyer) == before + 5


async def test_a_signed_webhook_that_does_not_match_its_order_is_acknowledged_not_applied(
    shop: Shop, caplog: pytest.LogCaptureFixture
) -> None:
    buyer = await shop.buyer()
    before = await shop.balance(buyer)
    order = await shop.order(buyer)
    paid = shop.razorpay.pay(order["order_id"])
    hook = shop.razorpay.webhook("payment.captured", payment_id=paid.id)

    def cheaper(payload: dict[str, object]) -> None:
        payload["payload"]["payment"]["entity"]["amount"] = 100  # type: ignore[index]

    forged = hook.tampered(cheaper).resigned(shop.razorpay.webhook_secret)
    with caplog.at_level(logging.ERROR, logger="server.payments.service"):
        answer = await shop.deliver(forged)
    assert answer.status_code == 200
    assert answer.json()["handled"] is False
    assert "100 INR" in answer.json()["detail"]
    assert any("order is for 19900" in r.getMessage() for r in caplog.records)
    assert await shop.balance(buyer) == before


async def test_webhooks_for_unknown_orders_and_other_events_are_acknowledged(
    shop: Shop,
) -> None:
    """An order opened elsewhere on the same Razorpay account (another app, the dashboard):
    acknowledged, so Razorpay does not deliver it again for a day, and logged."""
    elsewhere = razorpay.Client(
        auth=(shop.razorpay.key_id, shop.razorpay.key_secret), base_url=shop.razorpay.base_url
    )
    order = await asyncio.to_thread(
        elsewhere.order.create,
        {"amount": 5000, "currency": "INR", "receipt": "elsewhere"},
        timeout=5,
    )
    paid = shop.razorpay.pay(order["id"])
    unknown = await shop.deliver(shop.razorpay.webhook("payment.captured", payment_id=paid.id))
    assert unknown.status_code == 200
    assert unknown.json() == {
        "event": "payment.captured",
        "handled": False,
        "detail": "unknown order",
    }
    refund = await asyncio.to_thread(elsewhere.payment.refund, paid.id, {}, timeout=5)
    other = await shop.deliver(shop.razorpay.webhook("refund.created", refund_id=refund["id"]))
    assert other.status_code == 200
    assert other.json()["detail"] == "not an event this server acts on"


async def test_a_refund_removes_the_packs_credits_even_below_zero_and_blocks_new_interviews(
    shop: Shop,
) -> None:
    buyer, admin = await shop.buyer(), await shop.admin()
    free = await shop.balance(buyer)
    order = await shop.order(buyer, "single")
    paid = shop.razorpay.pay(order["order_id"])
    await shop.verify(buyer, paid.checkout_response)
    # Every credit is spent: the free ones and the one bought.
    for _ in range(free + 1):
        started = await shop.http.post(
            "/api/interviews", json={"track": "backend", "level": "mid"}, headers=buyer.headers
        )
        assert started.status_code == 201
    refunded = await shop.http.post(
        f"/api/admin/payments/{order['payment_id']}/refund",
        json={"reason": "charged by mistake"},
        headers=admin.headers,
    )
    assert refunded.status_code == 200, refunded.text
    body = refunded.json()
    assert body["status"] == "refunded"
    assert body["refunded_paise"] == 4900 and body["credits_removed"] == 1
    assert [r.body["amount"] for r in shop.razorpay.calls("payments.refund")] == [4900]
    assert await shop.balance(buyer) == -1
    blocked = await shop.http.post(
        "/api/interviews", json={"track": "backend", "level": "mid"}, headers=buyer.headers
    )
    assert blocked.status_code == 402
    assert blocked.json()["code"] == "balance_negative"
    assert "-1" in blocked.json()["detail"]

    # Razorpay's refund.processed for the same refund, twice: applied once already.
    refund_id = body["history"][-1]["detail"]
    assert "credits removed" in refund_id
    (refund,) = shop.razorpay.refunds
    hook = shop.razorpay.webhook("refund.processed", refund_id=refund)
    for _ in range(2):
        assert (await shop.deliver(hook)).status_code == 200
    assert await shop.balance(buyer) == -1

    # A second refund of the same payment: nothing is left to refund.
    again = await shop.http.post(
        f"/api/admin/payments/{order['payment_id']}/refund",
        json={"reason": "again"},
        headers=admin.headers,
    )
    assert again.status_code == 409
    assert again.json()["code"] == "payment_not_refundable"

    # Buying settles the debt: 5 credits bought, 1 owed.
    order = await shop.order(buyer, "five")
    await shop.verify(buyer, shop.razorpay.pay(order["order_id"]).checkout_response)
    assert await shop.balance(buyer) == 4
    audit = await shop.http.get("/api/admin/audit?action=payment", headers=admin.headers)
    assert audit.json()["items"][0]["action"] == "payment.refund"


async def test_a_pending_refund_applies_when_razorpay_reports_it_processed(
    database_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    async with FakeRazorpay(refund_status="pending") as razorpay:
        app = create_app(shop_settings(database_url, f"{redis_prefix}pend:", tmp_path, razorpay))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                shop = Shop(app, http, razorpay)
                buyer, admin = await shop.buyer(), await shop.admin()
                before = await shop.balance(buyer)
                order = await shop.order(buyer, "five")
                await shop.verify(buyer, razorpay.pay(order["order_id"]).checkout_response)
                asked = await http.post(
                    f"/api/admin/payments/{order['payment_id']}/refund",
                    json={"reason": "requested by the candidate"},
                    headers=admin.headers,
                )
                assert asked.status_code == 200
                assert asked.json()["status"] == "captured"  # not yet processed
                assert "requested" in asked.json()["history"][-1]["detail"]
                assert await shop.balance(buyer) == before + 5
                (refund_id,) = razorpay.refunds
                razorpay.settle_refund(refund_id)
                hook = razorpay.webhook("refund.processed", refund_id=refund_id)
                assert (await shop.deliver(hook)).json()["handled"] is True
                assert await shop.balance(buyer) == before
                receipt = await http.get(
                    f"/api/payments/{order['payment_id']}", headers=buyer.headers
                )
                assert receipt.json()["status"] == "refunded"
                assert receipt.json()["credits_removed"] == 5
                await balances_match_ledger(app)


async def test_admins_list_payments_and_see_revenue_per_day(shop: Shop) -> None:
    buyer, admin = await shop.buyer(), await shop.admin()
    order = await shop.order(buyer, "twelve")
    await shop.verify(buyer, shop.razorpay.pay(order["order_id"]).checkout_response)
    failed = await shop.order(buyer, "single")
    shop.razorpay.pay(failed["order_id"], vpa="failure@razorpay")
    await shop.http.post(f"/api/payments/{failed['payment_id']}/refresh", headers=buyer.headers)

    listed = await shop.http.get(f"/api/admin/payments?email={buyer.email}", headers=admin.headers)
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert [(p["pack"], p["status"]) for p in items] == [
        ("single", "failed"),
        ("twelve", "captured"),
    ]
    assert items[0]["razorpay_payment_id"].startswith("pay_")  # the failed attempt's
    assert items[0]["failure_reason"] == "Payment failed"
    assert items[1]["email"] == buyer.email
    assert items[1]["razorpay_order_id"] == order["order_id"]
    only_failed = await shop.http.get(
        f"/api/admin/payments?status=failed&email={buyer.email}", headers=admin.headers
    )
    assert only_failed.json()["total"] == 1

    revenue = await shop.http.get("/api/admin/payments/revenue", headers=admin.headers)
    assert revenue.status_code == 200
    today = revenue.json()["days"][-1]
    assert today["payments"] >= 1 and today["gross_paise"] >= 39900
    assert (
        revenue.json()["net_paise"]
        == revenue.json()["gross_paise"] - revenue.json()["refunded_paise"]
    )
    candidate = await shop.http.get("/api/admin/payments", headers=buyer.headers)
    assert candidate.status_code == 404


async def test_the_webhook_is_refused_when_buying_is_off(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/api/payments/webhook", content=b"{}", headers={"X-Razorpay-Signature": "0" * 64}
    )
    assert answer.status_code == 503
    assert answer.json()["code"] == "payments_disabled"
