"""A manufacturer's node running its own pool: admin API, signed commitments, progress, clearing, after."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mercato.pools.signed import commitment_transaction_id, rfc3339, sign_doc
from mercato.pools.verify import verify
from mercato.protocol.keys import KeyPair
from mercato.seller.config import load, write_starter
from mercato.seller.domain import Descriptor, Item, Money
from mercato.seller.handlers import Env
from mercato.seller.handlers.discovery import SearchQuery, run_search
from mercato.seller.node import SellerNode
from mercato.seller.pools import pool_order_problem
from mercato.seller.store import catalog as store_catalog
from mercato.seller.store import pools as store_pools
from mercato.seller.store import stock as store_stock
from mercato.transport.lookup import StaticKeySource, SubscriberKey

BUYER, OTHER_SELLER = KeyPair.generate(), KeyPair.generate()
NOW = datetime.now(UTC)
DEADLINE = NOW + timedelta(hours=1)


@pytest.fixture(params=["sqlite", "postgresql"])
def node(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[SellerNode, TestClient, dict[str, str]]]:
    db = (
        f"sqlite:///{tmp_path / 'seller.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    cfg_path, _ = write_starter(tmp_path, database_url=db)
    n = SellerNode(load(cfg_path))
    n.ensure_store()
    n.lookup.source = StaticKeySource(
        [
            SubscriberKey("buyer.test", "k1", BUYER.signing_public_key, type="BAP"),
            SubscriberKey("seller.other", "k1", OTHER_SELLER.signing_public_key, type="BPP"),
        ]
    )
    admin = {"Authorization": f"Bearer {n.config.admin_token}"}
    client = TestClient(n.api)  # no lifespan: no registry, no outbox
    yield n, client, admin
    n.store.engine.dispose()


def offer_spec(**over: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "Insulated bottle 1 L",
        "tiers": [{"min_quantity": 1, "unit_price": 100_000}, {"min_quantity": 20, "unit_price": 80_000}],
        "moq": 10,
        "capacity": 200,
        "production_start": rfc3339(DEADLINE + timedelta(days=1)),
        "delivery_start": rfc3339(DEADLINE + timedelta(days=6)),
        "delivery_end": rfc3339(DEADLINE + timedelta(days=9)),
    }
    spec.update(over)
    return spec


def setup_pool(client: TestClient, admin: dict[str, str]) -> None:
    r = client.put("/admin/pools/p1", json={"deadline": rfc3339(DEADLINE), "capacity": 150}, headers=admin)
    assert r.status_code == 200, r.text
    for item, spec in (("bottle", offer_spec()), ("flask", offer_spec(name="Flask", moq=30))):
        r = client.put(f"/admin/pools/p1/offers/{item}", json=spec, headers=admin)
        assert r.status_code == 200, r.text


def commitment(node: SellerNode, qty: int, price: int, items: list[str], **over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "kind": "commitment",
        "id": str(uuid.uuid4()),
        "pool": "p1",
        "bap_id": "buyer.test",
        "quantity": qty,
        "max_unit_price": price,
        "currency": "INR",
        "offers": [f"{node.config.subscriber_id}/{i}" for i in items],
        "expires_at": rfc3339(DEADLINE + timedelta(days=2)),
        "created_at": rfc3339(datetime.now(UTC)),
    }
    doc.update(over)
    return doc


def send(
    client: TestClient, path: str, doc: dict[str, Any], keys: KeyPair = BUYER, signer: str = "buyer.test"
) -> Any:
    s = sign_doc(doc, keys.signing, signer, "k1", valid_until=DEADLINE + timedelta(days=2))
    return client.post(path, content=s.body, headers={"Authorization": s.signature})


def test_pool_offers_show_in_search_with_their_tags(
    node: tuple[SellerNode, TestClient, dict[str, str]],
) -> None:
    n, client, admin = node
    setup_pool(client, admin)
    send(client, "/pool/commitments", commitment(n, 12, 95_000, ["bottle"]))
    catalog = run_search(Env(n.store, n.me), SearchQuery())["catalog"]
    items = {i["id"]: i for p in catalog["providers"] for i in p["items"]}
    tags = {g["descriptor"]["code"]: {t["descriptor"]["code"]: t["value"] for t in g["list"]}
            for g in items["bottle"]["tags"]}  # fmt: skip
    assert tags["pool"]["pool"] == "p1" and tags["pool"]["moq"] == "10"
    assert tags["pool"]["committed"] == "12" and tags["pool"]["to_next_tier"] == "8"
    assert tags["pool_tiers"] == {"1": "1000.00", "20": "800.00"}
    assert items["bottle"]["price"]["value"] == "1000.00"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (offer_spec(moq=500), "moq 500 is above capacity 200"),
        (
            offer_spec(tiers=[{"min_quantity": 5, "unit_price": 9}, {"min_quantity": 5, "unit_price": 8}]),
            "overlap",
        ),
        (
            offer_spec(tiers=[{"min_quantity": 1, "unit_price": 9}, {"min_quantity": 5, "unit_price": 10}]),
            "decrease",
        ),
        (offer_spec(production_start=rfc3339(NOW)), "before the commitment deadline"),
    ],
)
def test_bad_offers_are_refused(
    node: tuple[SellerNode, TestClient, dict[str, str]], spec: dict[str, Any], message: str
) -> None:
    _, client, admin = node
    client.put("/admin/pools/p1", json={"deadline": rfc3339(DEADLINE), "capacity": 150}, headers=admin)
    r = client.put("/admin/pools/p1/offers/x", json=spec, headers=admin)
    assert r.status_code == 422 and message in r.text
    assert client.get("/admin/pools/p1", headers=admin).json()["offers"] == []


def test_admin_routes_need_the_token(node: tuple[SellerNode, TestClient, dict[str, str]]) -> None:
    _, client, _ = node
    r = client.put("/admin/pools/p1", json={"deadline": rfc3339(DEADLINE), "capacity": 1})
    assert r.status_code == 401


def test_bad_commitments_are_refused_with_a_reason(
    node: tuple[SellerNode, TestClient, dict[str, str]],
) -> None:
    n, client, admin = node
    setup_pool(client, admin)
    good = commitment(n, 5, 90_000, ["bottle"])
    c = "/pool/commitments"
    cases = [
        (send(client, c, commitment(n, 0, 90_000, ["bottle"])), 422, "quantity must be positive"),
        (send(client, "/pool/commitments", commitment(n, 1, 90_000, ["nothing"])), 422, "unknown offer"),
        (send(client, c, commitment(n, 1, 90_000, ["bottle"], pool="p9")), 404, "unknown pool"),
        (send(client, "/pool/commitments", good, keys=KeyPair.generate()), 401, "forged"),
        (send(client, "/pool/commitments", {**good, "bap_id": "seller.other"}, OTHER_SELLER, "seller.other"),
         401, "not BAP"),
        (
            send(client, "/pool/commitments", commitment(
                n, 1, 90_000, ["bottle"], created_at=rfc3339(NOW - timedelta(days=3)),
                expires_at=rfc3339(NOW - timedelta(days=1)))),
            422, "expired",
        ),
        (client.post("/pool/commitments", content=b'{"kind": "commitment"}', headers={"Authorization": "x"}),
         400, "canonical"),
        (client.post("/pool/commitments", json=good), 400, "canonical"),
    ]  # fmt: skip
    for r, status, message in cases:
        assert r.status_code == status and message in r.text, (status, message, r.text)
    with n.store.read() as s:
        assert store_pools.load_book(s, "p1").commitments == {}


def test_commit_revoke_progress_clear_and_after(node: tuple[SellerNode, TestClient, dict[str, str]]) -> None:
    n, client, admin = node
    setup_pool(client, admin)
    docs = [
        commitment(n, 12, 95_000, ["bottle"]),
        commitment(n, 10, 85_000, ["bottle", "flask"]),
        commitment(n, 4, 70_000, ["bottle"]),  # price never reached
        commitment(n, 7, 99_000, ["flask"]),  # flask never reaches its MOQ of 30
    ]
    for d in docs:
        r = send(client, "/pool/commitments", d)
        assert r.status_code == 200, r.text
    gone = commitment(n, 9, 99_000, ["bottle"])
    assert send(client, "/pool/commitments", gone).status_code == 200
    rev = {"kind": "revocation", "commitment": gone["id"], "bap_id": "buyer.test", "created_at": rfc3339(NOW)}
    forged = send(client, "/pool/revocations", rev, KeyPair.generate())
    assert forged.status_code == 401
    assert send(client, "/pool/revocations", rev).status_code == 200
    progress = {o["item_id"]: o["progress"] for o in client.get("/pool/p1").json()["offers"]}
    assert progress["bottle"]["committed"] == 26 and progress["bottle"]["tier"] == 1
    assert progress["flask"]["committed"] == 17 and progress["flask"]["to_moq"] == 13
    assert client.get("/pool/p1/result").status_code == 404
    me = n.config.subscriber_id
    txn0 = commitment_transaction_id(docs[0]["id"])
    assert "commit to it" in str(pool_order_problem(n.store, me, "buyer.test", txn0, [("bottle", 12)]))

    r = client.post("/admin/pools/p1/clear", headers=admin)
    assert r.status_code == 200, r.text
    result = r.json()
    accepted = {a["commitment"]: a for a in result["accepted"]}
    assert set(accepted) == {docs[0]["id"], docs[1]["id"]}
    assert all(a["unit_price"] == 80_000 for a in accepted.values())
    reasons = {x["commitment"]: x["reason"] for x in result["rejected"]}
    assert reasons[docs[2]["id"]] == "price_not_reached"
    assert reasons[docs[3]["id"]] == "moq_not_reached"
    assert gone["id"] not in reasons and gone["id"] not in accepted
    status = client.get(f"/pool/commitments/{docs[2]['id']}").json()
    assert status == {
        "commitment": docs[2]["id"],
        "pool": "p1",
        "state": "rejected",
        "reason": "price_not_reached",
    }
    assert client.get(f"/pool/commitments/{gone['id']}").json()["state"] == "revoked"
    # published input and result verify
    doc, res = client.get("/pool/p1/input").json(), client.get("/pool/p1/result").json()
    verdict = verify(doc, res)
    assert verdict.ok, verdict.problems
    # after: a production order, the cleared price, the run's units in stock; flask leaves the catalog
    prod = client.get("/admin/production-orders", headers=admin).json()
    assert [(p["item_id"], p["quantity"], p["source"]) for p in prod] == [("bottle", 22, "pool:p1")]
    cat = store_catalog.load_all(n.store)
    assert cat.items["bottle"].price.amount == 80_000 and "flask" not in cat.items
    levels = store_stock.levels(n.store, ["bottle"])
    assert sum(lv.on_hand for lv in levels.values()) == 22
    # the run's units go only to the accepted commitments, in their transactions
    assert pool_order_problem(n.store, me, "buyer.test", txn0, [("bottle", 12)]) is None
    too_many = pool_order_problem(n.store, me, "buyer.test", txn0, [("bottle", 13)])
    assert "for 12 units" in str(too_many)
    for bap, txn in (("buyer.test", str(uuid.uuid4())), ("other.test", txn0)):
        assert "not one" in str(pool_order_problem(n.store, me, bap, txn, [("bottle", 1)]))
    rejected_txn = commitment_transaction_id(docs[2]["id"])
    assert "not one" in str(pool_order_problem(n.store, me, "buyer.test", rejected_txn, [("bottle", 4)]))
    mug = Item("mug", n.config.store.provider_id, Descriptor("Mug"), Money(100, "INR"))
    store_catalog.put_item(n.store, mug, datetime.now(UTC))
    assert pool_order_problem(n.store, me, "x", "y", [("mug", 5)]) is None
    # closed now
    assert client.post("/admin/pools/p1/clear", headers=admin).status_code == 409
    late = send(client, "/pool/commitments", commitment(n, 1, 99_000, ["bottle"]))
    assert late.status_code == 422 and "closed" in late.text
