"""Live coupons in SQLite: the coupon, who claimed it, and what checkout redeemed."""

from __future__ import annotations

import json
from typing import Any

from live_server.commerce.coupons.rules import CouponTerms
from live_server.platform.db import Database

_SELECT = (
    "SELECT c.id, c.session_id, c.created_by, c.code, c.kind, c.value, c.currency,"
    " c.product_ids_json, c.total_limit, c.per_buyer_limit, c.redeemed, c.after_show_minutes,"
    " c.created_at, c.media_time, c.withdrawn_at,"
    " (SELECT COUNT(*) FROM coupon_claims k WHERE k.coupon_id = c.id) AS claims,"
    " (SELECT COALESCE(SUM(r.discount_minor), 0) FROM coupon_redemptions r"
    "  WHERE r.coupon_id = c.id) AS discount_total"
    " FROM coupons c"
)


class CodeTaken(RuntimeError):
    """Another coupon has that code."""


class CouponsRepository:
    """Coupons, claims and redemptions (the checkout transaction writes redemptions)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        *,
        session_id: int,
        created_by: int,
        code: str,
        terms: CouponTerms,
        currency: str,
        now: float,
        media_time: float | None,
    ) -> dict[str, Any]:
        """Stores a new coupon; CodeTaken if the code is in use."""
        listed = json.dumps(list(terms.product_ids)) if terms.product_ids is not None else None
        try:
            async with self._db.transaction() as tx:
                cur = await tx.execute(
                    "INSERT INTO coupons (session_id, created_by, code, kind, value, currency,"
                    " product_ids_json, total_limit, per_buyer_limit, after_show_minutes,"
                    " created_at, media_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        session_id,
                        created_by,
                        code,
                        terms.kind,
                        terms.value,
                        currency,
                        listed,
                        terms.total_limit,
                        terms.per_buyer_limit,
                        terms.after_show_minutes,
                        now,
                        media_time,
                    ),
                )
                coupon_id = int(cur.lastrowid or 0)
        except Exception as exc:
            if "UNIQUE" in str(exc) and "code" in str(exc):
                raise CodeTaken(code) from None
            raise
        found = await self.get(coupon_id)
        assert found is not None
        return found

    async def get(self, coupon_id: int) -> dict[str, Any] | None:
        """One coupon with its claim count and discount total."""
        row = await self._db.fetchone(_SELECT + " WHERE c.id = ?", (coupon_id,))
        return dict(row) if row else None

    async def for_session(self, session_id: int) -> list[dict[str, Any]]:
        """A show's coupons, newest first."""
        rows = await self._db.fetchall(
            _SELECT + " WHERE c.session_id = ? ORDER BY c.id DESC", (session_id,)
        )
        return [dict(r) for r in rows]

    async def claim(
        self, coupon_id: int, user_id: int, now: float, media_time: float | None
    ) -> bool:
        """Records a claim; False if the user had claimed it already."""
        async with self._db.transaction() as tx:
            cur = await tx.execute(
                "INSERT OR IGNORE INTO coupon_claims (coupon_id, user_id, claimed_at, media_time)"
                " VALUES (?, ?, ?, ?)",
                (coupon_id, user_id, now, media_time),
            )
            return bool(cur.rowcount == 1)

    async def withdraw(self, coupon_id: int, now: float) -> bool:
        """Stops a coupon now; False if it was stopped already."""
        async with self._db.transaction() as tx:
            cur = await tx.execute(
                "UPDATE coupons SET withdrawn_at = ? WHERE id = ? AND withdrawn_at IS NULL",
                (now, coupon_id),
            )
            return bool(cur.rowcount == 1)

    async def redemptions(self, coupon_id: int) -> list[dict[str, Any]]:
        """Every order placed with a coupon, oldest first."""
        rows = await self._db.fetchall(
            "SELECT order_id, buyer_id, discount_minor, redeemed_at FROM coupon_redemptions"
            " WHERE coupon_id = ? ORDER BY redeemed_at, order_id",
            (coupon_id,),
        )
        return [dict(r) for r in rows]
