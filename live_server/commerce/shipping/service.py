"""Shipping and tax use cases: a merchant's settings, and the quote a checkout sheet shows.

The quote prices the lines the way the checkout batch will (today's price or a running
flash sale's, the merchants' settings, the address given or saved), so the order placed
right after it carries the same amounts; the batch decides again inside its transaction.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from live_server.commerce.cart.store import CartsRepository
from live_server.commerce.checkout.results import rejection_error
from live_server.commerce.checkout.writer import SyncTransaction
from live_server.commerce.coupons.redemption import load_ledger
from live_server.commerce.coupons.rules import discount_for
from live_server.commerce.rules.basics import (
    Address,
    CartLine,
    CommerceInputError,
    parse_address,
    parse_id,
    parse_quantity,
)
from live_server.commerce.rules.inventory import AllocatedLine
from live_server.commerce.shipping import charging
from live_server.commerce.shipping.parse import parse_settings, settings_to_dict
from live_server.commerce.shipping.rules import REFUSALS, Line, Refusal, ShippingInputError
from live_server.commerce.shipping.store import ShippingStore
from live_server.platform.db import Database
from live_server.platform.errors import Invalid, NotFound
from live_server.platform.identity import Principal

#: The buyer's saved address, if any (checkout's profiles).
SavedAddress = Callable[[int], Awaitable[Address | None]]


class ShippingService:
    """Merchants' shipping settings and checkout quotes."""

    def __init__(
        self,
        store: ShippingStore,
        carts: CartsRepository,
        db: Database,
        saved_address: SavedAddress,
        *,
        prices_include_tax: bool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._carts = carts
        self._db = db
        self._saved_address = saved_address
        self._included = prices_include_tax
        self._clock = clock

    @property
    def prices_include_tax(self) -> bool:
        """The store's pricing: tax inside prices (True) or added at checkout."""
        return self._included

    async def settings_of(self, who: Principal) -> dict[str, Any]:
        """The merchant's settings (`configured: false` and none when they set up nothing)."""
        found = await self._store.get(who.user_id)
        body: dict[str, Any] = {"configured": found is not None, "settings": None}
        if found is not None:
            body["settings"] = settings_to_dict(found)
        body["tax_pricing"] = "inclusive" if self._included else "exclusive"
        return body

    async def save(self, who: Principal, raw: dict[str, Any]) -> dict[str, Any]:
        """Checks and saves the merchant's zones, rates and tax rates."""
        try:
            settings = parse_settings(raw)
        except ShippingInputError as exc:
            raise Invalid(exc.message, code="invalid_shipping", field=exc.field) from None
        await self._store.put(who.user_id, settings, self._clock())
        return await self.settings_of(who)

    async def quote(self, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
        """What buying these lines (one product, or the cart without `product_id`) costs,
        shipped to the address given or saved: subtotal, shipping, tax and total. Without
        an address anywhere, shipping and tax are null and the total is the subtotal."""
        lines = await self._lines(who, data)
        address = await self._address(who, data)
        facts = await self._store.products([ln.product_id for ln in lines], self._clock())
        missing = [ln.product_id for ln in lines if ln.product_id not in facts]
        if missing:
            raise NotFound("That item is no longer on sale.", code="product_not_found")
        priced = [
            (
                facts[ln.product_id].seller_id,
                Line(
                    ln.product_id,
                    ln.quantity,
                    facts[ln.product_id].unit_price_minor,
                    facts[ln.product_id].currency,
                    facts[ln.product_id].weight_g,
                ),
            )
            for ln in lines
        ]
        discount = 0
        if data.get("coupon_id") is not None:
            discount = await self._coupon_discount(who, int(data["coupon_id"]), priced)
        sellers = sorted({seller for seller, _ in priced})
        settings = await self._store.many(sellers) if address is not None else {}
        got = charging.charges(
            priced,
            settings,
            country=address.country if address else "",
            region=(address.region or None) if address else None,
            included=self._included,
            discount_minor=discount,
        )
        if isinstance(got, Refusal):
            field = "address.country" if got.code in REFUSALS else None
            raise Invalid(got.message, code=got.code, field=field)
        body = got.as_dict()
        body["tax_pricing"] = "inclusive" if self._included else "exclusive"
        body["country"] = address.country if address else None
        if address is None:
            body.update(shipping_minor=None, tax_minor=None, parcels=[])
        return body

    async def _coupon_discount(
        self, who: Principal, coupon_id: int, priced: list[tuple[int, Line]]
    ) -> int:
        """What the claimed coupon would take off these lines now (its refusal otherwise),
        judged by the rules the checkout batch applies."""
        now = self._clock()

        def judge(conn: Any) -> int | Any:
            ledger = load_ledger(SyncTransaction(conn), [(who.user_id, coupon_id)], now)
            assert ledger is not None
            currencies = {ln.product_id: ln.currency for _, ln in priced}
            refusal = ledger.check(who.user_id, coupon_id, list(currencies), currencies)
            if refusal is not None:
                return refusal
            lines = [
                AllocatedLine(ln.product_id, ln.quantity, ln.unit_price_minor, ln.currency,
                              "", seller, None)
                for seller, ln in priced
            ]  # fmt: skip
            return discount_for(ledger.coupons[coupon_id], lines)

        async with self._db.transaction():
            got = await self._db.run_on_writer(judge)
        if isinstance(got, int):
            return got
        raise rejection_error(got)

    async def _lines(self, who: Principal, data: dict[str, Any]) -> tuple[CartLine, ...]:
        try:
            if data.get("product_id") is not None:
                pid = parse_id(data["product_id"], "product_id")
                return (CartLine(pid, parse_quantity(data.get("quantity", 1))),)
        except CommerceInputError as exc:
            raise Invalid(exc.message, code="invalid_" + exc.field) from None
        cart = await self._carts.lines(who.user_id)
        live = [c for c in cart if c["deleted_at"] is None and c["title"] is not None]
        if not live:
            raise Invalid("Your cart is empty.", code="cart_empty")
        return tuple(CartLine(int(c["product_id"]), int(c["quantity"])) for c in live)

    async def _address(self, who: Principal, data: dict[str, Any]) -> Address | None:
        if data.get("address") is not None:
            try:
                return parse_address(data["address"])
            except CommerceInputError as exc:
                code = "invalid_" + exc.field.replace(".", "_")
                raise Invalid(exc.message, code=code, field=exc.field) from None
        return await self._saved_address(who.user_id)
