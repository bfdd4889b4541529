"""Flash sales and the live commerce state the room's tick carries.

`LiveCommerce` is an in-process view kept up to date by checkout (units left, recent
orders) and by this service (sales). `CommerceTick` implements the room's
`TickContributor`: 4-5 times a second it reads that view, never the database (except a
stock refresh for a pinned product every few seconds), so a thousand purchases cost the
room nothing more than a changed number in the next tick.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final

from live_server.catalog.service import CatalogService
from live_server.commerce.flash_sales.store import FlashSaleBusy, FlashSalesRepository
from live_server.commerce.rules.inventory import (
    FlashSaleError,
    sale_status,
    seconds_left,
    validate_flash_sale,
)
from live_server.commerce.stores.orders import OrdersRepository
from live_server.platform.errors import Conflict, Forbidden, Invalid, NotFound
from live_server.platform.identity import Principal
from live_server.platform.timefmt import iso
from live_server.shows.service import LiveSessionService

logger = logging.getLogger(__name__)

ORDER_WINDOW_S: Final = 60.0  # "N bought in the last minute"
PROOF_WINDOW_S: Final = 10.0  # how long "<first name> just bought <product>" stays up
STOCK_REFRESH_S: Final = 5.0  # re-read stock of pinned products this often (catalog edits)
ENDED_SALE_GRACE_S: Final = 15.0  # keep showing "ended" / "sold out" this long


@dataclass(slots=True)
class SaleView:
    """What a card needs to show a flash sale."""

    id: int
    session_id: int
    product_id: int
    price_minor: int
    list_price_minor: int
    currency: str
    quantity: int
    remaining: int
    per_buyer_limit: int | None
    starts_at: float
    ends_at: float
    ended_early_at: float | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> SaleView:
        """From a `flash_sales` row."""
        return cls(
            id=int(row["id"]),
            session_id=int(row["session_id"]),
            product_id=int(row["product_id"]),
            price_minor=int(row["price_minor"]),
            list_price_minor=int(row["list_price_minor"]),
            currency=str(row["currency"]),
            quantity=int(row["quantity"]),
            remaining=int(row["remaining"]),
            per_buyer_limit=row["per_buyer_limit"],
            starts_at=float(row["starts_at"]),
            ends_at=float(row["ends_at"]),
            ended_early_at=row["ended_early_at"],
        )

    def finish_time(self) -> float:
        """When the sale stopped or will stop."""
        return self.ended_early_at if self.ended_early_at is not None else self.ends_at

    def as_dict(self, now: float) -> dict[str, Any]:
        """The sale as the API and the tick show it (epoch `ends_at` for countdowns)."""
        status = sale_status(
            remaining=self.remaining,
            ends_at=self.ends_at,
            ended_early=self.ended_early_at is not None,
            now=now,
        )
        return {
            "id": self.id,
            "session_id": self.session_id,
            "product_id": self.product_id,
            "price_minor": self.price_minor,
            "list_price_minor": self.list_price_minor,
            "currency": self.currency,
            "quantity": self.quantity,
            "remaining": self.remaining,
            "sold": self.quantity - self.remaining,
            "per_buyer_limit": self.per_buyer_limit,
            "starts_at": iso(self.starts_at, "auto"),
            "ends_at": iso(self.finish_time(), "auto"),
            "ends_at_epoch": self.finish_time(),
            "seconds_left": 0.0 if status == "ended" else seconds_left(self.ends_at, now),
            "status": status,
        }


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


class FlashSaleService:
    """Starting, ending and listing flash sales (host, moderators or admins)."""

    def __init__(
        self,
        repo: FlashSalesRepository,
        sessions: LiveSessionService,
        catalog: CatalogService,
        live: LiveCommerce,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._repo = repo
        self._sessions = sessions
        self._catalog = catalog
        self._live = live
        self._clock = clock

    async def restore(self) -> int:
        """Load sales still running (after a restart) into the live view."""
        rows = await self._repo.running(self._clock(), ENDED_SALE_GRACE_S)
        for row in rows:
            self._live.add_sale(SaleView.from_row(row), share=False)
        return len(rows)

    async def start(self, who: Principal, session_id: int, data: dict[str, Any]) -> dict[str, Any]:
        """Start a sale on a product of the session's line-up while it is live."""
        session = await self._sessions.get(session_id)
        if not await self._sessions.can_moderate(who, session_id):
            raise Forbidden("only the host or a moderator can start a flash sale")
        if not session.is_live:
            raise Conflict("flash sales run while the session is live", code="session_not_live")
        raw_pid = data.get("product_id")
        if isinstance(raw_pid, bool) or not isinstance(raw_pid, int):
            raise Invalid("product_id must be an integer", code="invalid_product_id")
        view = await self._sessions.view(session_id)
        product = next((p for p in view.products if p.id == raw_pid), None)
        if product is None:
            raise Invalid("the product is not in this session's line-up", code="not_in_lineup")
        try:
            spec = validate_flash_sale(
                product_id=product.id,
                price_minor=data.get("price_minor"),
                quantity=data.get("quantity"),
                duration_s=data.get("duration_s"),
                per_buyer_limit=data.get("per_buyer_limit"),
                list_price_minor=product.price_minor,
                stock=(await self._catalog.get(product.id)).stock,
            )
        except FlashSaleError as exc:
            raise Invalid(exc.message, code=f"invalid_{exc.field}") from None
        now = self._clock()
        try:
            row = await self._repo.create(
                session_id=session_id,
                spec=spec,
                list_price_minor=product.price_minor,
                currency=product.currency,
                created_by=who.user_id,
                now=now,
            )
        except FlashSaleBusy:
            raise Conflict(
                "this product already has a running flash sale", code="sale_running"
            ) from None
        sale = SaleView.from_row(row)
        self._live.add_sale(sale)
        logger.info(
            "session %d: flash sale %d on product %d: %d units at %d for %d s",
            session_id,
            sale.id,
            product.id,
            spec.quantity,
            spec.price_minor,
            spec.duration_s,
        )
        return sale.as_dict(now)

    async def end(self, who: Principal, sale_id: int) -> dict[str, Any]:
        """Stop a running sale now."""
        row = await self._repo.get(sale_id)
        if row is None:
            raise NotFound("no such flash sale", code="sale_not_found")
        if not await self._sessions.can_moderate(who, int(row["session_id"])):
            raise Forbidden("only the host or a moderator can end a flash sale")
        now = self._clock()
        if await self._repo.end_early(sale_id, now):
            self._live.end_sale(sale_id, now)
            row["ended_early_at"] = now
        return SaleView.from_row(row).as_dict(now)

    async def for_session(self, session_id: int) -> list[dict[str, Any]]:
        """A session's sales, newest first."""
        await self._sessions.get(session_id)
        now = self._clock()
        rows = await self._repo.for_session(session_id)
        views = []
        for row in rows:
            live = self._live.sale_for(int(row["product_id"]))
            view = live if live is not None and live.id == row["id"] else SaleView.from_row(row)
            views.append(view.as_dict(now))
        return views
