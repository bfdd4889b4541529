"""Reservations: every write that moves stock, composed from its two halves.

`batch.CheckoutBatchWriter` is the group-commit transaction that takes units;
`releases.UnitReleases` the paths that give them back (hold expiry, cancellation, failed
payment). Either way a unit is always either in stock or in exactly one order. (An order
in `pending_payment` is a reservation with a hold time; see docs/commerce.md.)
"""

from __future__ import annotations

from live_server.commerce.checkout.batch import CheckoutBatchWriter
from live_server.commerce.checkout.releases import UnitReleases
from live_server.platform.db import Database


class ReservationStore(CheckoutBatchWriter, UnitReleases):
    """Every write to `products.stock` made by buying or giving units back."""

    def __init__(self, db: Database) -> None:
        self._db = db
