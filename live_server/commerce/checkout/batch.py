"""The group-commit checkout writer: a whole batch of checkouts in one transaction.

The checkout service hands over every request that arrived while the previous
transaction ran, and `place_batch` decides them all in one BEGIN IMMEDIATE transaction,
in arrival order. Reads are a handful of set-based queries, each product's stock moves
with one conditional decrement
(`UPDATE products SET stock = stock - ? WHERE id = ? AND stock >= ?`) and the new orders go
in with multi-row INSERTs, so a batch costs about ten statements however many buyers
are in it. Either the whole batch commits or none of it does: a unit is always either in
stock or in exactly one order. An Idempotency-Key seen before (stored, or earlier in the
same batch) is answered with its first outcome instead of a second order.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from live_server.commerce.checkout.order_rows import (
    ITEM_COLUMNS,
    ORDER_COLUMNS,
    new_order_id,
    order_from_row,
)
from live_server.commerce.checkout.outcomes import (
    BatchResult,
    CheckoutOutcome,
    KeyReused,
    OrderPlaced,
    OrderReplay,
    PreparedCheckout,
)
from live_server.commerce.checkout.writer import SyncTransaction, chunks, marks
from live_server.commerce.coupons.redemption import Redemption, load_ledger, write_redemptions
from live_server.commerce.coupons.rules import CouponLedger
from live_server.commerce.rules.attribution import commission_minor
from live_server.commerce.rules.basics import CONFIRMED, PENDING_PAYMENT, CheckoutRequest
from live_server.commerce.rules.inventory import (
    Allocation,
    InventoryLedger,
    ProductState,
    Rejection,
    SaleState,
    hold_deadline,
)
from live_server.commerce.rules.pricing import at_agreed_price, discounted
from live_server.commerce.shipping import charging
from live_server.commerce.shipping.rules import Line, OrderCharges, Refusal, ShippingSettings
from live_server.commerce.shipping.store import load_for_batch
from live_server.platform.db import Database

logger = logging.getLogger(__name__)


class StockChanged(RuntimeError):
    """A conditional decrement found less stock than the same transaction had read."""


class CheckoutBatchWriter:
    """Buying: every write that takes units out of stock (mixed into `ReservationStore`)."""

    _db: Database

    async def place_batch(self, batch: Sequence[PreparedCheckout], now: float) -> BatchResult:
        """Decide and store a batch of checkouts in one transaction, first come first served."""
        for attempt in range(3):
            try:
                async with self._db.transaction():
                    return await self._db.run_on_writer(
                        lambda conn: self._place(SyncTransaction(conn), batch, now)
                    )
            except StockChanged:
                # Only possible if someone wrote stock on our connection outside a
                # transaction; the rollback undid everything, so deciding again is safe.
                logger.warning(
                    "checkout batch of %d saw stock change, retry %d", len(batch), attempt
                )
        raise StockChanged("stock kept changing under the checkout batch")

    def _place(
        self, tx: SyncTransaction, batch: Sequence[PreparedCheckout], now: float
    ) -> BatchResult:
        existing = self._existing_keys(tx, batch)
        product_ids = sorted({ln.product_id for p in batch for ln in p.request.lines})
        products = self._load_products(tx, product_ids)
        sales = self._load_sales(tx, list(products), now)
        buyers = sorted({p.request.buyer_id for p in batch})
        limited = [pid for pid, prod in products.items() if prod.per_buyer_limit is not None]
        bought = self._units_bought(tx, buyers, limited)
        capped = [s.sale_id for s in sales.values() if s.per_buyer_limit is not None]
        sale_bought = self._units_in_sales(tx, buyers, capped)
        ledger = InventoryLedger(products, sales, bought, sale_bought)
        named = [(p.request.buyer_id, p.request.coupon_id) for p in batch if p.request.coupon_id]
        coupons = load_ledger(tx, named, now)
        redemptions: list[Redemption] = []
        sellers = sorted({prod.owner_id for prod in products.values()})
        shipping, weights = load_for_batch(tx, sellers, list(products))

        outcomes: list[CheckoutOutcome] = []
        first: dict[tuple[int, str], tuple[str, CheckoutOutcome]] = {}
        order_rows: list[tuple[Any, ...]] = []
        item_rows: list[tuple[Any, ...]] = []
        for prepared in batch:
            req = prepared.request
            key = (req.buyer_id, req.idempotency_key)
            outcome: CheckoutOutcome
            if key in existing:
                order_id, fingerprint = existing[key]
                same = fingerprint == req.fingerprint
                outcome = OrderReplay(order_id) if same else KeyReused(order_id)
            elif key in first:
                fingerprint, earlier = first[key]
                if fingerprint != req.fingerprint:
                    oid = earlier.order["id"] if isinstance(earlier, OrderPlaced) else ""
                    outcome = KeyReused(oid)
                elif isinstance(earlier, OrderPlaced):
                    outcome = OrderPlaced(earlier.order, replayed=True)
                else:
                    outcome = earlier
            else:
                # a parcel that cannot ship is refused before any stock is taken for it
                refusal = _shipping_refusal(req, products, shipping, weights)
                decision = refusal or self._decide(ledger, coupons, req)
                if isinstance(decision, Rejection):
                    outcome = decision
                else:
                    allocation, discount = decision
                    charged = _charges(prepared, allocation, discount, shipping, weights)
                    order, row, items = self._build_order(
                        prepared, allocation, now, discount, charged
                    )
                    order_rows.append(row)
                    item_rows.extend(items)
                    outcome = OrderPlaced(order)
                    if req.coupon_id is not None and discount is not None:
                        redemptions.append(
                            Redemption(req.coupon_id, req.buyer_id, order["id"], discount)
                        )
                first[key] = (req.fingerprint, outcome)
            outcomes.append(outcome)

        for pid, qty in ledger.stock_taken.items():
            got = tx.fetchone(
                "UPDATE products SET stock = stock - ? WHERE id = ? AND stock >= ? RETURNING stock",
                (qty, pid, qty),
            )
            if got is None:
                raise StockChanged(pid)
        sales_after: dict[int, int] = {}
        for sale_id, qty in ledger.sale_taken.items():
            got = tx.fetchone(
                "UPDATE flash_sales SET remaining = remaining - ? WHERE id = ? AND remaining >= ?"
                " RETURNING remaining",
                (qty, sale_id, qty),
            )
            if got is None:
                raise StockChanged(sale_id)
            sales_after[sale_id] = int(got["remaining"])
        for sale in sales.values():
            sales_after.setdefault(sale.sale_id, sale.remaining)
        self._insert_rows(tx, "orders", ORDER_COLUMNS, order_rows)
        self._insert_rows(tx, "order_items", ITEM_COLUMNS, item_rows)
        write_redemptions(tx, coupons, redemptions, now)
        stock_after = {pid: prod.stock for pid, prod in products.items()}
        return BatchResult(outcomes, stock_after, sales_after)

    @staticmethod
    def _decide(
        ledger: InventoryLedger, coupons: CouponLedger | None, req: CheckoutRequest
    ) -> tuple[Allocation, int | None] | Rejection:
        """The coupon first (it may refuse), then stock; then an agreed price and the
        coupon's discount (with the discount, or None without a coupon)."""
        if req.coupon_id is not None:
            assert coupons is not None
            currencies = {pid: p.currency for pid, p in ledger.products.items()}
            pids = [ln.product_id for ln in req.lines]
            refusal = coupons.check(req.buyer_id, req.coupon_id, pids, currencies)
            if refusal is not None:
                return refusal
        decision = ledger.try_allocate(req.buyer_id, req.lines)
        if isinstance(decision, Rejection):
            return decision
        if req.agreed_unit_price_minor is not None:
            decision = at_agreed_price(decision, req.agreed_unit_price_minor)
        if req.coupon_id is None or coupons is None:
            return decision, None
        discount = coupons.take(req.buyer_id, req.coupon_id, decision)
        return discounted(decision, discount), discount

    @staticmethod
    def _build_order(
        prepared: PreparedCheckout,
        allocation: Allocation,
        now: float,
        discount: int | None,
        charged: OrderCharges,
    ) -> tuple[dict[str, Any], tuple[Any, ...], list[tuple[Any, ...]]]:
        req = prepared.request
        order_id = new_order_id()
        status = CONFIRMED if prepared.confirms_immediately else PENDING_PAYMENT
        payment_status = "due" if prepared.confirms_immediately else "pending"
        hold = None if prepared.confirms_immediately else hold_deadline(now, prepared.hold_seconds)
        commission = commission_minor(allocation.total_minor, prepared.commission_rate_bp)
        address_json = json.dumps(req.address.as_dict()) if req.address else None
        row = (
            order_id,
            req.buyer_id,
            status,
            charged.total_minor,
            allocation.currency,
            prepared.provider,
            req.payment_method,
            None,
            payment_status,
            address_json,
            req.source.type,
            req.source.id,
            req.creator_id,
            req.session_id,
            req.media_time,
            prepared.commission_rate_bp if req.creator_id else 0,
            commission if req.creator_id else 0,
            1 if req.show_first_name else 0,
            req.idempotency_key,
            req.fingerprint,
            now,
            now,
            hold,
            discount or 0,
            req.coupon_id if discount is not None else None,
            charged.subtotal_minor,
            charged.shipping_minor,
            charged.tax_minor,
            1 if charged.tax_included else 0,
            json.dumps([p.as_dict() for p in charged.parcels]),
        )
        items = [
            (
                order_id,
                ln.product_id,
                req.buyer_id,
                ln.quantity,
                ln.unit_price_minor,
                ln.currency,
                ln.title,
                ln.owner_id,
                ln.sale_id,
            )
            for ln in allocation.lines
        ]
        item_dicts = [dict(zip(ITEM_COLUMNS, it, strict=True)) for it in items]
        order = order_from_row(dict(zip(ORDER_COLUMNS, row, strict=True)), item_dicts)
        return order, row, items

    def _existing_keys(
        self, tx: SyncTransaction, batch: Sequence[PreparedCheckout]
    ) -> dict[tuple[int, str], tuple[str, str]]:
        keys = sorted({(p.request.buyer_id, p.request.idempotency_key) for p in batch})
        found: dict[tuple[int, str], tuple[str, str]] = {}
        for chunk in chunks(keys):
            values = ", ".join("(?, ?)" for _ in chunk)
            params = [v for pair in chunk for v in pair]
            rows = tx.fetchall(
                "SELECT id, buyer_id, idempotency_key, request_fingerprint FROM orders"
                f" WHERE (buyer_id, idempotency_key) IN (VALUES {values})",
                params,
            )
            for r in rows:
                found[(r["buyer_id"], r["idempotency_key"])] = (r["id"], r["request_fingerprint"])
        return found

    def _load_products(
        self, tx: SyncTransaction, product_ids: Sequence[int]
    ) -> dict[int, ProductState]:
        products: dict[int, ProductState] = {}
        for chunk in chunks(product_ids):
            rows = tx.fetchall(
                "SELECT id, stock, price_minor, currency, title, owner_id, per_buyer_limit,"
                " EXISTS (SELECT 1 FROM products v WHERE v.parent_id = products.id"
                " AND v.deleted_at IS NULL) AS has_variants"
                f" FROM products WHERE id IN ({marks(len(chunk))}) AND deleted_at IS NULL",
                list(chunk),
            )
            for r in rows:
                pid = int(r["id"])
                products[pid] = ProductState(
                    product_id=pid,
                    stock=int(r["stock"]),
                    price_minor=int(r["price_minor"]),
                    currency=str(r["currency"]),
                    title=str(r["title"]),
                    owner_id=int(r["owner_id"]),
                    per_buyer_limit=r["per_buyer_limit"],
                    has_variants=bool(r["has_variants"]),
                )
        return products

    def _load_sales(
        self, tx: SyncTransaction, product_ids: Sequence[int], now: float
    ) -> dict[int, SaleState]:
        sales: dict[int, SaleState] = {}
        for chunk in chunks(product_ids):
            rows = tx.fetchall(
                "SELECT id, product_id, price_minor, remaining, per_buyer_limit, ends_at"
                f" FROM flash_sales WHERE product_id IN ({marks(len(chunk))})"
                " AND ended_early_at IS NULL AND starts_at <= ? AND ends_at > ?",
                [*chunk, now, now],
            )
            for r in rows:
                sales[int(r["product_id"])] = SaleState(
                    sale_id=int(r["id"]),
                    product_id=int(r["product_id"]),
                    price_minor=int(r["price_minor"]),
                    remaining=int(r["remaining"]),
                    per_buyer_limit=r["per_buyer_limit"],
                    ends_at=float(r["ends_at"]),
                )
        return sales

    def _units_bought(
        self, tx: SyncTransaction, buyers: Sequence[int], product_ids: Sequence[int]
    ) -> dict[tuple[int, int], int]:
        counts: dict[tuple[int, int], int] = {}
        if not product_ids:
            return counts
        for chunk in chunks(buyers):
            rows = tx.fetchall(
                "SELECT buyer_id, product_id, SUM(quantity) AS units FROM order_items"
                f" WHERE active = 1 AND buyer_id IN ({marks(len(chunk))})"
                f" AND product_id IN ({marks(len(product_ids))}) GROUP BY buyer_id, product_id",
                [*chunk, *product_ids],
            )
            for r in rows:
                counts[(int(r["buyer_id"]), int(r["product_id"]))] = int(r["units"])
        return counts

    def _units_in_sales(
        self, tx: SyncTransaction, buyers: Sequence[int], sale_ids: Sequence[int]
    ) -> dict[tuple[int, int], int]:
        counts: dict[tuple[int, int], int] = {}
        if not sale_ids:
            return counts
        for chunk in chunks(buyers):
            rows = tx.fetchall(
                "SELECT buyer_id, flash_sale_id, SUM(quantity) AS units FROM order_items"
                f" WHERE active = 1 AND flash_sale_id IN ({marks(len(sale_ids))})"
                f" AND buyer_id IN ({marks(len(chunk))}) GROUP BY buyer_id, flash_sale_id",
                [*sale_ids, *chunk],
            )
            for r in rows:
                counts[(int(r["buyer_id"]), int(r["flash_sale_id"]))] = int(r["units"])
        return counts

    @staticmethod
    def _insert_rows(
        tx: SyncTransaction, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        if not rows:
            return
        per_chunk = max(1, 30_000 // len(columns))
        one = "(" + marks(len(columns)) + ")"
        for chunk in chunks(rows, per_chunk):
            tx.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                + ", ".join(one for _ in chunk),
                [v for row in chunk for v in row],
            )


def _shipping_refusal(
    req: CheckoutRequest,
    products: dict[int, ProductState],
    shipping: dict[int, ShippingSettings | None],
    weights: dict[int, int],
) -> Rejection | None:
    """A request whose parcels cannot go to its address (no zone, too heavy, another
    currency), decided on the products' facts before any stock is taken."""
    if req.address is None:
        return None
    lines = [
        (p.owner_id, Line(p.product_id, ln.quantity, p.price_minor, p.currency,
                          weights.get(p.product_id, 0)))
        for ln in req.lines
        if (p := products.get(ln.product_id)) is not None
    ]  # fmt: skip
    found = charging.refusal(lines, shipping, req.address.country)
    return None if found is None else Rejection(found.code, found.message)


def _charges(
    prepared: PreparedCheckout,
    allocation: Allocation,
    discount: int | None,
    shipping: dict[int, ShippingSettings | None],
    weights: dict[int, int],
) -> OrderCharges:
    """The order's amounts from its priced lines (the refusal above already passed, and it
    depends on nothing a price changes)."""
    req = prepared.request
    lines = [
        (ln.owner_id, Line(ln.product_id, ln.quantity, ln.unit_price_minor, ln.currency,
                           weights.get(ln.product_id, 0)))
        for ln in allocation.lines
    ]  # fmt: skip
    got = charging.charges(
        lines,
        shipping if req.address is not None else {},
        country=req.address.country if req.address else "",
        region=req.address.region or None if req.address else None,
        included=prepared.prices_include_tax,
        discount_minor=discount or 0,
    )
    if isinstance(got, Refusal):  # pragma: no cover - refused before allocation
        raise RuntimeError(got.message)
    return got
