"""The demand-pool part of `mercato demo`: a group run at the manufacturer, end to end.

The manufacturer opens a pool with two offers (admin API); the buyer finds them through a network
search (their ``pool`` tags), commits four times through the SDK (signed by the buyer node), follows
the progress; the manufacturer clears the pool now instead of waiting for the deadline; the buyer
node verifies the published clearing and places one order per accepted commitment through
select / init / confirm; the manufacturer sees the orders and one production order per running offer.
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
from mercato.network.local import SellerNode
from mercato.pools.signed import rfc3339
from mercato.pools.verify import verify

SEARCH_TEXT = "group run"


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
