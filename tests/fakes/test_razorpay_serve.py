"""The stand-in Checkout in front of the fake Razorpay, as the browser tests use it."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import httpx
import pytest

from tests.fakes.razorpay import FakeRazorpay
from tests.fakes.razorpay_serve import CheckoutStandIn, parse

KEY_ID = "rzp_test_standIn0000001"
KEY_SECRET = "stand-in-key-secret"
APP = "http://127.0.0.1:8123"


@pytest.fixture
def fake() -> FakeRazorpay:
    return FakeRazorpay(key_id=KEY_ID, key_secret=KEY_SECRET, webhook_secret="stand-in-webhook")


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "checkout.js"
    path.write_text("window.Razorpay = function () {};\n")
    return path


def client(
    fake: FakeRazorpay, script: Path, origins: tuple[str, ...] = (APP,)
) -> httpx.AsyncClient:
    app = CheckoutStandIn(fake, script, origins)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fake")


async def open_order(http: httpx.AsyncClient) -> str:
    response = await http.post(
        "/v1/orders", json={"amount": 19_900, "currency": "INR"}, auth=(KEY_ID, KEY_SECRET)
    )
    assert response.status_code == 200, response.text
    order_id: str = response.json()["id"]
    return order_id


async def test_serves_the_stand_in_script(fake: FakeRazorpay, script: Path) -> None:
    """GET /checkout.js answers with the script file, as JavaScript, uncached."""
    async with client(fake, script) as http:
        response = await http.get("/checkout.js")
    assert response.status_code == 200
    assert response.text == "window.Razorpay = function () {};\n"
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-store"


async def test_answers_the_preflight_for_the_apps_origin_only(
    fake: FakeRazorpay, script: Path
) -> None:
    """The CORS preflight allows a JSON POST from the app's origin, and nothing from another."""
    preflight = {"Access-Control-Request-Method": "POST"}
    async with client(fake, script) as http:
        allowed = await http.options("/__fake/checkout", headers={"Origin": APP, **preflight})
        other = await http.options(
            "/__fake/checkout", headers={"Origin": "http://evil.test", **preflight}
        )
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == APP
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert allowed.headers["access-control-allow-headers"] == "content-type"
    assert "access-control-allow-origin" not in other.headers


async def test_a_paying_upi_id_returns_checkouts_three_values_signed_with_the_key_secret(
    fake: FakeRazorpay, script: Path
) -> None:
    """success@razorpay pays the order; the signature is HMAC-SHA256 of order|payment."""
    async with client(fake, script) as http:
        order_id = await open_order(http)
        response = await http.post(
            "/__fake/checkout",
            json={"order_id": order_id, "vpa": "success@razorpay"},
            headers={"Origin": APP},
        )
    body = response.json()
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP
    assert body["ok"] is True
    assert body["razorpay_order_id"] == order_id
    expected = hmac.new(
        KEY_SECRET.encode(), f"{order_id}|{body['razorpay_payment_id']}".encode(), hashlib.sha256
    ).hexdigest()
    assert body["razorpay_signature"] == expected
    assert fake.payments[body["razorpay_payment_id"]]["status"] == "captured"


async def test_a_failing_upi_id_returns_checkouts_error(fake: FakeRazorpay, script: Path) -> None:
    """failure@razorpay fails the payment; the answer is what payment.failed hands the page."""
    async with client(fake, script) as http:
        order_id = await open_order(http)
        response = await http.post(
            "/__fake/checkout", json={"order_id": order_id, "vpa": "failure@razorpay"}
        )
    body = response.json()
    assert body["ok"] is False
    assert body["error"]["description"] == "Payment failed"
    assert body["error"]["metadata"]["order_id"] == order_id
    assert fake.payments[body["error"]["metadata"]["payment_id"]]["status"] == "failed"


async def test_refuses_an_unknown_or_paid_order(fake: FakeRazorpay, script: Path) -> None:
    """An order the fake never opened is a 404, a paid one a 409, both in Checkout's shape."""
    async with client(fake, script) as http:
        unknown = await http.post("/__fake/checkout", json={"order_id": "order_nope"})
        order_id = await open_order(http)
        await http.post("/__fake/checkout", json={"order_id": order_id})
        again = await http.post("/__fake/checkout", json={"order_id": order_id})
        garbled = await http.post("/__fake/checkout", content=b"not json")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "BAD_REQUEST_ERROR"
    assert again.status_code == 409
    assert "already paid" in again.json()["error"]["description"]
    assert garbled.status_code == 400


async def test_everything_else_goes_to_the_fake_api(fake: FakeRazorpay, script: Path) -> None:
    """The REST API behind the stand-in still checks its key."""
    async with client(fake, script) as http:
        refused = await http.get("/v1/orders", auth=(KEY_ID, "wrong"))
        listed = await http.get("/v1/orders", auth=(KEY_ID, KEY_SECRET))
    assert refused.status_code == 401
    assert listed.json()["entity"] == "collection"


def test_refuses_a_missing_script(tmp_path: Path) -> None:
    """The command line names the script file, which must exist."""
    with pytest.raises(SystemExit):
        parse(
            [
                "--key-id=k",
                "--key-secret=s",
                "--webhook-secret=w",
                f"--checkout-js={tmp_path / 'missing.js'}",
            ]
        )
