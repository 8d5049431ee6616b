"""The demand-pool part of `mercato demo`: a group run at the manufacturer, end to end.

The manufacturer opens a pool with two offers (admin API); the buyer finds them through a network
search (their ``pool`` tags), commits four times through the SDK (signed by the buyer node), follows
the progress; the manufacturer clears the pool now instead of waiting for the deadline; the buyer
node verifies the published clearing and places one order per accepted commitment through
select / init / confirm; the manufacturer sees the orders and one production order per running offer.

With two manufacturers in the network, :func:`run_cross_pool` does the same across both, cleared by
the network's pool coordinator (``mercato pool serve``) instead of a manufacturer's node.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from mercato.buyer.sdk.client import Client
from mercato.buyer.sdk.pools import Pools, pool_offers
from mercato.network import seeds
from mercato.network.local import NetworkPlan, SellerNode, pool_offer_spec
from mercato.pools.signed import rfc3339
from mercato.pools.verify import verify

SEARCH_TEXT = "group run"
CROSS_SEARCH_TEXT = "pressure cooker"


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise RuntimeError(message)


async def run_pool(
    node: SellerNode, client: Client, billing: dict[str, Any], fulfillment: dict[str, Any]
) -> dict[str, Any]:
    pool_id = f"demo-{uuid.uuid4().hex[:8]}"  # a fresh pool on every run, also on a reused network
    now = datetime.now(UTC)
    deadline = now + timedelta(minutes=30)
    headers = {"Authorization": f"Bearer {node.admin_token()}"}
    async with httpx.AsyncClient(base_url=node.url, headers=headers, timeout=60) as admin:
        r = await admin.put(
            f"/admin/pools/{pool_id}", json={"deadline": rfc3339(deadline), "capacity": seeds.POOL_CAPACITY}
        )
        _check(r.status_code == 200, f"admin: create pool: HTTP {r.status_code} {r.text[:300]}")
        skus = {}
        for o in seeds.POOL_OFFERS:
            sku = f"{o.sku}-{pool_id}"
            skus[o.sku] = sku
            spec = {
                "name": o.name,
                "long_desc": o.description,
                "tiers": [{"min_quantity": q, "unit_price": p} for q, p in o.tiers],
                "moq": o.moq,
                "capacity": o.capacity,
                "production_start": rfc3339(deadline + timedelta(days=o.production_days)),
                "delivery_start": rfc3339(deadline + timedelta(days=o.delivery_days[0])),
                "delivery_end": rfc3339(deadline + timedelta(days=o.delivery_days[1])),
            }
            r = await admin.put(f"/admin/pools/{pool_id}/offers/{sku}", json=spec)
            _check(r.status_code == 200, f"admin: pool offer {sku}: HTTP {r.status_code} {r.text[:300]}")

        # the buyer finds the pool offers by searching the network
        found = await client.search(SEARCH_TEXT, deadline=3.0, mode="both").collect()
        offers = {o.item_id: o for o in pool_offers(found) if o.pool == pool_id}
        _check(len(offers) == len(seeds.POOL_OFFERS), f"search found {len(offers)} of the pool's offers")
        bottle, tawa = offers[skus["copper-bottle-pool"]], offers[skus["castiron-tawa-pool"]]

        pools = Pools(client)
        expires = deadline + timedelta(days=1)
        plan = [  # (offers most preferred first, quantity, max unit price)
            ([bottle], 30, 85_000),
            ([bottle, tawa], 25, 82_000),  # a substitute
            ([bottle], 10, 60_000),  # below every tier: price not reached
            ([tawa], 5, 1_20_000),  # the tawa run never gathers its MOQ of 50
        ]
        made = [await pools.commit(o, quantity=q, max_unit_price=p, expires_at=expires) for o, q, p in plan]
        gone = await pools.commit([tawa], quantity=7, max_unit_price=1_50_000, expires_at=expires)
        await pools.revoke(gone)
        progress = await pools.progress(bottle.coordinator, pool_id)
        live = {o["item_id"]: o["progress"] for o in progress["offers"]}
        _check(live[bottle.item_id]["committed"] == 65, f"progress: {live[bottle.item_id]}")

        # the deadline would pass; the manufacturer clears now
        r = await admin.post(f"/admin/pools/{pool_id}/clear")
        _check(r.status_code == 200, f"admin: clear: HTTP {r.status_code} {r.text[:300]}")
        settled = await pools.settle(bottle.coordinator, pool_id, billing=billing, fulfillment=fulfillment)
        orders = {c["commitment"]: c["order"]["order_id"] for c in settled["commitments"] if c.get("order")}
        rejected = {c["commitment"]: c["reason"] for c in settled["commitments"] if c["state"] == "rejected"}
        errors = [c["error"] for c in settled["commitments"] if c.get("error")]
        _check(not errors, f"settle: orders failed: {errors}")
        _check(set(orders) == {made[0].id, made[1].id}, f"accepted {sorted(orders)}")
        _check(
            rejected == {made[2].id: "price_not_reached", made[3].id: "moq_not_reached"},
            f"rejected {rejected}",
        )

        # the manufacturer sees the orders and the production order
        r = await admin.get("/admin/orders", params={"limit": 1000})
        at_maker = {o["id"] for o in r.json()}
        _check(set(orders.values()) <= at_maker, "the pool orders are not at the manufacturer")
        production = (
            await admin.get("/admin/production-orders", params={"source": f"pool:{pool_id}"})
        ).json()
        _check(
            [(p["item_id"], p["quantity"]) for p in production] == [(bottle.item_id, 55)],
            f"production orders {production}",
        )
        # anyone can check the clearing from what the manufacturer published
        doc = (await admin.get(f"/pool/{pool_id}/input")).json()
        result = (await admin.get(f"/pool/{pool_id}/result")).json()
    verdict = await asyncio.to_thread(verify, doc, result)
    _check(verdict.ok, f"the published clearing does not verify: {verdict.problems}")
    return {
        "pool": pool_id,
        "commitments": len(plan) + 1,
        "revoked": 1,
        "orders": orders,
        "rejected": rejected,
        "production_orders": production,
        "objective": result["objective"],
        "verified": verdict.ok,
    }


async def run_cross_pool(
    plan: NetworkPlan, client: Client, billing: dict[str, Any], fulfillment: dict[str, Any]
) -> dict[str, Any]:
    """A pool across the plan's first two manufacturers, cleared by its pool coordinator.

    Both open a fresh pool naming the coordinator, each with its seeded pressure-cooker offer; the
    buyer finds both by search and commits five times (two with the other maker as a substitute);
    the coordinator clears now; both nodes fetch, verify and apply the clearing; the buyer settles
    (one order per accepted commitment, at whichever maker got it); the published clearing verifies.
    """
    makers = plan.manufacturers()[:2]
    _check(len(makers) == 2, "the network has fewer than two manufacturers")
    pool_id = f"demo-cross-{uuid.uuid4().hex[:8]}"
    deadline = datetime.now(UTC) + timedelta(minutes=30)
    for which, node in enumerate(makers):
        offer = seeds.CROSS_POOL_OFFERS[which]
        headers = {"Authorization": f"Bearer {node.admin_token()}"}
        async with httpx.AsyncClient(base_url=node.url, headers=headers, timeout=60) as admin:
            body = {"deadline": rfc3339(deadline), "capacity": seeds.CROSS_POOL_CAPACITY[which],
                    "coordinator": plan.coordinator_url}  # fmt: skip
            r = await admin.put(f"/admin/pools/{pool_id}", json=body)
            _check(r.status_code == 200, f"{node.slug}: create pool: HTTP {r.status_code} {r.text[:300]}")
            spec = pool_offer_spec(offer, deadline)
            r = await admin.put(f"/admin/pools/{pool_id}/offers/{offer.sku}-{pool_id}", json=spec)
            _check(r.status_code == 200, f"{node.slug}: pool offer: HTTP {r.status_code} {r.text[:300]}")

    found = await client.search(CROSS_SEARCH_TEXT, deadline=3.0, mode="both").collect()
    by_maker = {o.bpp_id: o for o in pool_offers(found) if o.pool == pool_id}
    _check(len(by_maker) == 2, f"search found {len(by_maker)} of the pool's 2 offers")
    a, b = (by_maker[n.subscriber_id] for n in makers)
    pools = Pools(client)
    expires = deadline + timedelta(days=1)
    plan_ = [  # (offers most preferred first, quantity, max unit price)
        ([a, b], 25, 2_60_000),  # either maker will do
        ([a], 40, 2_55_000),
        ([b], 30, 2_45_000),
        ([b, a], 35, 2_50_000),
        ([a], 5, 2_00_000),  # below every tier: price not reached
    ]
    made = [await pools.commit(o, quantity=q, max_unit_price=p, expires_at=expires) for o, q, p in plan_]

    async with httpx.AsyncClient(timeout=60) as http:
        token = {"Authorization": f"Bearer {plan.coordinator_token()}"}
        r = await http.post(f"{plan.coordinator_url}/pool/{pool_id}/clear", headers=token)
        _check(r.status_code == 200, f"coordinator: clear: HTTP {r.status_code} {r.text[:300]}")
        for node in makers:  # each node fetches the clearing, verifies it, applies it
            auth = {"Authorization": f"Bearer {node.admin_token()}"}
            r = await http.post(f"{node.url}/admin/pools/{pool_id}/settle", headers=auth)
            _check(r.status_code == 200, f"{node.slug}: settle: HTTP {r.status_code} {r.text[:300]}")
        settled = await pools.settle(plan.coordinator_url, pool_id, billing=billing, fulfillment=fulfillment)
        errors = [c["error"] for c in settled["commitments"] if c.get("error")]
        _check(not errors, f"settle: orders failed: {errors}")
        orders = {c["commitment"]: c["order"]["order_id"] for c in settled["commitments"] if c.get("order")}
        rejected = {c["commitment"]: c["reason"] for c in settled["commitments"] if c["state"] == "rejected"}
        _check(rejected == {made[4].id: "price_not_reached"}, f"rejected {rejected}")
        _check(len(orders) == 4, f"{len(orders)} of 4 commitments ordered")
        per_maker: dict[str, int] = {}
        for node in makers:
            auth = {"Authorization": f"Bearer {node.admin_token()}"}
            r = await http.get(f"{node.url}/admin/orders", params={"limit": 1000}, headers=auth)
            per_maker[node.subscriber_id] = len(set(orders.values()) & {o["id"] for o in r.json()})
        _check(sum(per_maker.values()) == len(orders), f"orders at the manufacturers: {per_maker}")
        _check(all(per_maker.values()), f"both manufacturers should get orders: {per_maker}")
        doc = (await http.get(f"{plan.coordinator_url}/pool/{pool_id}/input")).json()
        result = (await http.get(f"{plan.coordinator_url}/pool/{pool_id}/result")).json()
    verdict = await asyncio.to_thread(verify, doc, result)
    _check(verdict.ok, f"the coordinator's clearing does not verify: {verdict.problems}")
    return {
        "pool": pool_id,
        "coordinator": plan.coordinator_url,
        "commitments": len(plan_),
        "orders": orders,
        "orders_per_manufacturer": per_maker,
        "rejected": rejected,
        "objective": result["objective"],
        "verified": verdict.ok,
    }
