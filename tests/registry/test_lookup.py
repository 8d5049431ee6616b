"""/lookup filters and signature, /vlookup, key rotation, revocation, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from mercato.protocol.keys import KeyPair
from mercato.protocol.onboarding import (
    ROTATION_HEADER,
    Participation,
    build_lookup_body,
    build_subscribe_request,
    build_vlookup_body,
    verify_lookup_response,
)
from mercato.protocol.signing import BadSignature, KeyIdMismatch, parse_header

from .conftest import ADMIN_TOKEN, Registry, make_registry
from .test_onboarding import assert_nack


@pytest.fixture
def network(registry: Registry) -> dict[str, object]:
    """A buyer app, two sellers (one in every city) and a gateway."""
    bap = registry.new_subscriber(name="bap")
    bpp = registry.new_subscriber(name="bpp")
    everywhere = registry.new_subscriber(name="everywhere")
    bg = registry.new_subscriber(name="bg")
    assert bap.subscribe(participations=[Participation("BAP", "ONDC:RET10", ["std:080"])]).status_code == 200
    assert (
        bpp.subscribe(participations=[Participation("BPP", "ONDC:RET10", ["std:080", "std:011"])]).status_code
        == 200
    )
    assert everywhere.subscribe(participations=[Participation("BPP", "ONDC:RET11", ["*"])]).status_code == 200
    assert bg.subscribe(participations=[Participation("BG", "ONDC:RET10", ["*"])]).status_code == 200
    return {"bap": bap, "bpp": bpp, "everywhere": everywhere, "bg": bg}


def ids(records: list[dict[str, object]]) -> set[tuple[object, ...]]:
    return {(r["subscriber_id"], r["type"], r["domain"], r["city"]) for r in records}


def test_lookup_filters(registry: Registry, network: dict) -> None:  # type: ignore[type-arg]
    bap, bpp, everywhere, bg = (network[k].subscriber_id for k in ("bap", "bpp", "everywhere", "bg"))
    assert ids(registry.records(type="BPP", domain="ONDC:RET10", city="std:011")) == {
        (bpp, "BPP", "ONDC:RET10", "std:011")
    }
    assert ids(registry.records(type="BPP", domain="ONDC:RET10")) == {
        (bpp, "BPP", "ONDC:RET10", "std:080"),
        (bpp, "BPP", "ONDC:RET10", "std:011"),
    }
    # city "*" serves every city
    assert ids(registry.records(domain="ONDC:RET11", city="std:044")) == {
        (everywhere, "BPP", "ONDC:RET11", "*")
    }
    # ONDC's type names are understood
    assert {r["subscriber_id"] for r in registry.records(type="sellerApp")} == {bpp, everywhere}
    assert {r["subscriber_id"] for r in registry.records(type="BG")} == {bg}
    assert {r["subscriber_id"] for r in registry.records(type="buyerApp", city="std:080")} == {bap}
    assert {
        r["subscriber_id"] for r in registry.records(country="IND", domain="ONDC:RET10", city="std:080")
    } == {
        bap,
        bpp,
        bg,
    }
    assert registry.records(country="SGP") == []
    assert registry.records(subscriber_id="nobody.example.org") == []
    # Beckn registry API shape: location.city.code
    assert ids(registry.records(type="BPP", domain="ONDC:RET10", location={"city": {"code": "std:011"}})) == {
        (bpp, "BPP", "ONDC:RET10", "std:011")
    }
    # the record carries every ONDC lookup field
    [rec] = registry.records(subscriber_id=bap)
    assert set(rec) == {
        "subscriber_id",
        "subscriber_url",
        "type",
        "domain",
        "city",
        "country",
        "signing_public_key",
        "encr_public_key",
        "valid_from",
        "valid_until",
        "status",
        "ukId",
        "created",
        "updated",
    }


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({}, "at least one"),
        ({"type": "shop"}, "must be one of"),
        ({"subscriber_id": 5}, "non-empty string"),
        ({"city": ""}, "non-empty string"),
        ({"include_inactive": "yes", "type": "BAP"}, "true or false"),
        ({"location": []}, "location must be an object"),
    ],
)
def test_bad_lookup_gets_400(registry: Registry, query: dict, words: str) -> None:  # type: ignore[type-arg]
    assert_nack(registry.lookup(**query), 400, "10000", words)


def test_lookup_response_is_signed_by_the_registry(registry: Registry, network: dict) -> None:  # type: ignore[type-arg]
    keys = registry.client.get("/keys").json()
    assert keys["signing_public_key"] == registry.identity.keys.signing_public_key
    assert keys["encr_public_key"] == registry.identity.keys.encryption_public_key
    assert keys["key_id"] == "registry.test|reg-key-1|ed25519"

    resp = registry.client.post("/lookup", content=build_lookup_body(type="BPP"))
    header = resp.headers["authorization"]
    assert parse_header(header).key_id == keys["key_id"]
    records = verify_lookup_response(
        resp.content, header, keys["signing_public_key"], registry_id="registry.test"
    )
    assert records == resp.json() and len(records) == 3
    # an empty answer is signed too
    empty = registry.client.post("/lookup", content=build_lookup_body(subscriber_id="nobody"))
    assert (
        verify_lookup_response(empty.content, empty.headers["authorization"], keys["signing_public_key"])
        == []
    )
    # a changed body, another key, another registry id: refused
    with pytest.raises(BadSignature):
        verify_lookup_response(resp.content.replace(b"BPP", b"BAP"), header, keys["signing_public_key"])
    with pytest.raises(BadSignature):
        verify_lookup_response(resp.content, header, KeyPair.generate().signing_public_key)
    with pytest.raises(KeyIdMismatch):
        verify_lookup_response(resp.content, header, keys["signing_public_key"], registry_id="other")


def test_vlookup(registry: Registry, network: dict) -> None:  # type: ignore[type-arg]
    bap, bpp = network["bap"], network["bpp"]

    def vlookup(keys: KeyPair, sender: str = bap.subscriber_id, now: datetime | None = None, **sp: str):  # type: ignore[no-untyped-def]
        params = {"country": "IND", "domain": "ONDC:RET10", "type": "sellerApp", "city": "std:080"}
        params.update(sp)
        body = build_vlookup_body(
            sender_subscriber_id=sender,
            signing_key=keys.signing,
            subscriber_id=bpp.subscriber_id,
            now=now,
            **params,  # type: ignore[arg-type]
        )
        return registry.client.post("/vlookup", content=body)

    resp = vlookup(bap.keys)
    assert resp.status_code == 200, resp.text
    [rec] = verify_lookup_response(
        resp.content, resp.headers["authorization"], registry.identity.keys.signing_public_key
    )
    assert (rec["subscriber_id"], rec["type"], rec["city"]) == (bpp.subscriber_id, "BPP", "std:080")
    assert rec["signing_public_key"] == bpp.keys.signing_public_key

    assert_nack(vlookup(KeyPair.generate()), 401, "10001", "does not verify")
    assert_nack(vlookup(bap.keys, sender="stranger.example.org"), 401, "10001", "does not verify")
    stale = datetime.now(UTC) - timedelta(hours=1)
    assert_nack(vlookup(bap.keys, now=stale), 401, "20002", "timestamp")
    assert_nack(vlookup(bap.keys, type="shop"), 400, "10000", "must be one of")
    # the signature covers the search parameters: change one after signing
    body = orjson.loads(
        build_vlookup_body(
            sender_subscriber_id=bap.subscriber_id,
            signing_key=bap.keys.signing,
            country="IND",
            domain="ONDC:RET10",
            type="sellerApp",
            city="std:080",
            subscriber_id=bpp.subscriber_id,
        )
    )
    body["search_parameters"]["city"] = "std:011"
    assert_nack(registry.client.post("/vlookup", content=orjson.dumps(body)), 401, "10001", "does not verify")


def test_key_rotation_overlap_and_revocation(registry: Registry) -> None:
    sub = registry.new_subscriber()
    assert sub.subscribe().status_code == 200
    old_ukid, old_keys = sub.ukid, sub.keys
    new_keys = KeyPair.generate()
    registry.callbacks.behaviours[sub.name].keys = new_keys  # the subscriber now decrypts with its new key

    # adding a key needs a second signature by a live key of the subscriber
    before = registry.snapshot()
    assert_nack(sub.subscribe(keys=new_keys, ukid="k2"), 401, "10001", ROTATION_HEADER)
    stranger = KeyPair.generate()
    assert_nack(
        sub.subscribe(keys=new_keys, ukid="k2", current_key=(stranger.signing, old_ukid)),
        401,
        "10001",
        "bad_signature",
    )
    assert_nack(
        sub.subscribe(keys=new_keys, ukid="k2", current_key=(old_keys.signing, "no-such-key")),
        401,
        "10001",
        "currently valid key",
    )
    assert registry.snapshot() == before

    resp = sub.subscribe(keys=new_keys, ukid="k2", current_key=(old_keys.signing, old_ukid))
    assert resp.status_code == 200, resp.text

    both = registry.records(subscriber_id=sub.subscriber_id)
    assert {r["ukId"] for r in both} == {old_ukid, "k2"}
    [r_new] = registry.records(subscriber_id=sub.subscriber_id, ukId="k2")
    assert r_new["signing_public_key"] == new_keys.signing_public_key
    [r_old] = registry.records(subscriber_id=sub.subscriber_id, ukId=old_ukid)
    assert r_old["signing_public_key"] == old_keys.signing_public_key

    # revocation: admin token required
    body = orjson.dumps({"subscriber_id": sub.subscriber_id, "unique_key_id": old_ukid})
    assert_nack(registry.client.post("/admin/revoke", content=body), 401, "10001", "admin bearer token")
    bad = {"Authorization": "Bearer wrong-token"}
    assert_nack(registry.client.post("/admin/revoke", content=body, headers=bad), 401, "10001", "admin")
    assert registry.records(subscriber_id=sub.subscriber_id, ukId=old_ukid) != []
    good = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    resp = registry.client.post("/admin/revoke", content=body, headers=good)
    assert resp.status_code == 200 and resp.json()["status"] == "REVOKED"

    assert registry.records(subscriber_id=sub.subscriber_id, ukId=old_ukid) == []
    assert {r["ukId"] for r in registry.records(subscriber_id=sub.subscriber_id)} == {"k2"}
    revoked = registry.records(subscriber_id=sub.subscriber_id, ukId=old_ukid, include_inactive=True)
    assert [r["status"] for r in revoked] == ["REVOKED"]
    # a revoked key cannot come back
    registry.callbacks.behaviours[sub.name].keys = old_keys
    assert_nack(sub.subscribe(current_key=(new_keys.signing, "k2")), 409, "50000", "revoked")

    missing = orjson.dumps({"subscriber_id": sub.subscriber_id, "unique_key_id": "nope"})
    assert registry.client.post("/admin/revoke", content=missing, headers=good).status_code == 404
    assert_nack(
        registry.client.post("/admin/revoke", content=b"[]", headers=good), 400, "10000", "JSON object"
    )


def test_unsubscribe_takes_every_key_off(registry: Registry) -> None:
    sub = registry.new_subscriber()
    assert sub.subscribe().status_code == 200
    body = orjson.dumps({"subscriber_id": sub.subscriber_id})
    assert registry.client.post("/admin/unsubscribe", content=body).status_code == 401
    good = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert registry.client.post("/admin/unsubscribe", content=body, headers=good).status_code == 200
    assert registry.records(subscriber_id=sub.subscriber_id) == []
    [r] = registry.records(subscriber_id=sub.subscriber_id, include_inactive=True)
    assert r["status"] == "UNSUBSCRIBED"


def test_admin_routes_disabled_without_a_configured_token(db_url: str, callback_server) -> None:  # type: ignore[no-untyped-def]
    reg = make_registry(db_url, callback_server, admin_token=None)
    with reg.client:
        body = orjson.dumps({"subscriber_id": "x", "unique_key_id": "y"})
        resp = reg.client.post("/admin/revoke", content=body, headers={"Authorization": "Bearer anything"})
        assert_nack(resp, 403, "50000", "disabled")


def test_expired_and_future_keys_are_not_returned(registry: Registry) -> None:
    sub = registry.new_subscriber()
    now = datetime.now(UTC)
    assert (
        sub.subscribe(valid_from=now - timedelta(days=1), valid_until=now + timedelta(days=2)).status_code
        == 200
    )
    assert len(registry.records(subscriber_id=sub.subscriber_id)) == 1

    registry.clock.offset = timedelta(days=3)  # the key's validity has passed
    assert registry.records(subscriber_id=sub.subscriber_id) == []
    assert registry.records(subscriber_id=sub.subscriber_id, ukId=sub.ukid) == []
    [r] = registry.records(subscriber_id=sub.subscriber_id, include_inactive=True)
    assert r["status"] == "EXPIRED"

    registry.clock.offset = timedelta(0)
    later = registry.new_subscriber()
    resp = later.subscribe(valid_from=now + timedelta(days=5), valid_until=now + timedelta(days=50))
    assert resp.status_code == 200, resp.text
    assert registry.records(subscriber_id=later.subscriber_id) == []  # not valid yet
    registry.clock.offset = timedelta(days=6)
    assert len(registry.records(subscriber_id=later.subscriber_id)) == 1


def test_expired_subscriber_may_subscribe_a_new_key_without_the_old_one(registry: Registry) -> None:
    sub = registry.new_subscriber()
    now = datetime.now(UTC)
    assert (
        sub.subscribe(valid_from=now - timedelta(days=1), valid_until=now + timedelta(hours=1)).status_code
        == 200
    )
    # while the old key is live, a new key needs the rotation signature ...
    new_keys = KeyPair.generate()
    registry.callbacks.behaviours[sub.name].keys = new_keys
    assert sub.subscribe(keys=new_keys, ukid="k2").status_code == 401
    # ... once it has expired, the new key signs for itself
    registry.clock.offset = timedelta(hours=2)
    resp = sub.subscribe(keys=new_keys, ukid="k2", valid_from=now, valid_until=now + timedelta(days=30))
    assert resp.status_code == 401  # the request's own signature is now two hours old on the registry's clock
    req = sub.request(
        keys=new_keys, ukid="k2", now=now + timedelta(hours=2), valid_until=now + timedelta(days=30)
    )
    assert registry.subscribe(req).status_code == 200
    assert {r["ukId"] for r in registry.records(subscriber_id=sub.subscriber_id)} == {"k2"}


def test_expired_subscriber_id_cannot_be_claimed_at_another_callback_url(registry: Registry) -> None:
    sub = registry.new_subscriber()
    now = datetime.now(UTC)
    first = sub.subscribe(valid_from=now - timedelta(days=1), valid_until=now + timedelta(hours=1))
    assert first.status_code == 200
    later = now + timedelta(hours=2)
    registry.clock.offset = timedelta(hours=2)  # the only key has expired
    # someone else, answering the challenge at their own URL, asks for the same subscriber id
    thief = registry.new_subscriber()
    claim = build_subscribe_request(
        subscriber_id=sub.subscriber_id,
        unique_key_id="stolen",
        keys=thief.keys,
        subscriber_url=thief.url,
        participations=[Participation("BPP", "ONDC:RET10", ["std:080"])],
        now=later,
        valid_until=now + timedelta(days=30),
    )
    before = registry.snapshot()
    assert_nack(registry.subscribe(claim), 409, "50000", "registered callback_url")
    assert registry.snapshot() == before
    assert registry.callbacks.behaviours[thief.name].calls == []  # refused before any challenge
    # the owner, at its registered URL, re-keys without the expired key
    new_keys = KeyPair.generate()
    registry.callbacks.behaviours[sub.name].keys = new_keys
    req = sub.request(keys=new_keys, ukid="k2", now=later, valid_until=now + timedelta(days=30))
    assert registry.subscribe(req).status_code == 200
    # once the operator unsubscribes the id, it may be claimed anew elsewhere
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    body = orjson.dumps({"subscriber_id": sub.subscriber_id})
    assert registry.client.post("/admin/unsubscribe", content=body, headers=admin).status_code == 200
    assert registry.subscribe(claim).status_code == 200
    [r] = registry.records(subscriber_id=sub.subscriber_id)
    assert (r["ukId"], r["subscriber_url"]) == ("stolen", thief.url)
