"""Interop with ONDC's own crypto SDK (npm ondc-crypto-sdk-nodejs, pinned in package-lock.json).

The SDK signs with fresh keys and we verify; we sign and the SDK's ``isHeaderValid`` verifies;
with the same key and times both produce the same header byte for byte. `make test` installs the
SDK (`npm ci` in this folder); without node or the SDK these tests are skipped with the reason.
"""

from __future__ import annotations

import base64
import json
import random
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from mercato.protocol.keys import KeyPair, load_signing_private_key, sign_plain
from mercato.protocol.signing import (
    BadSignature,
    DigestMismatch,
    digest_header,
    parse_header,
    sign,
    verify,
    vlookup_signing_string,
)

HERE = Path(__file__).resolve().parent
PEER = HERE / "ondc_peer.js"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(NODE is None, reason="node is not installed: cannot run ONDC's Node.js SDK"),
    pytest.mark.skipif(
        not (HERE / "node_modules" / "ondc-crypto-sdk-nodejs").is_dir(),
        reason="ondc-crypto-sdk-nodejs is not installed: run `make node` (npm ci in tests/interop)",
    ),
]

# Text in several scripts, emoji, quotes, backslashes and control characters.
ALPHABETS = [
    "abcxyz ",
    "चावलआटादूध",
    "ಅಕ್ಕಿ ಹಾಲು",
    "மாம்பழம்",
    "日本茶緑茶",
    "éèçñüß",
    "🍅🥭🛒",
    '"\\/\n\t\u2028',
]


def peer(command: str, request: dict[str, Any]) -> dict[str, Any]:
    assert NODE is not None
    proc = subprocess.run(
        [NODE, str(PEER), command],
        input=json.dumps(request).encode(),
        capture_output=True,
        cwd=HERE,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    answer: dict[str, Any] = json.loads(proc.stdout)
    return answer


def random_body(rng: random.Random) -> bytes:
    def text() -> str:
        return "".join(rng.choice(rng.choice(ALPHABETS)) for _ in range(rng.randint(0, 40)))

    body = {
        "context": {
            "domain": "ONDC:RET10",
            "action": "search",
            "transaction_id": str(uuid.UUID(int=rng.getrandbits(128))),
            "message_id": str(uuid.UUID(int=rng.getrandbits(128))),
        },
        "message": {"intent": {"item": {"descriptor": {"name": text()}}, "tags": [text() for _ in range(3)]}},
    }
    option = orjson.OPT_INDENT_2 if rng.random() < 0.3 else 0
    return orjson.dumps(body, option=option)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_sdk_signs_python_verifies() -> None:
    answer = peer("sign", {"count": 8, "subscriber_id": "bap.example.org", "unique_key_id": "k-sdk"})
    assert len(answer["items"]) == 8
    assert any(max(base64.b64decode(i["body"])) >= 0x80 for i in answer["items"]), "no non-ASCII body"
    for item in answer["items"]:
        body = base64.b64decode(item["body"])
        h = verify(
            item["header"],
            body,
            answer["public_key"],
            expected_subscriber_id="bap.example.org",
            expected_unique_key_id="k-sdk",
        )
        # The SDK's defaults: created is now, expires an hour later.
        assert abs(h.created - time.time()) < 120 and h.expires - h.created == 3600
        with pytest.raises(BadSignature):
            verify(item["header"], body + b" ", answer["public_key"])
        with pytest.raises(DigestMismatch):
            verify(item["header"], body + b" ", answer["public_key"], body_digest_header=digest_header(body))
        with pytest.raises(BadSignature):
            verify(item["header"], body, KeyPair.generate().signing_public_key)


def test_python_signs_sdk_verifies() -> None:
    rng = random.Random(20250101)
    kp = KeyPair.generate()
    other = KeyPair.generate()
    items: list[dict[str, str]] = []
    expected: list[bool] = []
    for _ in range(8):
        body = random_body(rng)
        header = sign(body, kp.signing, "seller.example.org", str(uuid.uuid4()))
        items.append({"header": header, "body": b64(body), "public_key": kp.signing_public_key})
        expected.append(True)
    # Controls, so that a verifier that says yes to everything fails this test.
    body = random_body(rng)
    header = sign(body, kp.signing, "seller.example.org", "k1")
    items.append({"header": header, "body": b64(body + b"\n"), "public_key": kp.signing_public_key})
    items.append({"header": header, "body": b64(body), "public_key": other.signing_public_key})
    items.append(
        {
            "header": header.replace('expires="', 'expires="1'),
            "body": b64(body),
            "public_key": kp.signing_public_key,
        }
    )
    expected += [False, False, False]
    assert any(max(base64.b64decode(i["body"])) >= 0x80 for i in items), "no non-ASCII body"
    assert peer("verify", {"items": items})["results"] == expected


@pytest.mark.parametrize("key_form", ["libsodium_64", "seed_32"])
def test_same_key_same_times_same_header(key_form: str) -> None:
    rng = random.Random(7)
    bodies = [random_body(rng) for _ in range(5)] + [b"", '{"name":"नमस्ते 🙏"}'.encode()]
    answer = peer(
        "sign",
        {
            "bodies": [b64(b) for b in bodies],
            "subscriber_id": "buyer.example.org",
            "unique_key_id": "207",
            "created": 1735689600,
            "expires": 1735693200,
        },
    )
    private = answer["private_key"]
    if key_form == "seed_32":
        private = b64(base64.b64decode(private)[:32])
    key = load_signing_private_key(private)
    for body, item in zip(bodies, answer["items"], strict=True):
        assert base64.b64decode(item["body"]) == body
        ours = sign(body, key, "buyer.example.org", "207", created=1735689600, expires=1735693200)
        assert ours == item["header"]
        assert parse_header(ours).signature == parse_header(item["header"]).signature


def test_python_keys_work_in_the_sdk() -> None:
    """A key file from `mercato keys new` (KeyPair.to_dict) is usable by ONDC's SDK as is."""
    kp = KeyPair.generate()
    body = random_body(random.Random(3))
    answer = peer(
        "sign",
        {
            "bodies": [b64(body)],
            "subscriber_id": "s.example",
            "unique_key_id": "k",
            "created": 1800000000,
            "expires": 1800000060,
            "private_key": kp.to_dict()["signing_private_key"],
        },
    )
    assert answer["public_key"] == kp.signing_public_key
    header = answer["items"][0]["header"]
    assert header == sign(body, kp.signing, "s.example", "k", created=1800000000, expires=1800000060)
    verify(header, body, kp.signing_public_key, now=1800000000)


def test_vlookup_signature_matches_the_sdk() -> None:
    kp = KeyPair.generate()
    fields = {
        "country": "IND",
        "domain": "ONDC:RET10",
        "type": "sellerApp",
        "city": "std:080",
        "subscriber_id": "seller.example.org",
    }
    answer = peer("vlookup", {**fields, "private_key": kp.to_dict()["signing_private_key"]})
    text = vlookup_signing_string(
        fields["country"], fields["domain"], fields["type"], fields["city"], fields["subscriber_id"]
    )
    assert answer["signature"] == sign_plain(kp.signing, text.encode())
