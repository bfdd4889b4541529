"""Reservations: the batched checkout transaction that takes units, and the paths that give
them back (hold expiry, cancellation, failed payment).

Checkout is a group commit: the checkout service hands over every request that arrived
while the previous transaction ran, and `place_batch` decides them all in one
BEGIN IMMEDIATE transaction, in arrival order. Reads are a handful of set-based queries,
each product's stock moves with one conditional decrement
(`UPDATE products SET stock = stock - ? WHERE id = ? AND stock >= ?`) and the new orders go
in with multi-row INSERTs, so a batch costs about ten statements however many buyers
are in it. Either the whole batch commits or none of it does: a unit is always either in
stock or in exactly one order. (An order in `pending_payment` is a reservation with a hold
time; see docs/commerce.md.)
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from live_server.commerce.rules.attribution import commission_minor
from live_server.commerce.rules.basics import (
    ACTIVE_STATUSES,
    CONFIRMED,
    PENDING_PAYMENT,
    CheckoutRequest,
)
from live_server.commerce.rules.inventory import (
    Allocation,
    InventoryLedger,
    ProductState,
    Rejection,
    SaleState,
    hold_deadline,
)
from live_server.commerce.rules.orders import releases_units, status_after_payment_event
from live_server.platform.db import Database, Transaction
from live_server.platform.timefmt import iso

logger = logging.getLogger(__name__)

T = TypeVar("T")

_CHUNK: Final = 400  # rows per multi-row statement, far below SQLite's variable limit

_ORDER_COLUMNS: Final = (
    "id",
    "buyer_id",
    "status",
    "total_minor",
    "currency",
    "payment_provider",
    "payment_method",
    "payment_ref",
    "payment_status",
    "address_json",
    "source_type",
    "source_id",
    "creator_id",
    "session_id",
    "media_time",
    "commission_rate_bp",
    "commission_minor",
    "show_first_name",
    "idempotency_key",
    "request_fingerprint",
    "created_at",
    "updated_at",
    "hold_expires_at",
)
_ITEM_COLUMNS: Final = (
    "order_id",
    "product_id",
    "buyer_id",
    "quantity",
    "unit_price_minor",
    "currency",
    "title",
    "seller_id",
    "flash_sale_id",
)
ORDER_SELECT: Final = "SELECT " + ", ".join(_ORDER_COLUMNS) + " FROM orders"


@dataclass(frozen=True, slots=True)
class PreparedCheckout:
    """A checkout request with everything resolved outside the transaction."""

    request: CheckoutRequest
    provider: str
    confirms_immediately: bool
    commission_rate_bp: int
    hold_seconds: float


@dataclass(frozen=True, slots=True)
class OrderPlaced:
    """A new order (or, with replayed=True, the order an earlier identical request made)."""

    order: dict[str, Any]
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class OrderReplay:
    """The Idempotency-Key was used before with the same body: answer with that order."""

    order_id: str


@dataclass(frozen=True, slots=True)
class KeyReused:
    """The Idempotency-Key was used before with a different body."""

    order_id: str


CheckoutOutcome = OrderPlaced | OrderReplay | KeyReused | Rejection


@dataclass(slots=True)
class BatchResult:
    """Per-request outcomes plus the stock and sale counters after the batch."""

    outcomes: list[CheckoutOutcome]
    stock_after: dict[int, int] = field(default_factory=dict)
    sales_after: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Released:
    """Units handed back by cancelled or expired orders."""

    order_ids: tuple[str, ...]
    stock_after: dict[int, int]
    sales_after: dict[int, int]


class SyncTransaction:
    """The open transaction as seen from the writer connection's own thread."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        """First row of a statement (closing its cursor)."""
        cur = self._conn.execute(sql, params)
        try:
            row: sqlite3.Row | None = cur.fetchone()
            return row
        finally:
            cur.close()

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """All rows of a statement."""
        cur = self._conn.execute(sql, params)
        try:
            return list(cur.fetchall())
        finally:
            cur.close()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run a statement for its effect."""
        self._conn.execute(sql, params).close()


async def run_on_writer(db: Database, fn: Callable[[sqlite3.Connection], T]) -> T:
    """Run `fn(connection)` on the writer connection's own thread, in one hand-off.

    Call it inside `db.transaction()` (which holds the writer lock and wraps BEGIN
    IMMEDIATE / COMMIT / ROLLBACK). A checkout batch is some ten statements; sent one by
    one, each would be a round trip between the event loop and aiosqlite's thread, and
    under load each round trip waits for the GIL. aiosqlite has no public way to run a
    function on its thread, so this uses its internal `_execute` and `_conn` (aiosqlite
    0.22); tests/unit/test_commerce_storage.py fails loudly if an upgrade removes them.
    """
    writer = db.writer
    conn: sqlite3.Connection = writer._conn
    result: T = await writer._execute(fn, conn)  # type: ignore[no-untyped-call]
    return result


class StockChanged(RuntimeError):
    """A conditional decrement found less stock than the same transaction had read."""


def chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def marks(n: int) -> str:
    return ", ".join("?" * n)


def new_order_id() -> str:
    """A random, URL-safe order id."""
    return "ord_" + secrets.token_hex(10)


def order_from_row(row: Any, items: Sequence[Any]) -> dict[str, Any]:
    """The API form of an order from its stored row and item rows."""
    address = json.loads(row["address_json"]) if row["address_json"] else None
    return {
        "id": row["id"],
        "buyer_id": row["buyer_id"],
        "status": row["status"],
        "total_minor": row["total_minor"],
        "currency": row["currency"],
        "items": [
            {
                "product_id": it["product_id"],
                "title": it["title"],
                "quantity": it["quantity"],
                "unit_price_minor": it["unit_price_minor"],
                "currency": it["currency"],
                "flash_sale_id": it["flash_sale_id"],
            }
            for it in items
        ],
        "payment": {
            "provider": row["payment_provider"],
            "method": row["payment_method"],
            "status": row["payment_status"],
            "reference": row["payment_ref"],
        },
        "shipping_address": address,
        "source": {"type": row["source_type"], "id": row["source_id"]},
        "creator_id": row["creator_id"],
        "session_id": row["session_id"],
        "media_time": row["media_time"],
        "created_at": iso(row["created_at"], "auto"),
        "hold_expires_at": iso(row["hold_expires_at"], "auto"),
    }


class ReservationStore:
    """Every write to `products.stock` made by buying or giving units back."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- checkout -------------------------------------------------------------------

    async def place_batch(self, batch: Sequence[PreparedCheckout], now: float) -> BatchResult:
        """Decide and store a batch of checkouts in one transaction, first come first served."""
        for attempt in range(3):
            try:
                async with self._db.transaction():
                    return await run_on_writer(
                        self._db, lambda conn: self._place(SyncTransaction(conn), batch, now)
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
                decision = ledger.try_allocate(req.buyer_id, req.lines)
                if isinstance(decision, Rejection):
                    outcome = decision
                else:
                    order, row, items = self._build_order(prepared, decision, now)
                    order_rows.append(row)
                    item_rows.extend(items)
                    outcome = OrderPlaced(order)
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
        self._insert_rows(tx, "orders", _ORDER_COLUMNS, order_rows)
        self._insert_rows(tx, "order_items", _ITEM_COLUMNS, item_rows)
        stock_after = {pid: prod.stock for pid, prod in products.items()}
        return BatchResult(outcomes, stock_after, sales_after)

    @staticmethod
    def _build_order(
        prepared: PreparedCheckout, allocation: Allocation, now: float
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
            allocation.total_minor,
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
        item_dicts = [dict(zip(_ITEM_COLUMNS, it, strict=True)) for it in items]
        order = order_from_row(dict(zip(_ORDER_COLUMNS, row, strict=True)), item_dicts)
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
                "SELECT id, stock, price_minor, currency, title, owner_id, per_buyer_limit"
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

    # -- releasing units --------------------------------------------------------------

    async def release_expired(self, now: float, limit: int = 500) -> Released | None:
        """Expire unpaid orders whose hold is over and give their units back."""
        due = await self._db.fetchone(  # a look on the reader first: no write lock when idle
            "SELECT 1 AS due FROM orders WHERE status = 'pending_payment'"
            " AND hold_expires_at <= ? LIMIT 1",
            (now,),
        )
        if due is None:
            return None
        async with self._db.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT id FROM orders WHERE status = 'pending_payment' AND hold_expires_at <= ?"
                " ORDER BY hold_expires_at LIMIT ?",
                (now, limit),
            )
            if not rows:
                return None
            ids = [r["id"] for r in rows]
            return await self._release(tx, ids, "expired", "expired", now)

    async def cancel(self, order_id: str, buyer_id: int, now: float) -> Released | None:
        """Cancel a buyer's unpaid or pay-on-delivery order; None if it can't be cancelled."""
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT status FROM orders WHERE id = ? AND buyer_id = ?", (order_id, buyer_id)
            )
            if row is None or row["status"] not in (PENDING_PAYMENT, CONFIRMED):
                return None
            return await self._release(tx, [order_id], "cancelled", "cancelled", now)

    async def _release(
        self,
        tx: Transaction,
        order_ids: Sequence[str],
        status: str,
        payment_status: str,
        now: float,
    ) -> Released:
        ids = marks(len(order_ids))
        items = await tx.fetchall(
            "SELECT product_id, flash_sale_id, SUM(quantity) AS units FROM order_items"
            f" WHERE order_id IN ({ids}) AND active = 1 GROUP BY product_id, flash_sale_id",
            list(order_ids),
        )
        await tx.execute(
            f"UPDATE order_items SET active = 0 WHERE order_id IN ({ids})", list(order_ids)
        )
        active = marks(len(ACTIVE_STATUSES))
        await tx.execute(
            "UPDATE orders SET status = ?, payment_status = ?, updated_at = ?,"
            f" hold_expires_at = NULL WHERE id IN ({ids}) AND status IN ({active})",
            [status, payment_status, now, *order_ids, *ACTIVE_STATUSES],
        )
        per_product: dict[int, int] = {}
        per_sale: dict[int, int] = {}
        for it in items:
            pid = int(it["product_id"])
            per_product[pid] = per_product.get(pid, 0) + int(it["units"])
            if it["flash_sale_id"]:
                per_sale[it["flash_sale_id"]] = per_sale.get(it["flash_sale_id"], 0) + int(
                    it["units"]
                )
        stock_after: dict[int, int] = {}
        for pid, units in per_product.items():
            got = await tx.fetchone(
                "UPDATE products SET stock = stock + ? WHERE id = ? RETURNING stock", (units, pid)
            )
            if got is not None:
                stock_after[pid] = int(got["stock"])
        sales_after: dict[int, int] = {}
        for sale_id, units in per_sale.items():
            got = await tx.fetchone(
                "UPDATE flash_sales SET remaining = MIN(quantity, remaining + ?) WHERE id = ?"
                " RETURNING remaining",
                (units, sale_id),
            )
            if got is not None:
                sales_after[sale_id] = int(got["remaining"])
        logger.info("released %d order(s) as %s: %s", len(order_ids), status, per_product)
        return Released(tuple(order_ids), stock_after, sales_after)

    # -- payments ---------------------------------------------------------------------

    async def apply_payment_event(
        self, *, provider: str, event_id: str, order_id: str, event_type: str, now: float
    ) -> tuple[str | None, str | None, Released | None]:
        """Apply a verified payment event once; returns (old status, new status, released)."""
        async with self._db.transaction() as tx:
            fresh = await tx.fetchone(
                "INSERT INTO payment_webhook_events (provider, event_id, order_id, received_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING event_id",
                (provider, event_id, order_id, now),
            )
            row = await tx.fetchone(
                "SELECT status FROM orders WHERE id = ? AND payment_provider = ?",
                (order_id, provider),
            )
            if row is None:
                return None, None, None
            old = str(row["status"])
            if fresh is None:
                return old, None, None
            new = status_after_payment_event(old, event_type)
            if new is None:
                return old, None, None
            if releases_units(old, new):
                released = await self._release(tx, [order_id], new, "failed", now)
                return old, new, released
            await tx.execute(
                "UPDATE orders SET status = ?, payment_status = 'paid', hold_expires_at = NULL,"
                " updated_at = ? WHERE id = ?",
                (new, now, order_id),
            )
            return old, new, None
