"""Feed ranking rules and the page cursor (pure domain)."""

from __future__ import annotations

import pytest

from live_server.content.feed.rules import (
    CursorError,
    FeedCursor,
    ItemSignals,
    Profile,
    category_mask,
    clamp_limit,
    engagement_score,
    freshness,
    mask_categories,
    score,
)

NOW = 1_800_000_000.0


def _item(
    i: int, cats: list[str], age_h: float = 1.0, eng: float = 0.0, sponsored: bool = False
) -> ItemSignals:
    return ItemSignals(
        i,
        category_mask(cats),
        creator_id=100 + i,
        created_at=NOW - age_h * 3600,
        engagement=eng,
        sponsored=sponsored,
    )


def _rank(
    items: list[ItemSignals],
    profile: Profile,
    seen: set[int] = frozenset(),
    follows: set[int] = frozenset(),
) -> list[int]:  # type: ignore[assignment]
    return [
        it.id
        for it in sorted(
            items,
            key=lambda it: (
                -score(
                    it, profile, followed=it.creator_id in follows, seen=it.id in seen, as_of=NOW
                )
            ),
        )
    ]


def test_masks_round_trip_and_ignore_unknown() -> None:
    mask = category_mask(["tech", "pets", "nonsense"])
    assert mask_categories(mask) == ["tech", "pets"]
    assert category_mask([]) == 0


def test_interest_match_outranks_unmatched_item() -> None:
    items = [_item(1, ["tech"]), _item(2, ["beauty"])]
    techie = Profile(1, interest_mask=category_mask(["tech", "gaming"]))
    beauty = Profile(2, interest_mask=category_mask(["beauty", "fashion"]))
    assert _rank(items, techie)[0] == 1
    assert _rank(items, beauty)[0] == 2


def test_different_interests_give_different_orders_over_many_items() -> None:
    cats = ["tech", "beauty", "home", "pets", "fitness", "toys", "books", "food"]
    items = [_item(i, [cats[i % len(cats)]], age_h=i % 17, eng=(i % 5) / 3) for i in range(1, 80)]
    a = Profile(11, interest_mask=category_mask(cats[:4]))
    b = Profile(12, interest_mask=category_mask(cats[4:]))
    ra, rb = _rank(items, a), _rank(items, b)
    assert ra != rb
    top_a = {items[i - 1].category_mask for i in ra[:10]}
    assert top_a <= {category_mask([c]) for c in cats[:4]}


def test_seen_items_drop_below_unseen_ones() -> None:
    items = [_item(1, ["tech"], eng=2.0), _item(2, ["tech"])]
    profile = Profile(1, interest_mask=category_mask(["tech"]))
    assert _rank(items, profile)[0] == 1
    assert _rank(items, profile, seen={1})[0] == 2


def test_follows_purchases_and_likes_raise_rank() -> None:
    items = [_item(1, ["home"]), _item(2, ["toys"])]
    base = Profile(1)
    assert score(items[1], base, followed=True, seen=False, as_of=NOW) > score(
        items[1], base, followed=False, seen=False, as_of=NOW
    )
    bought = Profile(1, purchased_mask=category_mask(["toys"]))
    liked = Profile(1, liked_mask=category_mask(["toys"]))
    for prof in (bought, liked):
        assert score(items[1], prof, followed=False, seen=False, as_of=NOW) > score(
            items[1], base, followed=False, seen=False, as_of=NOW
        )


def test_freshness_and_engagement_are_monotonic() -> None:
    assert freshness(NOW, NOW, 72) == 1.0
    assert freshness(NOW - 72 * 3600, NOW, 72) == pytest.approx(0.5)
    assert freshness(NOW + 50, NOW, 72) == 1.0  # clock skew never boosts past 1
    assert engagement_score(0, 0, 0, 0) == 0.0
    assert (
        engagement_score(10, 0, 0, 0)
        < engagement_score(10, 5, 0, 0)
        < engagement_score(10, 5, 0, 3)
    )


def test_cursor_round_trip_and_owner_check() -> None:
    cur = FeedCursor.start(42, NOW)
    text = cur.encode()
    back = FeedCursor.decode(text, 42)
    assert back == cur
    assert FeedCursor.decode(back.next().encode(), 42).page == 1
    with pytest.raises(CursorError):
        FeedCursor.decode(text, 43)
    with pytest.raises(CursorError):
        FeedCursor.decode(text, None)


@pytest.mark.parametrize("junk", ["", "%%%", "bm90IGpzb24", "W10", "eyJmIjoxfQ", "x" * 300])
def test_cursor_junk_is_refused(junk: str) -> None:
    with pytest.raises(CursorError):
        FeedCursor.decode(junk, None)


def test_clamp_limit() -> None:
    assert clamp_limit(None) == 10
    assert clamp_limit("500") == 50
    assert clamp_limit("0") == 1
    with pytest.raises(ValueError):
        clamp_limit("ten")
