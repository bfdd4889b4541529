"""Pure giveaway rules: the entrant list's hash, and a draw anyone can check afterwards.

The draw is a commit-and-reveal: when the giveaway starts, the server picks a 32-byte seed
with `secrets` and publishes only its SHA-256 (`commitment`). At the end the entrants are
sorted by user id and hashed (`entrants_hash`); each attempt picks an index from
HMAC-SHA256(seed, hash:attempt:counter) by rejection sampling (uniform, no modulo bias).
An entrant who is no longer in the room is set aside and the next attempt draws among the
others. The seed, the hash and every attempt are stored: `replay_draw` recomputes the same
winner from them, and the commitment shows the seed was fixed before anyone entered.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

MIN_DURATION_S: Final = 10
MAX_DURATION_S: Final = 3600
MAX_PRIZE_LEN: Final = 200
_SPACE: Final = 2**64


def commitment(seed: bytes) -> str:
    """What is published at the start: the seed's SHA-256."""
    return hashlib.sha256(seed).hexdigest()


def entrants_hash(giveaway_id: int, entrants: Sequence[int]) -> str:
    """SHA-256 of the giveaway id and its entrants' user ids, sorted."""
    text = f"giveaway:{giveaway_id}:" + ",".join(str(u) for u in sorted(entrants))
    return hashlib.sha256(text.encode()).hexdigest()


def draw_index(seed: bytes, list_hash: str, attempt: int, n: int) -> int:
    """A uniform index in [0, n) for one attempt, from the seed (deterministic)."""
    if n < 1:
        raise ValueError("nobody to draw from")
    limit = _SPACE - _SPACE % n  # values at or above this would favour the low indices
    counter = 0
    while True:
        mac = hmac.new(seed, f"{list_hash}:{attempt}:{counter}".encode(), hashlib.sha256)
        value = int.from_bytes(mac.digest()[:8], "big")
        if value < limit:
            return value % n
        counter += 1


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt of a draw: who it picked and whether they were still in the room."""

    attempt: int
    user_id: int
    present: bool


def next_pick(seed: bytes, list_hash: str, pool: Sequence[int], attempt: int) -> int:
    """The entrant attempt `attempt` picks from `pool` (sorted, without those set aside)."""
    return pool[draw_index(seed, list_hash, attempt, len(pool))]


def replay_draw(
    seed: bytes, giveaway_id: int, entrants: Sequence[int], attempts: Sequence[Attempt]
) -> int | None:
    """Recomputes a stored draw; the winner, or None. ValueError if the record disagrees."""
    pool = sorted(entrants)
    list_hash = entrants_hash(giveaway_id, pool)
    for n, recorded in enumerate(attempts):
        picked = next_pick(seed, list_hash, pool, n)
        if recorded.attempt != n or recorded.user_id != picked:
            raise ValueError(f"attempt {n} picks {picked}, the record says {recorded.user_id}")
        if recorded.present:
            return picked
        pool.remove(picked)
    if pool:
        raise ValueError("the record stops before anyone present was drawn")
    return None
