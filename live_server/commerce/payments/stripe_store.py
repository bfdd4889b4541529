"""Which Stripe Customer is which buyer, and the card they saved (ids and display facts
only: the card itself stays with Stripe)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from live_server.platform.db import Database


@dataclass(frozen=True, slots=True)
class SavedCard:
    """A buyer's card on file, as the checkout sheet shows it."""

    payment_method_id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int

    def label(self) -> str:
        """ "Visa ending 4242"."""
        return f"{self.brand.title()} ending {self.last4}"


class StripeCustomers:
    """The `stripe_customers` table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def customer_of(self, user_id: int) -> str | None:
        """The buyer's Stripe Customer id, or None before their first card."""
        value = await self._db.fetchval(
            "SELECT customer_id FROM stripe_customers WHERE user_id = ?", (user_id,)
        )
        return str(value) if value is not None else None

    async def add_customer(self, user_id: int, customer_id: str) -> str:
        """Records a new Customer; when two requests raced, the first one stays (returned)."""
        now = time.time()
        await self._db.execute(
            "INSERT INTO stripe_customers (user_id, customer_id, created_at, updated_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (user_id) DO NOTHING",
            (user_id, customer_id, now, now),
        )
        kept = await self.customer_of(user_id)
        assert kept is not None
        return kept

    async def card_of(self, user_id: int) -> SavedCard | None:
        """The buyer's saved card, or None."""
        row = await self._db.fetchone(
            "SELECT payment_method_id, brand, last4, exp_month, exp_year FROM stripe_customers"
            " WHERE user_id = ? AND payment_method_id IS NOT NULL",
            (user_id,),
        )
        if row is None:
            return None
        return SavedCard(
            str(row["payment_method_id"]),
            str(row["brand"] or "card"),
            str(row["last4"] or ""),
            int(row["exp_month"] or 0),
            int(row["exp_year"] or 0),
        )

    async def save_card(self, user_id: int, card: SavedCard) -> None:
        """Makes `card` the buyer's card on file."""
        await self._db.execute(
            "UPDATE stripe_customers SET payment_method_id = ?, brand = ?, last4 = ?,"
            " exp_month = ?, exp_year = ?, updated_at = ? WHERE user_id = ?",
            (
                card.payment_method_id,
                card.brand,
                card.last4,
                card.exp_month,
                card.exp_year,
                time.time(),
                user_id,
            ),
        )

    async def forget_card(self, user_id: int) -> None:
        """The buyer removed their card."""
        await self._db.execute(
            "UPDATE stripe_customers SET payment_method_id = NULL, brand = NULL, last4 = NULL,"
            " exp_month = NULL, exp_year = NULL, updated_at = ? WHERE user_id = ?",
            (time.time(), user_id),
        )
