"""Announcing a new order: social proof in the room and a ping to the host's studio.

Both happen off the request path: one task drains every announcement of a burst, and a
failed notification never affects the sale.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from live_server.accounts.service import AccountService
from live_server.commerce.live.state import LiveCommerce

logger = logging.getLogger(__name__)

HostNotifier = Callable[[int, dict[str, Any]], Awaitable[None]]


class OrderAnnouncer:
    """The order outbox (mixed into `CheckoutService`, which sets the fields)."""

    _live: LiveCommerce
    _accounts: AccountService
    _outbox: list[tuple[dict[str, Any], bool, int, str]]
    _outbox_task: asyncio.Task[None] | None
    _host_notifier: HostNotifier | None

    def _announce(self, order: dict[str, Any], show_first_name: bool) -> None:
        """Social proof in the room and a ping to the host's studio, off the request path."""
        session_id = order.get("session_id")
        if session_id is None:
            return
        units = sum(int(it["quantity"]) for it in order["items"])
        title = str(order["items"][0]["title"]) if order["items"] else ""
        if not show_first_name:
            self._live.record_order(session_id, units, first_name=None, title=title)
        self._outbox.append((order, show_first_name, units, title))
        if self._outbox_task is None or self._outbox_task.done():
            # one task drains every announcement of a burst (not one task per order)
            self._outbox_task = asyncio.create_task(self._flush_outbox(), name="order-notices")

    async def _flush_outbox(self) -> None:
        while self._outbox:
            pending, self._outbox = self._outbox, []
            for order, show_first_name, units, title in pending:
                await self._announce_async(order, show_first_name, units, title)

    async def _announce_async(
        self, order: dict[str, Any], show_first_name: bool, units: int, title: str
    ) -> None:
        session_id = int(order["session_id"])
        try:
            if show_first_name:
                user = await self._accounts.get_user(int(order["buyer_id"]))
                self._live.record_order(session_id, units, first_name=user.first_name, title=title)
            if self._host_notifier is not None and order.get("creator_id") is not None:
                await self._host_notifier(
                    int(order["creator_id"]),
                    {
                        "session_id": session_id,
                        "order_id": order["id"],
                        "items": [
                            {
                                "product_id": it["product_id"],
                                "title": it["title"],
                                "quantity": it["quantity"],
                            }
                            for it in order["items"]
                        ],
                        "total_minor": order["total_minor"],
                        "currency": order["currency"],
                        "media_time": order["media_time"],
                        "created_at": order["created_at"],
                    },
                )
        except Exception:  # a failed notification must never affect the sale
            logger.exception("announcing order %s of session %d failed", order["id"], session_id)
