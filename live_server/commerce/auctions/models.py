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

    product_id: Annotated[Id, Meta(extra={"message": "Choose a product from the line-up."})]
    start_price_minor: Annotated[Price, Meta(extra={"message": "Enter a starting bid above zero."})]
    duration_s: Annotated[
        int,
        Meta(
            ge=MIN_DURATION_S,
            le=MAX_DURATION_S,
            extra={
                "message": f"An auction runs from {MIN_DURATION_S} seconds to "
                f"{MAX_DURATION_S // 60} minutes."
            },
        ),
    ]
    mode: Literal["extend", "sudden_death"] = "extend"
    window_s: Window = 10
    reset_s: Window = 10
    reserve_minor: (
        Annotated[Price, Meta(extra={"message": "Enter a reserve price above zero."})] | None
    ) = None
    quantity: Annotated[
        int, Meta(ge=1, le=MAX_LOT, extra={"message": f"A lot holds 1 to {MAX_LOT} units."})
    ] = 1
    on_payment_failure: Literal["next_bidder", "return"] = "next_bidder"
