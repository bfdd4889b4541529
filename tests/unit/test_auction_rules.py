"""The pure auction rules: increments, counter-bid extension, sudden death, proxy bids,
ties, cancellation, the reserve, and the words bidders read."""

from __future__ import annotations

from dataclasses import replace

import pytest

from live_server.commerce.auctions.rules import (
    INCREMENTS,
    NO_BIDS,
    RESERVE_NOT_MET,
    SOLD,
    Accepted,
    Bid,
    Book,
    Refused,
    Terms,
    TermsError,
    can_cancel,
    check_terms,
    closing_result,
    increment,
    judge_bid,
    minimum_bid,
    money,
    next_bidder,
    refusal_text,
)

T0 = 1_700_000_000_000  # a server time in ms
ANA, BEN, CAT = 11, 22, 33


def book(**fields: int | str) -> Book:
    base = Book(start_price=1_000, ends_at_ms=T0 + 30_000)
    return replace(base, **fields)  # type: ignore[arg-type]


def accept(b: Book, bid: Bid, now: int = T0) -> Accepted:
    result = judge_bid(b, bid, now)
    assert isinstance(result, Accepted), result
    return result


def refuse(b: Book, bid: Bid, now: int = T0) -> Refused:
    result = judge_bid(b, bid, now)
    assert isinstance(result, Refused), result
    return result


@pytest.mark.parametrize(
    ("price", "step"),
    [
        (0, 100),
        (1_999, 100),
        (2_000, 200),
        (4_999, 200),
        (5_000, 500),
        (9_999, 500),
        (10_000, 1_000),
        (49_999, 1_000),
        (50_000, 2_000),
        (99_999, 2_000),
        (100_000, 2_500),
        (199_999, 2_500),
        (200_000, 5_000),
        (10_000_000, 5_000),
    ],
)
def test_the_increment_table(price: int, step: int) -> None:
    assert increment(price) == step


def test_the_table_rises_and_ends_at_fifty_dollars() -> None:
    steps = [step for _, step in INCREMENTS]
    assert steps == sorted(steps) and steps[0] == 100 and steps[-1] == 5_000


def test_the_first_bid_starts_at_the_starting_price_then_one_increment_up() -> None:
    b = book()
    assert minimum_bid(b) == 1_000
    low = refuse(b, Bid(ANA, "amount", 999))
    assert low == Refused("bid_too_low", 1_000)
    assert refusal_text(low, "USD", first_bid=True) == "Bids on this item start at $10."
    first = accept(b, Bid(ANA, "amount", 1_000))
    assert (first.book.price, first.book.leader, first.book.bids, first.book.seq) == (
        1_000,
        ANA,
        1,
        1,
    )
    assert minimum_bid(first.book) == 1_100
    again = refuse(first.book, Bid(BEN, "amount", 1_050))
    assert refusal_text(again, "USD", first_bid=False) == "The next bid is at least $11."
    jump = accept(first.book, Bid(BEN, "amount", 2_500))  # a custom amount above the minimum
    assert (jump.book.price, jump.book.leader, jump.previous_leader) == (2_500, BEN, ANA)
    assert minimum_bid(jump.book) == 2_700


def test_ties_go_to_the_earlier_bid() -> None:
    # two viewers tap "Bid $10" at once: the book judges them one after the other
    first = accept(book(), Bid(ANA, "amount", 1_000))
    second = judge_bid(first.book, Bid(BEN, "amount", 1_000), T0 + 1)
    assert second == Refused("bid_too_low", 1_100)
    assert first.book.leader == ANA


@pytest.mark.parametrize(("left_ms", "extends"), [(9_990, True), (10_010, False), (10_000, False)])
def test_counter_bid_extension_at_the_window_boundary(left_ms: int, extends: bool) -> None:
    b = book(ends_at_ms=T0 + left_ms)
    got = accept(b, Bid(ANA, "amount", 1_000), T0)
    assert got.extended is extends
    assert got.book.ends_at_ms == (T0 + 10_000 if extends else T0 + left_ms)


def test_the_reset_time_is_the_hosts_and_never_shortens_the_clock() -> None:
    b = book(ends_at_ms=T0 + 3_000, window_ms=5_000, reset_ms=8_000)
    got = accept(b, Bid(ANA, "amount", 1_000))
    assert got.extended and got.book.ends_at_ms == T0 + 8_000
    # a reset shorter than the time left changes nothing
    b = book(ends_at_ms=T0 + 4_000, window_ms=5_000, reset_ms=2_000)
    got = accept(b, Bid(ANA, "amount", 1_000))
    assert not got.extended and got.book.ends_at_ms == T0 + 4_000


def test_sudden_death_never_extends_and_closes_at_its_time() -> None:
    b = book(mode="sudden_death", ends_at_ms=T0 + 1_000)
    got = accept(b, Bid(ANA, "amount", 1_000), T0 + 999)  # 00:01 on the clock
    assert not got.extended and got.book.ends_at_ms == T0 + 1_000
    late = refuse(got.book, Bid(BEN, "amount", 5_000), T0 + 1_000)
    assert late.code == "auction_ended"
    assert refusal_text(late, "USD", first_bid=False) == "Bidding has ended for this item."


def test_a_bid_that_moves_nothing_does_not_extend() -> None:
    # the leader raising their own maximum moves neither the price nor the leader
    lead = accept(book(ends_at_ms=T0 + 30_000), Bid(ANA, "max", 3_000))
    got = accept(replace(lead.book, ends_at_ms=T0 + 2_000), Bid(ANA, "max", 5_000))
    assert got.outcome == "max_raised" and not got.lead_changed and not got.extended


def test_proxy_bid_answers_one_increment_above_the_other() -> None:
    ana = accept(book(), Bid(ANA, "max", 5_000))
    assert (ana.book.price, ana.book.leader, ana.book.leader_max) == (1_000, ANA, 5_000)
    ben = accept(ana.book, Bid(BEN, "amount", 2_000))
    # Ana's maximum answers at once: $20 + $2
    assert ben.outcome == "outbid" and ben.book.leader == ANA and ben.book.price == 2_200
    # a higher maximum takes the lead one increment above Ana's
    cat = accept(ben.book, Bid(CAT, "max", 9_000))
    assert (cat.book.leader, cat.book.price) == (CAT, 5_000 + 500)


def test_equal_maxima_the_earlier_one_wins() -> None:
    ana = accept(book(), Bid(ANA, "max", 4_000))
    ben = accept(ana.book, Bid(BEN, "max", 4_000))
    assert ben.outcome == "outbid"
    assert (ben.book.leader, ben.book.price) == (ANA, 4_000)


def test_a_maximum_below_the_next_increment_caps_the_price() -> None:
    # Ana's maximum $15.50 is above Ben's $15, but by less than an increment ($1)
    ana = accept(book(), Bid(ANA, "max", 1_550))
    ben = accept(ana.book, Bid(BEN, "amount", 1_500))
    assert (ben.book.leader, ben.book.price) == (ANA, 1_550)
    # a new maximum is answered one increment above Ana's, not at its own height
    cat = accept(ben.book, Bid(CAT, "max", 1_700))
    assert (cat.book.leader, cat.book.price) == (CAT, 1_650)
    # and a maximum under one increment above the price is refused, in words
    low = refuse(cat.book, Bid(ANA, "max", 1_700))
    assert low == Refused("bid_too_low", 1_750)


def test_the_leader_raises_their_own_maximum() -> None:
    ana = accept(book(), Bid(ANA, "max", 2_000))
    raised = accept(ana.book, Bid(ANA, "max", 6_000))
    assert raised.outcome == "max_raised"
    assert (raised.book.price, raised.book.leader_max) == (1_000, 6_000)
    same = refuse(raised.book, Bid(ANA, "max", 6_000))
    assert same == Refused("max_not_higher", 6_000)
    assert "already $60" in refusal_text(same, "USD", first_bid=False)
    plain = refuse(raised.book, Bid(ANA, "amount", 1_100))
    assert plain.code == "already_leading"
    ben = accept(raised.book, Bid(BEN, "max", 5_000))
    assert (ben.book.leader, ben.book.price) == (ANA, 5_000 + 500)


def test_no_cancellation_after_the_first_bid() -> None:
    b = book()
    assert can_cancel(b)
    assert not can_cancel(accept(b, Bid(ANA, "amount", 1_000)).book)
    assert not can_cancel(replace(b, status="closed"))


def test_reserve_not_met_and_a_maximum_that_meets_it() -> None:
    b = book(reserve=5_000)
    low = accept(b, Bid(ANA, "amount", 3_000))
    assert closing_result(replace(low.book, status="closed")) == RESERVE_NOT_MET
    # a maximum at or above the reserve lifts the price to the reserve
    met = accept(low.book, Bid(BEN, "max", 8_000))
    assert (met.book.leader, met.book.price) == (BEN, 5_000)
    assert closing_result(met.book) == SOLD
    assert closing_result(book()) == NO_BIDS


def test_bids_after_the_end_or_on_a_closed_book_are_refused() -> None:
    assert refuse(book(), Bid(ANA, "amount", 1_000), T0 + 30_000).code == "auction_ended"
    assert refuse(book(status="closed"), Bid(ANA, "amount", 1_000)).code == "auction_ended"


def test_the_next_bidder_for_a_second_chance() -> None:
    assert next_bidder({ANA: 4_000, BEN: 3_000, CAT: 3_000}, {ANA}) == (BEN, 3_000)
    assert next_bidder({ANA: 4_000}, {ANA}) is None


def test_terms_are_refused_in_words() -> None:
    ok = Terms(start_price_minor=500, duration_s=30)
    assert check_terms(ok, stock=1, currency="USD") is ok
    with pytest.raises(TermsError, match=r"Only 1 in stock"):
        check_terms(replace(ok, quantity=2), stock=1, currency="USD")
    with pytest.raises(TermsError, match="reserve price can't be below"):
        check_terms(replace(ok, reserve_minor=100), stock=1, currency="USD")
    with pytest.raises(TermsError, match="5 seconds to 60 minutes"):
        check_terms(replace(ok, duration_s=2), stock=1, currency="USD")


def test_money_reads_like_a_price_tag() -> None:
    assert money(1_200, "USD") == "$12"
    assert money(1_250, "USD") == "$12.50"
    assert money(125_000, "EUR") == "€1,250"
    assert money(99, "CHF") == "0.99 CHF"
