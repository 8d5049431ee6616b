"""The Ed25519 verify primitive: canonical signatures only, no small-order keys, same answer as libsodium."""

from __future__ import annotations

import base64

import nacl.bindings
import nacl.exceptions
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mercato.protocol import keys, signing
from mercato.protocol.keys import KeyFormatError, KeyPair, ed25519_verify

L = 2**252 + 27742317777372353535851937790883648493
KP = KeyPair.generate()


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def libsodium_verify(pk: bytes, sig: bytes, msg: bytes) -> bool:
    try:
        nacl.bindings.crypto_sign_open(sig + msg, pk)
    except nacl.exceptions.BadSignatureError:
        return False
    return True


@pytest.mark.parametrize(
    "raw",
    [
        b"\x00" * 32,  # y = 0: a point of order 4
        bytes([1]) + b"\x00" * 31,  # the identity: every 'signature' would verify under ZIP-215
        bytes([0xEC]) + b"\xff" * 30 + bytes([0x7F]),  # y = p - 1, order 2
        b"\xff" * 32,  # not canonical
    ],
)
def test_small_order_and_non_canonical_keys_are_refused(raw: bytes) -> None:
    with pytest.raises(KeyFormatError):
        ed25519_verify(b64(raw), b"\x00" * 64, b"message")
    body = b'{"context":{}}'
    header = signing.sign(body, KP.signing, "evil.example", "k1")
    with pytest.raises(signing.BadSignature, match="unusable"):
        signing.verify(header, body, b64(raw))


def test_a_malleated_signature_with_s_plus_l_is_refused() -> None:
    msg = b"(created): 1\n(expires): 2\ndigest: BLAKE-512=x"
    sig = KP.signing.sign(msg)
    assert ed25519_verify(KP.signing_public_key, sig, msg)
    s = int.from_bytes(sig[32:], "little")
    malleated = sig[:32] + (s + L).to_bytes(32, "little")
    assert not ed25519_verify(KP.signing_public_key, malleated, msg)


@settings(max_examples=200, deadline=None)
@given(msg=st.binary(max_size=300), flip=st.integers(min_value=-1, max_value=64 * 8 - 1))
def test_agrees_with_libsodium(msg: bytes, flip: int) -> None:
    sig = bytearray(KP.signing.sign(msg))
    if flip >= 0:
        sig[flip // 8] ^= 1 << (flip % 8)
    pk = keys.signing_public_key_raw(KP.signing_public_key)
    assert ed25519_verify(KP.signing_public_key, bytes(sig), msg) == libsodium_verify(pk, bytes(sig), msg)


def test_wrong_length_signature_is_false() -> None:
    assert not ed25519_verify(KP.signing_public_key, b"\x00" * 63, b"m")
