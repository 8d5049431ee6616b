"""mercato.protocol.onboarding: the subscriber's side, checked against ONDC's vector and as properties."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mercato.protocol.keys import (
    KeyPair,
    encrypt_challenge,
    load_encryption_private_key,
    load_encryption_public_key,
    load_signing_private_key,
    verify_plain,
)
from mercato.protocol.onboarding import (
    ROTATION_HEADER,
    OnboardingError,
    Participation,
    answer_on_subscribe,
    build_lookup_body,
    build_subscribe_request,
    build_vlookup_body,
    rfc3339,
)
from mercato.protocol.signing import parse_header, verify, vlookup_signing_string
from mercato.registry.schemas import parse_subscribe

# tests/conftest.py calls this folder SPECS; not imported from there (a sub-folder conftest.py
# can shadow the module name "conftest").
SPECS = Path(__file__).resolve().parents[1] / "fixtures" / "specs" / "beckn"
VECTOR = orjson.loads((SPECS / "ondc-crypto-vector.json").read_bytes())


def vector_subscriber() -> KeyPair:
    k = VECTOR["keys"]
    return KeyPair(
        load_signing_private_key(k["signing_private_key_b64_libsodium_64byte"]),
        load_encryption_private_key(k["encryption_private_key_x25519_pkcs8_der_b64"]),
    )


def test_answer_on_subscribe_reproduces_the_ondc_vector() -> None:
    v = VECTOR["on_subscribe_challenge"]
    body = orjson.dumps(v["request_body"])
    answer = answer_on_subscribe(
        body,
        vector_subscriber(),
        v["registry_encryption_public_key_spki_der_b64"],
        expected_subscriber_id="seller.example.org",
    )
    assert answer == v["expected_response"]


def test_answer_on_subscribe_refuses_bad_input() -> None:
    v = VECTOR["on_subscribe_challenge"]
    reg = v["registry_encryption_public_key_spki_der_b64"]
    keys = vector_subscriber()
    with pytest.raises(OnboardingError, match="not JSON"):
        answer_on_subscribe(b"{", keys, reg)
    with pytest.raises(OnboardingError, match="JSON object"):
        answer_on_subscribe(b"[]", keys, reg)
    with pytest.raises(OnboardingError, match="challenge"):
        answer_on_subscribe({"subscriber_id": "x"}, keys, reg)
    with pytest.raises(OnboardingError, match="not for"):
        answer_on_subscribe(v["request_body"], keys, reg, expected_subscriber_id="other.example.org")
    with pytest.raises(OnboardingError):  # another subscriber's key cannot decrypt it
        answer_on_subscribe(v["request_body"], KeyPair.generate(), reg)
    with pytest.raises(OnboardingError, match="base64"):
        answer_on_subscribe({"challenge": "%%%"}, keys, reg)


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1, max_size=200))
def test_challenge_round_trip(plaintext: str) -> None:
    registry, subscriber = KeyPair.generate(), KeyPair.generate()
    challenge = encrypt_challenge(
        registry.encryption, load_encryption_public_key(subscriber.encryption_public_key), plaintext
    )
    answer = answer_on_subscribe({"challenge": challenge}, subscriber, registry.encryption_public_key)
    assert answer == {"answer": plaintext}


def test_subscribe_request_is_signed_by_the_registered_key_and_parses() -> None:
    keys, current = KeyPair.generate(), KeyPair.generate()
    t = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    req = build_subscribe_request(
        subscriber_id="s.example.org",
        unique_key_id="k2",
        keys=keys,
        subscriber_url="https://s.example.org/beckn",
        participations=[
            Participation("BAP", "ONDC:RET10", ["std:080"]),
            Participation("BPP", "ONDC:RET10", ["*"]),
        ],
        now=t,
        current_key=(current.signing, "k1"),
    )
    body = orjson.loads(req.body)
    assert body["context"]["operation"]["ops_no"] == 4
    assert body["message"]["timestamp"] == "2030-01-02T03:04:05.678Z"
    assert [np["type"] for np in body["message"]["network_participant"]] == ["buyerApp", "sellerApp"]
    h = verify(req.headers["Authorization"], req.body, keys.signing_public_key, now=t.timestamp())
    assert (h.subscriber_id, h.unique_key_id) == ("s.example.org", "k2")
    r = verify(req.headers[ROTATION_HEADER], req.body, current.signing_public_key, now=t.timestamp())
    assert r.unique_key_id == "k1"
    claim = parse_subscribe(req.body)
    assert claim.signing_public_key == keys.signing_public_key
    assert claim.encr_public_key == keys.encryption_public_key
    assert claim.callback_url == "https://s.example.org/beckn"
    assert {(p.type, p.city) for p in claim.participations} == {("BAP", "std:080"), ("BPP", "*")}
    with pytest.raises(ValueError):
        build_subscribe_request(
            subscriber_id="s", unique_key_id="k", keys=keys, subscriber_url="https://s", participations=[]
        )


def test_relative_urls_resolve_against_the_subscriber_id() -> None:
    req = build_subscribe_request(
        subscriber_id="np.example.org",
        unique_key_id="k",
        keys=KeyPair.generate(),
        subscriber_url="/ondc",
        callback_url="/cb",
        participations=[Participation("BPP", "d", ["c"])],
    )
    claim = parse_subscribe(req.body)
    assert claim.callback_url == "https://np.example.org/cb"
    assert claim.participations[0].subscriber_url == "https://np.example.org/ondc"


def test_vlookup_body_matches_the_ondc_vector() -> None:
    v = VECTOR["vlookup"]
    country, domain, typ, city, sid = v["signing_string"].split("|")
    body = orjson.loads(
        build_vlookup_body(
            sender_subscriber_id="buyer.example.org",
            signing_key=vector_subscriber().signing,
            country=country,
            domain=domain,
            type=typ,
            city=city,
            subscriber_id=sid,
        )
    )
    signed = vlookup_signing_string(country, domain, typ, city, sid).encode()
    assert verify_plain(VECTOR["keys"]["signing_public_key_b64"], signed, body["signature"])
    assert body["signature"] == v["signature_b64"]  # Ed25519 is deterministic
    assert body["search_parameters"] == {
        "country": country,
        "domain": domain,
        "type": typ,
        "city": city,
        "subscriber_id": sid,
    }


def test_lookup_body_and_rfc3339() -> None:
    assert orjson.loads(build_lookup_body(type="BPP", city="std:080")) == {"type": "BPP", "city": "std:080"}
    assert rfc3339(datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)) == "2024-05-06T07:08:09.000Z"
    with pytest.raises(ValueError):
        rfc3339(datetime(2024, 5, 6))  # noqa: DTZ001
    assert (
        parse_header(
            build_subscribe_request(
                subscriber_id="a",
                unique_key_id="b",
                keys=KeyPair.generate(),
                subscriber_url="https://a",
                participations=[Participation("BG", "d", ["*"])],
            ).headers["Authorization"]
        ).key_id
        == "a|b|ed25519"
    )
    assert base64.b64decode(KeyPair.generate().signing_public_key)
