"""`mercato demo`: a scripted buyer journey across a whole local network, through the buyer SDK.

Search across every seller, buy from three of them in one cart (one order per seller), cancel one
order, move one through to delivery with the merchant's admin API, and rate it; then run a demand
pool at the manufacturer (:mod:`mercato.network.demo_pool`). Every step is timed; the run is ``ok``
only when every step did what it should.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from mercato.buyer.sdk.client import Client
from mercato.buyer.sdk.types import Cart, Order, SearchResult
from mercato.network.local import NetworkPlan, SellerNode

# one query per kind of seed shop: together they reach every seller of a seeded network
QUERIES = {"grocery": "atta", "electronics": "earbuds", "fashion": "kurta", "manufacturer": "tiffin"}
BUY = {"grocery": ("atta-5kg", 2), "electronics": ("earbuds-anc", 1), "fashion": ("kurta-khadi-m", 1)}
CANCEL_KIND, DELIVER_KIND = "grocery", "electronics"
BUYER_CANCEL_REASON = "010"  # ONDC: buyer wants to modify address / other order details
MERCHANT_MOVES = ("accept", "pack", "ship", "out-for-delivery", "deliver")
BILLING = {
    "name": "Asha Rao",
    "phone": "+91 98450 12345",
    "email": "asha@example.org",
    "address": "21, 7th Main, BTM Layout 2nd Stage, Bengaluru 560076",
}
FULFILLMENT = {
    "type": "Delivery",
    "address": BILLING["address"],
    "gps": "12.916576,77.610116",
    "area_code": "560076",
}


class StepFailed(Exception):
    pass


@dataclass
class Step:
    name: str
    ok: bool
    seconds: float
    detail: str


@dataclass
class DemoReport:
    steps: list[Step] = field(default_factory=list)
    sellers_found: int = 0
    orders_confirmed: int = 0
    orders_cancelled: int = 0
    orders_delivered: int = 0
    ratings: int = 0
    pool: dict[str, Any] = field(default_factory=dict)  # the demand pool step's outcome
    # seller -> (start, end) of the delivery window its on_confirm promised (from its supply twin)
    promised: dict[str, tuple[str, str] | None] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.ok for s in self.steps)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "sellers_found": self.sellers_found,
            "orders_confirmed": self.orders_confirmed,
            "orders_cancelled": self.orders_cancelled,
            "orders_delivered": self.orders_delivered,
            "ratings": self.ratings,
            "pool": self.pool,
            "promised": {k: list(v) if v else None for k, v in self.promised.items()},
            "timings_s": {s.name: round(s.seconds, 3) for s in self.steps},
            "steps": [{"name": s.name, "ok": s.ok, "seconds": round(s.seconds, 3), "detail": s.detail}
                      for s in self.steps],
        }  # fmt: skip


def promised_window(order: Order) -> tuple[str, str] | None:
    """The delivery window the seller promised: its order's end stop ``time.range``."""
    for f in (order.order or {}).get("fulfillments") or []:
        for stop in f.get("stops") or []:
            rng = (stop.get("time") or {}).get("range") or {}
            if stop.get("type") == "end" and rng.get("start") and rng.get("end"):
                return str(rng["start"]), str(rng["end"])
    return None


class Demo:
    def __init__(self, plan: NetworkPlan, client: Client, say: Callable[[str], None]) -> None:
        self.plan = plan
        self.client = client
        self.say = say
        self.report = DemoReport()
        self.results: list[SearchResult] = []
        self.orders: dict[str, Order] = {}  # kind -> confirmed order

    async def step(self, name: str, work: Callable[[], Awaitable[str]]) -> bool:
        t0 = time.monotonic()
        try:
            detail, ok = await work(), True
        except Exception as exc:  # noqa: BLE001 - every failure becomes a failed step with its reason
            detail, ok = f"{type(exc).__name__}: {exc}", False
        step = Step(name, ok, time.monotonic() - t0, detail)
        self.report.steps.append(step)
        self.say(f"{'ok ' if ok else 'FAIL'} {name:<10} {step.seconds:6.2f}s  {detail}")
        return ok

    def node_of(self, kind: str) -> SellerNode:
        for node in self.plan.seller_nodes:
            if node.shop.kind == kind:
                return node
        raise StepFailed(f"the network has no {kind} seller")

    # --- the steps -------------------------------------------------------------------------------

    async def search(self) -> str:
        async def one(text: str) -> list[SearchResult]:
            return await self.client.search(text, deadline=3.0, mode="both").collect()

        found = await asyncio.gather(*(one(q) for q in QUERIES.values()))
        self.results = [r for rs in found for r in rs]
        sellers = {r.bpp_id for r in self.results}
        self.report.sellers_found = len(sellers)
        expected = {n.subscriber_id for n in self.plan.seller_nodes}
        if not expected <= sellers:
            raise StepFailed(
                f"found {len(sellers)} of {len(expected)} sellers; missing {sorted(expected - sellers)}"
            )
        return f"{len(self.results)} results from {len(sellers)} sellers"

    async def checkout(self) -> str:
        cart = Cart()
        for kind, (sku, qty) in BUY.items():
            seller = self.node_of(kind).subscriber_id
            result = next(
                (r for r in self.results if r.bpp_id == seller and any(i.id == sku for i in r.items)), None
            )
            if result is None:
                raise StepFailed(f"{sku} of {seller} was not among the search results")
            cart.add(result, sku, qty)
        outcome = await self.client.checkout(cart, billing=BILLING, fulfillment=FULFILLMENT, deadline=30.0)
        kinds = {self.node_of(k).subscriber_id: k for k in BUY}
        failed = [f"{r.bpp_id}: {r.error}" for r in outcome if not r.ok]
        for r in outcome:
            if r.ok and r.order is not None:
                self.orders[kinds[r.bpp_id]] = r.order
        self.report.orders_confirmed = len(self.orders)
        if failed or len(self.orders) != len(BUY):
            raise StepFailed(f"{len(self.orders)} of {len(BUY)} orders confirmed; {'; '.join(failed)}")
        total = sum(o.total or 0 for o in self.orders.values())
        self.report.promised = {o.bpp_id: promised_window(o) for o in self.orders.values()}
        missing = sorted(bpp for bpp, window in self.report.promised.items() if window is None)
        if missing:
            raise StepFailed(f"no promised delivery window in the on_confirm of {', '.join(missing)}")
        by = ", ".join(
            f"{bpp.split('.')[0]} by {w[1][:10]}" for bpp, w in sorted(self.report.promised.items()) if w
        )
        return f"{len(self.orders)} orders, one per seller, {total / 100:,.2f} INR in all; promised: {by}"

    async def cancel(self) -> str:
        order = await self.client.cancel(self.orders[CANCEL_KIND], BUYER_CANCEL_REASON)
        if (order.status or "").upper() != "CANCELLED":
            raise StepFailed(f"the seller answered status {order.status!r}, not CANCELLED")
        self.report.orders_cancelled = 1
        return f"{order.bpp_id} cancelled order {order.order_id} (reason {BUYER_CANCEL_REASON})"

    async def deliver(self) -> str:
        order = self.orders[DELIVER_KIND]
        node = self.node_of(DELIVER_KIND)
        headers = {"Authorization": f"Bearer {node.admin_token()}"}
        async with httpx.AsyncClient(base_url=node.url, headers=headers, timeout=10) as admin:
            for move in MERCHANT_MOVES:
                r = await admin.post(f"/admin/orders/{order.order_id}/{move}")
                if r.status_code != 200:
                    raise StepFailed(f"admin {move}: HTTP {r.status_code} {r.text[:200]}")
        # the seller tells the buyer by unsolicited on_status; wait until the buyer node has it
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            seen = await self.client.order(order)
            if seen.fulfillment_state == "Order-delivered":
                self.orders[DELIVER_KIND] = seen
                self.report.orders_delivered = 1
                return f"{' → '.join(MERCHANT_MOVES)}; the buyer saw Order-delivered (status {seen.status})"
            await asyncio.sleep(0.2)
        raise StepFailed(f"the buyer still sees {seen.fulfillment_state!r} after 15 s")

    async def rate(self) -> str:
        rated = await self.client.rate(self.orders[DELIVER_KIND], 5)
        self.report.ratings = 1
        return f"5 stars for order {rated.order.order_id}"

    async def pool(self) -> str:
        from mercato.network.demo_pool import run_pool

        self.report.pool = await run_pool(self.node_of("manufacturer"), self.client, BILLING, FULFILLMENT)
        p = self.report.pool
        return (
            f"{p['commitments']} commitments, {len(p['orders'])} orders at the manufacturer, "
            f"{len(p['rejected'])} rejected ({', '.join(sorted(set(p['rejected'].values())))}); "
            f"clearing verified: {p['verified']}"
        )

    async def cross_pool(self) -> str:
        from mercato.network.demo_pool import run_cross_pool

        p = await run_cross_pool(self.plan, self.client, BILLING, FULFILLMENT)
        self.report.pool["cross_manufacturer"] = p
        per = ", ".join(
            f"{n} at {bpp.split('.')[0]}" for bpp, n in sorted(p["orders_per_manufacturer"].items())
        )
        return f"{p['commitments']} commitments, cleared by the coordinator; orders {per}; verified"

    async def run(self) -> DemoReport:
        # with two manufacturers (--sellers 8), also a pool across both, cleared by the pool coordinator
        cross = (("cross_pool", self.cross_pool),) if len(self.plan.manufacturers()) >= 2 else ()
        for name, work in (
            ("search", self.search),
            ("checkout", self.checkout),
            ("cancel", self.cancel),
            ("deliver", self.deliver),
            ("rate", self.rate),
            ("pool", self.pool),
            *cross,
        ):
            if not await self.step(name, work):
                break
        return self.report


async def run_demo(plan: NetworkPlan, say: Callable[[str], None]) -> DemoReport:
    async with Client(plan.buyer_url, plan.buyer_token()) as client:
        return await Demo(plan, client, say).run()
