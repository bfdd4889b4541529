"""Order emails through a real SMTP server (aiosmtpd's, started by the test on 127.0.0.1):
the buyer's confirmation and the seller's notice arrive with the right content, a checkout
is as fast when the mail server is slow or down, and a message that could not be sent is
sent later."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP

from live_server.commerce.keys import EMAILS
from live_server.settings import Settings
from support.commerce import buy, make_buyer, make_show
from support.helpers import auth, wait_for


class Inbox:
    """An aiosmtpd handler keeping every message it accepts (after `delay_s`)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.delay_s = 0.0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        raw = envelope.original_content or envelope.content
        msg = message_from_bytes(raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


async def serve_smtp(inbox: Inbox, port: int = 0) -> asyncio.AbstractServer:
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: SMTP(inbox), "127.0.0.1", port)


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[Inbox, int, asyncio.AbstractServer]]:
    inbox = Inbox()
    server = await serve_smtp(inbox)
    port = int(server.sockets[0].getsockname()[1])
    yield inbox, port, server
    server.close()
    await server.wait_closed()


@pytest.fixture
def settings(tmp_path: Any, smtp: tuple[Inbox, int, Any]) -> Settings:
    return Settings.load(
        {
            "data_dir": tmp_path / "var",
            "secret": "test-secret",
            "signup_burst": 10_000,
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp[1],
            "smtp_sender": "Shop <orders@shop.test>",
            "public_url": "https://shop.test",
        },
        env={},
    )


async def set_email(client: Any, token: str, email: str) -> None:
    resp = await client.put("/api/me/email", json={"email": email}, headers=auth(token))
    assert resp.status == 200, await resp.text()


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


async def test_the_buyer_and_the_seller_get_their_emails(
    client: Any, make_user: Any, smtp: tuple[Inbox, int, Any]
) -> None:
    inbox = smtp[0]
    show = await make_show(client, make_user, stocks=[4], price=2_500, title="Linen shirt")
    await set_email(client, show.host_token, "maya@shop.test")
    buyer, token = await make_buyer(client, make_user)
    resp = await client.put("/api/me/email", json={"email": "not an address"}, headers=auth(token))
    assert resp.status == 422
    error = (await resp.json())["error"]
    assert error["field"] == "email" and error["message"].startswith("Enter an email address")
    await set_email(client, token, "ana@example.com")
    status, body = await buy(
        client, token, show.product_ids[0], quantity=2, session_id=show.session_id
    )
    assert status == 201, body
    order = body["order"]
    number = "#" + order["id"].removeprefix("ord_")[:6].upper()
    await wait_for(lambda: len(inbox.messages) >= 2, timeout=10, message="two emails")
    (mine,) = inbox.to("ana@example.com")
    assert mine["Subject"] == f"Your LiveShop order {number}"
    assert mine["From"] == "Shop <orders@shop.test>"
    text = text_of(mine)
    assert "2 × Linen shirt · $50.00" in text and "Total $50.00" in text
    assert "https://shop.test/orders.html" in text
    html = mine.get_body(preferencelist=("html",))
    assert html is not None and "<li>2 × Linen shirt · $50.00</li>" in str(html.get_content())
    (notice,) = inbox.to("maya@shop.test")
    assert notice["Subject"] == f"New order {number}"
    assert buyer["display_name"].split()[0] in text_of(notice)
    # a buyer without a contact address gets no email; the seller still hears of it
    _, quiet = await make_buyer(client, make_user)
    await buy(client, quiet, show.product_ids[0])
    await wait_for(lambda: len(inbox.to("maya@shop.test")) == 2, timeout=10, message="notice")
    assert len(inbox.messages) == 3


async def test_a_slow_or_absent_mail_server_never_slows_checkout(
    app: Any, client: Any, make_user: Any, services: Any, smtp: tuple[Inbox, int, Any]
) -> None:
    inbox, port, server = smtp
    show = await make_show(client, make_user, stocks=[10])
    _, token = await make_buyer(client, make_user)
    await set_email(client, token, "ana@example.com")
    # slow: the server takes 3 s per message; the checkout does not wait for it
    inbox.delay_s = 3.0
    started = time.perf_counter()
    status, _ = await buy(client, token, show.product_ids[0])
    assert status == 201 and time.perf_counter() - started < 1.0
    await wait_for(lambda: len(inbox.messages) == 1, timeout=15, message="the slow email")
    # down: nothing listens; checkout is still immediate and the email waits in the outbox
    server.close()
    await server.wait_closed()
    inbox.delay_s = 0.0
    started = time.perf_counter()
    status, body = await buy(client, token, show.product_ids[0])
    assert status == 201 and time.perf_counter() - started < 1.0

    async def tried() -> Any:
        return await services.db.fetchone(
            "SELECT attempts, last_error, sent_at FROM email_outbox WHERE ref = ?",
            (body["order"]["id"],),
        )

    row = await wait_for(lambda: _attempted(tried), timeout=10, message="a failed try recorded")
    assert row["sent_at"] is None and row["last_error"]
    # the server is back: the retry delivers it
    back = await serve_smtp(inbox, port)
    try:
        await services.db.execute(
            "UPDATE email_outbox SET next_attempt_at = 0 WHERE sent_at IS NULL"
        )
        app[EMAILS].wake()
        await wait_for(lambda: len(inbox.messages) == 2, timeout=10, message="the retried email")
    finally:
        back.close()
        await back.wait_closed()


async def _attempted(read: Any) -> Any:
    row = await read()
    return row if row is not None and row["attempts"] >= 1 else None


async def test_no_smtp_server_means_no_email_and_the_password_stays_hidden(
    aiohttp_client: Any, tmp_path: Any
) -> None:
    from live_server.app import create_app

    plain = Settings.load({"data_dir": tmp_path / "x", "secret": "s"}, env={})
    assert plain.smtp_host is None
    other = await aiohttp_client(create_app(plain))
    assert other.app[EMAILS].enabled is False
    assert "hunter2" not in repr(Settings.load({"smtp_password": "hunter2"}, env={}))
