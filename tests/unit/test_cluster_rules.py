"""The cluster's pure rules: routing a viewer, leases, relay tokens and watch tickets."""

from __future__ import annotations

from live_server.cluster import rules
from live_server.cluster.rules import Full, Lease, NodeInfo, RedirectTo, ServeHere

SECRET = "s3cret"


def node(node_id: str, viewers: int = 0, capacity: int = 0, **kw: object) -> NodeInfo:
    return NodeInfo(
        node_id=node_id,
        url=f"http://{node_id}:8080",
        webrtc_viewers=viewers,
        capacity=capacity,
        **kw,  # type: ignore[arg-type]
    )


def test_a_node_with_room_serves_unless_another_is_clearly_emptier() -> None:
    here = node("a", viewers=5, capacity=10)
    close = node("e", viewers=3, capacity=10)  # two fewer: not worth a redirect
    assert rules.route_viewer(here, [here, close], may_redirect=True) == ServeHere()
    assert rules.route_viewer(here, [here], may_redirect=True) == ServeHere()
    busy = node("b", viewers=9, capacity=10)
    assert rules.route_viewer(here, [here, busy], may_redirect=True) == ServeHere()
    empty = node("c", viewers=1, capacity=10)
    decision = rules.route_viewer(here, [here, busy, empty], may_redirect=True)
    assert decision == RedirectTo(empty)


def test_a_full_node_redirects_to_the_emptiest_with_room_or_says_full() -> None:
    full = node("a", viewers=1, capacity=1)
    other = node("b", viewers=3, capacity=10)
    fuller = node("c", viewers=9, capacity=10)
    decision = rules.route_viewer(full, [full, fuller, other], may_redirect=True)
    assert isinstance(decision, RedirectTo) and decision.node.node_id == "b"
    assert rules.route_viewer(full, [full], may_redirect=True, retry_after=7) == Full(7)
    # a viewer that was already sent here is never sent on
    assert rules.route_viewer(full, [full, other], may_redirect=False) == Full(30)
    # a node over its CPU limit takes nobody
    hot = node("d", cpu=0.95, cpu_limit=0.9)
    assert not hot.has_room()


def test_redirects_not_yet_in_the_figures_count_as_load() -> None:
    here = node("a", viewers=10, capacity=10)
    b = node("b", viewers=0, capacity=2)
    c = node("c", viewers=0, capacity=2)
    first = rules.route_viewer(here, [here, b, c], may_redirect=True)
    assert isinstance(first, RedirectTo)
    sent = {first.node.node_id: 1}
    second = rules.route_viewer(here, [here, b, c], may_redirect=True, redirected=sent)
    assert isinstance(second, RedirectTo) and second.node.node_id != first.node.node_id
    both = {"b": 2, "c": 2}
    assert isinstance(
        rules.route_viewer(here, [here, b, c], may_redirect=True, redirected=both), Full
    )


def test_uncapped_nodes_balance_by_viewers_and_counts_sum() -> None:
    here = node("a", viewers=20, shows={1: 20})
    other = node("b", viewers=4, relays=1, shows={1: 3, 2: 1})
    assert rules.route_viewer(here, [here, other], may_redirect=True, margin=20) == ServeHere()
    assert rules.route_viewer(here, [here, other], may_redirect=True) == RedirectTo(other)
    assert rules.show_viewers([here, other], 1) == 23
    stale = NodeInfo("old", "http://old", updated_at=100.0)
    assert (
        rules.fresh_nodes([stale, NodeInfo("new", "x", updated_at=109.0)], now=110.0)[0].node_id
        == "new"
    )


def test_node_info_round_trips_through_the_registry_fields() -> None:
    info = node("a", viewers=3, capacity=9, relays=2, cpu=0.5, shows={4: 3}, updated_at=12.5)
    assert NodeInfo.from_fields("a", info.to_fields()) == info
    assert NodeInfo.from_fields("x", {"cpu": "garbage", "shows": "[]"}).cpu == 0.0


def test_lease_encoding_and_the_end_marker() -> None:
    lease = Lease(7, "node1", "http://a:1", 3, public=False)
    assert Lease.decode(7, lease.encode()) == lease
    assert Lease.decode(7, rules.ENDED_MARKER) is None
    assert Lease.decode(7, None) is None
    assert Lease.decode(7, "{broken") is None


def test_relay_tokens_are_bound_to_node_show_and_time() -> None:
    token = rules.sign_relay_token(SECRET, "edge1", 5, expires_at=1060)
    assert rules.verify_relay_token(SECRET, token, 5, now=1000) == "edge1"
    assert rules.verify_relay_token(SECRET, token, 6, now=1000) is None  # another show
    assert rules.verify_relay_token(SECRET, token, 5, now=1061) is None  # expired
    assert rules.verify_relay_token("other", token, 5, now=1000) is None  # forged
    _node, sid, exp, mac = token.split(".")
    assert rules.verify_relay_token(SECRET, f"edge2.{sid}.{exp}.{mac}", 5, now=1000) is None
    far = rules.sign_relay_token(SECRET, "edge1", 5, expires_at=1000 + 10_000)
    assert rules.verify_relay_token(SECRET, far, 5, now=1000) is None  # too long-lived
    for junk in ("", "a.b", "x.5.1060.zz", "edge1.5.abc.00"):
        assert rules.verify_relay_token(SECRET, junk, 5, now=1000) is None


def test_watch_tickets_are_bound_to_show_and_time_and_differ_from_relay_tokens() -> None:
    ticket = rules.sign_watch_ticket(SECRET, 9, expires_at=1030)
    assert rules.verify_watch_ticket(SECRET, ticket, 9, now=1000)
    assert not rules.verify_watch_ticket(SECRET, ticket, 8, now=1000)
    assert not rules.verify_watch_ticket(SECRET, ticket, 9, now=1031)
    assert not rules.verify_watch_ticket("other", ticket, 9, now=1000)
    sid, _viewer, exp, mac = ticket.split(".")
    assert rules.verify_relay_token(SECRET, f"n.{sid}.{exp}.{mac}", 9, now=1000) is None
    assert rules.ticket_viewer(ticket) is None  # anonymous


def test_watch_tickets_name_the_viewer_they_were_checked_for() -> None:
    ticket = rules.sign_watch_ticket(SECRET, 9, expires_at=1030, viewer=42)
    assert rules.verify_watch_ticket(SECRET, ticket, 9, now=1000)
    assert rules.ticket_viewer(ticket) == 42
    sid, _viewer, exp, mac = ticket.split(".")
    # another user's id in a ticket signed for 42 (or for nobody) does not verify
    assert not rules.verify_watch_ticket(SECRET, f"{sid}.43.{exp}.{mac}", 9, now=1000)
    assert not rules.verify_watch_ticket(SECRET, f"{sid}.0.{exp}.{mac}", 9, now=1000)
