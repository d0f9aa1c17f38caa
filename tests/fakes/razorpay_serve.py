"""The fake Razorpay API as a process of its own, for the browser tests, with a stand-in Checkout.

In front of :class:`tests.fakes.razorpay.FakeRazorpay` it serves ``GET /checkout.js`` (the
stand-in script, ``client/e2e/fixtures/checkout-standin.js``) and ``POST /__fake/checkout``,
which the stand-in calls when the candidate presses Pay: the payment is made with
:meth:`FakeRazorpay.pay` and Checkout's answer comes back, as the real Checkout would hand it to
the page (the three values for the success handler, or the ``payment.failed`` error).

    .venv/bin/python -m tests.fakes.razorpay_serve --port 9100 --key-id rzp_test_x \\
        --key-secret s --webhook-secret w --checkout-js client/e2e/fixtures/checkout-standin.js

Prints ``ready <base url>`` once it listens; stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn

from tests.fakes.razorpay import FakeRazorpay, Message, Receive, Send

CHECKOUT_PATH = "/__fake/checkout"
SCRIPT_PATH = "/checkout.js"


class CheckoutStandIn:
    """ASGI app: the stand-in Checkout's two routes, and everything else to the fake API."""

    def __init__(
        self, fake: FakeRazorpay, script: Path, allowed_origins: Sequence[str] = ()
    ) -> None:
        self.fake = fake
        self.script = script
        self.allowed_origins = frozenset(allowed_origins)

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path, method = scope["path"], scope["method"]
            if path == SCRIPT_PATH and method in ("GET", "HEAD"):
                await self._script(send, head=method == "HEAD")
                return
            if path == CHECKOUT_PATH:
                await self._checkout(scope, receive, send)
                return
        await self.fake(scope, receive, send)

    async def _script(self, send: Send, *, head: bool) -> None:
        # Read on every request: an edited stand-in is served without a restart.
        body = self.script.read_bytes()
        await _respond(
            send,
            200,
            b"" if head else body,
            [
                (b"content-type", b"text/javascript; charset=utf-8"),
                (b"cache-control", b"no-store"),
                (b"content-length", str(len(body)).encode()),
            ],
        )

    def _cors(self, scope: Message) -> list[tuple[bytes, bytes]]:
        origin = dict(scope["headers"]).get(b"origin", b"").decode("latin-1")
        if not origin or (self.allowed_origins and origin not in self.allowed_origins):
            return []
        return [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-methods", b"POST, OPTIONS"),
            (b"access-control-allow-headers", b"content-type"),
            (b"access-control-max-age", b"600"),
            (b"vary", b"Origin"),
        ]

    async def _checkout(self, scope: Message, receive: Receive, send: Send) -> None:
        cors = self._cors(scope)
        if scope["method"] == "OPTIONS":
            await _respond(send, 204, b"", cors)
            return
        if scope["method"] != "POST":
            await _json(send, 405, {"ok": False, "detail": "expected POST or OPTIONS"}, cors)
            return
        raw = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        try:
            body = json.loads(raw or b"{}")
            order_id = str(body["order_id"])
            vpa = str(body.get("vpa") or "success@razorpay")
        except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
            await _json(
                send,
                400,
                {"ok": False, "detail": 'expected {"order_id": "order_…", "vpa": "…@…"}'},
                cors,
            )
            return
        try:
            payment = self.fake.pay(order_id, method="upi", vpa=vpa)
        except KeyError:
            await _json(send, 404, _refused(order_id, f"No order {order_id} here."), cors)
            return
        except ValueError as e:
            await _json(send, 409, _refused(order_id, str(e)), cors)
            return
        await _json(send, 200, {"ok": payment.succeeded, **payment.checkout_response}, cors)


def _refused(order_id: str, description: str) -> dict[str, Any]:
    """Checkout's error shape, for an order it would not take."""
    return {
        "ok": False,
        "error": {
            "code": "BAD_REQUEST_ERROR",
            "description": description,
            "source": "business",
            "step": "payment_initiation",
            "reason": "input_validation_failed",
            "metadata": {"order_id": order_id},
        },
    }


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _json(
    send: Send, status: int, payload: dict[str, Any], headers: list[tuple[bytes, bytes]]
) -> None:
    await _respond(
        send,
        status,
        json.dumps(payload).encode(),
        [(b"content-type", b"application/json"), *headers],
    )


async def serve(args: argparse.Namespace) -> None:
    fake = FakeRazorpay(
        key_id=args.key_id,
        key_secret=args.key_secret,
        webhook_secret=args.webhook_secret,
        refund_status=args.refund_status,
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    fake.port = sock.getsockname()[1]
    app = CheckoutStandIn(fake, Path(args.checkout_js), args.allow_origin)
    config = uvicorn.Config(
        app,
        interface="asgi3",
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    # uvicorn handles SIGTERM and SIGINT itself: it stops listening and returns from serve().
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    deadline = time.monotonic() + 10
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the fake Razorpay stopped before it started")
        if time.monotonic() > deadline:
            raise TimeoutError("the fake Razorpay did not start within 10 s")
        await asyncio.sleep(0.01)
    print(f"ready http://{args.host}:{fake.port}", flush=True)
    await task


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.razorpay_serve", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--key-id", required=True)
    parser.add_argument("--key-secret", required=True)
    parser.add_argument("--webhook-secret", required=True)
    parser.add_argument("--checkout-js", required=True, help="the stand-in Checkout script")
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        help="an origin the stand-in may call from (repeatable; none given: any)",
    )
    parser.add_argument("--refund-status", choices=("processed", "pending"), default="processed")
    args = parser.parse_args(argv)
    if not Path(args.checkout_js).is_file():
        parser.error(f"--checkout-js: expected a file, got {args.checkout_js!r}")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    try:
        asyncio.run(serve(parse(argv)))
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
