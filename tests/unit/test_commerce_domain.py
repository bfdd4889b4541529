"""Pure commerce rules: allocation, caps, flash sales, money, statuses, signatures."""

from __future__ import annotations

import time
from typing import Any

import pytest

from live_server.commerce.analytics.rules import merge_timeline, safe_csv_cell, summarise
from live_server.commerce.payments.service import WebhookRejected, sign_webhook, verify_webhook
from live_server.commerce.rules.attribution import commission_minor, validate_rate_bp
from live_server.commerce.rules.basics import (
    CartLine,
    CommerceInputError,
    Source,
    parse_address,
    parse_idempotency_key,
    parse_lines,
    parse_source,
    request_fingerprint,
)
from live_server.commerce.rules.inventory import (
    FlashSaleError,
    InventoryLedger,
    ProductState,
    Rejection,
    SaleState,
    hold_expired,
    min_sale_price,
    sale_status,
    validate_flash_sale,
)
from live_server.commerce.rules.orders import releases_units, status_after_payment_event


def product(
    pid: int = 1, stock: int = 10, limit: int | None = None, cur: str = "USD"
) -> ProductState:
    return ProductState(pid, stock, 1000, cur, f"P{pid}", owner_id=7, per_buyer_limit=limit)


def test_first_come_first_served_never_oversells() -> None:
    ledger = InventoryLedger({1: product(stock=3)})
    results = [ledger.try_allocate(buyer, (CartLine(1, 2),)) for buyer in range(1, 5)]
    assert [type(r).__name__ for r in results] == [
        "Allocation",
        "Rejection",
        "Rejection",
        "Rejection",
    ]
    assert ledger.try_allocate(9, (CartLine(1, 1),)).total_minor == 1000  # type: ignore[union-attr]
    assert ledger.stock_taken == {1: 3} and ledger.products[1].stock == 0


def test_all_or_nothing_across_lines() -> None:
    ledger = InventoryLedger({1: product(1, stock=5), 2: product(2, stock=1)})
    result = ledger.try_allocate(1, (CartLine(1, 2), CartLine(2, 2)))
    assert isinstance(result, Rejection) and result.code == "sold_out" and result.product_id == 2
    assert ledger.stock_taken == {} and ledger.products[1].stock == 5


def test_per_buyer_limit_counts_earlier_purchases() -> None:
    ledger = InventoryLedger({1: product(limit=3)}, bought={(5, 1): 2})
    assert isinstance(ledger.try_allocate(5, (CartLine(1, 2),)), Rejection)
    assert not isinstance(ledger.try_allocate(5, (CartLine(1, 1),)), Rejection)
    again = ledger.try_allocate(5, (CartLine(1, 1),))
    assert isinstance(again, Rejection) and again.code == "limit_reached"
    assert not isinstance(ledger.try_allocate(6, (CartLine(1, 3),)), Rejection)


def test_flash_sale_price_units_and_cap() -> None:
    sale = SaleState(11, 1, 400, remaining=3, per_buyer_limit=2, ends_at=time.time() + 60)
    ledger = InventoryLedger({1: product(stock=100)}, sales={1: sale})
    got = ledger.try_allocate(1, (CartLine(1, 2),))
    assert not isinstance(got, Rejection)
    assert got.total_minor == 800 and got.lines[0].sale_id == 11
    capped = ledger.try_allocate(1, (CartLine(1, 1),))
    assert isinstance(capped, Rejection) and capped.code == "limit_reached"
    out = ledger.try_allocate(2, (CartLine(1, 2),))
    assert isinstance(out, Rejection) and out.code == "sold_out"
    assert not isinstance(ledger.try_allocate(2, (CartLine(1, 1),)), Rejection)
    assert ledger.sale_taken == {11: 3} and ledger.stock_taken == {1: 3}


def test_mixed_currencies_and_unknown_products() -> None:
    ledger = InventoryLedger({1: product(1), 2: product(2, cur="EUR")})
    mixed = ledger.try_allocate(1, (CartLine(1, 1), CartLine(2, 1)))
    assert isinstance(mixed, Rejection) and mixed.code == "mixed_currency"
    missing = ledger.try_allocate(1, (CartLine(3, 1),))
    assert isinstance(missing, Rejection) and missing.code == "product_not_found"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"duration_s": 9}, "duration_s"),
        ({"duration_s": 301}, "duration_s"),
        ({"duration_s": 30.5}, "duration_s"),
        ({"quantity": 11}, "quantity"),
        ({"price_minor": 1001}, "price_minor"),
        ({"price_minor": 99}, "price_minor"),  # below the floor: at most 90 % off
        ({"price_minor": 0}, "price_minor"),
        ({"price_minor": True}, "price_minor"),
        ({"per_buyer_limit": 0}, "per_buyer_limit"),
    ],
)
def test_flash_sale_validation(change: dict[str, object], field: str) -> None:
    base: dict[str, object] = {
        "price_minor": 500,
        "quantity": 10,
        "duration_s": 10,
        "per_buyer_limit": None,
    }
    validate_flash_sale(product_id=1, list_price_minor=1000, stock=10, **base)  # type: ignore[arg-type]
    with pytest.raises(FlashSaleError) as err:
        validate_flash_sale(
            product_id=1,
            list_price_minor=1000,
            stock=10,
            **{**base, **change},  # type: ignore[arg-type]
        )
    assert err.value.field == field


def test_sale_status_and_holds() -> None:
    assert sale_status(remaining=3, ends_at=100, ended_early=False, now=50) == "active"
    assert sale_status(remaining=0, ends_at=100, ended_early=False, now=50) == "sold_out"
    assert sale_status(remaining=3, ends_at=100, ended_early=False, now=100) == "ended"
    assert sale_status(remaining=3, ends_at=100, ended_early=True, now=50) == "ended"
    assert hold_expired(10.0, 10.0) and not hold_expired(10.0, 9.9) and not hold_expired(None, 1e12)


def test_money_and_commission_in_minor_units() -> None:
    assert commission_minor(1999, 1000) == 200  # 199.9 rounds half up
    assert commission_minor(1005, 1000) == 101  # 100.5 -> 101
    assert commission_minor(0, 1000) == 0 and commission_minor(1000, 0) == 0
    assert commission_minor(333, 10_000) == 333
    with pytest.raises(ValueError):
        validate_rate_bp(10_001)
    with pytest.raises(ValueError):
        validate_rate_bp(0.5)


def test_payment_events_move_orders_once() -> None:
    assert status_after_payment_event("pending_payment", "payment.succeeded") == "paid"
    assert status_after_payment_event("pending_payment", "payment.failed") == "cancelled"
    assert status_after_payment_event("confirmed", "payment.succeeded") == "paid"
    assert status_after_payment_event("expired", "payment.succeeded") is None
    assert status_after_payment_event("paid", "payment.failed") is None
    assert status_after_payment_event("pending_payment", "refund") is None
    assert releases_units("pending_payment", "expired") and not releases_units("paid", "paid")


def test_input_parsing() -> None:
    assert parse_source(None).type == "direct"
    assert parse_source({"type": "clip", "id": "12"}).id == 12
    for bad in ({"type": "live"}, {"type": "live", "id": -1}, "live", {"type": "x", "id": 1}):
        with pytest.raises(CommerceInputError):
            parse_source(bad)
    assert parse_lines([{"product_id": 1, "quantity": 2}, {"product_id": 1}]) == (CartLine(1, 3),)
    with pytest.raises(CommerceInputError):
        parse_lines([{"product_id": 1, "quantity": 60}, {"product_id": 1, "quantity": 60}])
    assert parse_idempotency_key("abc-123") == "abc-123"
    for bad_key in (None, "", "has space", "x" * 201, "ключ"):
        with pytest.raises(CommerceInputError):
            parse_idempotency_key(bad_key)
    address = parse_address(
        {"name": " Ana  Maria ", "line1": "1 St", "city": "X", "postal_code": "1", "country": "fr"}
    )
    assert address.country == "FR" and address.first_name == "Ana"
    with pytest.raises(CommerceInputError):
        parse_address(
            {"name": "A\x00", "line1": "1", "city": "X", "postal_code": "1", "country": "FR"}
        )
    base: dict[str, Any] = {
        "kind": "buy-now",
        "lines": (CartLine(1, 2),),
        "source": None,
        "address": {"name": "A", "city": "X"},
        "payment_method": None,
        "coupon_id": None,
    }
    same = {**base, "address": {"city": "X", "name": "A"}}
    assert request_fingerprint(**base) == request_fingerprint(**same)
    for change in (
        {"kind": "cart"},
        {"lines": (CartLine(1, 3),)},
        {"lines": None},
        {"source": Source("live", 4)},
        {"address": {"name": "B", "city": "X"}},
        {"payment_method": "invoice"},
        {"coupon_id": 7},
    ):
        assert request_fingerprint(**base) != request_fingerprint(**{**base, **change}), change


def test_webhook_signatures() -> None:
    body = b'{"id":"evt_1"}'
    now = time.time()
    header = sign_webhook("s3cret", body, int(now))
    verify_webhook("s3cret", header, body, now, 300)
    verify_webhook("s3cret", header + ",v1=deadbeef", body, now, 300)  # key rotation: any match
    for secret, hdr, payload, at in (
        ("s3cret", None, body, now),
        ("s3cret", header, body + b" ", now),
        ("other", header, body, now),
        ("s3cret", header, body, now + 301),
        ("", header, body, now),
        ("s3cret", "v1=abc", body, now),
    ):
        with pytest.raises(WebhookRejected):
            verify_webhook(secret, hdr, payload, at, 300)


def test_timeline_and_summary() -> None:
    rows = merge_timeline(
        [{"minute": 120, "viewers_max": 5, "reactions": 2, "chat_messages": 1}],
        [{"minute": 240, "orders": 3, "revenue_minor": 900}],
    )
    assert [(r.minute, r.viewers, r.orders) for r in rows] == [
        (120, 5, 0),
        (180, 0, 0),
        (240, 0, 3),
    ]
    summary = summarise(
        timeline=rows,
        watch_seconds=[60.0, 120.0],
        duration_s=180.0,
        products=[],
        orders=3,
        revenue_minor=900,
        currency="USD",
    )
    assert summary.average_viewers == 1.0 and summary.conversion_rate == 1.5
    assert summary.peak_viewers == 5 and summary.unique_viewers == 2
    assert safe_csv_cell("=cmd()") == "'=cmd()" and safe_csv_cell("-5") == "-5"


def test_flash_sale_floor_and_default_cap() -> None:
    assert min_sale_price(1000, 90) == 100 and min_sale_price(999, 90) == 100  # rounded up
    assert min_sale_price(5, 90) == 1 and min_sale_price(1000, 100) == 1  # never free
    assert min_sale_price(1000, 0) == 1000 and min_sale_price(1000, 250) == 1
    spec = validate_flash_sale(
        product_id=1, price_minor=100, quantity=5, duration_s=10, per_buyer_limit=None,
        list_price_minor=1000, stock=10, default_per_buyer_limit=3,
    )  # fmt: skip
    assert spec.per_buyer_limit == 3
    with pytest.raises(FlashSaleError) as err:
        validate_flash_sale(
            product_id=1, price_minor=0, quantity=1, duration_s=10, per_buyer_limit=1,
            list_price_minor=0, stock=10,
        )  # fmt: skip
    assert err.value.field == "price_minor" and "too low" in err.value.message
