"""A pool across two manufacturers cleared by a pool coordinator, every role its own process on loopback.

`LocalNetwork` with the two seeded manufacturers starts registry, gateway, the coordinator
(`mercato pool serve`), both manufacturers' seller nodes and a buyer node; their first start opens the
seeded cross-manufacturer pool on both nodes. The buyer finds both offers by search and commits with
substitutes; the coordinator is killed with SIGKILL between commitments and restarted (its log replays,
nothing is lost); it clears now; both nodes verify and apply the clearing; the buyer settles and the
orders appear at both manufacturers. The published input and result pass `mercato pool verify`, a
doctored result fails it. A second start of the same network reuses the coordinator's data and runs
the demo's cross-manufacturer pool step on a fresh pool.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from mercato.buyer.errors import Unavailable
from mercato.buyer.sdk.client import Client
from mercato.buyer.sdk.pools import Commitment, PoolOffer, Pools, pool_offers
from mercato.network import seeds
from mercato.network.demo import BILLING, FULFILLMENT
from mercato.network.demo_pool import run_cross_pool
from mercato.network.local import LocalNetwork, NetworkPlan, coordinator_ready
from mercato.network.processes import wait_until
from tests.e2e.test_network import mercato
from tests.ports import free_port_block

pytestmark = pytest.mark.e2e
POOL = seeds.CROSS_POOL_ID
MANUFACTURERS = (3, 7)  # seed shops: Peenya Steelworks and its second factory (a variant)


def make_plan(data_dir: Path, base: int) -> NetworkPlan:
    return NetworkPlan(
        data_dir, shops=MANUFACTURERS, buyer_port=base, registry_port=base + 1, gateway_port=base + 2,
        coordinator_port=base + 3, first_seller_port=base + 11,
    )  # fmt: skip


def coordinator_log(plan: NetworkPlan) -> list[dict[str, Any]]:
    lines = (plan.coordinator_dir / "pools.jsonl").read_bytes().splitlines()
    return [orjson.loads(line) for line in lines if line.strip()]


def kill_and_restart_coordinator(net: LocalNetwork) -> None:
    child = net.child("coordinator")
    assert child.process is not None
    child.process.send_signal(signal.SIGKILL)
    child.process.wait(10)
    restarted = net.start_coordinator()
    wait_until(restarted, coordinator_ready(net.plan), 60, "answer GET /health")


def verify_files(tmp_path: Path, doc: Any, result: Any) -> subprocess.CompletedProcess[str]:
    (tmp_path / "input.json").write_bytes(orjson.dumps(doc))
    (tmp_path / "result.json").write_bytes(orjson.dumps(result))
    files = ("--input", str(tmp_path / "input.json"), "--result", str(tmp_path / "result.json"))
    return subprocess.run(mercato("pool", "verify", *files, "--json"), capture_output=True, text=True,
                          timeout=120)  # fmt: skip


async def find_offers(client: Client) -> dict[str, PoolOffer]:
    found = await client.search("pressure cooker", deadline=3.0, mode="both").collect()
    return {o.bpp_id: o for o in pool_offers(found) if o.pool == POOL}


def test_a_cross_manufacturer_pool_through_the_coordinator_process(tmp_path: Path) -> None:
    base = free_port_block(20)
    plan = make_plan(tmp_path / "net", base)
    first, second = plan.manufacturers()
    lines: list[str] = []
    with LocalNetwork(plan, say=lines.append) as net:
        assert any(plan.coordinator_url in line and "pool coordinator" in line for line in lines), lines
        log = coordinator_log(plan)
        assert [e["type"] for e in log] == ["offer", "offer"]  # each node signed its offer and sent it
        pool = httpx.get(f"{plan.coordinator_url}/pool/{POOL}", timeout=10).json()
        assert pool["state"] == "open" and len(pool["offers"]) == 2
        assert {o["bpp_id"] for o in pool["offers"]} == {first.subscriber_id, second.subscriber_id}

        async def journey() -> dict[str, Any]:
            async with Client(plan.buyer_url, plan.buyer_token()) as client:
                offers = await find_offers(client)
                assert set(offers) == {first.subscriber_id, second.subscriber_id}
                assert {o.coordinator for o in offers.values()} == {plan.coordinator_url}
                a, b = offers[first.subscriber_id], offers[second.subscriber_id]
                expires = a.deadline + timedelta(days=1)
                pools = Pools(client)

                async def commit(listed: list[PoolOffer], quantity: int, price: int) -> Commitment:
                    return await pools.commit(
                        listed, quantity=quantity, max_unit_price=price, expires_at=expires
                    )

                c1 = await commit([a, b], 25, 2_60_000)  # a substitute: either manufacturer
                c2 = await commit([a], 40, 2_55_000)
                # the coordinator dies hard between commitments: nothing is taken meanwhile ...
                child = net.child("coordinator")
                assert child.process is not None
                child.process.send_signal(signal.SIGKILL)
                child.process.wait(10)
                with pytest.raises(Unavailable):
                    await commit([b], 30, 2_45_000)
                # ... and after a restart its log has replayed both commitments
                restarted = net.start_coordinator()
                await asyncio.to_thread(wait_until, restarted, coordinator_ready(plan), 60, "answer /health")
                progress = await pools.progress(plan.coordinator_url, POOL)
                assert progress["commitments"] == 2
                committed = {o["bpp_id"]: o["progress"]["committed"] for o in progress["offers"]}
                assert committed == {first.subscriber_id: 65, second.subscriber_id: 25}
                c3 = await commit([b], 30, 2_45_000)
                c4 = await commit([b, a], 35, 2_50_000)
                c5 = await commit([a], 5, 2_00_000)  # below every tier of its offer
                statuses = [await pools.status(c) for c in (c1, c2, c3, c4, c5)]
                assert {s["state"] for s in statuses} == {"open"}

                # clear now instead of waiting a week for the deadline
                async with httpx.AsyncClient(timeout=60) as http:
                    token = {"Authorization": f"Bearer {plan.coordinator_token()}"}
                    r = await http.post(f"{plan.coordinator_url}/pool/{POOL}/clear")
                    assert r.status_code == 401
                    r = await http.post(f"{plan.coordinator_url}/pool/{POOL}/clear", headers=token)
                    assert r.status_code == 200, r.text
                    result = r.json()
                    # each manufacturer's node fetches the clearing, re-runs it and applies it
                    for node in (first, second):
                        admin = {"Authorization": f"Bearer {node.admin_token()}"}
                        r = await http.post(f"{node.url}/admin/pools/{POOL}/settle", headers=admin)
                        assert r.status_code == 200, r.text
                settled = await pools.settle(
                    plan.coordinator_url, POOL, billing=BILLING, fulfillment=FULFILLMENT
                )
                return {"ids": [c.id for c in (c1, c2, c3, c4, c5)], "result": result, "settled": settled}

        out = asyncio.run(journey())
        c1, c2, c3, c4, c5 = out["ids"]
        result = out["result"]
        a_id = f"{first.subscriber_id}/{seeds.CROSS_POOL_OFFERS[0].sku}"
        b_id = f"{second.subscriber_id}/{seeds.CROSS_POOL_OFFERS[1].sku}"
        # the hand-solved optimum: c1 goes to its second choice, where 90 units reach the cheap tier
        accepted = {x["commitment"]: x["offer"] for x in result["accepted"]}
        assert accepted == {c1: b_id, c2: a_id, c3: b_id, c4: b_id}
        assert {x["commitment"]: x["reason"] for x in result["rejected"]} == {c5: "price_not_reached"}
        assert result["status"] == "optimal"

        settled = out["settled"]
        assert not [c["error"] for c in settled["commitments"] if c.get("error")], settled
        orders = {c["commitment"]: c["order"] for c in settled["commitments"] if c.get("order")}
        assert set(orders) == set(accepted)
        for node, offer_id in ((first, a_id), (second, b_id)):
            admin = {"Authorization": f"Bearer {node.admin_token()}"}
            at_node = {o["id"] for o in httpx.get(f"{node.url}/admin/orders", params={"limit": 1000},
                                                   headers=admin, timeout=10).json()}  # fmt: skip
            mine = {orders[c]["order_id"] for c, o in accepted.items() if o == offer_id}
            assert mine and mine <= at_node  # one order per accepted commitment, at its manufacturer
            production = httpx.get(f"{node.url}/admin/production-orders", params={"source": f"pool:{POOL}"},
                                   headers=admin, timeout=10).json()  # fmt: skip
            run = sum(x["quantity"] for x in result["accepted"] if x["offer"] == offer_id)
            assert [(p["item_id"], p["quantity"]) for p in production] == [(offer_id.split("/")[1], run)]

        # the published clearing verifies in a separate process; a doctored one does not
        doc = httpx.get(f"{plan.coordinator_url}/pool/{POOL}/input", timeout=10).json()
        published = httpx.get(f"{plan.coordinator_url}/pool/{POOL}/result", timeout=10).json()
        assert published == result
        ok = verify_files(tmp_path, doc, published)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert json.loads(ok.stdout)["ok"] is True
        assert len(doc["commitments"]) == 5 and len(doc["signed"]["commitments"]) == 5
        doctored = json.loads(json.dumps(published))
        doctored["accepted"] = [x for x in doctored["accepted"] if x["commitment"] != c2]
        bad = verify_files(tmp_path, doc, doctored)
        assert bad.returncode == 1, bad.stdout + bad.stderr
        assert json.loads(bad.stdout)["ok"] is False and json.loads(bad.stdout)["problems"]

        # a coordinator killed after clearing publishes the same bytes after its restart
        before = httpx.get(f"{plan.coordinator_url}/pool/{POOL}/result", timeout=10).content
        kill_and_restart_coordinator(net)
        assert httpx.get(f"{plan.coordinator_url}/pool/{POOL}/result", timeout=10).content == before
        assert [e["type"] for e in coordinator_log(plan)].count("commitment") == 5

    # a second start of the same network reuses the coordinator's data (and opens no second pool)
    lines.clear()
    with LocalNetwork(make_plan(tmp_path / "net", base), say=lines.append):
        assert not any(line.startswith("pool ") for line in lines), lines
        again = httpx.get(f"{plan.coordinator_url}/pool/{POOL}", timeout=10).json()
        assert again["state"] == "cleared" and again["commitments"] == 5
        assert httpx.get(f"{plan.coordinator_url}/pool/{POOL}/result", timeout=10).content == before
        assert [e["type"] for e in coordinator_log(plan)].count("offer") == 2

        # and takes new pools: the demo's cross-manufacturer step (`mercato demo --sellers 8`)
        async def demo_step() -> dict[str, Any]:
            async with Client(plan.buyer_url, plan.buyer_token()) as client:
                return await run_cross_pool(plan, client, BILLING, FULFILLMENT)

        demo = asyncio.run(demo_step())
    assert demo["verified"] is True and list(demo["rejected"].values()) == ["price_not_reached"]
    assert set(demo["orders_per_manufacturer"]) == {first.subscriber_id, second.subscriber_id}
    assert all(n > 0 for n in demo["orders_per_manufacturer"].values())
    assert sum(demo["orders_per_manufacturer"].values()) == len(demo["orders"]) == 4
