"""The background sender: works through the outbox over SMTP (aiosmtplib), never on a
request's path. A message that cannot be sent (the server slow, down, or refusing) is tried
again later with backoff, up to `MAX_ATTEMPTS` times; then it is marked failed and logged."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from live_server.commerce.emails.rules import MAX_ATTEMPTS, retry_delay_s
from live_server.commerce.emails.store import EmailStore, Outgoing

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where mail goes; the password never reaches a log."""

    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    timeout_s: float = 15.0


class EmailSender:
    """Sends due messages; `wake()` after queueing something."""

    def __init__(
        self, store: EmailStore, smtp: SmtpSettings, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._smtp = smtp
        self._clock = clock
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Something was queued: look now."""
        self._wake.set()

    async def run(self) -> None:
        """Until cancelled: send what is due, then sleep until the next is (or a wake)."""
        while True:
            try:
                await self.send_due()
                next_at = await self._store.next_due_at()
            except Exception:  # a failed round must not stop email for good
                logger.exception("email sender round failed")
                next_at = self._clock() + 30
            wait = 60.0 if next_at is None else max(0.0, next_at - self._clock())
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=min(wait, 60.0))

    async def send_due(self) -> int:
        """One round; returns how many were sent."""
        sent = 0
        for item in await self._store.due(self._clock()):
            try:
                await self._send(item)
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                attempts = item.attempts + 1
                next_at = (
                    None if attempts >= MAX_ATTEMPTS else self._clock() + retry_delay_s(attempts)
                )
                reason = f"{type(exc).__name__}: {exc}"[:300]
                await self._store.failed(item.id, reason, next_at, self._clock())
                if next_at is None:
                    logger.warning(
                        "email %d given up after %d tries: %s", item.id, attempts, reason
                    )
                else:
                    logger.info(
                        "email %d not sent (try %d), retrying: %s", item.id, attempts, reason
                    )
                continue
            await self._store.sent(item.id, self._clock())
            sent += 1
        return sent

    async def _send(self, item: Outgoing) -> None:
        message = EmailMessage()
        message["From"] = self._smtp.sender
        message["To"] = item.to_addr
        message["Subject"] = item.subject
        message["Message-ID"] = make_msgid(domain="liveshop.local")
        message.set_content(item.text)
        message.add_alternative(item.html, subtype="html")
        await aiosmtplib.send(
            message,
            hostname=self._smtp.host,
            port=self._smtp.port,
            username=self._smtp.username,
            password=self._smtp.password,
            start_tls=self._smtp.starttls,
            timeout=self._smtp.timeout_s,
        )
