"""A flash sale as cards, the API and the tick show it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from live_server.commerce.rules.inventory import sale_status, seconds_left
from live_server.platform.timefmt import iso


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
