"""The giveaway draw: uniform, reproducible from its record, and tamper-evident."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from live_server.commerce.giveaways.rules import (
    Attempt,
    commitment,
    draw_index,
    entrants_hash,
    next_pick,
    replay_draw,
)

SEED = bytes(range(32))


def test_the_commitment_is_the_seeds_sha256() -> None:
    assert commitment(SEED) == hashlib.sha256(SEED).hexdigest()


def test_the_list_hash_ignores_entry_order_but_not_who() -> None:
    assert entrants_hash(1, [3, 1, 2]) == entrants_hash(1, [1, 2, 3])
    assert entrants_hash(1, [1, 2, 3]) != entrants_hash(1, [1, 2, 4])
    assert entrants_hash(1, [1, 2, 3]) != entrants_hash(2, [1, 2, 3])


def test_draws_are_deterministic_and_spread_evenly() -> None:
    assert draw_index(SEED, "h", 0, 7) == draw_index(SEED, "h", 0, 7)
    counts = Counter(draw_index(SEED, f"h{i}", 0, 3) for i in range(3_000))
    assert set(counts) == {0, 1, 2}
    assert all(800 < c < 1_200 for c in counts.values()), counts
    with pytest.raises(ValueError):
        draw_index(SEED, "h", 0, 0)


def test_a_stored_draw_replays_and_a_forged_one_does_not() -> None:
    entrants = [10, 20, 30, 40]
    pool = sorted(entrants)
    h = entrants_hash(5, pool)
    first = next_pick(SEED, h, pool, 0)
    pool.remove(first)  # not in the room any more
    second = next_pick(SEED, h, pool, 1)
    record = [Attempt(0, first, False), Attempt(1, second, True)]
    assert replay_draw(SEED, 5, entrants, record) == second
    forged = [Attempt(0, first, False), Attempt(1, next(u for u in pool if u != second), True)]
    with pytest.raises(ValueError, match="attempt 1 picks"):
        replay_draw(SEED, 5, entrants, forged)
    with pytest.raises(ValueError):
        replay_draw(bytes(32), 5, entrants, record)  # another seed draws someone else
    # nobody present: every entrant was tried
    pool, tried = sorted(entrants), []
    for n in range(4):
        pick = next_pick(SEED, h, pool, n)
        tried.append(Attempt(n, pick, False))
        pool.remove(pick)
    assert replay_draw(SEED, 5, entrants, tried) is None
    with pytest.raises(ValueError, match="stops before"):
        replay_draw(SEED, 5, entrants, tried[:2])
