"""Which emails an order sends, and people's contact addresses.

A placed order queues the buyer's confirmation (or "you won" for an auction's order) and
the seller's new-order notice, for those who gave a contact address; the sender delivers
them in the background, so a slow or absent mail server never slows a checkout. With no
SMTP server configured nothing is queued at all (the demo sends no mail).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from live_server.accounts.service import AccountService
from live_server.catalog.service import CatalogService
from live_server.commerce.emails import rules
from live_server.commerce.emails.sender import EmailSender
from live_server.commerce.emails.store import EmailStore
from live_server.platform.errors import Invalid, NotFound

logger = logging.getLogger(__name__)


class OrderEmails:
    """Queues order emails; `sender` is None when no SMTP server is configured."""

    def __init__(
        self,
        store: EmailStore,
        sender: EmailSender | None,
        accounts: AccountService,
        catalog: CatalogService,
        base_url: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._sender = sender
        self._accounts = accounts
        self._catalog = catalog
        self._base_url = base_url.rstrip("/")
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def enabled(self) -> bool:
        """Whether this server sends email at all."""
        return self._sender is not None

    # -- contact addresses -------------------------------------------------------------

    async def contact(self, user_id: int) -> dict[str, Any]:
        return {"email": await self._store.contact_of(user_id), "emails_enabled": self.enabled}

    async def set_contact(self, user_id: int, email: str | None) -> dict[str, Any]:
        """Sets the address order news goes to (None or "" removes it)."""
        value = (email or "").strip()
        if value and not rules.valid_email(value):
            raise Invalid(
                "Enter an email address like ana@example.com.", code="invalid_email", field="email"
            )
        await self._store.set_contact(user_id, value or None, self._clock())
        return await self.contact(user_id)

    # -- orders ------------------------------------------------------------------------

    def order_placed(self, order: dict[str, Any], *, won: bool = False) -> None:
        """Called after checkout answers: queues the emails in a task of its own."""
        if self._sender is None:
            return
        task = asyncio.create_task(self._queue_for(order, won), name="order-emails")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _queue_for(self, order: dict[str, Any], won: bool) -> None:
        try:
            now = self._clock()
            buyer = await self._accounts.get_user(int(order["buyer_id"]))
            to_buyer = await self._store.contact_of(buyer.id)
            queued = False
            if to_buyer:
                make = rules.auction_won if won else rules.confirmation
                message = make(order, buyer.first_name or buyer.display_name, self._base_url)
                queued |= await self._store.enqueue(message, to_buyer, now)
            seller = await self._seller_of(order)
            to_seller = await self._store.contact_of(seller) if seller is not None else None
            if to_seller:
                notice = rules.new_order_notice(order, buyer.first_name, self._base_url)
                queued |= await self._store.enqueue(notice, to_seller, now)
            if queued and self._sender is not None:
                self._sender.wake()
        except Exception:
            logger.exception("order %s: emails not queued", order.get("id"))

    def order_shipped(self, order: dict[str, Any]) -> None:
        """Queues "your order has shipped" (carrier and tracking) to the buyer."""
        self._to_buyer(order, lambda name: rules.shipped(order, name, self._base_url))

    def order_refunded(self, order: dict[str, Any], amount_minor: int, refund_id: int) -> None:
        """Queues a refund's email (its amount) to the buyer."""
        self._to_buyer(
            order,
            lambda name: rules.refunded(order, amount_minor, refund_id, name, self._base_url),
        )

    def _to_buyer(self, order: dict[str, Any], make: Callable[[str], rules.Message]) -> None:
        if self._sender is None:
            return
        task = asyncio.create_task(self._queue_to_buyer(order, make), name="order-emails")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _queue_to_buyer(
        self, order: dict[str, Any], make: Callable[[str], rules.Message]
    ) -> None:
        try:
            buyer = await self._accounts.get_user(int(order["buyer_id"]))
            to_buyer = await self._store.contact_of(buyer.id)
            if not to_buyer:
                return
            message = make(buyer.first_name or buyer.display_name)
            if await self._store.enqueue(message, to_buyer, self._clock()) and self._sender:
                self._sender.wake()
        except Exception:
            logger.exception("order %s: email not queued", order.get("id"))

    async def _seller_of(self, order: dict[str, Any]) -> int | None:
        if order.get("creator_id") is not None:
            return int(order["creator_id"])
        for item in order.get("items", ()):
            try:
                return (await self._catalog.get(int(item["product_id"]))).owner_id
            except NotFound:
                continue
        return None

    def wake(self) -> None:
        """Look at the outbox now (after a retry time was moved, say)."""
        if self._sender is not None:
            self._sender.wake()

    async def drain(self) -> None:
        """Waits for queued-but-not-stored emails (shutdown and tests)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
