"""Pure auction rules: the increment table, terms, judging one bid, closing, words.

Nothing here does I/O. The bid books (`book.MemoryBidBook`, `redis_book.RedisBidBook`)
hold an auction's `Book` and call `judge_bid` with each bid in the order they receive
them; the Redis book runs the same rules in a Lua script (the tests feed both the same
cases). Money is integer minor units throughout; times are integer milliseconds.

Increment table (minor units of a two-decimal currency; "$" below):

    price below $20        $1     below $1,000    $20
    below $50              $2     below $2,000    $25
    below $100             $5     from $2,000     $50
    below $500             $10

A plain bid of an amount sets the price to that amount if it leads; a maximum (proxy)
bid makes the server bid for its owner only as needed, one increment above the other
bidder's maximum, capped at its own. Equal maxima: the earlier one wins.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final, Literal

#: (upper bound exclusive, increment) in minor units; the last row has no bound.
INCREMENTS: Final[tuple[tuple[int, int], ...]] = (
    (2_000, 100),
    (5_000, 200),
    (10_000, 500),
    (50_000, 1_000),
    (100_000, 2_000),
    (200_000, 2_500),
    (2**53, 5_000),
)
MAX_PRICE_MINOR: Final = 100_000_000  # $1,000,000: keeps every sum exact in Lua doubles
MIN_DURATION_S: Final = 5
MAX_DURATION_S: Final = 3600
MAX_WINDOW_S: Final = 60
MAX_LOT: Final = 99
DEFAULT_WINDOW_S: Final = 10
DEFAULT_RESET_S: Final = 10

Mode = Literal["extend", "sudden_death"]
BidKind = Literal["amount", "max"]
MODES: Final = ("extend", "sudden_death")
BID_KINDS: Final = ("amount", "max")
FAILURE_CHOICES: Final = ("next_bidder", "return")

# Book statuses and final results.
RUNNING: Final = "running"
CLOSED: Final = "closed"
CANCELLED: Final = "cancelled"
SOLD: Final = "sold"
NO_BIDS: Final = "no_bids"
RESERVE_NOT_MET: Final = "reserve_not_met"


def increment(price_minor: int) -> int:
    """The step above `price_minor` from the increment table."""
    for bound, step in INCREMENTS:
        if price_minor < bound:
            return step
    return INCREMENTS[-1][1]  # pragma: no cover - the last bound is beyond any price


def increments_spec() -> str:
    """The table as "bound:step,..." for the Lua script (one definition, here)."""
    return ",".join(f"{bound}:{step}" for bound, step in INCREMENTS)


class TermsError(ValueError):
    """Terms a host cannot start an auction with; the message is for people, `field` names
    the term it is about."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Terms:
    """What the host chose when starting an auction (prices are per unit of the lot)."""

    start_price_minor: int
    duration_s: int
    mode: Mode = "extend"
    window_s: int = DEFAULT_WINDOW_S
    reset_s: int = DEFAULT_RESET_S
    reserve_minor: int | None = None
    quantity: int = 1
    on_payment_failure: str = "next_bidder"


def check_terms(terms: Terms, stock: int, currency: str) -> Terms:
    """Refuses terms that cannot run, in words for the host; returns them unchanged."""
    if not 1 <= terms.start_price_minor <= MAX_PRICE_MINOR:
        raise TermsError(
            f"The starting bid must be between {money(1, currency)} and "
            f"{money(MAX_PRICE_MINOR, currency)}.",
            "start_price_minor",
        )
    if not MIN_DURATION_S <= terms.duration_s <= MAX_DURATION_S:
        raise TermsError(
            f"An auction runs from {MIN_DURATION_S} seconds to {MAX_DURATION_S // 60} minutes.",
            "duration_s",
        )
    if terms.mode not in MODES:
        raise TermsError("Choose a counter-bid auction or a sudden-death one.", "mode")
    if terms.mode == "extend" and not (
        1 <= terms.window_s <= MAX_WINDOW_S and 1 <= terms.reset_s <= MAX_WINDOW_S
    ):
        raise TermsError(
            f"The counter-bid window and the time it resets to are 1 to {MAX_WINDOW_S} seconds.",
            "window_s" if not 1 <= terms.window_s <= MAX_WINDOW_S else "reset_s",
        )
    if terms.reserve_minor is not None and not (
        terms.start_price_minor <= terms.reserve_minor <= MAX_PRICE_MINOR
    ):
        raise TermsError("The reserve price can't be below the starting bid.", "reserve_minor")
    if not 1 <= terms.quantity <= MAX_LOT:
        raise TermsError(f"A lot holds 1 to {MAX_LOT} units.", "quantity")
    if terms.quantity > stock:
        raise TermsError(f"Only {stock} in stock: the lot can't be bigger.", "quantity")
    if terms.on_payment_failure not in FAILURE_CHOICES:
        raise TermsError(
            "If the winner's payment fails, offer the item to the next bidder or return it.",
            "on_payment_failure",
        )
    return terms


@dataclass(frozen=True, slots=True)
class Book:
    """An auction's state as its single writer holds it (times in epoch milliseconds).

    `price` is 0 and `leader` 0 until the first bid; `leader_max` is the leader's maximum
    (for a plain bid, the amount bid). `seq` numbers accepted bids, `bids` counts them.
    """

    start_price: int
    ends_at_ms: int
    mode: str = "extend"
    window_ms: int = DEFAULT_WINDOW_S * 1000
    reset_ms: int = DEFAULT_RESET_S * 1000
    reserve: int = 0  # 0: no reserve
    status: str = RUNNING
    price: int = 0
    leader: int = 0
    leader_max: int = 0
    bids: int = 0
    seq: int = 0


@dataclass(frozen=True, slots=True)
class Bid:
    """One bid as received: who, a plain amount or a maximum, and how much (per unit)."""

    bidder: int
    kind: str
    amount: int


@dataclass(frozen=True, slots=True)
class Accepted:
    """A bid the auction took: the new book and what it meant.

    `outcome` is "leading" (the bidder leads), "outbid" (another bidder's maximum answered
    at once) or "max_raised" (the leader raised their own maximum). `lead_changed` is true
    when the price or the leader moved (what every viewer must see now).
    """

    book: Book
    outcome: str
    lead_changed: bool
    extended: bool
    previous_leader: int


@dataclass(frozen=True, slots=True)
class Refused:
    """A bid the auction did not take: a code for programs and the amount behind it."""

    code: str
    amount: int = 0


def minimum_bid(book: Book) -> int:
    """The least a new bidder may bid now: the starting bid, then one increment up."""
    return book.start_price if book.bids == 0 else book.price + increment(book.price)


def time_left_ms(book: Book, now_ms: int) -> int:
    """Milliseconds until the auction closes (never negative)."""
    return max(0, book.ends_at_ms - now_ms)


def _with_reserve(book: Book) -> Book:
    # A maximum at or above the reserve lifts the price to the reserve (as eBay does):
    # the reserve is met as soon as someone is willing to pay it.
    if book.reserve and book.price < book.reserve <= book.leader_max:
        return replace(book, price=book.reserve)
    return book


def judge_bid(book: Book, bid: Bid, now_ms: int) -> Accepted | Refused:
    """Judges one bid received at `now_ms` (server time) against the book."""
    if book.status != RUNNING or now_ms >= book.ends_at_ms:
        return Refused("auction_ended")
    if bid.kind not in BID_KINDS:
        return Refused("bad_kind")
    if bid.amount > MAX_PRICE_MINOR:
        return Refused("bid_too_high", MAX_PRICE_MINOR)
    if bid.bidder == book.leader:
        if bid.kind == "amount":
            return Refused("already_leading", book.price)
        if bid.amount <= book.leader_max:
            return Refused("max_not_higher", book.leader_max)
        new = _with_reserve(replace(book, leader_max=bid.amount))
        return _finish(book, new, "max_raised", now_ms)
    minimum = minimum_bid(book)
    if bid.amount < minimum:
        return Refused("bid_too_low", minimum)
    floor = bid.amount if bid.kind == "amount" else minimum
    if book.leader == 0:
        new = replace(book, leader=bid.bidder, leader_max=bid.amount, price=floor)
        outcome = "leading"
    elif bid.amount > book.leader_max:
        answer = min(bid.amount, book.leader_max + increment(book.leader_max))
        new = replace(book, leader=bid.bidder, leader_max=bid.amount, price=max(floor, answer))
        outcome = "leading"
    else:
        # the leader's maximum answers; equal maxima: the earlier bid keeps the lead
        answer = min(book.leader_max, bid.amount + increment(bid.amount))
        new = replace(book, price=max(book.price, answer))
        outcome = "outbid"
    return _finish(book, _with_reserve(new), outcome, now_ms)


def _finish(old: Book, new: Book, outcome: str, now_ms: int) -> Accepted:
    lead_changed = new.price != old.price or new.leader != old.leader
    extended = False
    ends = new.ends_at_ms
    # counter-bid: a bid that moves the lead with less than the window left resets the time
    if new.mode == "extend" and lead_changed and ends - now_ms < new.window_ms:
        reset = now_ms + new.reset_ms
        if reset > ends:
            ends, extended = reset, True
    final = replace(new, ends_at_ms=ends, bids=old.bids + 1, seq=old.seq + 1)
    return Accepted(final, outcome, lead_changed, extended, old.leader)


def closing_result(book: Book) -> str:
    """What a closed auction came to: sold, no bids, or reserve not met."""
    if book.leader == 0:
        return NO_BIDS
    if book.reserve and book.price < book.reserve:
        return RESERVE_NOT_MET
    return SOLD


def can_cancel(book: Book) -> bool:
    """An auction can be cancelled only before its first bid."""
    return book.status == RUNNING and book.bids == 0


def next_bidder(maxima: dict[int, int], exclude: set[int]) -> tuple[int, int] | None:
    """The highest maximum among the other bidders (ties: the lower bidder id, a stable
    choice; the audit holds who bid first), for a second-chance offer."""
    best: tuple[int, int] | None = None
    for bidder, top in maxima.items():
        if bidder in exclude:
            continue
        if best is None or top > best[1] or (top == best[1] and bidder < best[0]):
            best = (bidder, top)
    return best


# -- words for people ---------------------------------------------------------------------

_SYMBOLS: Final = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$"}


def money(minor: int, currency: str) -> str:
    """ "$12", "$12.50", "$1,250" (two-decimal currencies; others as "1,250.00 XYZ")."""
    whole, cents = divmod(abs(minor), 100)
    text = f"{whole:,}" if cents == 0 else f"{whole:,}.{cents:02d}"
    sign = "-" if minor < 0 else ""
    symbol = _SYMBOLS.get(currency.upper())
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency.upper()}"


def refusal_text(refused: Refused, currency: str, *, first_bid: bool) -> str:
    """The sentence a bidder reads when a bid is not taken."""
    amount = money(refused.amount, currency)
    if refused.code == "auction_ended":
        return "Bidding has ended for this item."
    if refused.code == "bid_too_low":
        if first_bid:
            return f"Bids on this item start at {amount}."
        return f"The next bid is at least {amount}."
    if refused.code == "already_leading":
        return f"You're already winning at {amount}. To go higher, set a maximum bid."
    if refused.code == "max_not_higher":
        return f"Your maximum bid is already {amount}: a new maximum must be higher."
    if refused.code == "bid_too_high":
        return f"Bids can't go above {amount}."
    return "That bid couldn't be placed."
