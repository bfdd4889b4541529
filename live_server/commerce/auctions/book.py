"""The bid book: the one place per auction where bids are judged, in the order received.

`BidBook` is the small protocol the auction service uses; `MemoryBidBook` keeps books in
this process (one node) and `redis_book.RedisBidBook` in Redis, where one Lua script per
bid checks and records it atomically (several nodes). Either way a bid is judged by
`rules.judge_bid` against the book as the previous bid left it, with the book's own
clock as the receive time, and every accepted bid gets the next sequence number and is
appended to the book's log once.

Accepted bids that move the lead are handed, in sequence order, to the listener
(`listen`): the memory book calls it inside the critical section; the Redis book from its
subscription, in the order the script published them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol

from live_server.commerce.auctions.rules import (
    CANCELLED,
    CLOSED,
    RUNNING,
    Accepted,
    Bid,
    Book,
    Refused,
    judge_bid,
)

#: How long a closed auction's book stays readable (its result on the card, the tick).
KEEP_CLOSED_MS = 15_000


@dataclass(frozen=True, slots=True)
class BidRecord:
    """One accepted bid as the book logged it (amounts per unit, times in epoch ms).

    `leader_max` is private (the leader's maximum): it is stored in the audit trail and
    never broadcast.
    """

    auction_id: int
    session_id: int
    seq: int
    bidder: int
    bidder_name: str
    kind: str
    amount: int
    at_ms: int
    outcome: str
    price: int
    leader: int
    leader_name: str
    leader_max: int
    bids: int
    ends_at_ms: int
    extended: bool
    lead_changed: bool
    previous_leader: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (what the Redis book publishes and logs)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BidRecord:
        """From `as_dict` (or the Lua script's JSON, which has the same keys)."""
        return cls(
            auction_id=int(data["auction_id"]),
            session_id=int(data["session_id"]),
            seq=int(data["seq"]),
            bidder=int(data["bidder"]),
            bidder_name=str(data["bidder_name"]),
            kind=str(data["kind"]),
            amount=int(data["amount"]),
            at_ms=int(data["at_ms"]),
            outcome=str(data["outcome"]),
            price=int(data["price"]),
            leader=int(data["leader"]),
            leader_name=str(data["leader_name"]),
            leader_max=int(data["leader_max"]),
            bids=int(data["bids"]),
            ends_at_ms=int(data["ends_at_ms"]),
            extended=bool(data["extended"]),
            lead_changed=bool(data["lead_changed"]),
            previous_leader=int(data["previous_leader"]),
        )


@dataclass(frozen=True, slots=True)
class BookView:
    """An auction's book as the tick and the pages read it, plus the result once closed."""

    auction_id: int
    session_id: int
    book: Book
    leader_name: str
    now_ms: int  # the book's clock when it was read
    result: str = ""  # set when closed: sold, no_bids, reserve_not_met


@dataclass(frozen=True, slots=True)
class BidRefused:
    """A refused bid and the book's clock when it was judged."""

    refused: Refused
    first_bid: bool
    now_ms: int


Listener = Callable[[BidRecord], None]


class BidBook(Protocol):
    """Where bids are judged, one writer per auction (see the module docstring)."""

    async def open(self, auction_id: int, session_id: int, book: Book, leader_name: str) -> None:
        """Starts (or, after a restart, restores) an auction's book."""
        ...

    async def bid(self, auction_id: int, bid: Bid, name: str) -> BidRecord | BidRefused:
        """Judges one bid now; an accepted bid is logged once and gets the next seq."""
        ...

    async def view(self, auction_id: int) -> BookView | None:
        """The book now (None once it is forgotten)."""
        ...

    async def current(self, session_id: int) -> int | None:
        """The auction of a session whose book is open (running or just closed)."""
        ...

    async def running(self) -> list[int]:
        """Auctions still taking bids."""
        ...

    async def close_if_due(self, auction_id: int) -> BookView | None:
        """Closes a running auction whose time is up; the closed view, to one caller only."""
        ...

    async def cancel(self, auction_id: int) -> bool:
        """Cancels a running auction without bids; False if it has one (or is over)."""
        ...

    async def finish(self, auction_id: int, result: str) -> None:
        """Records the closed auction's result for the card; the book expires later."""
        ...

    async def log(self, auction_id: int) -> list[BidRecord]:
        """Every accepted bid, in sequence order."""
        ...

    async def maxima(self, auction_id: int) -> dict[int, int]:
        """Each bidder's highest bid or maximum (for a second-chance offer)."""
        ...

    async def owns(self, auction_id: int) -> bool:
        """Whether this node runs the auction's clock and broadcasts (claims it if free)."""
        ...

    async def claim_lead(self, auction_id: int, seq: int) -> bool:
        """Whether the lead ``seq`` may be broadcast: newer than every lead broadcast so far
        by any node (it then counts as broadcast). While an owner's lease passes to another
        node (a stalled process) both may try; each lead still goes out once, in order."""
        ...

    def listen(self, listener: Listener) -> None:
        """Hands every lead-moving accepted bid to `listener`, in sequence order."""
        ...

    async def close(self) -> None:
        """Releases connections."""
        ...


def now_ms() -> int:
    """Wall-clock milliseconds (the memory book's receive time)."""
    return int(time.time() * 1000)


@dataclass
class _Entry:
    session_id: int
    book: Book
    leader_name: str
    log: list[BidRecord]
    maxima: dict[int, int]
    result: str = ""
    closed_at_ms: int = 0


class MemoryBidBook:
    """Books in this process. Judging a bid is one synchronous step (no await between
    reading and writing the book), so on one event loop every auction has one writer."""

    def __init__(self, clock: Callable[[], int] = now_ms) -> None:
        self._clock = clock
        self._entries: dict[int, _Entry] = {}
        self._of_session: dict[int, int] = {}
        self._listeners: list[Listener] = []

    async def open(self, auction_id: int, session_id: int, book: Book, leader_name: str) -> None:
        """Starts or restores an auction's book."""
        self._entries[auction_id] = _Entry(session_id, book, leader_name, [], {})
        self._of_session[session_id] = auction_id

    async def bid(self, auction_id: int, bid: Bid, name: str) -> BidRecord | BidRefused:
        """Judges one bid against the book (the whole step is synchronous)."""
        now = self._clock()
        entry = self._entries.get(auction_id)
        if entry is None:
            return BidRefused(Refused("auction_ended"), False, now)
        decision = judge_bid(entry.book, bid, now)
        if isinstance(decision, Refused):
            return BidRefused(decision, entry.book.bids == 0, now)
        record = _record(auction_id, entry, bid, name, decision, now)
        entry.book = decision.book
        if record.leader != decision.previous_leader:
            entry.leader_name = name
        entry.log.append(record)
        entry.maxima[bid.bidder] = max(entry.maxima.get(bid.bidder, 0), bid.amount)
        if record.lead_changed:
            for listener in self._listeners:
                listener(record)
        return record

    async def view(self, auction_id: int) -> BookView | None:
        """The book now."""
        entry = self._live_entry(auction_id)
        if entry is None:
            return None
        return BookView(
            auction_id, entry.session_id, entry.book, entry.leader_name, self._clock(), entry.result
        )

    async def current(self, session_id: int) -> int | None:
        """The session's open book, if any."""
        auction_id = self._of_session.get(session_id)
        if auction_id is None or self._live_entry(auction_id) is None:
            return None
        return auction_id

    async def running(self) -> list[int]:
        """Auctions still taking bids."""
        return [aid for aid, e in self._entries.items() if e.book.status == RUNNING]

    async def close_if_due(self, auction_id: int) -> BookView | None:
        """Closes the auction if its time is up (once)."""
        entry = self._entries.get(auction_id)
        now = self._clock()
        if entry is None or entry.book.status != RUNNING or now < entry.book.ends_at_ms:
            return None
        entry.book = replace(entry.book, status=CLOSED)
        entry.closed_at_ms = now
        return BookView(auction_id, entry.session_id, entry.book, entry.leader_name, now)

    async def cancel(self, auction_id: int) -> bool:
        """Cancels a running auction that has no bid."""
        entry = self._entries.get(auction_id)
        if entry is None or entry.book.status != RUNNING or entry.book.bids > 0:
            return False
        entry.book = replace(entry.book, status=CANCELLED)
        entry.closed_at_ms = self._clock()
        entry.result = CANCELLED
        return True

    async def finish(self, auction_id: int, result: str) -> None:
        """Keeps the result on the card for a while."""
        entry = self._entries.get(auction_id)
        if entry is not None:
            entry.result = result
            entry.closed_at_ms = self._clock()

    async def log(self, auction_id: int) -> list[BidRecord]:
        """Every accepted bid, in order."""
        entry = self._entries.get(auction_id)
        return list(entry.log) if entry else []

    async def maxima(self, auction_id: int) -> dict[int, int]:
        """Each bidder's highest amount."""
        entry = self._entries.get(auction_id)
        return dict(entry.maxima) if entry else {}

    async def owns(self, auction_id: int) -> bool:
        """One node: this one runs every auction."""
        return auction_id in self._entries

    async def claim_lead(self, auction_id: int, seq: int) -> bool:
        """One node, one broadcaster (which never goes backwards itself)."""
        return True

    def listen(self, listener: Listener) -> None:
        """Lead-moving bids go to `listener` inside the judging step, so in seq order."""
        self._listeners.append(listener)

    async def close(self) -> None:
        """Nothing to release."""

    def _live_entry(self, auction_id: int) -> _Entry | None:
        entry = self._entries.get(auction_id)
        if entry is None:
            return None
        if entry.book.status != RUNNING and self._clock() - entry.closed_at_ms > KEEP_CLOSED_MS:
            del self._entries[auction_id]
            if self._of_session.get(entry.session_id) == auction_id:
                del self._of_session[entry.session_id]
            return None
        return entry


def _record(
    auction_id: int, entry: _Entry, bid: Bid, name: str, decision: Accepted, now: int
) -> BidRecord:
    book = decision.book
    leader_name = name if book.leader != decision.previous_leader else entry.leader_name
    return BidRecord(
        auction_id=auction_id,
        session_id=entry.session_id,
        seq=book.seq,
        bidder=bid.bidder,
        bidder_name=name,
        kind=bid.kind,
        amount=bid.amount,
        at_ms=now,
        outcome=decision.outcome,
        price=book.price,
        leader=book.leader,
        leader_name=leader_name,
        leader_max=book.leader_max,
        bids=book.bids,
        ends_at_ms=book.ends_at_ms,
        extended=decision.extended,
        lead_changed=decision.lead_changed,
        previous_leader=decision.previous_leader,
    )
