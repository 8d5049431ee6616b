"""answer_registry_challenge: every node's /on_subscribe; refuses what the registry did not sign."""

from __future__ import annotations

import orjson
import pytest

from mercato.protocol.keys import KeyPair, encrypt_challenge, load_encryption_public_key
from mercato.protocol.onboarding import OnboardingError, answer_registry_challenge
from mercato.protocol.signing import BadSignature, KeyIdMismatch, MalformedHeader, sign

REGISTRY, NODE, OTHER = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()


def challenge(subscriber_id: str = "node.example", secret: str = "s3cret-nonce") -> bytes:
    node_pub = load_encryption_public_key(NODE.encryption_public_key)
    return orjson.dumps(
        {
            "subscriber_id": subscriber_id,
            "challenge": encrypt_challenge(REGISTRY.encryption, node_pub, secret),
        }
    )


def answer(
    body: bytes, authorization: str | None, registry_id: str | None = "registry.example"
) -> dict[str, str]:
    return answer_registry_challenge(
        body,
        authorization,
        NODE,
        registry_signing_public_key=REGISTRY.signing_public_key,
        registry_encryption_public_key=REGISTRY.encryption_public_key,
        expected_subscriber_id="node.example",
        registry_id=registry_id,
    )


def test_a_signed_challenge_is_answered() -> None:
    body = challenge()
    assert answer(body, sign(body, REGISTRY.signing, "registry.example", "r1")) == {"answer": "s3cret-nonce"}


def test_unsigned_forged_or_foreign_challenges_are_refused() -> None:
    body = challenge()
    with pytest.raises(MalformedHeader):
        answer(body, None)
    with pytest.raises(BadSignature):
        answer(body, sign(body, OTHER.signing, "registry.example", "r1"))
    with pytest.raises(BadSignature):
        answer(body + b" ", sign(body, REGISTRY.signing, "registry.example", "r1"))
    with pytest.raises(KeyIdMismatch):
        answer(body, sign(body, REGISTRY.signing, "someone.else", "r1"))


def test_a_challenge_for_another_node_is_refused() -> None:
    body = challenge("other.example")
    with pytest.raises(OnboardingError):
        answer(body, sign(body, REGISTRY.signing, "registry.example", "r1"))
