"""A pool across two manufacturers' nodes cleared by a coordinator; each node settles (verifies, applies).
And a node's own pool cleared by its deadline loop."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from mercato.coordinator.app import Coordinator
from mercato.pools.signed import rfc3339, sign_doc
from mercato.protocol.keys import KeyPair
from mercato.seller import pools as seller_pools
from mercato.seller.config import load, write_starter
from mercato.seller.node import SellerNode
from mercato.seller.store import pools as store_pools
from mercato.transport.lookup import LookupCache, StaticKeySource, SubscriberKey
from tests.transport.transport_helpers import ServerThread

BUYER = KeyPair.generate()
TOKEN = "t0ken"


def seller(tmp_path: Path, sid: str) -> SellerNode:
    cfg_path, _ = write_starter(
        tmp_path / sid, subscriber_id=sid, database_url=f"sqlite:///{tmp_path / sid}.db"
    )
    node = SellerNode(load(cfg_path))
    node.ensure_store()
    node.lookup.source = StaticKeySource(
        [SubscriberKey("buyer.test", "k", BUYER.signing_public_key, type="BAP")]
    )
    return node


def spec(name: str, tiers: list[tuple[int, int]], moq: int, cap: int, deadline: datetime) -> dict[str, Any]:
    return {
        "name": name,
        "tiers": [{"min_quantity": q, "unit_price": p} for q, p in tiers],
        "moq": moq,
        "capacity": cap,
        "production_start": rfc3339(deadline + timedelta(days=1)),
        "delivery_start": rfc3339(deadline + timedelta(days=3)),
        "delivery_end": rfc3339(deadline + timedelta(days=5)),
    }


def commit(url_post: Any, pool: str, qty: int, price: int, offers: list[str], deadline: datetime) -> str:
    doc = {
        "kind": "commitment",
        "id": str(uuid.uuid4()),
        "pool": pool,
        "bap_id": "buyer.test",
        "quantity": qty,
        "max_unit_price": price,
        "currency": "INR",
        "offers": offers,
        "expires_at": rfc3339(deadline + timedelta(days=1)),
        "created_at": rfc3339(datetime.now(UTC)),
    }
    s = sign_doc(doc, BUYER.signing, "buyer.test", "k", valid_until=deadline + timedelta(days=1))
    r = url_post("/pool/commitments", content=s.body, headers={"Authorization": s.signature})
    assert r.status_code == 200, r.text
    return str(doc["id"])


@pytest.fixture
def two_makers(tmp_path: Path) -> Iterator[tuple[SellerNode, SellerNode, Coordinator, str]]:
    a, b = seller(tmp_path, "alpha.test"), seller(tmp_path, "beta.test")
    keys = StaticKeySource(
        [
            SubscriberKey("alpha.test", a.config.unique_key_id, a.keys.signing_public_key, type="BPP"),
            SubscriberKey("beta.test", b.config.unique_key_id, b.keys.signing_public_key, type="BPP"),
            SubscriberKey("buyer.test", "k", BUYER.signing_public_key, type="BAP"),
        ]
    )
    coord = Coordinator(tmp_path / "coord", LookupCache(keys), TOKEN)
    with ServerThread(coord.app()) as server:
        yield a, b, coord, server.url
    a.store.engine.dispose()
    b.store.engine.dispose()


def test_nodes_settle_a_coordinated_pool_after_verifying_it(
    two_makers: tuple[SellerNode, SellerNode, Coordinator, str],
) -> None:
    a, b, coord, url = two_makers
    deadline = datetime.now(UTC) + timedelta(hours=1)
    for node, item, tiers in ((a, "pan", [(1, 1000), (20, 800)]), (b, "wok", [(1, 900)])):
        admin = {"Authorization": f"Bearer {node.config.admin_token}"}
        client = TestClient(node.api)
        r = client.put("/admin/pools/cook", json={"deadline": rfc3339(deadline), "capacity": 100,
                                                  "coordinator": url}, headers=admin)  # fmt: skip
        assert r.status_code == 200, r.text
        r = client.put(
            f"/admin/pools/cook/offers/{item}", json=spec(item, tiers, 10, 60, deadline), headers=admin
        )
        assert r.status_code == 200, r.text  # the node signed it and the coordinator took it
    assert set(coord.books["cook"].offers) == {"alpha.test/pan", "beta.test/wok"}
    post = TestClient(coord.app()).post
    c1 = commit(post, "cook", 15, 950, ["alpha.test/pan", "beta.test/wok"], deadline)
    c2 = commit(post, "cook", 8, 850, ["alpha.test/pan"], deadline)
    c3 = commit(post, "cook", 12, 950, ["beta.test/wok"], deadline)
    admin_a = {"Authorization": f"Bearer {a.config.admin_token}"}
    early = TestClient(a.api).post("/admin/pools/cook/settle", headers=admin_a)
    assert early.status_code == 409 and "not cleared" in early.text
    assert TestClient(a.api).post("/admin/pools/cook/clear", headers=admin_a).status_code == 409
    result = coord.clear("cook")
    accepted = {x["commitment"]: x["offer"] for x in result["accepted"]}
    assert accepted == {c1: "alpha.test/pan", c2: "alpha.test/pan", c3: "beta.test/wok"}

    # a coordinator publishing a doctored result is refused by the node, nothing applied
    honest = coord.results["cook"]
    coord.results["cook"] = orjson.loads(orjson.dumps(honest))
    coord.results["cook"]["runs"][0]["unit_price"] -= 1
    r = TestClient(a.api).post("/admin/pools/cook/settle", headers=admin_a)
    assert r.status_code == 502 and "does not verify" in r.text
    assert store_pools.production_orders(a.store) == []
    coord.results["cook"] = honest

    for node, item, qty in ((a, "pan", 23), (b, "wok", 12)):
        admin = {"Authorization": f"Bearer {node.config.admin_token}"}
        r = TestClient(node.api).post("/admin/pools/cook/settle", headers=admin)
        assert r.status_code == 200, r.text
        prod = store_pools.production_orders(node.store)
        assert [(p.item_id, p.quantity, p.source) for p in prod] == [(item, qty, "pool:cook")]
        assert store_pools.get_pool(node.store, "cook").state == "settled"


def test_a_nodes_own_pool_clears_at_its_deadline(tmp_path: Path) -> None:
    node = seller(tmp_path, "gamma.test")
    client = TestClient(node.api)
    admin = {"Authorization": f"Bearer {node.config.admin_token}"}
    deadline = datetime.now(UTC) + timedelta(seconds=2)
    assert client.put("/admin/pools/soon", json={"deadline": rfc3339(deadline), "capacity": 50},
                      headers=admin).status_code == 200  # fmt: skip
    r = client.put(
        "/admin/pools/soon/offers/cup", json=spec("cup", [(1, 100)], 2, 50, deadline), headers=admin
    )
    assert r.status_code == 200, r.text
    cid = commit(client.post, "soon", 3, 120, [f"{node.config.subscriber_id}/cup"], deadline)

    async def run_until_cleared() -> None:
        stop = asyncio.Event()
        loop = asyncio.create_task(seller_pools.deadline_loop(node, stop, every_s=0.1))
        for _ in range(100):
            row = store_pools.get_pool(node.store, "soon")
            if row is not None and row.state == "cleared":
                break
            await asyncio.sleep(0.1)
        stop.set()
        await loop

    asyncio.run(run_until_cleared())
    row = store_pools.get_pool(node.store, "soon")
    assert row is not None and row.state == "cleared" and row.cleared_at is not None
    assert row.cleared_at >= deadline
    assert client.get(f"/pool/commitments/{cid}").json()["state"] == "accepted"
    node.store.engine.dispose()
