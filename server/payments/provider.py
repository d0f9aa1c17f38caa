"""Razorpay, behind the few calls the purchase path needs.

The SDK is synchronous (``requests``): every call runs in a worker thread with the
configured timeout, and the SDK's own retry (which sleeps in the thread and can open
duplicate orders) stays off. Whatever goes wrong upstream comes out as one
``ProviderUnavailable`` that says what happened; a signature that does not match is
``SignatureMismatch``. Signatures are checked with the SDK's own helpers.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import razorpay
import requests
from razorpay.errors import BadRequestError, GatewayError, ServerError, SignatureVerificationError

from server.config import Settings
from server.errors import AppError

log = logging.getLogger(__name__)

Entity = dict[str, Any]


class ProviderUnavailable(AppError):
    """Razorpay failed, refused or did not answer; nothing was changed on our side."""

    status_code = 502
    code = "payment_provider_error"


class SignatureMismatch(AppError):
    status_code = 400
    code = "payment_signature_invalid"

    def __init__(self, what: str) -> None:
        super().__init__(
            f"The {what} signature does not match: this confirmation did not come from "
            "Razorpay for this order. Nothing was charged or granted on its account."
        )


@dataclass(frozen=True, slots=True)
class RazorpayConfig:
    key_id: str
    key_secret: str
    webhook_secret: str
    base_url: str | None
    timeout_s: float

    @classmethod
    def from_settings(cls, settings: Settings) -> RazorpayConfig | None:
        """The configuration, or None when buying credits is off."""
        if not settings.payments_enabled:
            return None
        assert settings.razorpay_key_id and settings.razorpay_key_secret
        assert settings.razorpay_webhook_secret
        return cls(
            key_id=settings.razorpay_key_id,
            key_secret=settings.razorpay_key_secret.get_secret_value(),
            webhook_secret=settings.razorpay_webhook_secret.get_secret_value(),
            base_url=settings.razorpay_base_url,
            timeout_s=settings.razorpay_timeout_s,
        )


class Razorpay:
    """Orders, payments and refunds through the real SDK, off the event loop."""

    def __init__(self, config: RazorpayConfig) -> None:
        self.config = config
        options: dict[str, Any] = {"auth": (config.key_id, config.key_secret)}
        if config.base_url:
            options["base_url"] = config.base_url
        self._client = razorpay.Client(**options)
        self._client.enable_retry(False)  # off by default; said here so it stays off

    @property
    def key_id(self) -> str:
        return self.config.key_id

    async def create_order(
        self, *, amount_paise: int, receipt: str, notes: dict[str, str]
    ) -> Entity:
        return await self._call(
            "open the order",
            self._client.order.create,
            {
                "amount": amount_paise,
                "currency": "INR",
                "receipt": receipt,
                "notes": notes,
                "payment_capture": 1,
            },
        )

    async def fetch_payment(self, payment_id: str) -> Entity:
        return await self._call("read the payment", self._client.payment.fetch, payment_id)

    async def order_payments(self, order_id: str) -> list[Entity]:
        found = await self._call("read the order's payments", self._client.order.payments, order_id)
        items = found.get("items")
        if not isinstance(items, list):
            raise ProviderUnavailable("Razorpay answered without the order's payments.")
        return [item for item in items if isinstance(item, dict)]

    async def capture(self, payment_id: str, amount_paise: int) -> Entity:
        return await self._call(
            "capture the payment",
            self._client.payment.capture,
            payment_id,
            amount_paise,
            {"currency": "INR"},
        )

    async def refund(self, payment_id: str, amount_paise: int, notes: dict[str, str]) -> Entity:
        # The SDK defines ``payment.refund`` twice; the later (payment_id, data) one is live.
        return await self._call(
            "refund the payment",
            self._client.payment.refund,
            payment_id,
            {"amount": amount_paise, "speed": "normal", "notes": notes},
        )

    def check_payment_signature(self, order_id: str, payment_id: str, signature: str) -> None:
        try:
            self._client.utility.verify_payment_signature(
                {
                    "razorpay_order_id": order_id,
                    "razorpay_payment_id": payment_id,
                    "razorpay_signature": signature,
                }
            )
        except SignatureVerificationError:
            raise SignatureMismatch("payment") from None

    def check_webhook_signature(self, body: bytes, signature: str) -> None:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise SignatureMismatch("webhook") from None
        try:
            self._client.utility.verify_webhook_signature(
                text, signature, self.config.webhook_secret
            )
        except SignatureVerificationError:
            raise SignatureMismatch("webhook") from None

    async def _call(self, what: str, method: Any, *args: Any) -> Entity:
        timeout = self.config.timeout_s
        try:
            # The thread cannot be cancelled; requests' own timeout bounds it (connect and
            # each read), and this one bounds the whole call for the caller.
            found = await asyncio.wait_for(
                asyncio.to_thread(method, *args, timeout=timeout), timeout * 2 + 1
            )
        except (requests.exceptions.Timeout, TimeoutError):
            raise ProviderUnavailable(
                f"Razorpay did not answer in time when asked to {what}. Nothing was "
                "charged; try again."
            ) from None
        except BadRequestError as error:
            log.warning("Razorpay refused to %s: %s", what, error)
            raise ProviderUnavailable(f"Razorpay refused to {what}: {error}") from None
        except (ServerError, GatewayError) as error:
            log.warning("Razorpay failed to %s: %s", what, error)
            raise ProviderUnavailable(
                f"Razorpay failed when asked to {what}. Nothing was charged; try again."
            ) from None
        except requests.exceptions.JSONDecodeError:
            log.warning("Razorpay answered something that is not JSON when asked to %s", what)
            raise ProviderUnavailable(
                f"Razorpay gave an unreadable answer when asked to {what}. Try again."
            ) from None
        except requests.exceptions.RequestException as error:
            log.warning("Razorpay could not be reached to %s: %s", what, error)
            raise ProviderUnavailable(
                f"Razorpay could not be reached to {what}. Nothing was charged; try again."
            ) from None
        if not isinstance(found, dict):
            raise ProviderUnavailable(f"Razorpay gave an unexpected answer when asked to {what}.")
        return found
