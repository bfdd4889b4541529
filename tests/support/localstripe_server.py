"""A real `localstripe` server (PyPI: a stateful fake of Stripe's API and of Stripe.js) for
the payment tests, in a child process on 127.0.0.1 and a port the kernel picks.

Run as a script it is that child: it serves localstripe's aiohttp app on a socket bound to
127.0.0.1:0 (localstripe's own `start()` binds every interface on a fixed port) and prints
the port. Its store is kept in memory only (localstripe would otherwise pickle it to one
shared file in /tmp after every write, which parallel test processes would trample).

`LocalStripe.webhook_to(url, secret)` points its webhooks at a test server; `browser_like`
calls the endpoints Stripe.js calls with the publishable key (what the sheet does).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

SECRET_KEY = "sk_test_liveshop"
PUBLISHABLE_KEY = "pk_test_liveshop"
WEBHOOK_SECRET = "whsec_liveshop_test"
# Stripe's test cards, as localstripe knows them
CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000341"  # saves, then every charge is declined
CARD_3DS = "4000002760003184"  # every payment asks the bank to confirm (3-D Secure)


@dataclass
class LocalStripe:
    """A running localstripe: its base URL."""

    url: str
    process: subprocess.Popen[bytes]

    @property
    def js_url(self) -> str:
        """Its test copy of Stripe.js (it talks to this server)."""
        return f"{self.url}/js.stripe.com/v3/"

    async def webhook_to(self, url: str, secret: str = WEBHOOK_SECRET) -> None:
        """Sends every event to `url`, signed with `secret` (Stripe-Signature)."""
        async with aiohttp.ClientSession() as s:
            resp = await s.post(
                f"{self.url}/_config/webhooks/liveshop", data={"url": url, "secret": secret}
            )
            assert resp.status == 200, await resp.text()

    async def confirm_card_setup(self, client_secret: str, number: str) -> dict[str, Any]:
        """What `stripe.confirmCardSetup(secret, {payment_method: {card}})` sends from the
        page: the card goes to Stripe with the publishable key, never to LiveShop (a card
        that asks for 3-D Secure is confirmed a second time, as after the bank's "yes")."""
        setup_intent = client_secret.split("_secret_")[0]
        body = {
            "key": PUBLISHABLE_KEY,
            "use_stripe_sdk": True,
            "client_secret": client_secret,
            "payment_method_data": {
                "type": "card",
                "card": {"number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123"},
            },
        }
        confirm = f"{self.url}/v1/setup_intents/{setup_intent}/confirm"
        async with aiohttp.ClientSession() as s:
            resp = await s.post(confirm, data=json.dumps(body))
            assert resp.status == 200, await resp.text()
            result: dict[str, Any] = await resp.json()
            if result["status"] == "requires_action":  # the bank's 3-D Secure, answered "yes"
                again = {
                    "key": PUBLISHABLE_KEY,
                    "use_stripe_sdk": True,
                    "client_secret": client_secret,
                }
                resp = await s.post(confirm, data=json.dumps(again))
                assert resp.status == 200, await resp.text()
                result = await resp.json()
            return result

    async def authenticate(self, client_secret: str, success: bool = True) -> dict[str, Any]:
        """What `stripe.confirmCardPayment(secret)` does after the buyer answers the bank's
        3-D Secure question (localstripe's Stripe.js asks in a dialog)."""
        intent = client_secret.split("_secret_")[0]
        async with aiohttp.ClientSession() as s:
            resp = await s.post(
                f"{self.url}/v1/payment_intents/{intent}/_authenticate?success={str(success).lower()}",
                data=json.dumps({"key": PUBLISHABLE_KEY, "client_secret": client_secret}),
            )
            assert resp.status == 200, await resp.text()
            result: dict[str, Any] = await resp.json()
            return result

    async def payment_intent(self, intent: str) -> dict[str, Any]:
        """A PaymentIntent as the secret key reads it."""
        async with aiohttp.ClientSession() as s:
            resp = await s.get(
                f"{self.url}/v1/payment_intents/{intent}",
                headers={"Authorization": f"Bearer {SECRET_KEY}"},
            )
            assert resp.status == 200, await resp.text()
            result: dict[str, Any] = await resp.json()
            return result


def signed(body: dict[str, Any], secret: str = WEBHOOK_SECRET, ts: int | None = None) -> Any:
    """A webhook body and its Stripe-Signature header, signed the way Stripe signs."""
    raw = json.dumps(body).encode()
    ts = int(time.time()) if ts is None else ts
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + raw, hashlib.sha256).hexdigest()
    return raw, {"Stripe-Signature": f"t={ts},v1={mac}", "Content-Type": "application/json"}


@contextmanager
def running_localstripe(timeout: float = 20.0) -> Iterator[LocalStripe]:
    """Starts localstripe in a child process; stops it after."""
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve())],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout
        line = proc.stdout.readline().decode().strip()
        if not line.isdigit():
            raise RuntimeError(f"localstripe did not start: {line!r}")
        url = f"http://127.0.0.1:{int(line)}"
        while time.monotonic() < deadline:  # the app is served once the port answers
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", int(line))) == 0:
                    break
            time.sleep(0.05)
        else:
            raise RuntimeError("localstripe did not answer")
        yield LocalStripe(url, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _serve() -> None:
    from aiohttp import web
    from localstripe import resources
    from localstripe.server import app

    resources.store.dump_to_disk = lambda: None  # type: ignore[method-assign]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    web.run_app(app, sock=sock, print=None, access_log=None)


if __name__ == "__main__":
    _serve()
