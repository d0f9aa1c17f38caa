"""A local fake of Razorpay's REST API, so tests run the real ``razorpay`` SDK over HTTP.

It serves the order, payment and refund endpoints the SDK calls (``/v1/orders``,
``/v1/payments/{id}/capture``, ``/v1/payments/{id}/refund``, ...), checks Basic auth,
answers with Razorpay's entity JSON and error format, and records every request. Checkout,
which cannot run here, is driven from the test with :meth:`FakeRazorpay.pay`; webhooks are
built and signed as Razorpay signs them with :meth:`FakeRazorpay.webhook`. Faults are
scripted per endpoint (``fail_next``, ``stall_next``, ``garbage_next``).

The SDK is synchronous: call it with ``asyncio.to_thread`` while the fake serves on the
test's event loop (a call made on the loop itself would wait for a server that cannot run).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import copy
import hashlib
import hmac
import json
import re
import secrets
import string
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, get_args
from urllib.parse import parse_qs

from tests.fakes.serving import LoopbackServer

Entity = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# Names of the endpoints, for scripting faults and filtering recorded requests.
EndpointName = Literal[
    "orders.create",
    "orders.all",
    "orders.fetch",
    "orders.payments",
    "payments.fetch",
    "payments.capture",
    "payments.refund",
    "payments.refunds",
    "payments.refund_fetch",
    "refunds.fetch",
]
ENDPOINTS: tuple[EndpointName, ...] = get_args(EndpointName)
WebhookEvent = Literal[
    "payment.authorized",
    "payment.captured",
    "payment.failed",
    "order.paid",
    "refund.created",
    "refund.processed",
    "refund.failed",
]

_ID = r"(?P<id>[A-Za-z0-9_]+)"
ROUTES: tuple[tuple[str, re.Pattern[str], EndpointName], ...] = (
    ("POST", re.compile(r"^/v1/orders/?$"), "orders.create"),
    ("GET", re.compile(r"^/v1/orders/?$"), "orders.all"),
    ("GET", re.compile(rf"^/v1/orders/{_ID}$"), "orders.fetch"),
    ("GET", re.compile(rf"^/v1/orders/{_ID}/payments$"), "orders.payments"),
    ("GET", re.compile(rf"^/v1/payments/{_ID}$"), "payments.fetch"),
    ("POST", re.compile(rf"^/v1/payments/{_ID}/capture$"), "payments.capture"),
    ("POST", re.compile(rf"^/v1/payments/{_ID}/refund$"), "payments.refund"),
    ("GET", re.compile(rf"^/v1/payments/{_ID}/refunds$"), "payments.refunds"),
    (
        "GET",
        re.compile(rf"^/v1/payments/{_ID}/refunds/(?P<refund_id>[A-Za-z0-9_]+)$"),
        "payments.refund_fetch",
    ),
    ("GET", re.compile(rf"^/v1/refunds/{_ID}$"), "refunds.fetch"),
)

BASE62 = string.digits + string.ascii_letters
MAX_AMOUNT = 50_000_000  # ₹5,00,000, the default per-transaction limit
ORDER_FIELDS = frozenset(
    {
        "amount",
        "currency",
        "receipt",
        "notes",
        "payment_capture",
        "partial_payment",
        "first_payment_min_amount",
        "method",
        "customer_id",
        "offers",
    }
)
REFUND_FIELDS = frozenset({"amount", "speed", "notes", "receipt"})
CARD_LAST4 = {"Visa": "1111", "MasterCard": "5449", "RuPay": "0009", "American Express": "0005"}
GARBAGE = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
# What Checkout reports for a failed payment, by error_reason.
FAILURES: dict[str, tuple[str, str, str, str]] = {
    # reason: (code, description, source, step)
    "payment_failed": (
        "BAD_REQUEST_ERROR",
        "Payment failed",
        "customer",
        "payment_authorization",
    ),
    "payment_cancelled": (
        "BAD_REQUEST_ERROR",
        "Payment processing cancelled by user",
        "customer",
        "payment_authentication",
    ),
    "payment_timed_out": (
        "BAD_REQUEST_ERROR",
        "Payment was not completed on time.",
        "customer",
        "payment_authentication",
    ),
    "insufficient_funds": (
        "BAD_REQUEST_ERROR",
        "Your payment could not be completed due to insufficient account balance.",
        "customer",
        "payment_authorization",
    ),
    "bank_technical_error": (
        "GATEWAY_ERROR",
        "Payment processing failed due to error at bank or wallet gateway",
        "bank",
        "payment_authorization",
    ),
}


def new_id(prefix: str) -> str:
    """``prefix_`` and 14 base62 characters, as Razorpay's ids look."""
    return f"{prefix}_" + "".join(secrets.choice(BASE62) for _ in range(14))


def hmac_sha256_hex(secret: str, message: bytes | str) -> str:
    raw = message.encode() if isinstance(message, str) else message
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def error_body(
    code: str,
    description: str,
    *,
    field: str | None = None,
    source: str = "NA",
    step: str = "NA",
    reason: str = "NA",
) -> Entity:
    """Razorpay's error format; the SDK maps ``error.code`` to its exception class."""
    error: Entity = {
        "code": code,
        "description": description,
        "source": source,
        "step": step,
        "reason": reason,
        "metadata": {},
    }
    if field is not None:
        error["field"] = field
    return {"error": error}


def _notes(value: dict[str, Any]) -> Entity | list[Any]:
    # Razorpay's PHP backend serialises empty notes as an empty JSON array.
    return dict(value) if value else []


def _webhook_bytes(payload: Entity) -> bytes:
    # As PHP's json_encode writes it: compact, ASCII-only, with escaped slashes. Bytes that
    # a JSON round trip in Python would not reproduce, so only the raw body verifies.
    return json.dumps(payload, separators=(",", ":")).replace("/", "\\/").encode()


class InvalidRequest(Exception):
    """A 400 ``BAD_REQUEST_ERROR`` answer, raised inside a handler."""

    def __init__(self, description: str, *, field: str | None = None, status: int = 400):
        super().__init__(description)
        self.description = description
        self.field = field
        self.status = status


# --- faults ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Fail:
    """Answer with an HTTP error in Razorpay's format (``SERVER_ERROR`` for 5xx)."""

    status: int = 500
    code: str | None = None  # default: SERVER_ERROR for 5xx, BAD_REQUEST_ERROR otherwise
    description: str | None = None
    applied: bool = False  # carry the request out first (e.g. the order exists after a 504)


@dataclass(frozen=True)
class Stall:
    """Hold the response for ``seconds``; none if the client goes away first.

    A stall still held when the fake stops is answered then.
    """

    seconds: float
    applied: bool = True  # carry the request out at once and only hold its answer


@dataclass(frozen=True)
class Garbage:
    """Answer with an HTML page instead of JSON."""

    status: int = 200
    body: bytes = GARBAGE
    applied: bool = False


Fault = Fail | Stall | Garbage


# --- what was asked and what is handed to tests ---------------------------------------


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    endpoint: EndpointName | None  # None: no such route
    body: Any  # the parsed JSON body; None when there was none or it was not JSON
    raw: bytes
    headers: dict[str, str]
    key_id: str | None
    auth_ok: bool
    at: float  # time.perf_counter() when the body was read


@dataclass(frozen=True)
class OrderOptions:
    """What an order was created with that its entity does not show."""

    payment_capture: bool
    partial_payment: bool


@dataclass(frozen=True)
class Payment:
    """A payment made at the fake Checkout, and what Checkout hands the page for it."""

    id: str
    order_id: str
    status: str  # captured | authorized | failed
    amount: int
    entity: Entity  # the payment entity as it was right after Checkout
    signature: str | None  # None for a failed payment

    @property
    def succeeded(self) -> bool:
        return self.signature is not None

    @property
    def checkout_response(self) -> Entity:
        """The success handler's argument, or the ``payment.failed`` handler's on failure."""
        if self.signature is not None:
            return {
                "razorpay_payment_id": self.id,
                "razorpay_order_id": self.order_id,
                "razorpay_signature": self.signature,
            }
        return {
            "error": {
                "code": self.entity["error_code"],
                "description": self.entity["error_description"],
                "source": self.entity["error_source"],
                "step": self.entity["error_step"],
                "reason": self.entity["error_reason"],
                "metadata": {"order_id": self.order_id, "payment_id": self.id},
            }
        }


@dataclass(frozen=True)
class SignedWebhook:
    """A webhook delivery: the raw body and the headers Razorpay sends with it."""

    event: str
    event_id: str
    body: bytes
    signature: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def payload(self) -> Entity:
        parsed: Entity = json.loads(self.body)
        return parsed

    def tampered(self, change: Callable[[Entity], None] | bytes | None = None) -> SignedWebhook:
        """The same headers and signature over a changed body (by default a larger amount)."""
        if isinstance(change, bytes):
            body = change
        else:
            payload = self.payload
            if change is None:
                for wrapper in payload["payload"].values():
                    wrapper["entity"]["amount"] = int(wrapper["entity"].get("amount") or 0) + 100
            else:
                change(payload)
            body = _webhook_bytes(payload)
        return SignedWebhook(self.event, self.event_id, body, self.signature, dict(self.headers))

    def resigned(self, secret: str, body: bytes | None = None) -> SignedWebhook:
        """The body (or ``body``) signed with ``secret``, e.g. the key secret by mistake."""
        raw = self.body if body is None else body
        signature = hmac_sha256_hex(secret, raw)
        headers = {**self.headers, "X-Razorpay-Signature": signature}
        return SignedWebhook(self.event, self.event_id, raw, signature, headers)


# --- the server -----------------------------------------------------------------------


class FakeRazorpay:
    """The fake API on 127.0.0.1:<random port>, served by uvicorn in the current event loop."""

    def __init__(
        self,
        *,
        key_id: str = "rzp_test_fakeKey0000001",
        key_secret: str = "fake-key-secret",
        webhook_secret: str = "fake-webhook-secret",
        account_id: str | None = None,
        refund_status: Literal["processed", "pending"] = "processed",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.key_id = key_id
        self.key_secret = key_secret
        self.webhook_secret = webhook_secret
        self.account_id = account_id or new_id("acc")
        self.refund_status = refund_status
        self.clock = clock
        self.orders: dict[str, Entity] = {}
        self.payments: dict[str, Entity] = {}
        self.refunds: dict[str, Entity] = {}
        self.order_options: dict[str, OrderOptions] = {}
        self.requests: list[RecordedRequest] = []
        self.faults: dict[EndpointName, deque[Fault]] = {name: deque() for name in ENDPOINTS}
        self.stalled = 0  # responses being held right now
        self.completed = 0  # responses sent to the end
        self.port = 0
        self._snapshots: dict[tuple[str, str], Entity] = {}  # (payment id, status) -> entity
        self._lock = threading.RLock()  # pay() and refunds may run in a thread
        self._serving = LoopbackServer(self, "the fake Razorpay API")
        self._closing = asyncio.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def calls(self, endpoint: EndpointName) -> list[RecordedRequest]:
        return [r for r in self.requests if r.endpoint == endpoint]

    # --- scripting faults ---------------------------------------------------------------

    def script(self, endpoint: EndpointName, *faults: Fault) -> FakeRazorpay:
        if endpoint not in self.faults:
            raise ValueError(f"unknown endpoint {endpoint!r}; expected one of {ENDPOINTS}")
        self.faults[endpoint].extend(faults)
        return self

    def fail_next(
        self,
        endpoint: EndpointName,
        status: int = 500,
        times: int = 1,
        *,
        code: str | None = None,
        description: str | None = None,
        applied: bool = False,
    ) -> FakeRazorpay:
        return self.script(endpoint, *[Fail(status, code, description, applied)] * times)

    def stall_next(
        self, endpoint: EndpointName, seconds: float, times: int = 1, *, applied: bool = True
    ) -> FakeRazorpay:
        return self.script(endpoint, *[Stall(seconds, applied)] * times)

    def garbage_next(
        self, endpoint: EndpointName, times: int = 1, *, status: int = 200, applied: bool = False
    ) -> FakeRazorpay:
        return self.script(endpoint, *[Garbage(status, GARBAGE, applied)] * times)

    def clear_faults(self) -> None:
        for queue in self.faults.values():
            queue.clear()

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> FakeRazorpay:
        self._closing = asyncio.Event()
        self.port = await self._serving.start()
        return self

    async def stop(self) -> None:
        self._closing.set()
        await self._serving.stop()

    async def __aenter__(self) -> FakeRazorpay:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- Checkout, driven by the test -----------------------------------------------------

    def checkout_signature(self, order_id: str, payment_id: str) -> str:
        """What Checkout hands the success handler: HMAC-SHA256 of ``order|payment``."""
        return hmac_sha256_hex(self.key_secret, f"{order_id}|{payment_id}")

    def pay(
        self,
        order_id: str,
        *,
        method: Literal["upi", "card", "netbanking", "wallet"] = "upi",
        vpa: str = "success@razorpay",
        capture: bool | None = None,
        card_network: str | None = None,
        amount: int | None = None,
        fail: bool = False,
        reason: str | None = None,
        email: str = "void@razorpay.com",
        contact: str = "+919000090000",
        notes: dict[str, str] | None = None,
    ) -> Payment:
        """The candidate pays for ``order_id`` at Checkout.

        The payment fails with ``vpa="failure@razorpay"``, ``fail=True`` or a ``reason`` (a
        key of ``FAILURES``). Otherwise it is captured at once (the order's
        ``payment_capture``, default on) or only authorized with ``capture=False``.
        """
        with self._lock:
            order = self.orders.get(order_id)
            if order is None:
                raise KeyError(f"no order {order_id!r} at the fake Razorpay")
            if order["status"] == "paid":
                raise ValueError(f"order {order_id} is already paid; Checkout refuses it")
            options = self.order_options[order_id]
            due = int(order["amount_due"])
            if amount is None:
                amount = due
            elif not options.partial_payment and amount != due:
                raise ValueError(f"order {order_id} takes {due} paise, not {amount}")
            elif amount > due or amount < 100:
                raise ValueError(f"order {order_id} has {due} paise due; {amount} cannot be paid")
            failed = fail or reason is not None or (method == "upi" and vpa == "failure@razorpay")
            payment_id = self._unused_id("pay", self.payments)
            now = int(self.clock())
            entity: Entity = {
                "id": payment_id,
                "entity": "payment",
                "amount": amount,
                "currency": order["currency"],
                "status": "created",
                "order_id": order_id,
                "invoice_id": None,
                "international": False,
                "method": method,
                "amount_refunded": 0,
                "refund_status": None,
                "captured": False,
                "description": None,
                "card_id": None,
                "bank": None,
                "wallet": None,
                "vpa": None,
                "email": email,
                "contact": contact,
                "notes": _notes(notes or {}),
                "fee": None,
                "tax": None,
                "error_code": None,
                "error_description": None,
                "error_source": None,
                "error_step": None,
                "error_reason": None,
                "acquirer_data": {},
                "created_at": now,
            }
            if method == "upi":
                entity["vpa"] = vpa
                entity["upi"] = {"payer_account_type": "bank_account", "vpa": vpa}
                entity["acquirer_data"] = {
                    "rrn": "".join(secrets.choice(string.digits) for _ in range(12)),
                    "upi_transaction_id": secrets.token_hex(16).upper(),
                }
            elif method == "card":
                network = card_network or "Visa"
                card_id = new_id("card")
                entity["card_id"] = card_id
                entity["card"] = {
                    "id": card_id,
                    "entity": "card",
                    "name": "",
                    "last4": CARD_LAST4.get(network, "1111"),
                    "network": network,
                    "type": "credit",
                    "issuer": None,
                    "international": False,
                    "emi": False,
                    "sub_type": "consumer",
                    "token_iin": None,
                }
                entity["acquirer_data"] = {"auth_code": f"{secrets.randbelow(10**6):06d}"}
            elif method == "netbanking":
                entity["bank"] = "HDFC"
                entity["acquirer_data"] = {"bank_transaction_id": f"{secrets.randbelow(10**7)}"}
            else:
                entity["wallet"] = "paytm"
                entity["acquirer_data"] = {"transaction_id": None}
            self.payments[payment_id] = entity
            order["attempts"] += 1
            if order["status"] == "created":
                order["status"] = "attempted"

            if failed:
                why = reason or "payment_failed"
                code, description, source, step = FAILURES.get(why, FAILURES["payment_failed"])
                entity.update(
                    status="failed",
                    error_code=code,
                    error_description=description,
                    error_source=source,
                    error_step=step,
                    error_reason=why,
                )
                self._snapshot(entity)
                return Payment(payment_id, order_id, "failed", amount, copy.deepcopy(entity), None)

            entity["status"] = "authorized"
            self._snapshot(entity)
            auto = options.payment_capture if capture is None else capture
            if auto:
                self._capture(entity)
            return Payment(
                payment_id,
                order_id,
                entity["status"],
                amount,
                copy.deepcopy(entity),
                self.checkout_signature(order_id, payment_id),
            )

    def settle_refund(
        self, refund_id: str, status: Literal["processed", "failed"] = "processed"
    ) -> Entity:
        """Move a pending refund on, as the bank eventually does."""
        with self._lock:
            refund = self.refunds[refund_id]
            if refund["status"] != "pending":
                raise ValueError(f"refund {refund_id} is {refund['status']}, not pending")
            refund["status"] = status
            if status == "failed":
                payment = self.payments[refund["payment_id"]]
                payment["amount_refunded"] -= refund["amount"]
                self._update_refund_status(payment)
            return copy.deepcopy(refund)

    # --- webhooks -----------------------------------------------------------------------

    def webhook(
        self,
        event: WebhookEvent,
        *,
        payment_id: str | None = None,
        order_id: str | None = None,
        refund_id: str | None = None,
        event_id: str | None = None,
        created_at: int | None = None,
    ) -> SignedWebhook:
        """The delivery of ``event`` as Razorpay sends it, signed with the webhook secret.

        Payment events carry the payment as it was when the event happened (a
        ``payment.authorized`` of a payment captured since shows it authorized).
        """
        with self._lock:
            payload: Entity = {}
            if event.startswith("refund."):
                if refund_id is None:
                    raise ValueError(f"{event} needs refund_id")
                refund = copy.deepcopy(self.refunds[refund_id])
                payload["refund"] = {"entity": refund}
                payload["payment"] = {"entity": copy.deepcopy(self.payments[refund["payment_id"]])}
            else:
                if payment_id is None and order_id is not None:
                    payment_id = self._paying_payment(order_id, event)
                if payment_id is None:
                    raise ValueError(f"{event} needs payment_id or order_id")
                payment = self.payments[payment_id]
                status = {
                    "payment.authorized": "authorized",
                    "payment.captured": "captured",
                    "payment.failed": "failed",
                    "order.paid": "captured",
                }[event]
                snapshot = self._snapshots.get((payment_id, status))
                if snapshot is None:
                    raise ValueError(f"payment {payment_id} was never {status}; no {event}")
                payload["payment"] = {"entity": copy.deepcopy(snapshot)}
                if event == "order.paid":
                    order = self.orders[payment["order_id"]]
                    if order["status"] != "paid":
                        raise ValueError(f"order {order['id']} is {order['status']}, not paid")
                    payload["order"] = {"entity": copy.deepcopy(order)}
            body: Entity = {
                "entity": "event",
                "account_id": self.account_id,
                "event": event,
                "contains": list(payload),
                "payload": payload,
                "created_at": int(self.clock()) if created_at is None else created_at,
            }
        raw = _webhook_bytes(body)
        event_id = event_id or new_id("evt")
        signature = hmac_sha256_hex(self.webhook_secret, raw)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Razorpay-Webhook/v1",
            "X-Razorpay-Signature": signature,
            "x-razorpay-event-id": event_id,
        }
        return SignedWebhook(event, event_id, raw, signature, headers)

    def _paying_payment(self, order_id: str, event: str) -> str | None:
        wanted = {"payment.failed": "failed", "payment.authorized": "authorized"}
        status = wanted.get(event, "captured")
        for payment_id, payment in reversed(self.payments.items()):
            if payment["order_id"] == order_id and (payment_id, status) in self._snapshots:
                return payment_id
        return None

    # --- state changes --------------------------------------------------------------------

    def _unused_id(self, prefix: str, taken: dict[str, Entity]) -> str:
        while (candidate := new_id(prefix)) in taken:
            pass
        return candidate

    def _snapshot(self, payment: Entity) -> None:
        self._snapshots[(payment["id"], payment["status"])] = copy.deepcopy(payment)

    def _capture(self, payment: Entity) -> None:
        amount = int(payment["amount"])
        tax = round(amount * 0.02 * 0.18)
        payment.update(status="captured", captured=True, fee=round(amount * 0.02) + tax, tax=tax)
        order = self.orders[payment["order_id"]]
        order["amount_paid"] += amount
        order["amount_due"] = order["amount"] - order["amount_paid"]
        if order["amount_due"] <= 0:
            order["status"] = "paid"
        self._snapshot(payment)

    def _update_refund_status(self, payment: Entity) -> None:
        refunded = int(payment["amount_refunded"])
        if refunded <= 0:
            payment.update(refund_status=None, status="captured")
        elif refunded >= int(payment["amount"]):
            payment.update(refund_status="full", status="refunded")
        else:
            payment.update(refund_status="partial", status="captured")

    def _payment(self, payment_id: str) -> Entity:
        payment = self.payments.get(payment_id)
        if payment is None:
            raise InvalidRequest("The id provided does not exist")
        return payment

    def _order(self, order_id: str) -> Entity:
        order = self.orders.get(order_id)
        if order is None:
            raise InvalidRequest("The id provided does not exist")
        return order

    # --- handlers: (record, path parameters) -> JSON answer ---------------------------

    def _handle(self, endpoint: EndpointName, record: RecordedRequest, ids: dict[str, str]) -> Any:
        with self._lock:
            if endpoint == "orders.create":
                return self._create_order(_object(record.body))
            if endpoint == "orders.all":
                return self._all_orders(record.query)
            if endpoint == "orders.fetch":
                return self._order(ids["id"])
            if endpoint == "orders.payments":
                order = self._order(ids["id"])
                return _collection(
                    p for p in self.payments.values() if p["order_id"] == order["id"]
                )
            if endpoint == "payments.fetch":
                return self._payment(ids["id"])
            if endpoint == "payments.capture":
                return self._capture_request(self._payment(ids["id"]), _object(record.body))
            if endpoint == "payments.refund":
                return self._refund_request(self._payment(ids["id"]), _object(record.body))
            if endpoint == "payments.refunds":
                payment = self._payment(ids["id"])
                return _collection(
                    r for r in self.refunds.values() if r["payment_id"] == payment["id"]
                )
            if endpoint == "payments.refund_fetch":
                payment = self._payment(ids["id"])
                refund = self.refunds.get(ids["refund_id"])
                if refund is None or refund["payment_id"] != payment["id"]:
                    raise InvalidRequest("The id provided does not exist")
                return refund
            refund = self.refunds.get(ids["id"])
            if refund is None:
                raise InvalidRequest("The id provided does not exist")
            return refund

    def _create_order(self, body: Entity) -> Entity:
        extra = sorted(set(body) - ORDER_FIELDS)
        if extra:
            raise InvalidRequest(f"{', '.join(extra)} is/are not required and should not be sent")
        amount = _amount(body.get("amount"))
        if amount > MAX_AMOUNT:
            raise InvalidRequest("Amount exceeds maximum amount allowed.", field="amount")
        currency = body.get("currency")
        if currency is None:
            raise InvalidRequest("The currency field is required.", field="currency")
        if currency != "INR":
            raise InvalidRequest("The selected currency is invalid.", field="currency")
        receipt = body.get("receipt")
        if receipt is not None:
            if not isinstance(receipt, str):
                raise InvalidRequest("The receipt must be a string.", field="receipt")
            if len(receipt) > 40:
                raise InvalidRequest(
                    "The receipt may not be greater than 40 characters.", field="receipt"
                )
        notes = _notes_field(body.get("notes"))
        payment_capture = _flag(body.get("payment_capture", True), "payment_capture")
        partial = _flag(body.get("partial_payment", False), "partial_payment")
        order_id = self._unused_id("order", self.orders)
        order: Entity = {
            "id": order_id,
            "entity": "order",
            "amount": amount,
            "amount_paid": 0,
            "amount_due": amount,
            "currency": currency,
            "receipt": receipt,
            "offer_id": None,
            "status": "created",
            "attempts": 0,
            "notes": _notes(notes),
            "created_at": int(self.clock()),
        }
        self.orders[order_id] = order
        # Kept beside the entity: Razorpay does not echo them in the order.
        self.order_options[order_id] = OrderOptions(payment_capture, partial)
        return order

    def _all_orders(self, query: dict[str, list[str]]) -> Entity:
        def number(name: str, default: int) -> int:
            values = query.get(name)
            if not values:
                return default
            try:
                return int(values[0])
            except ValueError:
                raise InvalidRequest(f"The {name} must be an integer.", field=name) from None

        count, skip = number("count", 10), number("skip", 0)
        if not 1 <= count <= 100:
            raise InvalidRequest("The count must be between 1 and 100.", field="count")
        since, until = number("from", 0), number("to", 2**62)
        receipts = query.get("receipt")
        receipt = receipts[0] if receipts else None
        orders = [
            o
            for o in self.orders.values()
            if since <= o["created_at"] <= until and (receipt is None or o["receipt"] == receipt)
        ]
        return _collection(orders, count=count, skip=skip)

    def _capture_request(self, payment: Entity, body: Entity) -> Entity:
        amount = _amount(body.get("amount"))
        currency = body.get("currency")
        if currency is None:
            raise InvalidRequest("The currency field is required.", field="currency")
        if payment["status"] == "captured" or payment["captured"]:
            raise InvalidRequest("This payment has already been captured")
        if payment["status"] != "authorized":
            raise InvalidRequest(
                "Only payments which have been authorized and not yet captured can be captured"
            )
        if currency != payment["currency"]:
            raise InvalidRequest("Currency should be same as payment currency", field="currency")
        if amount != payment["amount"]:
            raise InvalidRequest(
                "Capture amount must be equal to the amount authorized", field="amount"
            )
        self._capture(payment)
        return payment

    def _refund_request(self, payment: Entity, body: Entity) -> Entity:
        extra = sorted(set(body) - REFUND_FIELDS)
        if extra:
            raise InvalidRequest(f"{', '.join(extra)} is/are not required and should not be sent")
        if not payment["captured"]:
            raise InvalidRequest("The payment status should be captured for action to be taken.")
        left = int(payment["amount"]) - int(payment["amount_refunded"])
        if left <= 0:
            raise InvalidRequest("The payment has been fully refunded already")
        amount = left if body.get("amount") is None else _amount(body.get("amount"))
        if amount > left:
            raise InvalidRequest(
                "The refund amount provided is greater than amount captured", field="amount"
            )
        speed = body.get("speed", "normal")
        if speed not in ("normal", "optimum"):
            raise InvalidRequest("The selected speed is invalid.", field="speed")
        receipt = body.get("receipt")
        if receipt is not None and (not isinstance(receipt, str) or len(receipt) > 40):
            raise InvalidRequest(
                "The receipt may not be greater than 40 characters.", field="receipt"
            )
        notes = _notes_field(body.get("notes"))
        refund_id = self._unused_id("rfnd", self.refunds)
        instant = speed == "optimum" and payment["method"] in ("upi", "card")
        refund: Entity = {
            "id": refund_id,
            "entity": "refund",
            "amount": amount,
            "currency": payment["currency"],
            "payment_id": payment["id"],
            "notes": _notes(notes),
            "receipt": receipt,
            "acquirer_data": {"arn": None},
            "created_at": int(self.clock()),
            "batch_id": None,
            "status": self.refund_status,
            "speed_processed": "instant" if instant else "normal",
            "speed_requested": speed,
        }
        self.refunds[refund_id] = refund
        payment["amount_refunded"] += amount
        self._update_refund_status(payment)
        return refund

    # --- ASGI -----------------------------------------------------------------------------

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        raw = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method, path = scope["method"], scope["path"]
        endpoint: EndpointName | None = None
        ids: dict[str, str] = {}
        for route_method, pattern, name in ROUTES:
            match = pattern.match(path)
            if match and route_method == method:
                endpoint, ids = name, match.groupdict()
                break
        key_id, secret = _basic_auth(headers.get("authorization"))
        body: Any = None
        parsed = True
        if raw:
            try:
                body = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                parsed = False
        record = RecordedRequest(
            method=method,
            path=path,
            query=parse_qs(scope.get("query_string", b"").decode()),
            endpoint=endpoint,
            body=body,
            raw=raw,
            headers=headers,
            key_id=key_id,
            auth_ok=key_id == self.key_id and secret == self.key_secret,
            at=time.perf_counter(),
        )
        self.requests.append(record)

        if not record.auth_ok:
            await _json(send, 401, error_body("BAD_REQUEST_ERROR", "Authentication failed"))
            return
        if endpoint is None:
            await _json(
                send,
                400,
                error_body("BAD_REQUEST_ERROR", "The requested URL was not found on the server."),
            )
            return
        if not parsed:
            await _json(
                send, 400, error_body("BAD_REQUEST_ERROR", "The request body is not valid JSON")
            )
            return

        fault = self.faults[endpoint].popleft() if self.faults[endpoint] else None
        if fault is None:
            await self._answer(send, endpoint, record, ids)
        elif isinstance(fault, Stall):
            await self._stall(fault, send, receive, endpoint, record, ids)
        else:
            if fault.applied:
                self._carry_out(endpoint, record, ids)
            if isinstance(fault, Garbage):
                await _send(send, fault.status, fault.body, b"text/html")
            else:
                code = fault.code or (
                    "SERVER_ERROR" if fault.status >= 500 else "BAD_REQUEST_ERROR"
                )
                description = fault.description or (
                    "The server encountered an error. The incident has been reported to admins."
                    if fault.status >= 500
                    else "simulated failure"
                )
                await _json(send, fault.status, error_body(code, description))

    def _carry_out(
        self, endpoint: EndpointName, record: RecordedRequest, ids: dict[str, str]
    ) -> tuple[int, Entity]:
        try:
            return 200, copy.deepcopy(self._handle(endpoint, record, ids))
        except InvalidRequest as e:
            return e.status, error_body(
                "BAD_REQUEST_ERROR",
                e.description,
                field=e.field,
                source="business",
                step="payment_initiation",
                reason="input_validation_failed",
            )

    async def _answer(
        self,
        send: Send,
        endpoint: EndpointName,
        record: RecordedRequest,
        ids: dict[str, str],
        answer: tuple[int, Entity] | None = None,
    ) -> None:
        status, payload = answer or self._carry_out(endpoint, record, ids)
        await _json(send, status, payload)
        self.completed += 1

    async def _stall(
        self,
        fault: Stall,
        send: Send,
        receive: Receive,
        endpoint: EndpointName,
        record: RecordedRequest,
        ids: dict[str, str],
    ) -> None:
        answer = self._carry_out(endpoint, record, ids) if fault.applied else None
        self.stalled += 1
        waits = [
            asyncio.ensure_future(asyncio.sleep(fault.seconds)),
            asyncio.ensure_future(self._closing.wait()),
            asyncio.ensure_future(_disconnected(receive)),
        ]
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
            self.stalled -= 1
        if waits[2] in done:
            return  # the client went away: nobody to answer
        # Held long enough, or the fake is stopping: answer now.
        with contextlib.suppress(OSError):
            await self._answer(send, endpoint, record, ids, answer)


# --- helpers --------------------------------------------------------------------------


def _object(body: Any) -> Entity:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object")
    return body


def _amount(value: Any) -> int:
    if value is None:
        raise InvalidRequest("The amount field is required.", field="amount")
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest("The amount must be an integer.", field="amount")
    if value < 100:
        raise InvalidRequest("The amount must be atleast INR 1.00", field="amount")
    return value


def _flag(value: Any, name: str) -> bool:
    if value in (True, 1, "1", "true"):
        return True
    if value in (False, 0, "0", "false"):
        return False
    raise InvalidRequest(f"The {name} field must be true or false.", field=name)


def _notes_field(value: Any) -> dict[str, Any]:
    if value is None or value == []:
        return {}
    if not isinstance(value, dict):
        raise InvalidRequest("The notes must be an array.", field="notes")
    if len(value) > 15:
        raise InvalidRequest("Number of fields in notes should be less than or equal to 15")
    for key, note in value.items():
        if not isinstance(note, str | int | float) or isinstance(note, bool):
            raise InvalidRequest(f"notes.{key} must be a string or a number", field="notes")
        if len(str(note)) > 256:
            raise InvalidRequest(
                f"The notes.{key} may not be greater than 256 characters.", field="notes"
            )
    return value


def _collection(items: Iterable[Entity], *, count: int | None = None, skip: int = 0) -> Entity:
    # Newest first; among equal timestamps, the one created last first.
    newest_first = sorted(list(items)[::-1], key=lambda e: -int(e["created_at"]))
    page = newest_first[skip : None if count is None else skip + count]
    return {"entity": "collection", "count": len(page), "items": page}


def _basic_auth(header: str | None) -> tuple[str | None, str | None]:
    if not header or not header.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    key_id, _, secret = decoded.partition(":")
    return key_id, secret


async def _send(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type)],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _json(send: Send, status: int, payload: Entity) -> None:
    await _send(
        send, status, json.dumps(payload, separators=(",", ":")).encode(), b"application/json"
    )


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


@contextlib.contextmanager
def running_in_a_thread(**options: Any) -> Iterator[FakeRazorpay]:
    """The fake on an event loop of its own, for tests whose server runs in another thread
    (``tests/server_thread.py``) rather than on the test's loop."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-razorpay", daemon=True)
    thread.start()
    fake = FakeRazorpay(**options)
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(timeout=10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(timeout=15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()
