"""The pure fulfilment rules: an order's stage and filters, when it may ship, how much may
be refunded, the buyer's cancel window, and the packing list's rows."""

from __future__ import annotations

from typing import Any

from live_server.commerce.fulfilment import rules

CREATED = "2026-12-02T10:00:00Z"
T0 = rules.epoch(CREATED)


def order(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "ord_3b47a9ff00",
        "status": "paid",
        "total_minor": 5_000,
        "currency": "USD",
        "refunded_minor": 0,
        "shipment": None,
        "created_at": CREATED,
        "payment": {"provider": "stripe", "status": "paid"},
        "shipping_address": {"name": "Ana Lopez", "line1": "1 Main St", "city": "Springfield"},
        "items": [
            {
                "product_id": 7,
                "title": "Mug",
                "quantity": 2,
                "unit_price_minor": 1_500,
                "currency": "USD",
            },
            {
                "product_id": 9,
                "title": "Plate",
                "quantity": 1,
                "unit_price_minor": 2_000,
                "currency": "USD",
            },
        ],
    }
    return {**base, **changes}


SHIPPED = {"carrier": "UPS", "tracking_number": "1Z9", "shipped_at": "2026-12-02T11:00:00Z"}


def test_stages_and_filters() -> None:
    assert rules.stage(order()) == "to_ship"
    assert rules.stage(order(status="pending_payment")) == "awaiting_payment"
    assert rules.stage(order(shipment=SHIPPED)) == "shipped"
    assert rules.stage(order(refunded_minor=5_000)) == "refunded"
    assert rules.stage(order(refunded_minor=1_000)) == "to_ship"  # partly refunded, still to ship
    assert rules.stage(order(status="expired")) == "cancelled"
    assert rules.matches(order(refunded_minor=1), "refunded")
    assert not rules.matches(order(), "refunded") and rules.matches(order(), "all")


def test_only_a_confirmed_or_paid_unshipped_order_ships() -> None:
    assert rules.ship_refusal(order()) is None
    assert rules.ship_refusal(order(status="confirmed")) is None
    assert rules.ship_refusal(order(status="cancelled")) == (
        "This order was cancelled, so it can't be shipped."
    )
    assert "not paid yet" in str(rules.ship_refusal(order(status="pending_payment")))
    assert "already" in str(rules.ship_refusal(order(shipment=SHIPPED)))
    assert "refunded in full" in str(rules.ship_refusal(order(refunded_minor=5_000)))
    assert rules.clean_shipment("  La   Poste ", " 6A123 ")[:3] == ("La Poste", "6A123", None)
    assert rules.clean_shipment("UPS", "<b>")[2] == "tracking"
    assert rules.clean_shipment(" ", "1")[2] == "carrier"


def test_refunds_never_exceed_what_was_paid() -> None:
    assert rules.refund_refusal(order(), None) == (5_000, None, False)
    assert rules.refund_refusal(order(refunded_minor=1_200), None)[0] == 3_800
    assert rules.refund_refusal(order(refunded_minor=1_200), 3_800)[0] == 3_800
    amount, refusal, about_amount = rules.refund_refusal(order(refunded_minor=1_200), 3_801)
    assert (amount, refusal, about_amount) == (
        0,
        "You can refund at most $38.00 on this order.",
        True,
    )
    assert rules.refund_refusal(order(), 0)[2] is True
    assert "already refunded" in str(rules.refund_refusal(order(refunded_minor=5_000), 1)[1])
    authorised = order(status="confirmed", payment={"provider": "stripe", "status": "authorized"})
    assert "not been taken" in str(rules.refund_refusal(authorised, None)[1])
    cod = order(status="confirmed", payment={"provider": "offline", "status": "pending"})
    assert rules.refund_refusal(cod, 100) == (100, None, False)
    assert rules.refund_refusal(order(status="cancelled"), None)[1] is not None
    assert rules.payment_status_after_refund(order(), 5_000) == "refunded"
    assert rules.payment_status_after_refund(order(), 4_999) == "partially_refunded"


def test_the_buyer_cancels_within_the_window_and_before_shipping() -> None:
    window = 30 * 60
    assert rules.cancel_refusal(order(), T0 + window - 1, window) is None
    late = rules.cancel_refusal(order(), T0 + window + 1, window)
    assert late is not None and late.startswith("Orders can be cancelled within 30 minutes")
    # waiting for payment: always (nothing was taken)
    assert rules.cancel_refusal(order(status="pending_payment"), T0 + 10 * window, window) is None
    assert "has shipped" in str(rules.cancel_refusal(order(shipment=SHIPPED), T0, window))
    assert rules.cancel_refusal(order(refunded_minor=10), T0, window) is not None
    assert rules.cancel_refusal(order(status="cancelled"), T0, window) is not None


def test_the_packing_list_has_one_row_per_item() -> None:
    rows = rules.packing_rows([order(shipment=SHIPPED)])
    assert len(rows) == 2 and all(len(r) == len(rules.PACKING_COLUMNS) for r in rows)
    first = dict(zip(rules.PACKING_COLUMNS, rows[0], strict=True))
    assert first["order_number"] == "#3B47A9" and first["created_at"] == CREATED
    assert (first["title"], first["quantity"], first["buyer_name"]) == ("Mug", 2, "Ana Lopez")
    assert (first["stage"], first["tracking_number"]) == ("shipped", "1Z9")
