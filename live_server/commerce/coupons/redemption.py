"""Coupons inside the checkout transaction: read what a batch names, write what it redeemed.

`CheckoutBatchWriter` calls `load_ledger` once per batch (nothing is read when no request
names a coupon) and `write_redemptions` before it commits. The counter moves with one
conditional update (`redeemed + n <= total_limit`), and every redemption is a row keyed by
its order, so a coupon is redeemed exactly as often as orders were placed with it, and
never past its limits, whichever node's batch takes it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from live_server.commerce.checkout.writer import SyncTransaction, chunks, marks
from live_server.commerce.coupons.rules import CouponLedger, CouponState, is_valid


class CouponCounterChanged(RuntimeError):
    """The conditional update found fewer coupons left than the transaction had read."""


@dataclass(frozen=True, slots=True)
class Redemption:
    """One order placed with a coupon."""

    coupon_id: int
    buyer_id: int
    order_id: str
    discount_minor: int


def load_ledger(
    tx: SyncTransaction, requests: Sequence[tuple[int, int]], now: float
) -> CouponLedger | None:
    """The coupons named by (buyer, coupon) pairs of a batch, their claims and uses."""
    if not requests:
        return None
    ids = sorted({c for _, c in requests})
    buyers = sorted({b for b, _ in requests})
    coupons: dict[int, CouponState] = {}
    for chunk in chunks(ids):
        rows = tx.fetchall(
            "SELECT c.id, c.session_id, c.kind, c.value, c.currency, c.product_ids_json,"
            " c.total_limit, c.per_buyer_limit, c.redeemed, c.after_show_minutes,"
            " c.withdrawn_at, s.state, s.ended_at FROM coupons c"
            f" JOIN live_sessions s ON s.id = c.session_id WHERE c.id IN ({marks(len(chunk))})",
            list(chunk),
        )
        for r in rows:
            listed = json.loads(r["product_ids_json"]) if r["product_ids_json"] else None
            products = _with_variants(
                tx, frozenset(listed) if listed is not None else _lineup(tx, r["session_id"])
            )
            coupons[int(r["id"])] = CouponState(
                coupon_id=int(r["id"]),
                kind=str(r["kind"]),
                value=int(r["value"]),
                currency=str(r["currency"]),
                products=products,
                total_limit=int(r["total_limit"]),
                per_buyer_limit=int(r["per_buyer_limit"]),
                redeemed=int(r["redeemed"]),
                valid=is_valid(
                    withdrawn=r["withdrawn_at"] is not None,
                    show_state=str(r["state"]),
                    show_ended_at=r["ended_at"],
                    after_min=int(r["after_show_minutes"]),
                    now=now,
                ),
            )
    ledger = CouponLedger(coupons)
    for chunk in chunks(buyers):
        params = [*ids, *chunk]
        where = f"coupon_id IN ({marks(len(ids))}) AND {{col}} IN ({marks(len(chunk))})"
        for r in tx.fetchall(
            "SELECT coupon_id, user_id FROM coupon_claims WHERE " + where.format(col="user_id"),
            params,
        ):
            ledger.claimed.add((int(r["coupon_id"]), int(r["user_id"])))
        for r in tx.fetchall(
            "SELECT coupon_id, buyer_id, COUNT(*) AS n FROM coupon_redemptions WHERE "
            + where.format(col="buyer_id")
            + " GROUP BY coupon_id, buyer_id",
            params,
        ):
            ledger.used[(int(r["coupon_id"]), int(r["buyer_id"]))] = int(r["n"])
    return ledger


def _lineup(tx: SyncTransaction, session_id: int) -> frozenset[int]:
    rows = tx.fetchall("SELECT product_id FROM session_products WHERE session_id = ?", [session_id])
    return frozenset(int(r["product_id"]) for r in rows)


def _with_variants(tx: SyncTransaction, ids: frozenset[int]) -> frozenset[int]:
    """A coupon on a product covers each of its sizes and colours."""
    if not ids:
        return ids
    rows = tx.fetchall(
        f"SELECT id FROM products WHERE parent_id IN ({marks(len(ids))})", sorted(ids)
    )
    return ids | {int(r["id"]) for r in rows}


def write_redemptions(
    tx: SyncTransaction,
    ledger: CouponLedger | None,
    redemptions: Sequence[Redemption],
    now: float,
) -> None:
    """Moves each coupon's counter (conditionally) and stores one row per redemption."""
    if ledger is None or not redemptions:
        return
    for coupon_id, n in ledger.taken.items():
        got = tx.fetchone(
            "UPDATE coupons SET redeemed = redeemed + ? WHERE id = ?"
            " AND redeemed + ? <= total_limit RETURNING redeemed",
            (n, coupon_id, n),
        )
        if got is None:
            raise CouponCounterChanged(coupon_id)
    for chunk in chunks(list(redemptions)):
        tx.execute(
            "INSERT INTO coupon_redemptions (order_id, coupon_id, buyer_id, discount_minor,"
            " redeemed_at) VALUES " + ", ".join("(?, ?, ?, ?, ?)" for _ in chunk),
            [
                v
                for r in chunk
                for v in (r.order_id, r.coupon_id, r.buyer_id, r.discount_minor, now)
            ],
        )
