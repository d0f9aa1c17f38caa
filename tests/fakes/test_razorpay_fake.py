"""The Razorpay fake, driven by the real ``razorpay`` SDK (sync, so run in a thread)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import razorpay
import requests
from razorpay.errors import BadRequestError, GatewayError, ServerError, SignatureVerificationError

from tests.fakes.razorpay import FakeRazorpay

KEY_ID = "rzp_test_Fake0000000001"
KEY_SECRET = "key-secret-for-tests"
WEBHOOK_SECRET = "webhook-secret-for-tests"
ORDER = {"amount": 49900, "currency": "INR", "receipt": "credits:user-1:1", "notes": {"u": "1"}}


def rzp_id(prefix: str) -> re.Pattern[str]:
    return re.compile(rf"^{prefix}_[0-9A-Za-z]{{14}}$")


@pytest.fixture
async def fake() -> AsyncIterator[FakeRazorpay]:
    async with FakeRazorpay(
        key_id=KEY_ID, key_secret=KEY_SECRET, webhook_secret=WEBHOOK_SECRET
    ) as server:
        yield server


@pytest.fixture
def sdk(fake: FakeRazorpay) -> Any:
    return razorpay.Client(auth=(KEY_ID, KEY_SECRET), base_url=fake.base_url)


async def create_order(sdk: Any, **changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = await asyncio.to_thread(
        sdk.order.create, {**ORDER, **changes}, timeout=5
    )
    return order


async def test_an_order_round_trips_through_the_sdk(fake: FakeRazorpay, sdk: Any) -> None:
    """An order is created in Razorpay's shape, recorded, and fetched back unchanged."""
    order = await create_order(sdk)

    assert rzp_id("order").match(order["id"])
    assert order["entity"] == "order"
    assert (order["amount"], order["amount_paid"], order["amount_due"]) == (49900, 0, 49900)
    assert (order["currency"], order["receipt"], order["status"]) == (
        "INR",
        ORDER["receipt"],
        "created",
    )
    assert order["notes"] == {"u": "1"} and order["attempts"] == 0 and order["offer_id"] is None
    assert isinstance(order["created_at"], int)
    assert await asyncio.to_thread(sdk.order.fetch, order["id"], timeout=5) == order
    assert list(fake.orders) == [order["id"]]
    [created] = fake.calls("orders.create")
    assert (created.method, created.path, created.body, created.auth_ok) == (
        "POST",
        "/v1/orders",
        ORDER,
        True,
    )


async def test_empty_notes_come_back_as_an_empty_list(sdk: Any) -> None:
    """As from the real API (PHP), an order without notes has ``"notes": []``."""
    order = await asyncio.to_thread(sdk.order.create, {"amount": 100, "currency": "INR"}, timeout=5)
    assert order["notes"] == [] and order["receipt"] is None


async def test_wrong_credentials_raise_bad_request_error(fake: FakeRazorpay) -> None:
    """A wrong key secret is answered 401 BAD_REQUEST_ERROR, which the SDK raises."""
    wrong = razorpay.Client(auth=(KEY_ID, "not-the-secret"), base_url=fake.base_url)

    with pytest.raises(BadRequestError, match="Authentication failed"):
        await asyncio.to_thread(wrong.order.create, ORDER, timeout=5)

    assert fake.orders == {}
    assert [(r.key_id, r.auth_ok) for r in fake.requests] == [(KEY_ID, False)]


@pytest.mark.parametrize(
    ("changes", "description"),
    [
        ({"amount": 99}, "atleast INR 1.00"),
        ({"amount": "49900"}, "must be an integer"),
        ({"amount": None}, "amount field is required"),
        ({"currency": "USD"}, "currency is invalid"),
        ({"receipt": "r" * 41}, "greater than 40 characters"),
        ({"notes": {f"k{i}": "v" for i in range(16)}}, "less than or equal to 15"),
        ({"notes": {"k": "v" * 257}}, "greater than 256 characters"),
        ({"colour": "blue"}, "colour is/are not required"),
    ],
)
async def test_invalid_orders_raise_bad_request_error(
    fake: FakeRazorpay, sdk: Any, changes: dict[str, Any], description: str
) -> None:
    """Each invalid field is refused with a 400 the SDK raises as BadRequestError."""
    body = {k: v for k, v in {**ORDER, **changes}.items() if v is not None}

    with pytest.raises(BadRequestError, match=description):
        await asyncio.to_thread(sdk.order.create, body, timeout=5)

    assert fake.orders == {}


async def test_unknown_ids_raise_bad_request_error(sdk: Any) -> None:
    """Fetching an id that does not exist is a 400, as from the real API."""
    with pytest.raises(BadRequestError, match="The id provided does not exist"):
        await asyncio.to_thread(sdk.payment.fetch, "pay_00000000000000", timeout=5)


async def test_the_checkout_signature_verifies_with_the_sdk(fake: FakeRazorpay, sdk: Any) -> None:
    """The success handler's signature verifies; one for another payment does not."""
    order = await create_order(sdk)
    payment = fake.pay(order["id"])

    assert payment.succeeded and rzp_id("pay").match(payment.id)
    assert sdk.utility.verify_payment_signature(payment.checkout_response) is True
    forged = {**payment.checkout_response, "razorpay_payment_id": "pay_00000000000000"}
    with pytest.raises(SignatureVerificationError):
        sdk.utility.verify_payment_signature(forged)
    with pytest.raises(SignatureVerificationError):
        sdk.utility.verify_payment_signature(
            {**payment.checkout_response, "razorpay_signature": "0" * 64}
        )


async def test_a_successful_upi_payment_is_captured_and_pays_the_order(
    fake: FakeRazorpay, sdk: Any
) -> None:
    """Auto-capture: the payment is captured with fees and the order is paid."""
    order = await create_order(sdk)
    payment = fake.pay(order["id"])

    fetched = await asyncio.to_thread(sdk.payment.fetch, payment.id, timeout=5)
    assert fetched["status"] == "captured" and fetched["captured"] is True
    assert (fetched["method"], fetched["vpa"], fetched["order_id"]) == (
        "upi",
        "success@razorpay",
        order["id"],
    )
    assert fetched["amount"] == 49900 and fetched["fee"] > fetched["tax"] > 0
    assert fetched["error_code"] is None
    paid = await asyncio.to_thread(sdk.order.fetch, order["id"], timeout=5)
    assert (paid["status"], paid["amount_paid"], paid["amount_due"], paid["attempts"]) == (
        "paid",
        49900,
        0,
        1,
    )


async def test_a_failed_upi_payment_leaves_the_order_attempted(
    fake: FakeRazorpay, sdk: Any
) -> None:
    """``failure@razorpay`` fails with Razorpay's error fields and no signature."""
    order = await create_order(sdk)
    payment = fake.pay(order["id"], vpa="failure@razorpay")

    assert payment.status == "failed" and payment.signature is None
    assert payment.checkout_response["error"]["reason"] == "payment_failed"
    fetched = await asyncio.to_thread(sdk.payment.fetch, payment.id, timeout=5)
    assert (fetched["status"], fetched["captured"], fetched["error_code"]) == (
        "failed",
        False,
        "BAD_REQUEST_ERROR",
    )
    assert fetched["error_reason"] == "payment_failed" and fetched["error_description"]
    attempted = await asyncio.to_thread(sdk.order.fetch, order["id"], timeout=5)
    assert (attempted["status"], attempted["attempts"], attempted["amount_paid"]) == (
        "attempted",
        1,
        0,
    )


async def test_a_card_payment_carries_its_card(fake: FakeRazorpay, sdk: Any) -> None:
    order = await create_order(sdk)
    payment = fake.pay(order["id"], method="card", card_network="MasterCard")

    fetched = await asyncio.to_thread(sdk.payment.fetch, payment.id, timeout=5)
    assert fetched["method"] == "card" and fetched["vpa"] is None
    assert (
        fetched["card"]["network"] == "MasterCard" and fetched["card_id"] == fetched["card"]["id"]
    )


async def test_order_payments_lists_every_attempt_newest_first(
    fake: FakeRazorpay, sdk: Any
) -> None:
    order = await create_order(sdk)
    failed = fake.pay(order["id"], vpa="failure@razorpay")
    paid = fake.pay(order["id"])

    listed = await asyncio.to_thread(sdk.order.payments, order["id"], timeout=5)

    assert listed["entity"] == "collection" and listed["count"] == 2
    assert [p["id"] for p in listed["items"]] == [paid.id, failed.id]
    with pytest.raises(ValueError, match="already paid"):
        fake.pay(order["id"])


async def test_an_authorized_payment_is_captured_through_the_sdk(
    fake: FakeRazorpay, sdk: Any
) -> None:
    """capture=False leaves it authorized; capture needs the exact amount and currency."""
    order = await create_order(sdk)
    payment = fake.pay(order["id"], capture=False)
    assert payment.status == "authorized" and fake.orders[order["id"]]["status"] == "attempted"

    with pytest.raises(BadRequestError, match="equal to the amount authorized"):
        await asyncio.to_thread(
            sdk.payment.capture, payment.id, 100, {"currency": "INR"}, timeout=5
        )
    with pytest.raises(BadRequestError, match="currency field is required"):
        await asyncio.to_thread(sdk.payment.capture, payment.id, 49900, {}, timeout=5)
    captured = await asyncio.to_thread(
        sdk.payment.capture, payment.id, 49900, {"currency": "INR"}, timeout=5
    )

    assert captured["status"] == "captured" and captured["captured"] is True
    assert fake.orders[order["id"]]["status"] == "paid"
    with pytest.raises(BadRequestError, match="already been captured"):
        await asyncio.to_thread(
            sdk.payment.capture, payment.id, 49900, {"currency": "INR"}, timeout=5
        )


async def test_an_order_created_without_auto_capture_only_authorizes(
    fake: FakeRazorpay, sdk: Any
) -> None:
    order = await create_order(sdk, payment_capture=0)
    assert fake.pay(order["id"]).status == "authorized"


async def test_partial_then_full_refunds_and_an_over_refund(fake: FakeRazorpay, sdk: Any) -> None:
    """A partial refund, a refund of more than is left (400), then the rest by default."""
    order = await create_order(sdk)
    payment = fake.pay(order["id"])

    partial = await asyncio.to_thread(
        sdk.payment.refund, payment.id, {"amount": 10000, "speed": "normal"}, timeout=5
    )
    assert rzp_id("rfnd").match(partial["id"])
    assert (partial["entity"], partial["amount"], partial["payment_id"], partial["status"]) == (
        "refund",
        10000,
        payment.id,
        "processed",
    )
    assert (partial["speed_requested"], partial["speed_processed"]) == ("normal", "normal")
    after_partial = await asyncio.to_thread(sdk.payment.fetch, payment.id, timeout=5)
    assert (after_partial["status"], after_partial["refund_status"]) == ("captured", "partial")
    assert after_partial["amount_refunded"] == 10000

    with pytest.raises(BadRequestError, match="greater than amount captured"):
        await asyncio.to_thread(sdk.payment.refund, payment.id, {"amount": 39901}, timeout=5)
    rest = await asyncio.to_thread(sdk.payment.refund, payment.id, {}, timeout=5)

    assert rest["amount"] == 39900
    refunded = await asyncio.to_thread(sdk.payment.fetch, payment.id, timeout=5)
    assert (refunded["status"], refunded["refund_status"], refunded["amount_refunded"]) == (
        "refunded",
        "full",
        49900,
    )
    with pytest.raises(BadRequestError, match="fully refunded already"):
        await asyncio.to_thread(sdk.payment.refund, payment.id, {"amount": 100}, timeout=5)
    assert await asyncio.to_thread(sdk.refund.fetch, rest["id"], timeout=5) == rest
    listed = await asyncio.to_thread(sdk.payment.fetch_multiple_refund, payment.id, timeout=5)
    assert [r["id"] for r in listed["items"]] == [rest["id"], partial["id"]]
    assert [r.path for r in fake.calls("payments.refund")] == [
        f"/v1/payments/{payment.id}/refund"
    ] * 4


async def test_a_payment_that_is_not_captured_cannot_be_refunded(
    fake: FakeRazorpay, sdk: Any
) -> None:
    order = await create_order(sdk)
    payment = fake.pay(order["id"], capture=False)
    with pytest.raises(BadRequestError, match="should be captured"):
        await asyncio.to_thread(sdk.payment.refund, payment.id, {}, timeout=5)


async def test_pending_refunds_settle_later() -> None:
    async with FakeRazorpay(key_id=KEY_ID, key_secret=KEY_SECRET, refund_status="pending") as fake:
        sdk = razorpay.Client(auth=(KEY_ID, KEY_SECRET), base_url=fake.base_url)
        order = await create_order(sdk)
        payment = fake.pay(order["id"])
        refund = await asyncio.to_thread(sdk.payment.refund, payment.id, {}, timeout=5)
        assert refund["status"] == "pending"

        fake.settle_refund(refund["id"], "failed")

        fetched = await asyncio.to_thread(sdk.refund.fetch, refund["id"], timeout=5)
        assert fetched["status"] == "failed"
        assert fake.payments[payment.id]["amount_refunded"] == 0
        assert fake.payments[payment.id]["status"] == "captured"


async def test_a_webhook_verifies_with_the_webhook_secret_only(
    fake: FakeRazorpay, sdk: Any
) -> None:
    """Signed over the raw body with the webhook secret: not the key secret, not re-serialised."""
    order = await create_order(sdk)
    payment = fake.pay(order["id"])
    hook = fake.webhook("payment.captured", payment_id=payment.id)
    body = hook.body.decode()

    assert hook.headers["X-Razorpay-Signature"] == hook.signature
    assert rzp_id("evt").match(hook.headers["x-razorpay-event-id"])
    assert hook.event_id == hook.headers["x-razorpay-event-id"]
    assert sdk.utility.verify_webhook_signature(body, hook.signature, WEBHOOK_SECRET) is True
    with pytest.raises(SignatureVerificationError):
        sdk.utility.verify_webhook_signature(body, hook.signature, KEY_SECRET)
    with pytest.raises(SignatureVerificationError):
        sdk.utility.verify_webhook_signature(
            json.dumps(json.loads(body)), hook.signature, WEBHOOK_SECRET
        )
    tampered = hook.tampered()
    assert tampered.signature == hook.signature and tampered.body != hook.body
    with pytest.raises(SignatureVerificationError):
        sdk.utility.verify_webhook_signature(
            tampered.body.decode(), tampered.signature, WEBHOOK_SECRET
        )
    wrong_secret = hook.resigned(KEY_SECRET)
    with pytest.raises(SignatureVerificationError):
        sdk.utility.verify_webhook_signature(
            wrong_secret.body.decode(), wrong_secret.signature, WEBHOOK_SECRET
        )
    assert fake.webhook("payment.captured", payment_id=payment.id).event_id != hook.event_id


async def test_webhook_bodies_have_razorpays_shape(fake: FakeRazorpay, sdk: Any) -> None:
    """Each event names what it contains; payment events show the payment as it was then."""
    order = await create_order(sdk)
    failed = fake.pay(order["id"], vpa="failure@razorpay")
    payment = fake.pay(order["id"])
    refund = await asyncio.to_thread(sdk.payment.refund, payment.id, {"amount": 500}, timeout=5)

    authorized = fake.webhook("payment.authorized", payment_id=payment.id).payload
    captured = fake.webhook("payment.captured", payment_id=payment.id).payload
    paid = fake.webhook("order.paid", order_id=order["id"]).payload
    failure = fake.webhook("payment.failed", payment_id=failed.id).payload
    processed = fake.webhook("refund.processed", refund_id=refund["id"]).payload

    assert authorized["entity"] == "event" and authorized["account_id"].startswith("acc_")
    assert authorized["contains"] == ["payment"]
    assert authorized["payload"]["payment"]["entity"]["status"] == "authorized"
    assert captured["payload"]["payment"]["entity"]["status"] == "captured"
    assert paid["event"] == "order.paid" and paid["contains"] == ["payment", "order"]
    assert paid["payload"]["payment"]["entity"]["id"] == payment.id
    assert paid["payload"]["order"]["entity"]["status"] == "paid"
    assert failure["payload"]["payment"]["entity"]["error_reason"] == "payment_failed"
    assert processed["contains"] == ["refund", "payment"]
    assert processed["payload"]["refund"]["entity"] == refund
    assert processed["payload"]["payment"]["entity"]["amount_refunded"] == 500
    assert isinstance(processed["created_at"], int)


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_scripted_5xx_raises_server_error_once(
    fake: FakeRazorpay, sdk: Any, status: int
) -> None:
    """SERVER_ERROR bodies become ServerError; the next call goes through."""
    fake.fail_next("orders.create", status)

    with pytest.raises(ServerError, match="The server encountered an error"):
        await create_order(sdk)

    assert fake.orders == {}
    await create_order(sdk)
    assert len(fake.orders) == 1


async def test_a_gateway_error_code_raises_gateway_error(fake: FakeRazorpay, sdk: Any) -> None:
    fake.fail_next("payments.fetch", 502, code="GATEWAY_ERROR", description="bank down")
    with pytest.raises(GatewayError, match="bank down"):
        await asyncio.to_thread(sdk.payment.fetch, "pay_00000000000000", timeout=5)


async def test_an_applied_failure_still_creates_the_order(fake: FakeRazorpay, sdk: Any) -> None:
    fake.fail_next("orders.create", 504, applied=True)
    with pytest.raises(ServerError):
        await create_order(sdk)
    assert len(fake.orders) == 1


async def test_a_non_json_answer_raises_a_json_decode_error(
    fake: FakeRazorpay, sdk: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """An HTML page (200 or 502) makes the SDK raise requests' JSONDecodeError, and print."""
    fake.garbage_next("orders.create")
    fake.garbage_next("orders.create", status=502)

    for _ in range(2):
        with pytest.raises(requests.exceptions.JSONDecodeError):
            await create_order(sdk)

    assert "Request error occurred" in capsys.readouterr().out
    assert fake.orders == {}


async def test_a_stalled_answer_times_out_without_holding_other_calls(
    fake: FakeRazorpay, sdk: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The stalled create is carried out but answered too late; other calls go on."""
    first = await create_order(sdk)
    fake.stall_next("orders.create", 30)

    stalled = asyncio.create_task(asyncio.to_thread(sdk.order.create, ORDER, timeout=1))
    for _ in range(500):
        if fake.stalled:
            break
        await asyncio.sleep(0.01)
    other = razorpay.Client(auth=(KEY_ID, KEY_SECRET), base_url=fake.base_url)
    assert (await asyncio.to_thread(other.order.fetch, first["id"], timeout=5))["id"] == first["id"]
    with pytest.raises(requests.exceptions.Timeout):
        await stalled

    assert "Request timed out." in capsys.readouterr().out
    assert len(fake.orders) == 2
    for _ in range(100):
        if not fake.stalled:
            break
        await asyncio.sleep(0.01)
    assert fake.stalled == 0  # the fake let go when the client did


async def test_a_stall_that_is_not_applied_creates_nothing(fake: FakeRazorpay, sdk: Any) -> None:
    fake.stall_next("orders.create", 30, applied=False)
    with pytest.raises(requests.exceptions.Timeout):
        await asyncio.to_thread(sdk.order.create, ORDER, timeout=0.5)
    assert fake.orders == {}


async def test_orders_can_be_found_by_receipt(fake: FakeRazorpay, sdk: Any) -> None:
    """``GET /v1/orders?receipt=`` finds the orders of one receipt, newest first."""
    first = await create_order(sdk, receipt="a")
    await create_order(sdk, receipt="b")
    again = await create_order(sdk, receipt="a")

    found = await asyncio.to_thread(sdk.order.all, {"receipt": "a"}, timeout=5)

    assert [o["id"] for o in found["items"]] == [again["id"], first["id"]]
