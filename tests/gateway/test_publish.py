"""Publishing signed catalogs to the gateway, and index results a buyer can verify."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from mercato.protocol.catalog_publish import ATTESTATION_CODE, ItemRef, verify_attestation
from mercato.protocol.keys import KeyPair
from mercato.protocol.signing import SignatureError
from tests.gateway.net import Network, Node, catalog, until


@pytest.fixture(params=["sqlite", "postgresql"])
async def net(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Network]:
    db = (
        f"sqlite:///{tmp_path}/gateway.db" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    )
    network = Network(str(tmp_path), db, seller_timeout_s=1.0, directory_ttl_s=0.0)
    await network.start([Node("bap", "BAP"), Node("s1", "BPP", items=1), Node("s2", "BPP", items=1)])
    try:
        yield network
    finally:
        await network.stop()


async def test_publish_versions_and_refusals(net: Network) -> None:
    s1, s2, bap = net.nodes["s1"], net.nodes["s2"], net.nodes["bap"]
    snap = net.publication(s1, 5, catalog(s1, 3))
    ok = await net.publish(s1, snap)
    assert ok.status_code == 200, ok.text
    assert ok.json()["items"] == 3 and ok.json()["version"] == 5
    # replayed and older versions
    again = await net.publish(s1, snap)
    assert (again.status_code, again.json()["reason"], again.json()["current_version"]) == (
        409,
        "stale_version",
        5,
    )
    # a delta on the held version
    delta = net.publication(
        s1, 6, catalog(s1, 1, "-new"), kind="delta", base_version=5, removed=[ItemRef("s1-p", "s1-i0")]
    )
    assert (await net.publish(s1, delta)).status_code == 200
    # a delta that skips a version: the gateway asks for a snapshot
    gap = net.publication(s1, 9, catalog(s1, 1), kind="delta", base_version=7)
    r = await net.publish(s1, gap)
    assert (r.status_code, r.json()["reason"], r.json()["current_version"]) == (409, "snapshot_required", 6)
    # bad signatures: unsigned, another key under s1's name, s2 signing s1's catalog, tampered bytes
    async with httpx.AsyncClient() as http:
        r = await http.post(net.gateway_url + "/catalog/publish", content=snap)
        assert r.status_code == 401 and r.json()["reason"] == "unsigned"
    mallory = Node("s1", "BPP", ukid=s1.ukid, keys=KeyPair.generate())
    newer = net.publication(s1, 10, catalog(s1, 1))
    assert (await net.publish(s1, newer, signer=mallory)).status_code == 401
    r = await net.publish(s1, newer, signer=s2)
    assert (r.status_code, r.json()["reason"]) == (401, "signer_mismatch")
    # not a seller: the buyer app publishing a catalog under its own name
    r = await net.publish(bap, net.publication(bap, 1, catalog(bap, 1)))
    assert (r.status_code, r.json()["reason"]) == (403, "not_registered")
    # a bpp_uri other than the registered one (would send buyers elsewhere)
    wrong = net.publication(s2, 1, catalog(s2, 1)).replace(
        s2.subscriber_url.encode(), b"http://evil.example/x"
    )
    r = await net.publish(s2, wrong)
    assert (r.status_code, r.json()["reason"]) == (403, "wrong_bpp_uri")
    bad = orjson.dumps({**orjson.loads(newer), "version": "10"})
    r = await net.publish(s1, bad)
    assert (r.status_code, r.json()["reason"], r.json()["path"]) == (400, "bad_publication", "version")
    # nothing refused changed the index
    assert net.gateway.index.version("s1.test") == 6
    assert net.gateway.index.version("s2.test") is None
    async with httpx.AsyncClient() as http:
        found = (await http.get(net.gateway_url + "/index/search", params={"q": "rice", "limit": 50})).json()
        assert sorted(i["item_id"] for i in found["items"]) == ["s1-i0-new", "s1-i1", "s1-i2"]
        assert {i["catalog_version"] for i in found["items"]} == {5, 6}
        # the JSON result points at the exact publication and its signature
        item = next(i for i in found["items"] if i["item_id"] == "s1-i0-new")
        pub = await http.get(net.gateway_url + item["publication"])
        assert pub.status_code == 200 and pub.content == delta
        assert pub.headers["authorization"] == item["authorization"]
        assert (await http.get(net.gateway_url + "/index/search", params={"limit": "0"})).status_code == 400
        assert (await http.get(net.gateway_url + "/index/publications/s1.test/99")).status_code == 404
        # a seller the registry no longer lists is not served from the index, though still stored
        await net.revoke(s1)
        found = (await http.get(net.gateway_url + "/index/search", params={"q": "rice", "limit": 50})).json()
        assert found == {"count": 0, "items": []}
        assert net.gateway.index.version("s1.test") == 6


def attestations(on_search: bytes) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    doc = orjson.loads(on_search)
    out = []
    for provider in doc["message"]["catalog"]["providers"]:
        for group in provider["tags"]:
            if group["descriptor"]["code"] == ATTESTATION_CODE:
                out.append((provider, group))
    return out


async def test_index_results_are_verifiable_and_come_before_live_ones(net: Network) -> None:
    s1, s2, bap = net.nodes["s1"], net.nodes["s2"], net.nodes["bap"]
    assert (await net.publish(s1, net.publication(s1, 1, catalog(s1, 2)))).status_code == 200
    assert (await net.publish(s2, net.publication(s2, 1, catalog(s2, 2)))).status_code == 200
    delta = net.publication(s1, 2, catalog(s1, 1, "-d"), kind="delta", base_version=1)
    assert (await net.publish(s1, delta)).status_code == 200
    # index only: one on_search per seller, signed by the gateway, nothing broadcast
    assert (await net.search(bap, net.search_body(bap, mode="index"))).ack
    await until(lambda: len(bap.inbox) == 2)
    assert s1.inbox == [] and s2.inbox == []
    for inbound in bap.inbox:
        assert inbound.sender.subscriber_id == "gateway.test"
        for provider, group in attestations(inbound.body):
            att = verify_attestation(group, net.nodes[provider["id"].split("-")[0]].keys.signing_public_key)
            for it in provider["items"]:
                published = att.item(provider["id"], it["id"])
                if published is not None:
                    assert published == it
            # the seller's key from the registry verifies it; another key does not
            with pytest.raises(SignatureError):
                verify_attestation(group, KeyPair.generate().signing_public_key)
    s1_answer = next(i for i in bap.inbox if b"index:s1.test" in i.body)
    (provider,) = orjson.loads(s1_answer.body)["message"]["catalog"]["providers"]
    assert sorted(it["id"] for it in provider["items"]) == ["s1-i0", "s1-i0-d", "s1-i1"]
    versions = sorted(
        verify_attestation(g, s1.keys.signing_public_key).version for _, g in attestations(s1_answer.body)
    )
    assert versions == [1, 2]
    # a tampered attestation fails
    _, group = attestations(s1_answer.body)[0]
    raw = base64.b64decode(group["list"][-1]["value"]).replace(b"rice", b"gold")
    group["list"][-1]["value"] = base64.b64encode(raw).decode()
    with pytest.raises(SignatureError):
        verify_attestation(group, s1.keys.signing_public_key)
    # both: the index answers first, then the live answers of the sellers
    bap.inbox.clear()
    assert (await net.search(bap, net.search_body(bap, mode="both"))).ack
    await until(lambda: len(bap.inbox) == 4)
    order = [i.sender.subscriber_id for i in bap.inbox]
    assert order[:2] == ["gateway.test", "gateway.test"]
    assert sorted(order[2:]) == ["s1.test", "s2.test"]
    # a seller revoked after publishing: its indexed catalog is no longer served
    await net.revoke(s2)
    bap.inbox.clear()
    assert (await net.search(bap, net.search_body(bap, mode="index"))).ack
    await until(lambda: len(bap.inbox) >= 1 and not net.gateway._tasks)  # every answer delivered
    assert [b"index:s1.test" in i.body for i in bap.inbox] == [True]
