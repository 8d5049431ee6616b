"""The node answers only the registry's challenge: unsigned or forged ones get 401, never a plaintext."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson

from mercato.protocol.keys import KeyPair, encrypt_challenge, load_encryption_public_key
from mercato.protocol.signing import sign
from tests.seller.node.harness import network


def test_only_the_registry_can_have_a_challenge_answered(tmp_path: Path) -> None:
    with network(tmp_path) as (registry, seller, _bap):
        info = httpx.get(registry.url + "/keys").json()
        key_file = seller.config_path.parent / "seller.key.json"
        node = KeyPair.from_dict(orjson.loads(key_file.read_bytes()))
        attacker = KeyPair.generate()
        # encrypted for the node as the registry would, but sent by someone else
        blob = encrypt_challenge(
            attacker.encryption, load_encryption_public_key(node.encryption_public_key), "secret"
        )
        body = orjson.dumps({"subscriber_id": seller.subscriber_id, "challenge": blob})
        unsigned = httpx.post(seller.url + "/on_subscribe", content=body)
        assert unsigned.status_code == 401 and b"secret" not in unsigned.content
        forged = httpx.post(
            seller.url + "/on_subscribe",
            content=body,
            headers={"Authorization": sign(body, attacker.signing, info["subscriber_id"], "k")},
        )
        assert forged.status_code == 401 and b"secret" not in forged.content
