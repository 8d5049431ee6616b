"""check_signer: a signed document's signer, looked up in the registry, in its role, over the exact bytes."""

from __future__ import annotations

import time

import pytest

from mercato.protocol.keys import KeyPair
from mercato.protocol.signing import parse_header, sign
from mercato.transport.lookup import LookupCache, RegistryUnavailable, StaticKeySource, SubscriberKey
from mercato.transport.signer import Signer, SignerRefused, check_signer

BODY = b'{"bap_id":"buyer.example","kind":"commitment","pool":"kettles","quantity":3}'
BUYER = KeyPair.generate()


def record(
    keys: KeyPair = BUYER,
    *,
    sid: str = "buyer.example",
    ukid: str = "k1",
    type_: str | None = "BAP",
    status: str = "SUBSCRIBED",
    valid_until: float | None = None,
) -> SubscriberKey:
    now = time.time()
    return SubscriberKey(
        sid,
        ukid,
        keys.signing_public_key,
        type=type_,
        status=status,
        valid_from=now - 3600,
        valid_until=now + 86400 if valid_until is None else valid_until,
    )


def cache(*keys: SubscriberKey) -> LookupCache:
    return LookupCache(StaticKeySource(keys or (record(),)))


def signature(body: bytes = BODY, keys: KeyPair = BUYER, sid: str = "buyer.example", **kw: int) -> str:
    return sign(body, keys.signing, sid, "k1", **kw)


async def refusal(lookup: LookupCache, body: bytes, authorization: str | None, role: str) -> SignerRefused:
    with pytest.raises(SignerRefused) as info:
        await check_signer(lookup, body, authorization, role)
    return info.value


async def test_a_good_signature_by_a_registered_signer_in_its_role_passes() -> None:
    auth = signature()
    signer = await check_signer(cache(), BODY, auth, "BAP")
    assert isinstance(signer, Signer)
    assert signer.authorization == auth
    assert signer.header == parse_header(auth)
    assert signer.header.subscriber_id == "buyer.example"
    assert signer.key.signing_public_key == BUYER.signing_public_key


async def test_the_exact_bytes_are_verified_not_a_reserialised_form() -> None:
    spaced = b'{ "kind": "commitment",   "pool": "kettles" }'
    signer = await check_signer(cache(), spaced, signature(spaced), "BAP")
    assert signer.header.subscriber_id == "buyer.example"


async def test_a_record_without_a_type_is_not_refused_for_its_role() -> None:
    signer = await check_signer(cache(record(type_=None)), BODY, signature(), "BPP")
    assert signer.key.type is None


@pytest.mark.parametrize("authorization", [None, ""])
async def test_an_unsigned_document_is_refused(authorization: str | None) -> None:
    exc = await refusal(cache(), BODY, authorization, "BAP")
    assert exc.status == 401
    assert exc.message == "the document must be signed (Authorization: Signature keyId=...)"
    assert str(exc) == exc.message


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer abc",
        "Signature",
        'Signature keyId="buyer.example|k1|ed25519"',
        'Signature keyId="buyer.example",created="1",expires="2",signature="AA=="',
        signature().replace('created="', 'created="x'),
    ],
)
async def test_a_malformed_header_is_refused_before_any_lookup(authorization: str) -> None:
    source = StaticKeySource([record()])
    exc = await refusal(LookupCache(source), BODY, authorization, "BAP")
    assert exc.status == 401
    assert exc.message.startswith("bad signature header: ")
    assert source.calls == 0


async def test_an_unknown_key_is_refused() -> None:
    stranger = KeyPair.generate()
    exc = await refusal(cache(), BODY, signature(keys=stranger, sid="stranger.example"), "BAP")
    assert exc.status == 401
    assert exc.message.startswith("the signer's key is not usable: ")
    assert "no key 'k1' registered for 'stranger.example'" in exc.message


async def test_an_expired_key_is_refused() -> None:
    expired = record(valid_until=time.time() - 60)
    exc = await refusal(cache(expired), BODY, signature(), "BAP")
    assert exc.status == 401
    assert exc.message.startswith("the signer's key is not usable: ")
    assert "has expired" in exc.message


async def test_a_revoked_key_is_refused() -> None:
    exc = await refusal(cache(record(status="REVOKED")), BODY, signature(), "BAP")
    assert exc.status == 401
    assert "the signer's key is not usable: " in exc.message and "revoked" in exc.message


async def test_an_unreachable_registry_is_a_503_not_a_refusal_of_the_signer() -> None:
    class Down:
        async def fetch(self, subscriber_id: str, unique_key_id: str) -> list[SubscriberKey]:
            raise RegistryUnavailable("registry lookup failed: ConnectError")

    exc = await refusal(LookupCache(Down()), BODY, signature(), "BAP")
    assert exc.status == 503
    assert exc.message == "cannot look the signer up: registry lookup failed: ConnectError"


async def test_a_signer_registered_in_another_role_is_refused() -> None:
    exc = await refusal(cache(), BODY, signature(), "BPP")
    assert exc.status == 401
    assert exc.message == "'buyer.example' is registered as BAP, not BPP"


async def test_a_forged_signature_is_refused() -> None:
    forger = KeyPair.generate()  # signs as buyer.example, but not with buyer.example's key
    exc = await refusal(cache(), BODY, signature(keys=forger), "BAP")
    assert exc.status == 401
    assert exc.message.startswith("forged or altered document: ")


@pytest.mark.parametrize("at", [0, 1, len(BODY) // 2, len(BODY) - 1])
async def test_a_body_altered_by_one_byte_is_refused(at: int) -> None:
    auth = signature()
    altered = bytearray(BODY)
    altered[at] ^= 0x01
    exc = await refusal(cache(), bytes(altered), auth, "BAP")
    assert exc.status == 401
    assert exc.message.startswith("forged or altered document: ")


@pytest.mark.parametrize("altered", [BODY + b" ", BODY[:-1], b" " + BODY])
async def test_a_body_with_one_byte_added_or_removed_is_refused(altered: bytes) -> None:
    exc = await refusal(cache(), altered, signature(), "BAP")
    assert exc.status == 401
    assert exc.message.startswith("forged or altered document: ")


async def test_an_expired_signature_is_refused() -> None:
    t = int(time.time()) - 7200
    exc = await refusal(cache(), BODY, signature(created=t, expires=t + 60), "BAP")
    assert exc.status == 401
    assert exc.message.startswith("forged or altered document: ") and "has passed" in exc.message
