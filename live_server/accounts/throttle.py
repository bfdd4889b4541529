"""Log-in and sign-up throttles: slow down guessing and sign-up floods, never lock out.

The log-in throttle is a backoff, not a lock: after `max_failures` wrong passwords in a
row, an account (and a client address) must wait before its next attempt is judged:
`backoff_base_s`, then twice as long after each further failure, at most `backoff_max_s`.
Attempts during the wait are answered 429 without looking at the password. Once the wait
is over an attempt is judged on its merits and the right password always gets in: wrong
guesses slow the owner down, they never lock them out (a fixed lock-out after five
guesses was a denial-of-service tool). A success forgives the failures that led up to it.

Per address, a success forgives only the failures that address made on the account that
logged in: behind a shared address (an office, a proxy without `trusted_proxies`) each
person's typos are forgiven by their own log-in, while a guesser cannot wipe their record
against other accounts by logging in to an account of their own.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

#: Entries per table before the forgotten ones are swept (memory bound under a flood).
MAX_ENTRIES = 100_000


@dataclass
class _Record:
    """Failures counted against one account or one address."""

    failures: dict[str, int] = field(default_factory=dict)  # per account (an account: one)
    total: int = 0
    not_before: float = 0.0  # monotonic time of the next attempt allowed
    last: float = 0.0


class LoginThrottle:
    """Exponential backoff per account and per client address (see the module docstring)."""

    def __init__(
        self,
        max_failures: int,
        window_s: float,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 60.0,
    ) -> None:
        self.max_failures = max(1, max_failures)
        self.window_s = window_s  # failures are forgotten this long after the last wait ends
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self._accounts: dict[str, _Record] = {}
        self._addresses: dict[str, _Record] = {}

    def delay(self, failures: int) -> float:
        """The wait after `failures` failures in a row: none before `max_failures`."""
        if failures < self.max_failures:
            return 0.0
        return min(self.backoff_base_s * 2.0 ** (failures - self.max_failures), self.backoff_max_s)

    def begin(self, account: str, address: str, now: float | None = None) -> int:
        """Whole seconds to wait before this attempt may be judged; 0 when it may be now.

        An attempt that may go ahead counts as a failure of its account at once (a success
        takes it back): attempts sent in parallel cannot all slip in before the first
        failure is recorded.
        """
        now = time.monotonic() if now is None else now
        records = [
            self._get(self._accounts, account, now),
            self._get(self._addresses, address, now),
        ]
        wait = max((r.not_before - now for r in records if r is not None), default=0.0)
        if wait > 0:
            return math.ceil(wait)
        record = self._accounts.setdefault(account, _Record())
        self._count(record, account, now)
        self._sweep()
        return 0

    def failed(self, account: str, address: str, now: float | None = None) -> None:
        """A wrong password (the account's failure was counted by `begin`)."""
        now = time.monotonic() if now is None else now
        account_record = self._accounts.setdefault(account, _Record())
        # the wait runs from the answer, not from the start of a slow password check
        account_record.not_before = max(
            account_record.not_before, now + self.delay(account_record.total)
        )
        self._count(self._addresses.setdefault(address, _Record()), account, now)
        self._sweep()

    def succeeded(self, account: str, address: str) -> None:
        """The right password: the account's failures and this address's on it are forgiven."""
        self._accounts.pop(account, None)
        record = self._addresses.get(address)
        if record is not None:
            record.total -= record.failures.pop(account, 0)
            if record.total <= 0:
                del self._addresses[address]

    def _count(self, record: _Record, account: str, now: float) -> None:
        record.failures[account] = record.failures.get(account, 0) + 1
        record.total += 1
        record.last = now
        record.not_before = max(record.not_before, now + self.delay(record.total))

    def _get(self, records: dict[str, _Record], key: str, now: float) -> _Record | None:
        record = records.get(key)
        if record is not None and self._forgotten(record, now):
            del records[key]
            return None
        return record

    def _forgotten(self, record: _Record, now: float) -> bool:
        return now >= max(record.last, record.not_before) + self.window_s

    def _sweep(self) -> None:
        for records in (self._accounts, self._addresses):
            if len(records) > MAX_ENTRIES:
                now = time.monotonic()
                for key in [k for k, r in records.items() if self._forgotten(r, now)]:
                    del records[key]
                _trim(records, lambda r: r.last)


class SignupThrottle:
    """A token bucket per client address: `burst` sign-ups at once, then `per_hour`.

    Each sign-up costs a scrypt hash (about 50 ms of a core); without a limit one address
    could keep a core busy hashing throw-away accounts.
    """

    def __init__(self, burst: int, per_hour: float) -> None:
        self.burst = max(1, burst)
        self.rate_per_s = max(per_hour, 0.0) / 3600.0
        self._buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, updated)

    def take(self, address: str, now: float | None = None) -> int:
        """Takes one sign-up for `address`: 0 when allowed, else whole seconds to wait."""
        now = time.monotonic() if now is None else now
        tokens, updated = self._buckets.get(address, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - updated) * self.rate_per_s)
        if tokens < 1.0:
            if self.rate_per_s <= 0:
                return 3600
            return max(1, math.ceil((1.0 - tokens) / self.rate_per_s))
        self._buckets[address] = (tokens - 1.0, now)
        if len(self._buckets) > MAX_ENTRIES:  # full buckets carry nothing: drop them
            full = [
                a
                for a, (t, u) in self._buckets.items()
                if t + (now - u) * self.rate_per_s >= self.burst
            ]
            for key in full:
                del self._buckets[key]
            _trim(self._buckets, lambda bucket: bucket[1])
        return 0


def _trim(records: dict[str, T], last_used: Callable[[T], float]) -> None:
    """Keeps the most recently used half when a sweep freed too little (a flood from
    countless addresses): memory stays bounded and sweeps stay rare."""
    if len(records) <= MAX_ENTRIES // 2:
        return
    keep = sorted(records.items(), key=lambda item: last_used(item[1]))[-(MAX_ENTRIES // 2) :]
    records.clear()
    records.update(keep)
