"""The live commerce state the room's tick carries: units left, sales and recent orders.

`LiveCommerce` is an in-process view kept up to date by checkout (units left, recent
orders) and by the flash-sale service (sales). The room's tick reads it 4-5 times a
second, never the database (except a stock refresh for a pinned product every few
seconds), so a thousand purchases cost the room nothing more than a changed number in the
next tick.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any, Final

from live_server.commerce.flash_sales.view import SaleView

logger = logging.getLogger(__name__)

ORDER_WINDOW_S: Final = 60.0  # "N bought in the last minute"
PROOF_WINDOW_S: Final = 10.0  # how long "<first name> just bought <product>" stays up
STOCK_REFRESH_S: Final = 5.0  # re-read stock of pinned products this often (catalog edits)
ENDED_SALE_GRACE_S: Final = 15.0  # keep showing "ended" / "sold out" this long


class LiveCommerce:
    """Units left, running sales and recent purchases, per session, in memory.

    With several nodes, every local change is also handed to `on_change` (the composition
    root connects it to a `CommerceFeed`), and changes from other nodes come back in through
    `apply`, so whichever node ticks a room shows every node's orders.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.on_change: Callable[[dict[str, Any]], None] | None = None
        self._sales: dict[int, SaleView] = {}
        self._sale_of_product: dict[int, int] = {}
        self._stock: dict[int, tuple[int, float]] = {}  # product -> (units, read at)
        self._orders: dict[int, deque[tuple[float, int]]] = {}
        self._proof: dict[int, deque[tuple[float, str, str]]] = {}

    # -- updates ----------------------------------------------------------------------

    def _share(self, message: dict[str, Any]) -> None:
        if self.on_change is not None:
            self.on_change(message)

    def add_sale(self, sale: SaleView, *, share: bool = True) -> None:
        """A sale started (or was loaded at start-up)."""
        self._sales[sale.id] = sale
        self._sale_of_product[sale.product_id] = sale.id
        if share:
            self._share({"kind": "sale", "sale": asdict(sale)})

    def end_sale(self, sale_id: int, at: float, *, share: bool = True) -> None:
        """A host stopped a sale early."""
        sale = self._sales.get(sale_id)
        if sale is not None:
            sale.ended_early_at = at
        if share:
            self._share({"kind": "end", "sale_id": sale_id, "at": at})

    def update_stock(self, stock: Mapping[int, int], *, share: bool = True) -> None:
        """Fresh stock levels (from a checkout batch, a release or a read)."""
        now = self._clock()
        for pid, units in stock.items():
            self._stock[pid] = (units, now)
        if share and stock:
            self._share({"kind": "stock", "stock": {str(k): v for k, v in stock.items()}})

    def update_sales(self, remaining: Mapping[int, int], *, share: bool = True) -> None:
        """Fresh units-left of sales."""
        for sale_id, units in remaining.items():
            sale = self._sales.get(sale_id)
            if sale is not None:
                sale.remaining = units
        if share and remaining:
            self._share({"kind": "remaining", "sales": {str(k): v for k, v in remaining.items()}})

    def record_order(
        self,
        session_id: int,
        units: int,
        *,
        first_name: str | None,
        title: str,
        share: bool = True,
    ) -> None:
        """An order placed from a live session: counts for social proof."""
        now = self._clock()
        self._orders.setdefault(session_id, deque()).append((now, units))
        if first_name:
            proof = self._proof.setdefault(session_id, deque(maxlen=20))
            proof.append((now, first_name, title))
        if share:
            self._share(
                {
                    "kind": "order",
                    "session_id": session_id,
                    "units": units,
                    "first_name": first_name,
                    "title": title,
                }
            )

    def apply(self, message: dict[str, Any]) -> None:
        """A change made on another node (never shared again). Bad messages are dropped."""
        try:
            kind = message["kind"]
            if kind == "stock":
                self.update_stock(
                    {int(k): int(v) for k, v in message["stock"].items()}, share=False
                )
            elif kind == "remaining":
                self.update_sales(
                    {int(k): int(v) for k, v in message["sales"].items()}, share=False
                )
            elif kind == "order":
                self.record_order(
                    int(message["session_id"]),
                    int(message["units"]),
                    first_name=message.get("first_name") or None,
                    title=str(message["title"]),
                    share=False,
                )
            elif kind == "sale":
                self.add_sale(SaleView.from_row(message["sale"]), share=False)
            elif kind == "end":
                self.end_sale(int(message["sale_id"]), float(message["at"]), share=False)
        except (KeyError, TypeError, ValueError, AttributeError):
            logger.warning("ignoring a malformed commerce message: %.200r", message)

    # -- reads ------------------------------------------------------------------------

    def stale_stock(self, product_ids: list[int]) -> list[int]:
        """Products whose stock is unknown or older than STOCK_REFRESH_S."""
        now = self._clock()
        return [
            pid
            for pid in product_ids
            if pid not in self._stock or now - self._stock[pid][1] > STOCK_REFRESH_S
        ]

    def units_left(self, product_id: int) -> int | None:
        """Last known stock of a product."""
        known = self._stock.get(product_id)
        return known[0] if known else None

    def sale_for(self, product_id: int) -> SaleView | None:
        """The product's current or just-finished sale."""
        sale_id = self._sale_of_product.get(product_id)
        return self._sales.get(sale_id) if sale_id is not None else None

    def bought_last_minute(self, session_id: int) -> int:
        """Orders placed from this session in the last minute."""
        orders = self._orders.get(session_id)
        if not orders:
            return 0
        cutoff = self._clock() - ORDER_WINDOW_S
        while orders and orders[0][0] < cutoff:
            orders.popleft()
        return len(orders)

    def room_section(self, session_id: int) -> dict[str, Any]:
        """The "commerce" section of a session's tick."""
        now = self._clock()
        self._forget_old_sales(now)
        sales = [s.as_dict(now) for s in self._sales.values() if s.session_id == session_id]
        proof = self._proof.get(session_id)
        recent = [
            {"first_name": name, "product_title": title, "ago_s": round(now - at, 1)}
            for at, name, title in (proof or ())
            if now - at <= PROOF_WINDOW_S
        ][-3:]
        return {
            "server_time": now,
            "sales": sales,
            "bought_last_minute": self.bought_last_minute(session_id),
            "just_bought": recent,
        }

    def card_fields(self, product_id: int) -> dict[str, Any]:
        """Extra fields for a pinned card: units left, sold out, running sale."""
        now = self._clock()
        units = self.units_left(product_id)
        fields: dict[str, Any] = {"units_left": units, "sold_out": units == 0}
        sale = self.sale_for(product_id)
        if sale is not None and now - sale.finish_time() <= ENDED_SALE_GRACE_S:
            shown = sale.as_dict(now)
            # Cards are re-sent only when they change: keep the ticking countdown out of
            # them (pages count down from ends_at_epoch themselves).
            fields["flash_sale"] = {k: v for k, v in shown.items() if k != "seconds_left"}
            if shown["status"] != "ended":
                # during a sale the card counts down the sale's own units
                left = shown["remaining"] if units is None else min(units, shown["remaining"])
                fields["units_left"] = left
                fields["sold_out"] = left == 0
        return fields

    def _forget_old_sales(self, now: float) -> None:
        old = [sid for sid, s in self._sales.items() if now - s.finish_time() > ENDED_SALE_GRACE_S]
        for sale_id in old:
            sale = self._sales.pop(sale_id)
            if self._sale_of_product.get(sale.product_id) == sale_id:
                del self._sale_of_product[sale.product_id]
