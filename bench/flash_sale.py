"""Flash-sale benchmark: 1,000 buyers race for 10 units over HTTP, then orders/s with stock.

The server runs in its own process (the real app on the default SQLite store). Buyers are
real HTTP clients on keep-alive connections, each with its own account, token and saved
checkout profile, all calling `POST /api/checkout/buy-now` with an Idempotency-Key.

Runs, side by side in one invocation:
  group commit   - the checkout as built: every request that arrives while a transaction
                   is being written joins the next one (one BEGIN IMMEDIATE per batch)
  one tx/order   - baseline: the same server with batches of one (a transaction per order)
  HTTP floor     - baseline: GET /healthz at the same concurrency (what HTTP alone costs)
  --stripe       - also: group commit with card payments through Stripe, against a real
                   localstripe (PyPI) started here: every order creates and confirms a
                   PaymentIntent with the buyer's saved card (the SDK's HTTP round trip)

    .venv/bin/python bench/flash_sale.py
    .venv/bin/python bench/flash_sale.py --buyers 1000 --units 10 --orders 6000 --concurrency 64
    .venv/bin/python bench/flash_sale.py --stripe
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from _common import Column, Server, Table, percentile, serve_app, start_server, utc_stamp

ADDRESS = {
    "name": "Bench Buyer",
    "line1": "1 Main St",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}


# -- server process -----------------------------------------------------------------------
def serve(data_dir: str, batch: int) -> None:
    """The real app; `batch` caps the checkout batch (1 = a transaction per order)."""
    import logging

    from aiohttp import web

    from live_server.app import create_app
    from live_server.commerce.keys import CHECKOUT
    from live_server.settings import Settings
    from live_server.startup import prepare_process, tune_for_serving

    logging.basicConfig(level=logging.WARNING)
    if os.environ.get("BENCH_SWITCH"):
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH"]))
    settings = Settings.load({"data_dir": Path(data_dir), "demo": True, "host": "127.0.0.1"})
    prepare_process()  # the server's process-wide patches, as its entry point installs them
    app = create_app(settings)
    tune_for_serving()
    checkout = app[CHECKOUT]
    checkout._max_batch = batch
    profile_to = os.environ.get("BENCH_PROFILE")
    if profile_to:  # for finding hot spots: BENCH_PROFILE=/tmp/x.prof
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()

        async def dump(_: web.Application) -> None:
            profiler.disable()
            profiler.dump_stats(f"{profile_to}.{batch}")

        app.on_shutdown.append(dump)
    serve_app(app)


# -- setup --------------------------------------------------------------------------------
@dataclass
class Shop:
    url: str
    session_id: int
    race_product: int
    ample_product: int
    host_token: str
    tokens: list[str] = field(default_factory=list)


async def save_cards(stripe_url: str, data_dir: Path, tokens_of: dict[int, str]) -> None:
    """A Stripe Customer with a saved test card per buyer, made in localstripe directly (the
    sheet's SetupIntent flow is what the tests check; here only paying is measured)."""
    from support.localstripe_server import CARD_OK, SECRET_KEY

    auth = {"Authorization": f"Bearer {SECRET_KEY}"}
    rows: list[tuple[int, str, str, float]] = []
    connector = aiohttp.TCPConnector(limit=16)
    async with aiohttp.ClientSession(stripe_url, connector=connector, headers=auth) as http:

        async def one(user_id: int) -> None:
            resp = await http.post(
                "/v1/customers", json={"metadata": {"liveshop_user_id": str(user_id)}}
            )
            customer = (await resp.json())["id"]
            card = {"number": CARD_OK, "exp_month": 12, "exp_year": 2034, "cvc": "123"}
            resp = await http.post("/v1/payment_methods", json={"type": "card", "card": card})
            method = (await resp.json())["id"]
            resp = await http.post(
                f"/v1/payment_methods/{method}/attach", json={"customer": customer}
            )
            assert resp.status == 200, await resp.text()
            rows.append((user_id, customer, method, time.time()))

        await asyncio.gather(*(one(uid) for uid in tokens_of))
    db = sqlite3.connect(data_dir / "liveshop.db", timeout=30)
    db.executemany(
        "INSERT INTO stripe_customers (user_id, customer_id, payment_method_id, brand, last4,"
        " exp_month, exp_year, created_at, updated_at) VALUES (?, ?, ?, 'visa', '4242', 12,"
        " 2034, ?, ?)",
        [(uid, cus, pm, now, now) for uid, cus, pm, now in rows],
    )
    db.commit()
    db.close()


async def setup(
    url: str, data_dir: Path, buyers: int, units: int, stripe_url: str | None = None
) -> Shop:
    """Demo host's live show with a 10-unit drop and an ample product; `buyers` accounts."""
    from live_server.accounts.credentials import TokenSigner
    from live_server.platform.identity import Role

    async with aiohttp.ClientSession(url) as http:
        resp = await http.post(
            "/api/auth/login", json={"username": "demo-host", "password": "demo"}
        )
        host_token = (await resp.json())["token"]
        host = {"Authorization": "Bearer " + host_token}
        pids = []
        for title, stock in (("Flash drop", units), ("Restocked tee", 10_000_000)):
            resp = await http.post(
                "/api/products",
                json={
                    "title": title,
                    "price_minor": 2500,
                    "currency": "USD",
                    "category": "fashion",
                    "stock": stock,
                },
                headers=host,
            )
            pids.append((await resp.json())["id"])
        resp = await http.post(
            "/api/sessions", json={"title": "Bench show", "product_ids": pids}, headers=host
        )
        session_id = (await resp.json())["id"]
        await http.post(f"/api/sessions/{session_id}/start", headers=host)
    # Accounts straight into the database (registration's scrypt is not what we measure);
    # tokens signed with the server's own key.
    db = sqlite3.connect(data_dir / "liveshop.db", timeout=30)
    now = time.time()
    names = [f"buyer{i:05d}" for i in range(buyers)]
    db.executemany(
        "INSERT INTO users(username, display_name, password_hash, role, interests, created_at)"
        " VALUES (?, ?, '!', 'viewer', '[]', ?)",
        [(n, n.title(), now) for n in names],
    )
    db.commit()
    ids = dict(db.execute("SELECT username, id FROM users WHERE username LIKE 'buyer%'"))
    db.close()
    signer = TokenSigner((data_dir / "secret.key").read_bytes().strip(), 3600)
    shop = Shop(url, session_id, pids[0], pids[1], host_token)
    shop.tokens = [signer.issue(ids[n], n, Role.VIEWER)[0] for n in names]
    method = "cod"
    if stripe_url is not None:
        await save_cards(
            stripe_url, data_dir, {ids[n]: t for n, t in zip(names, shop.tokens, strict=True)}
        )
        method = "card"
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(url, connector=connector) as http:

        async def profile(token: str) -> None:
            resp = await http.put(
                "/api/me/checkout-profile",
                json={"address": ADDRESS, "payment_method": method},
                headers={"Authorization": "Bearer " + token},
            )
            assert resp.status == 200, await resp.text()

        await asyncio.gather(*(profile(t) for t in shop.tokens))
    return shop


# -- a lean HTTP/1.1 keep-alive client ------------------------------------------------------
class RawConnection:
    """One keep-alive connection sending pre-built requests: far cheaper per request than a
    general client, so the load generator (on the same 2 cores) measures the server."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)

    async def open(self) -> RawConnection:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


def request(method: str, path: str, token: str | None = None, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: bench"]
    if token:
        lines.append("Authorization: Bearer " + token)
    if method == "POST":
        lines += ["Idempotency-Key: " + uuid.uuid4().hex, "Content-Type: application/json"]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# -- load -----------------------------------------------------------------------------------
@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    created: int = 0
    sold_out: int = 0
    other: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0


def pct(values: list[float], q: float) -> float:
    """A latency percentile in milliseconds."""
    return percentile(values, q) * 1000


async def race(shop: Shop, server: Server, spread_s: float) -> Outcome:
    """Every buyer on their own warm connection taps Buy once: all at the same instant
    (spread_s = 0) or at random moments within `spread_s` seconds."""
    out = Outcome()
    conns = [await RawConnection(shop.url).open() for _ in shop.tokens]
    body = json.dumps(
        {"product_id": shop.race_product, "source": {"type": "live", "id": shop.session_id}}
    ).encode()
    raws = [request("POST", "/api/checkout/buy-now", t, body) for t in shop.tokens]
    rng = random.Random(5)
    delays = sorted(rng.uniform(0, spread_s) for _ in raws) if spread_s else [0.0] * len(raws)
    for conn in conns:  # warm: the server has accepted and parsed on every connection
        await conn.send(request("GET", "/healthz"))
    gate = asyncio.Event()

    async def buyer(conn: RawConnection, raw: bytes, delay: float) -> None:
        await gate.wait()
        if delay:
            await asyncio.sleep(delay)
        t0 = time.perf_counter()
        status, payload = await conn.send(raw)
        out.latencies.append(time.perf_counter() - t0)
        tally(out, status, json.loads(payload))

    tasks = [
        asyncio.create_task(buyer(c, r, d)) for c, r, d in zip(conns, raws, delays, strict=True)
    ]
    await asyncio.sleep(0.2)
    cpu0, t0 = server.cpu_seconds(), time.perf_counter()
    gate.set()
    await asyncio.gather(*tasks)
    out.wall_s, out.cpu_s = time.perf_counter() - t0, server.cpu_seconds() - cpu0
    for conn in conns:
        conn.close()
    return out


def tally(out: Outcome, status: int, payload: dict[str, Any]) -> None:
    if status == 201:
        out.created += 1
    elif status == 409 and payload["error"]["code"] == "sold_out":
        out.sold_out += 1
    else:
        out.other += 1


async def closed_loop(
    shop: Shop, server: Server, total: int, concurrency: int, *, floor: bool
) -> Outcome:
    """`concurrency` buyers buying back to back until `total` requests are done."""
    out = Outcome()
    body = json.dumps(
        {"product_id": shop.ample_product, "source": {"type": "live", "id": shop.session_id}}
    ).encode()
    conns = [await RawConnection(shop.url).open() for _ in range(concurrency)]
    todo = iter(range(total))
    health = request("GET", "/healthz")

    async def worker(n: int, conn: RawConnection) -> None:
        for i in todo:
            if floor:
                raw = health
            else:
                token = shop.tokens[(i * 7 + n) % len(shop.tokens)]
                raw = request("POST", "/api/checkout/buy-now", token, body)
            t0 = time.perf_counter()
            status, payload = await conn.send(raw)
            out.latencies.append(time.perf_counter() - t0)
            if floor:
                out.created += status == 200
            else:
                tally(out, status, json.loads(payload))

    cpu0, t0 = server.cpu_seconds(), time.perf_counter()
    await asyncio.gather(*(worker(n, c) for n, c in enumerate(conns)))
    out.wall_s, out.cpu_s = time.perf_counter() - t0, server.cpu_seconds() - cpu0
    for conn in conns:
        conn.close()
    return out


async def restock(shop: Shop, units: int) -> None:
    """Put the drop's units back on sale (the host restocks for the next race)."""
    async with aiohttp.ClientSession(shop.url) as http:
        resp = await http.patch(
            f"/api/products/{shop.race_product}",
            json={"stock": units},
            headers={"Authorization": "Bearer " + shop.host_token},
        )
        assert resp.status == 200, await resp.text()


def audit(data_dir: Path, product_id: int, start_stock: int) -> tuple[int, int]:
    """(units sold, oversold units) of a product, from the database itself."""
    db = sqlite3.connect(data_dir / "liveshop.db", timeout=30)
    stock = db.execute("SELECT stock FROM products WHERE id = ?", (product_id,)).fetchone()[0]
    sold = db.execute(
        "SELECT COALESCE(SUM(i.quantity), 0) FROM order_items i JOIN orders o ON o.id = i.order_id"
        " WHERE i.product_id = ? AND o.status IN ('pending_payment', 'confirmed', 'paid')",
        (product_id,),
    ).fetchone()[0]
    db.close()
    assert stock + sold == start_stock, f"lost units: stock {stock} + sold {sold} != {start_stock}"
    return sold, max(0, sold - start_stock)


async def run_variant(
    args: argparse.Namespace, batch: int, root: Path, stripe: Any = None
) -> dict[str, Any]:
    data_dir = root / (f"batch{batch}" + ("-stripe" if stripe is not None else ""))
    data_dir.mkdir()
    env = {"LIVESHOP_LOG_LEVEL": "warning"}
    if stripe is not None:
        from support.localstripe_server import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET

        env.update(
            LIVESHOP_STRIPE_SECRET_KEY=SECRET_KEY,
            LIVESHOP_STRIPE_PUBLISHABLE_KEY=PUBLISHABLE_KEY,
            LIVESHOP_STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
            LIVESHOP_STRIPE_API_BASE=stripe.url,
        )
    server = await asyncio.to_thread(
        start_server,
        [sys.executable, __file__, "--serve", str(data_dir), str(batch)],
        log_path=data_dir / f"server-{batch}.log",
        env=env,
    )
    try:
        if stripe is not None:
            await stripe.webhook_to(f"{server.url}/api/payments/webhook/stripe")
        shop = await setup(
            server.url, data_dir, args.buyers, args.units, stripe.url if stripe else None
        )
        result: dict[str, Any] = {"burst": await race(shop, server, 0.0)}
        result["burst_audit"] = audit(data_dir, shop.race_product, args.units)
        await restock(shop, args.units)
        result["race"] = await race(shop, server, 1.0)
        result["race_audit"] = audit(data_dir, shop.race_product, 2 * args.units)
        orders = args.stripe_orders if stripe is not None else args.orders
        stripe_cpu = _cpu_of(stripe.process.pid) if stripe is not None else 0.0
        result["ample"] = await closed_loop(shop, server, orders, args.concurrency, floor=False)
        if stripe is not None:  # what the fake Stripe itself spent on those orders
            result["stripe_cpu_s"] = _cpu_of(stripe.process.pid) - stripe_cpu
        result["ample_audit"] = audit(data_dir, shop.ample_product, 10_000_000)
        if batch > 1 and stripe is None:
            result["floor"] = await closed_loop(
                shop, server, args.orders, args.concurrency, floor=True
            )
        return result
    finally:
        server.stop()


def _cpu_of(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--buyers", type=int, default=1000)
    parser.add_argument("--units", type=int, default=10)
    parser.add_argument("--orders", type=int, default=6000, help="requests in the ample run")
    parser.add_argument("--concurrency", type=int, default=64, help="buyers in the ample run")
    parser.add_argument(
        "--stripe", action="store_true", help="also run with Stripe (localstripe) as provider"
    )
    parser.add_argument("--stripe-orders", type=int, default=1500, help="ample run, Stripe")
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    with tempfile.TemporaryDirectory(prefix="bench-flash-") as tmp:
        root = Path(tmp)
        grouped = asyncio.run(run_variant(args, 512, root))
        single = asyncio.run(run_variant(args, 1, root))
        carded = None
        if args.stripe:
            from support.localstripe_server import running_localstripe

            with running_localstripe() as stripe:
                carded = asyncio.run(run_variant(args, 512, root, stripe))
    print_table(args, grouped, single, carded)


def print_table(
    args: argparse.Namespace,
    grouped: dict[str, Any],
    single: dict[str, Any],
    carded: dict[str, Any] | None = None,
) -> None:
    when = utc_stamp()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\nflash sale benchmark, {when}, {os.cpu_count()} cores, SQLite (WAL,"
        f" synchronous=NORMAL); machine load average {load} (other work shares the cores)"
    )
    print(
        f"race: {args.buyers} buyers, each on a warm connection, tap Buy once for {args.units}"
        " units: all at the same instant (burst), or within the same second (race)"
    )
    print(f"ample: {args.orders} buy-now requests from {args.concurrency} concurrent buyers\n")
    table = Table(
        Column("run", width=28, left=True),
        Column("requests", width=9),
        Column("orders", width=8),
        Column("sold out", width=9),
        Column("other", width=7),
        Column("oversold", width=9),
        Column("p50 ms", ".1f", width=8),
        Column("p99 ms", ".1f", width=8),
        Column("orders/s", ",.0f", width=10),
        Column("srv CPU/order", width=15),
    )

    def row(name: str, out: Outcome, oversold: int | None, floor: bool = False) -> None:
        table.add(
            name,
            len(out.latencies),
            "-" if floor else out.created,
            out.sold_out,
            out.other,
            "-" if oversold is None else oversold,
            pct(out.latencies, 0.5),
            pct(out.latencies, 0.99),
            (out.created / out.wall_s) if out.wall_s else 0.0,
            f"{out.cpu_s / out.created * 1e6:,.0f} us" if out.created else "-",
        )

    row("burst (1 instant), grouped", grouped["burst"], grouped["burst_audit"][1])
    row("burst, one tx/order (base)", single["burst"], single["burst_audit"][1])
    row("race (1 second), grouped", grouped["race"], grouped["race_audit"][1])
    row("race, one tx/order (base)", single["race"], single["race_audit"][1])
    row("ample, group commit", grouped["ample"], grouped["ample_audit"][1])
    row("ample, one tx/order (base)", single["ample"], single["ample_audit"][1])
    row("HTTP floor, GET /healthz", grouped["floor"], None, floor=True)
    if carded is not None:
        row("race, grouped, Stripe card", carded["race"], carded["race_audit"][1])
        row("ample, group commit, Stripe", carded["ample"], carded["ample_audit"][1])
    print(table.text())
    g, s, f = grouped["ample"], single["ample"], grouped["floor"]

    def rate(o: Outcome) -> float:
        return o.created / o.wall_s if o.wall_s else 0.0

    print(
        f"\ngroup commit vs one tx/order: {rate(g) / max(rate(s), 1e-9):.2f}x orders/s; "
        f"orders/s as a share of the HTTP floor: {rate(g) / max(rate(f), 1e-9):.0%}"
    )

    def cap(o: Outcome) -> float:
        return o.created / o.cpu_s if o.cpu_s else 0.0

    print(
        f"capacity per server CPU-second (noise-robust): group commit {cap(g):,.0f} orders, "
        f"one tx/order {cap(s):,.0f} orders ({cap(g) / max(cap(s), 1e-9):.2f}x), "
        f"HTTP floor {f.created / f.cpu_s if f.cpu_s else 0:,.0f} requests"
    )
    race_p99 = pct(grouped["race"].latencies, 0.99)
    print(
        f"targets: oversold 0 -> {grouped['race_audit'][1]}; race p99 < 100 ms -> "
        f"{race_p99:.1f} ms; >= 1,000 orders/s -> {rate(g):,.0f}"
    )
    if carded is not None:
        c = carded["ample"]
        print(
            f"with Stripe (localstripe): race p99 {pct(carded['race'].latencies, 0.99):.1f} ms,"
            f" oversold {carded['race_audit'][1]}; {rate(c):,.0f} orders/s"
            f" ({rate(c) / max(rate(g), 1e-9):.0%} of the offline provider's), server CPU"
            f" {c.cpu_s / max(c.created, 1) * 1e6:,.0f} us/order, localstripe's own CPU"
            f" {carded['stripe_cpu_s'] / max(c.created, 1) * 1e6:,.0f} us/order"
        )
    burst = grouped["burst"]
    print(
        f"burst: the last of {len(burst.latencies)} answers after {burst.wall_s * 1000:.0f} ms "
        f"(mean {statistics.mean(burst.latencies) * 1000:.1f} ms)"
    )


if __name__ == "__main__":
    main()
