"""The buyer node's pool routes against a real coordinator and a fake seller: sign, commit, revoke,
progress, settle (verify, one order per accepted commitment, never twice, reasons for the rejected)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from mercato.coordinator.app import Coordinator
from mercato.pools.signed import rfc3339, sign_doc
from mercato.transport.lookup import LookupCache
from tests.buyer.harness import TOKEN, Net, start_net
from tests.transport.transport_helpers import ServerThread

DEADLINE = datetime.now(UTC) + timedelta(hours=1)
BILLING = {"name": "Asha", "phone": "+91 98450 12345", "address": "BTM Layout, Bengaluru"}


@pytest.fixture
def world(sqlite_url: str, tmp_path: Any) -> Iterator[tuple[Net, Coordinator, str]]:
    net = start_net(sqlite_url, sellers=1)
    coord = Coordinator(tmp_path / "coord", LookupCache(net.source), "tok")
    seller = net.sellers[0]
    doc = {
        "kind": "offer",
        "offer": {
            "bpp_id": seller.id,
            "bpp_uri": seller.url,
            "item_id": "rice-5kg",
            "provider_id": seller.provider_id,
            "pool": "rice",
            "coordinator": "http://coord.test",
            "name": "Basmati rice 5 kg",
            "manufacturer_capacity": 100,
            "currency": "INR",
            "moq": 5,
            "capacity": 100,
            "tiers": [{"min_quantity": 1, "unit_price": 45_000}, {"min_quantity": 10, "unit_price": 40_000}],
            "deadline": rfc3339(DEADLINE),
            "production_start": rfc3339(DEADLINE + timedelta(days=1)),
            "delivery_start": rfc3339(DEADLINE + timedelta(days=2)),
            "delivery_end": rfc3339(DEADLINE + timedelta(days=3)),
        },
    }
    s = sign_doc(doc, seller.identity.keys.signing, seller.id, seller.identity.ukid)
    with ServerThread(coord.app()) as server:
        r = httpx.post(f"{server.url}/pool/offers", content=s.body, headers={"Authorization": s.signature})
        assert r.status_code == 200, r.text
        yield net, coord, server.url
    net.stop()


def api(net: Net) -> httpx.Client:
    return httpx.Client(base_url=net.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)


def test_commit_progress_revoke_settle(world: tuple[Net, Coordinator, str]) -> None:
    net, coord, url = world
    offer = f"{net.sellers[0].id}/rice-5kg"
    body = {"coordinator": url, "pool": "rice", "offers": [offer], "currency": "INR",
            "expires_at": rfc3339(DEADLINE + timedelta(days=1))}  # fmt: skip
    with api(net) as b:
        c = "/api/pools/commit"
        refused = [
            (b.post("/api/pools/commit", json={**body, "coordinator": "nowhere"}), 400, "coordinator"),
            (b.post(c, json={**body, "expires_at": "soon", "quantity": 1}), 400, "RFC 3339"),
            (b.post(c, json={**body, "offers": ["x/y"], "quantity": 1, "max_unit_price": 1}),
             409, "unknown offer"),
            (b.post("/api/pools/commit", json={**body, "quantity": 0, "max_unit_price": 1}),
             409, "quantity must be positive"),
            (b.post("/api/pools/settle", json={"coordinator": url, "pool": "rice", "billing": BILLING}),
             404, "not cleared yet"),
            (httpx.post(f"{net.url}/api/pools/commit", json=body), 401, "token"),
        ]  # fmt: skip
        for r, status, message in refused:
            assert r.status_code == status and message in r.text, (status, message, r.text)
        ok = b.post("/api/pools/commit", json={**body, "quantity": 12, "max_unit_price": 42_000})
        assert ok.status_code == 200, ok.text
        low = b.post("/api/pools/commit", json={**body, "quantity": 3, "max_unit_price": 30_000}).json()
        gone = b.post("/api/pools/commit", json={**body, "quantity": 4, "max_unit_price": 50_000}).json()
        assert (
            b.post(
                "/api/pools/revoke", json={"coordinator": url, "commitment": gone["commitment"]}
            ).status_code
            == 200
        )
        progress = b.get("/api/pools/progress", params={"coordinator": url, "pool": "rice"}).json()
        assert progress["offers"][0]["progress"]["committed"] == 15
        coord.clear("rice")
        settled = b.post("/api/pools/settle", json={"coordinator": url, "pool": "rice", "billing": BILLING})
        assert settled.status_code == 200, settled.text
        by_id = {c["commitment"]: c for c in settled.json()["commitments"]}
        accepted = by_id[ok.json()["commitment"]]
        assert accepted["state"] == "accepted" and accepted["unit_price"] == 40_000
        assert accepted["order"]["stage"] == "confirmed"
        assert by_id[low["commitment"]] == {"commitment": low["commitment"], "state": "rejected",
                                            "reason": "price_not_reached"}  # fmt: skip
        assert gone["commitment"] not in by_id
        again = b.post(
            "/api/pools/settle", json={"coordinator": url, "pool": "rice", "billing": BILLING}
        ).json()
        assert {c["commitment"]: c.get("order", {}).get("order_id") for c in again["commitments"]} == {
            c: e.get("order", {}).get("order_id") for c, e in by_id.items()
        }
        status = b.get("/api/pools/commitment", params={"coordinator": url, "id": low["commitment"]}).json()
        assert status["state"] == "rejected"
    assert len(net.sellers[0].orders) == 1  # one order per accepted commitment, even after two settles
