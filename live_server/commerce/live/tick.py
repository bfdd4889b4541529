"""The room's tick contributor for commerce.

`CommerceTick` implements the room's `TickContributor`: 4-5 times a second it reads the
live view (`state.LiveCommerce`), never the database (except a stock refresh for a pinned
product every few seconds).
"""

from __future__ import annotations

from typing import Any

from live_server.commerce.live.state import LiveCommerce
from live_server.commerce.stores.orders import OrdersRepository


class CommerceTick:
    """The room's `TickContributor` for commerce (name "commerce")."""

    name = "commerce"

    def __init__(self, live: LiveCommerce, orders: OrdersRepository) -> None:
        self._live = live
        self._orders = orders

    async def room_tick(self, session_id: int) -> dict[str, Any] | None:
        """Sales countdowns, N bought in the last minute, opt-in recent buyers."""
        return self._live.room_section(session_id)

    async def card_extras(
        self, session_id: int, product_ids: list[int]
    ) -> dict[int, dict[str, Any]]:
        """Units left / sold out / flash sale for each pinned product."""
        stale = self._live.stale_stock(product_ids)
        if stale:
            self._live.update_stock(await self._orders.stock_levels(stale))
        return {pid: self._live.card_fields(pid) for pid in product_ids}
