"""Flash sales: starting (the merchant or an admin), ending (host, moderators or admins), listing.

Price and terms are money, so only the product's merchant (its owner) or an admin sets them,
within the floor and the default cap of `validate_flash_sale`; moderators run the room and may
end a sale early, which only ever protects the merchant's stock.

A sale's row is the durable truth; every change also goes into the live commerce view
(`live_server.commerce.live.state.LiveCommerce`) so the room's next tick shows it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from live_server.catalog.rules import find_sellable
from live_server.catalog.service import CatalogService
from live_server.commerce.flash_sales.store import FlashSaleBusy, FlashSalesRepository
from live_server.commerce.flash_sales.view import SaleView
from live_server.commerce.live.state import ENDED_SALE_GRACE_S, LiveCommerce
from live_server.commerce.rules.inventory import (
    CHOOSE_VARIANT,
    DEFAULT_MAX_DISCOUNT_PERCENT,
    DEFAULT_PER_BUYER_LIMIT,
    FlashSaleError,
    validate_flash_sale,
)
from live_server.platform.errors import Conflict, Forbidden, Invalid, NotFound
from live_server.platform.identity import Principal
from live_server.shows.service import LiveSessionService

logger = logging.getLogger(__name__)


def _not_merchant() -> Forbidden:
    return Forbidden(
        "Only the product's seller (or an admin) can set a flash sale's price and terms.",
        code="not_merchant",
    )


class FlashSaleService:
    """Starting (merchant or admin), ending (host, moderators or admins) and listing sales."""

    def __init__(
        self,
        repo: FlashSalesRepository,
        sessions: LiveSessionService,
        catalog: CatalogService,
        live: LiveCommerce,
        clock: Callable[[], float] = time.time,
        *,
        max_discount_percent: int = DEFAULT_MAX_DISCOUNT_PERCENT,
        default_per_buyer_limit: int = DEFAULT_PER_BUYER_LIMIT,
    ) -> None:
        self._repo = repo
        self._sessions = sessions
        self._catalog = catalog
        self._live = live
        self._clock = clock
        self._max_discount = max_discount_percent
        self._default_cap = default_per_buyer_limit

    async def restore(self) -> int:
        """Load sales still running (after a restart) into the live view."""
        rows = await self._repo.running(self._clock(), ENDED_SALE_GRACE_S)
        for row in rows:
            self._live.add_sale(SaleView.from_row(row), share=False)
        return len(rows)

    async def start(self, who: Principal, session_id: int, data: dict[str, Any]) -> dict[str, Any]:
        """Start a sale on a product of the session's line-up while it is live (its merchant
        or an admin only)."""
        session = await self._sessions.get(session_id)
        if not who.is_admin and who.user_id != session.host_id:
            raise _not_merchant()
        if not session.is_live:
            raise Conflict(
                "Flash sales can be started while the show is live.", code="session_not_live"
            )
        raw_pid = data.get("product_id")
        if isinstance(raw_pid, bool) or not isinstance(raw_pid, int):
            raise Invalid("Choose a product from the line-up.", code="invalid_product_id")
        view = await self._sessions.view(session_id)
        product = find_sellable(view.products, raw_pid)
        if product is None:
            raise Invalid(
                "That product is not in this show's line-up.",
                code="not_in_lineup",
                field="product_id",
            )
        if product.has_variants:  # a sale counts one variant's units
            raise Invalid(
                "Choose which size or colour goes on sale.",
                code=CHOOSE_VARIANT,
                field="product_id",
            )
        if not who.is_admin and product.owner_id != who.user_id:
            raise _not_merchant()
        try:
            spec = validate_flash_sale(
                product_id=product.id,
                price_minor=data.get("price_minor"),
                quantity=data.get("quantity"),
                duration_s=data.get("duration_s"),
                per_buyer_limit=data.get("per_buyer_limit"),
                list_price_minor=product.price_minor,
                stock=(await self._catalog.get(product.id)).stock,
                max_discount_percent=self._max_discount,
                default_per_buyer_limit=self._default_cap,
                currency=product.currency,
            )
        except FlashSaleError as exc:
            raise Invalid(exc.message, code=f"invalid_{exc.field}", field=exc.field) from None
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
                "This product already has a flash sale running: end it first.",
                code="sale_running",
                field="product_id",
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
            raise NotFound("That flash sale no longer exists.", code="sale_not_found")
        if not await self._sessions.can_moderate(who, int(row["session_id"])):
            raise Forbidden("Only the host or a moderator can end a flash sale.")
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
