"""Key formats (Ed25519 32/64-byte, X25519 raw/DER) and the on_subscribe challenge."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from mercato.protocol.keys import (
    KeyFormatError,
    KeyPair,
    decrypt_challenge,
    ed25519_verify,
    encrypt_challenge,
    encryption_private_der_b64,
    encryption_public_der_b64,
    load_encryption_private_key,
    load_encryption_public_key,
    load_signing_private_key,
    load_signing_public_key,
    raw_private,
    raw_public,
    shared_secret,
    sign_plain,
    signing_public_key_raw,
    verify_plain,
)

# The folder that tests/conftest.py calls SPECS. Not imported from there: a test folder with its own
# conftest.py would shadow the module name "conftest".
SPECS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "specs" / "beckn"

VECTOR: dict[str, Any] = json.loads((SPECS / "ondc-crypto-vector.json").read_text(encoding="utf-8"))
KEYS = VECTOR["keys"]
CHALLENGE = VECTOR["on_subscribe_challenge"]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --- Ed25519 ------------------------------------------------------------------------------------


def test_seed_and_libsodium_key_are_the_same_key() -> None:
    a = load_signing_private_key(KEYS["signing_private_key_b64_libsodium_64byte"])
    b = load_signing_private_key(KEYS["signing_seed_b64_32byte"])
    assert raw_private(a) == raw_private(b) == base64.b64decode(KEYS["signing_seed_b64_32byte"])
    assert b64(raw_public(a.public_key())) == KEYS["signing_public_key_b64"]
    assert a.sign(b"x") == b.sign(b"x")


def test_libsodium_key_with_a_foreign_public_half_is_refused() -> None:
    raw = base64.b64decode(KEYS["signing_private_key_b64_libsodium_64byte"])
    other_pub = raw_public(Ed25519PrivateKey.generate().public_key())
    with pytest.raises(KeyFormatError, match="second half"):
        load_signing_private_key(b64(raw[:32] + other_pub))


@pytest.mark.parametrize(
    "text",
    ["", "not base64!", b64(b"\1" * 31), b64(b"\1" * 33), b64(b"\1" * 63), b64(b"\1" * 65), "AAAA=AAA"],
)
def test_bad_signing_private_keys(text: str) -> None:
    with pytest.raises(KeyFormatError):
        load_signing_private_key(text)


def test_signing_private_key_must_be_a_string() -> None:
    with pytest.raises(KeyFormatError, match="string"):
        load_signing_private_key(123)  # type: ignore[arg-type]


def test_signing_public_key_raw_and_der() -> None:
    key = Ed25519PrivateKey.generate().public_key()
    raw = raw_public(key)
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert raw_public(load_signing_public_key(b64(raw))) == raw
    assert raw_public(load_signing_public_key(b64(der))) == raw
    assert signing_public_key_raw(b64(der)) == raw
    assert signing_public_key_raw(f"  {b64(raw)}\n") == raw


@pytest.mark.parametrize(
    "text",
    [
        "",
        "%%%",
        b64(b"\2" * 31),
        b64(b"\2" * 64),
        KEYS["encryption_public_key_x25519_spki_der_b64"],  # an X25519 DER key is not a signing key
        b64(b"\0" * 44),  # 44 bytes that are no DER at all
    ],
)
def test_bad_signing_public_keys(text: str) -> None:
    with pytest.raises(KeyFormatError):
        load_signing_public_key(text)


def test_ed25519_verify_and_plain_signatures() -> None:
    key = Ed25519PrivateKey.generate()
    pub = b64(raw_public(key.public_key()))
    sig = key.sign(b"message")
    assert ed25519_verify(pub, sig, b"message")
    assert not ed25519_verify(pub, sig, b"messagE")
    assert not ed25519_verify(pub, sig[:63], b"message")
    assert not ed25519_verify(pub, bytes(64), b"message")
    with pytest.raises(KeyFormatError):
        ed25519_verify("nope", sig, b"message")
    assert verify_plain(pub, b"message", sign_plain(key, b"message"))
    assert not verify_plain(pub, b"message", "not base64")
    assert not verify_plain("nope", b"message", sign_plain(key, b"message"))


# --- X25519 -------------------------------------------------------------------------------------


def test_x25519_raw_and_der_forms_are_the_same_key() -> None:
    raw_priv = load_encryption_private_key(KEYS["encryption_private_key_x25519_b64"])
    der_priv = load_encryption_private_key(KEYS["encryption_private_key_x25519_pkcs8_der_b64"])
    assert raw_private(raw_priv) == raw_private(der_priv)
    assert encryption_private_der_b64(raw_priv) == KEYS["encryption_private_key_x25519_pkcs8_der_b64"]
    raw_pub = load_encryption_public_key(KEYS["encryption_public_key_x25519_raw_b64"])
    der_pub = load_encryption_public_key(KEYS["encryption_public_key_x25519_spki_der_b64"])
    assert raw_public(raw_pub) == raw_public(der_pub) == raw_public(raw_priv.public_key())
    assert encryption_public_der_b64(raw_pub) == KEYS["encryption_public_key_x25519_spki_der_b64"]


def _ed25519_pkcs8_b64() -> str:
    key = Ed25519PrivateKey.generate()
    return b64(
        key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )


@pytest.mark.parametrize("text", ["", "!!", b64(b"\3" * 31), b64(b"\3" * 48)])
def test_bad_encryption_keys(text: str) -> None:
    with pytest.raises(KeyFormatError):
        load_encryption_private_key(text)
    with pytest.raises(KeyFormatError):
        load_encryption_public_key(text)


def test_encryption_keys_of_the_wrong_type() -> None:
    with pytest.raises(KeyFormatError, match="not an X25519"):
        load_encryption_private_key(_ed25519_pkcs8_b64())
    ed_pub_der = b64(
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(KeyFormatError, match="not an X25519"):
        load_encryption_public_key(ed_pub_der)


def test_on_subscribe_challenge_vector() -> None:
    registry = load_encryption_private_key(CHALLENGE["registry_encryption_private_key_pkcs8_der_b64"])
    registry_pub = load_encryption_public_key(CHALLENGE["registry_encryption_public_key_spki_der_b64"])
    subscriber = load_encryption_private_key(KEYS["encryption_private_key_x25519_pkcs8_der_b64"])
    subscriber_pub = load_encryption_public_key(KEYS["encryption_public_key_x25519_spki_der_b64"])
    secret = base64.b64decode(CHALLENGE["shared_secret_b64"])
    assert shared_secret(registry, subscriber_pub) == shared_secret(subscriber, registry_pub) == secret
    answer = CHALLENGE["expected_response"]["answer"]
    challenge = CHALLENGE["request_body"]["challenge"]
    assert decrypt_challenge(subscriber, registry_pub, challenge) == answer
    assert encrypt_challenge(registry, subscriber_pub, answer) == challenge  # ECB: deterministic


def test_published_x25519_aes_vector() -> None:
    v = next(o for o in VECTOR["other_published_vectors_verified_here"] if o["what"].startswith("X25519"))
    own = load_encryption_private_key(v["encryption_private_key_pkcs8_der_b64"])
    peer = load_encryption_public_key(v["peer_encryption_public_key_spki_der_b64"])
    assert decrypt_challenge(own, peer, v["ciphertext_b64"]) == v["plaintext"]


def test_challenge_cannot_be_answered_with_another_key() -> None:
    registry_pub = load_encryption_public_key(CHALLENGE["registry_encryption_public_key_spki_der_b64"])
    stranger = load_encryption_private_key(b64(b"\x07" * 32))
    with pytest.raises(KeyFormatError):
        decrypt_challenge(stranger, registry_pub, CHALLENGE["request_body"]["challenge"])


@pytest.mark.parametrize("challenge", ["", "not base64", b64(b"short"), b64(b"\0" * 17)])
def test_bad_challenges(challenge: str) -> None:
    subscriber = load_encryption_private_key(KEYS["encryption_private_key_x25519_pkcs8_der_b64"])
    registry_pub = load_encryption_public_key(CHALLENGE["registry_encryption_public_key_spki_der_b64"])
    with pytest.raises(KeyFormatError):
        decrypt_challenge(subscriber, registry_pub, challenge)


def test_challenge_with_a_low_order_peer_key() -> None:
    subscriber = load_encryption_private_key(KEYS["encryption_private_key_x25519_pkcs8_der_b64"])
    zero = load_encryption_public_key(b64(bytes(32)))
    with pytest.raises(KeyFormatError):
        decrypt_challenge(subscriber, zero, CHALLENGE["request_body"]["challenge"])


@settings(max_examples=50, deadline=None)
@given(text=st.text(max_size=200))
def test_challenge_round_trip(text: str) -> None:
    a, b = KeyPair.generate(), KeyPair.generate()
    c = encrypt_challenge(a.encryption, b.encryption.public_key(), text)
    assert decrypt_challenge(b.encryption, a.encryption.public_key(), c) == text


# --- a whole key set ----------------------------------------------------------------------------


def test_keypair_round_trip_and_formats() -> None:
    kp = KeyPair.generate()
    d = kp.to_dict()
    assert set(d) == {
        "signing_private_key",
        "signing_public_key",
        "encryption_private_key",
        "encryption_public_key",
    }
    assert len(base64.b64decode(d["signing_private_key"])) == 64  # libsodium form, as ONDC tools use
    assert len(base64.b64decode(d["signing_public_key"])) == 32
    assert base64.b64decode(d["encryption_public_key"]).startswith(bytes.fromhex("302a300506032b656e032100"))
    again = KeyPair.from_dict(json.loads(json.dumps(d)))
    assert again.to_dict() == d
    assert again.signing_public_key == kp.signing_public_key
    assert again.encryption_public_key == kp.encryption_public_key


def test_keypair_from_dict_bad_input() -> None:
    d = KeyPair.generate().to_dict()
    with pytest.raises(KeyFormatError, match="lacks 'signing_private_key'"):
        KeyPair.from_dict({k: v for k, v in d.items() if k != "signing_private_key"})
    with pytest.raises(KeyFormatError, match="lacks 'encryption_private_key'"):
        KeyPair.from_dict({k: v for k, v in d.items() if k != "encryption_private_key"})
    with pytest.raises(KeyFormatError, match="does not match"):
        KeyPair.from_dict({**d, "signing_public_key": KeyPair.generate().signing_public_key})
    with pytest.raises(KeyFormatError):
        KeyPair.from_dict({**d, "signing_private_key": 42})  # type: ignore[dict-item]
    with pytest.raises(KeyFormatError, match="JSON object"):
        KeyPair.from_dict(["not", "a", "dict"])  # type: ignore[arg-type]
