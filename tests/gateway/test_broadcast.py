"""Broadcast search end to end on loopback: a real registry, the gateway, fake sellers and a
buyer app, all onboarded through /subscribe."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from mercato.protocol.signing import sign
from tests.gateway.net import Network, Node, until


@pytest.fixture
async def net(tmp_path: Path) -> AsyncIterator[Network]:
    network = Network(
        str(tmp_path),
        f"sqlite:///{tmp_path}/gateway.db",
        seller_timeout_s=0.5,
        breaker_failures=2,
        breaker_cooldown_s=60,
        max_results_per_seller=5,
    )
    nodes = [
        Node("bap", "BAP"),
        Node("fast1", "BPP"),
        Node("fast2", "BPP"),
        Node("slow", "BPP", delay_s=1.0),
        Node("dead", "BPP", hang=True),
        Node("revoked", "BPP"),
        Node("greedy", "BPP", items=3, answers=3),
    ]
    await network.start(nodes)
    try:
        yield network
    finally:
        await network.stop()


def senders(bap: Node) -> list[str]:
    return [i.sender.subscriber_id for i in bap.inbox if i.action == "on_search"]


async def test_broadcast_streams_results_and_isolates_bad_sellers(net: Network) -> None:
    bap, fast1, fast2, slow = (net.nodes[n] for n in ("bap", "fast1", "fast2", "slow"))
    revoked, greedy = net.nodes["revoked"], net.nodes["greedy"]
    await net.revoke(revoked)
    body = net.search_body(bap)
    answer = await net.search(bap, body)
    assert answer.ack
    await until(lambda: "slow.test" in senders(bap))
    got = senders(bap)
    # every live seller answered; the slow one last: it delayed nobody
    assert {"fast1.test", "fast2.test", "slow.test", "greedy.test"} <= set(got)
    assert got.index("slow.test") > got.index("fast1.test")
    assert got.index("slow.test") > got.index("fast2.test")
    # sellers received the buyer's exact bytes, signed by the buyer and by the gateway
    for seller in (fast1, fast2, slow, greedy):
        (search,) = [i for i in seller.inbox if i.action == "search"]
        assert search.body == body
        assert search.sender.subscriber_id == "bap.test"
        assert search.gateway is not None and search.gateway.subscriber_id == "gateway.test"
    # relayed on_search: the seller's own bytes and signature, with the gateway's signature
    for inbound in bap.inbox:
        assert inbound.gateway is not None and inbound.gateway.subscriber_id == "gateway.test"
        assert orjson.loads(inbound.body)["context"]["bpp_id"] == inbound.sender.subscriber_id
    # a revoked seller is not in the registry's answer: it got nothing
    assert revoked.inbox == []
    # the cap: greedy sends 3 answers of 3 items, only the first fits in 5
    assert got.count("greedy.test") == 1
    assert net.gateway.relay.stats.refused >= 2


async def test_dead_seller_trips_the_breaker(net: Network) -> None:
    bap = net.nodes["bap"]
    for _ in range(2):
        assert (await net.search(bap, net.search_body(bap))).ack
        await until(lambda: net.gateway.broadcaster.stats.failed >= 1 and net.hang_hits >= 1)
    await until(lambda: net.gateway.breakers.state("dead.test") == "open")
    hits = net.hang_hits
    assert hits >= 2
    n_before = len(senders(bap))
    assert (await net.search(bap, net.search_body(bap))).ack
    await until(lambda: len(senders(bap)) >= n_before + 3)  # the live fast sellers still answer
    assert net.hang_hits == hits  # the open breaker kept the dead seller out
    assert net.gateway.broadcaster.stats.skipped_open >= 1


async def test_on_search_from_revoked_or_unasked_seller_is_dropped(net: Network) -> None:
    bap, revoked, fast1 = net.nodes["bap"], net.nodes["revoked"], net.nodes["fast1"]
    body = net.search_body(bap)
    assert (await net.search(bap, body)).ack
    await until(lambda: any(i.action == "search" for i in revoked.inbox))
    search = next(i for i in revoked.inbox if i.action == "search")
    await net.revoke(revoked)
    net.gateway.keys.invalidate(revoked.subscriber_id, revoked.ukid)
    async with revoked.client() as client:
        answer = await client.send(net.gateway_url, "on_search", net.on_search(revoked, search, 7))
    assert not answer.ack and answer.status == 401
    # a registered seller answering a search it was never sent (wrong bap / message id)
    other = net.search_body(bap)
    fake = Network.on_search(net, fast1, search).replace(
        orjson.loads(body)["context"]["message_id"].encode(),
        orjson.loads(other)["context"]["message_id"].encode(),
    )
    async with fast1.client() as client:
        answer = await client.send(net.gateway_url, "on_search", fake)
    assert not answer.ack and answer.error_code == "20008"
    await until(lambda: len(senders(bap)) >= 4)
    assert all(i.sender.subscriber_id != "revoked.test" for i in bap.inbox)
    assert sum(1 for s in senders(bap) if s == "fast1.test") == 1


async def test_unsigned_and_forged_searches_are_never_forwarded(net: Network) -> None:
    import httpx

    bap = net.nodes["bap"]
    body = net.search_body(bap)
    async with httpx.AsyncClient() as http:
        unsigned = await http.post(
            net.gateway_url + "/search", content=body, headers={"Content-Type": "application/json"}
        )
        assert unsigned.status_code == 401
        # signed by another key under the buyer's name
        forged_auth = sign(body, Node("mallory", "BAP").keys.signing, bap.subscriber_id, bap.ukid)
        forged = await http.post(
            net.gateway_url + "/search", content=body, headers={"Authorization": forged_auth}
        )
        assert forged.status_code == 401
        # a valid signature over other bytes
        good = sign(body, bap.keys.signing, bap.subscriber_id, bap.ukid)
        tampered = await http.post(
            net.gateway_url + "/search",
            content=body.replace(b"rice", b"gold"),
            headers={"Authorization": good},
        )
        assert tampered.status_code == 401
        # a buyer's search with an unknown mode tag is refused, not broadcast
    bad_mode = net.search_body(bap, mode="index")
    bad_mode = bad_mode.replace(b'"value":"index"', b'"value":"everything"')
    answer = await net.search(bap, bad_mode)
    assert not answer.ack and answer.status == 400
    assert net.gateway.broadcaster.stats.forwarded == 0
    for name in ("fast1", "fast2", "slow", "greedy", "revoked"):
        assert net.nodes[name].inbox == []
    assert net.hang_hits == 0
