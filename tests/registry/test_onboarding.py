"""/subscribe -> /on_subscribe challenge -> SUBSCRIBED, and every way it is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from mercato.protocol.keys import KeyPair
from mercato.protocol.onboarding import Participation, SignedRequest
from mercato.protocol.signing import sign

from .conftest import Registry


def assert_nack(resp, status: int, code: str, words: str) -> None:  # type: ignore[no-untyped-def]
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["message"]["ack"]["status"] == "NACK"
    assert body["error"]["code"] == code
    assert words.lower() in body["error"]["message"].lower(), body["error"]["message"]


def test_happy_path_subscribes_after_the_challenge(registry: Registry) -> None:
    sub = registry.new_subscriber()
    resp = sub.subscribe(
        participations=[
            Participation("BPP", "ONDC:RET10", ["std:080", "std:011"]),
            Participation("BAP", "ONDC:RET10", ["std:080"]),
        ]
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["message"]["ack"]["status"] == "ACK"
    assert body["status"] == "SUBSCRIBED"
    assert (body["subscriber_id"], body["unique_key_id"]) == (sub.subscriber_id, sub.ukid)

    calls = registry.callbacks.behaviours[sub.name].calls
    assert len(calls) == 1
    assert calls[0]["signed_by_registry"] is True
    assert calls[0]["body"]["subscriber_id"] == sub.subscriber_id

    records = registry.records(subscriber_id=sub.subscriber_id)
    assert {(r["type"], r["city"]) for r in records} == {
        ("BPP", "std:080"),
        ("BPP", "std:011"),
        ("BAP", "std:080"),
    }
    r = records[0]
    assert r["signing_public_key"] == sub.keys.signing_public_key
    assert r["encr_public_key"] == sub.keys.encryption_public_key
    assert r["ukId"] == sub.ukid
    assert r["status"] == "SUBSCRIBED"
    assert r["subscriber_url"] == sub.url
    assert r["country"] == "IND"


def test_beckn_registry_shape_is_accepted(registry: Registry) -> None:
    sub = registry.new_subscriber()
    now = datetime.now(UTC)
    body = orjson.dumps(
        {
            "subscriber_id": sub.subscriber_id,
            "url": sub.url,
            "type": "BAP",
            "domain": "retail",
            "location": {"city": {"code": "std:080"}, "country": {"code": "IND"}},
            "key_id": sub.ukid,
            "signing_public_key": sub.keys.signing_public_key,
            "encr_public_key": sub.keys.encryption_public_key,
            "valid_from": now.isoformat(),
            "valid_until": (now + timedelta(days=30)).isoformat(),
            "nonce": "0b9b4e8e-7c8f-4d0a-9d55-3f4f3c1f2c11",
        }
    )
    header = sign(body, sub.keys.signing, sub.subscriber_id, sub.ukid)
    resp = registry.subscribe(
        SignedRequest(body, {"Authorization": header, "Content-Type": "application/json"})
    )
    assert resp.status_code == 200, resp.text
    [r] = registry.records(subscriber_id=sub.subscriber_id)
    assert (r["type"], r["domain"], r["city"], r["subscriber_url"]) == ("BAP", "retail", "std:080", sub.url)


def test_wrong_answer_is_refused_and_changes_nothing(registry: Registry) -> None:
    sub = registry.new_subscriber(mode="wrong")
    before = registry.snapshot()
    assert_nack(sub.subscribe(), 400, "50000", "encryption verification failed")
    assert registry.callbacks.behaviours[sub.name].calls  # the registry did call
    assert registry.snapshot() == before
    assert registry.records(subscriber_id=sub.subscriber_id, include_inactive=True) == []


@pytest.mark.parametrize(("mode", "words"), [("http500", "HTTP 500"), ("notjson", "not JSON")])
def test_broken_callback_is_refused(registry: Registry, mode: str, words: str) -> None:
    sub = registry.new_subscriber(mode=mode)
    before = registry.snapshot()
    assert_nack(sub.subscribe(), 400, "50000", words)
    assert registry.snapshot() == before


def test_unreachable_callback_is_refused(registry: Registry) -> None:
    sub = registry.new_subscriber()
    req = sub.request(callback_url="http://127.0.0.1:9/nowhere")  # port 9 (discard): nothing listens
    before = registry.snapshot()
    assert_nack(registry.subscribe(req), 400, "50000", "unreachable")
    assert registry.snapshot() == before


def test_unsigned_subscribe_is_refused(registry: Registry) -> None:
    sub = registry.new_subscriber()
    req = sub.request()
    before = registry.snapshot()
    resp = registry.client.post("/subscribe", content=req.body, headers={"Content-Type": "application/json"})
    assert_nack(resp, 401, "10001", "authorization header is missing")
    assert registry.snapshot() == before
    assert registry.callbacks.behaviours[sub.name].calls == []


def test_subscribe_signed_by_another_key_is_refused(registry: Registry) -> None:
    sub = registry.new_subscriber()
    req = sub.request()
    other = KeyPair.generate()
    forged = {**req.headers, "Authorization": sign(req.body, other.signing, sub.subscriber_id, sub.ukid)}
    before = registry.snapshot()
    assert_nack(
        registry.client.post("/subscribe", content=req.body, headers=forged), 401, "10001", "bad_signature"
    )
    assert registry.snapshot() == before
    assert registry.callbacks.behaviours[sub.name].calls == []


def test_subscribe_signed_under_another_key_id_or_tampered_or_expired_is_refused(registry: Registry) -> None:
    sub = registry.new_subscriber()
    req = sub.request()
    before = registry.snapshot()
    wrong_id = sign(req.body, sub.keys.signing, sub.subscriber_id, "some-other-ukid")
    resp = registry.client.post("/subscribe", content=req.body, headers={"Authorization": wrong_id})
    assert_nack(resp, 401, "10001", "key_id_mismatch")
    tampered = req.body.replace(b"std:080", b"std:011")
    resp = registry.client.post("/subscribe", content=tampered, headers=req.headers)
    assert_nack(resp, 401, "10001", "bad_signature")
    old = int(datetime.now(UTC).timestamp()) - 7200
    expired = sign(req.body, sub.keys.signing, sub.subscriber_id, sub.ukid, created=old, expires=old + 60)
    resp = registry.client.post("/subscribe", content=req.body, headers={"Authorization": expired})
    assert_nack(resp, 401, "10001", "expired")
    resp = registry.client.post("/subscribe", content=req.body, headers={"Authorization": "Bearer nope"})
    assert_nack(resp, 401, "10001", "malformed")
    assert registry.snapshot() == before


def test_key_claimed_by_another_subscriber_is_refused(registry: Registry) -> None:
    first = registry.new_subscriber()
    assert first.subscribe().status_code == 200
    thief = registry.new_subscriber(keys=first.keys)  # same keys, another subscriber id
    before = registry.snapshot()
    assert_nack(thief.subscribe(), 409, "50000", "registered to another subscriber")
    assert registry.snapshot() == before
    # the same key under a second key id of the same subscriber is refused too
    assert_nack(first.subscribe(ukid="second-id"), 409, "50000", "already registered under unique_key_id")
    # and a known key id with other keys
    assert_nack(first.subscribe(keys=KeyPair.generate()), 409, "50000", "already registered with other keys")
    assert registry.snapshot() == before


def test_resubscribe_with_the_same_key_updates_participations(registry: Registry) -> None:
    sub = registry.new_subscriber()
    assert sub.subscribe().status_code == 200
    resp = sub.subscribe(participations=[Participation("BPP", "ONDC:RET11", ["std:022"])])
    assert resp.status_code == 200, resp.text
    [r] = registry.records(subscriber_id=sub.subscriber_id)
    assert (r["domain"], r["city"]) == ("ONDC:RET11", "std:022")


def test_key_already_expired_is_refused(registry: Registry) -> None:
    sub = registry.new_subscriber()
    past = datetime.now(UTC) - timedelta(days=10)
    before = registry.snapshot()
    resp = sub.subscribe(valid_from=past, valid_until=past + timedelta(days=1))
    assert_nack(resp, 400, "10000", "valid_until has already passed")
    assert registry.snapshot() == before


def _ondc_body(sub_id: str = "a.example.org") -> dict:  # type: ignore[type-arg]
    return {
        "context": {"operation": {"ops_no": 1}},
        "message": {
            "request_id": "r1",
            "timestamp": "2024-01-01T00:00:00Z",
            "entity": {
                "subscriber_id": sub_id,
                "unique_key_id": "k1",
                "callback_url": "/cb",
                "key_pair": {
                    "signing_public_key": KeyPair.generate().signing_public_key,
                    "encryption_public_key": KeyPair.generate().encryption_public_key,
                    "valid_from": "2024-01-01T00:00:00Z",
                    "valid_until": "2999-01-01T00:00:00Z",
                },
            },
            "network_participant": [
                {"subscriber_url": "/", "domain": "ONDC:RET10", "type": "buyerApp", "city_code": ["std:080"]}
            ],
        },
    }


def _mutate(path: str, value: object) -> bytes:
    body = _ondc_body()
    *parents, last = path.split(".")
    node = body
    for p in parents:
        node = node[int(p)] if p.isdigit() else node[p]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return orjson.dumps(body)


MALFORMED = [
    (b"", "not valid JSON"),
    (b"{", "not valid JSON"),
    (b"[1,2]", "must be a JSON object"),
    (b"{}", "expected an ONDC subscribe body"),
    (_mutate("message.entity", "x"), "message.entity must be an object"),
    (_mutate("message.entity.subscriber_id", KeyError), "subscriber_id must be a non-empty string"),
    (_mutate("message.entity.subscriber_id", "a|b"), "may not contain"),
    (_mutate("message.entity.unique_key_id", 7), "unique_key_id must be a non-empty string"),
    (_mutate("message.entity.key_pair.signing_public_key", "abc"), "not valid base64"),
    (_mutate("message.entity.key_pair.signing_public_key", "AAAA"), "must be 32 raw bytes"),
    (_mutate("message.entity.key_pair.encryption_public_key", "AAAA"), "encryption public key"),
    (_mutate("message.entity.key_pair.valid_from", "yesterday"), "not an RFC 3339"),
    (_mutate("message.entity.key_pair.valid_until", "2024-01-01T00:00:00"), "time zone"),
    (_mutate("message.entity.key_pair.valid_until", "2023-01-01T00:00:00Z"), "after valid_from"),
    (_mutate("message.network_participant", []), "non-empty list"),
    (_mutate("message.network_participant.0.type", "shop"), "must be one of"),
    (_mutate("message.network_participant.0.city_code", "std:080"), "list of city codes"),
    (_mutate("message.network_participant.0.subscriber_url", "ftp://x"), "http(s) URL"),
    (_mutate("message.entity.callback_url", "javascript:alert(1)"), "http(s) URL"),
]


@pytest.mark.parametrize(("raw", "words"), MALFORMED)
def test_malformed_subscribe_bodies_get_400(registry: Registry, raw: bytes, words: str) -> None:
    before = registry.snapshot()
    resp = registry.client.post("/subscribe", content=raw, headers={"Content-Type": "application/json"})
    assert_nack(resp, 400, "10000", words)
    assert registry.snapshot() == before


def test_oversized_body_gets_413(registry: Registry) -> None:
    resp = registry.client.post("/subscribe", content=b"{" + b" " * 70_000 + b"}")
    assert resp.status_code == 413
    assert resp.json()["message"]["ack"]["status"] == "NACK"
