"""The auctions' REST bodies, declared once for validation and the OpenAPI document."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from live_server.commerce.auctions.rules import (
    MAX_DURATION_S,
    MAX_LOT,
    MAX_PRICE_MINOR,
    MAX_WINDOW_S,
    MIN_DURATION_S,
)
from live_server.platform.schemas import Body

Id = Annotated[int, Meta(ge=1, lt=2**62)]
Price = Annotated[int, Meta(ge=1, le=MAX_PRICE_MINOR, description="minor units, per unit")]
Window = Annotated[int, Meta(ge=1, le=MAX_WINDOW_S)]


class AuctionStart(Body):
    """POST /api/sessions/{id}/auctions: the same terms as the `auction:start` event."""

    product_id: Id
    start_price_minor: Price
    duration_s: Annotated[int, Meta(ge=MIN_DURATION_S, le=MAX_DURATION_S)]
    mode: Literal["extend", "sudden_death"] = "extend"
    window_s: Window = 10
    reset_s: Window = 10
    reserve_minor: Price | None = None
    quantity: Annotated[int, Meta(ge=1, le=MAX_LOT)] = 1
    on_payment_failure: Literal["next_bidder", "return"] = "next_bidder"
