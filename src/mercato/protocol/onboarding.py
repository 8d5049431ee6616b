"""The subscriber's side of registry onboarding, as pure functions (no I/O).

A participant joins a network in three steps (see docs/registry.md):

1. It sends the registry a ``/subscribe`` request: its record (subscriber id, unique key id,
   public keys, validity, role, domains, cities, URLs), signed in the ``Authorization`` header
   by the very signing key it registers. :func:`build_subscribe_request` builds it.
2. The registry calls ``{callback}/on_subscribe`` with ``{"subscriber_id", "challenge"}``: a
   random string encrypted with AES-256-ECB under the X25519 shared secret of the registry's and
   the subscriber's encryption keys. :func:`answer_on_subscribe` decrypts it and returns the
   ``{"answer": ...}`` body to send back.
3. Anyone looks the subscriber up with ``/lookup``; :func:`verify_lookup_response` checks the
   registry's signature on the answer.

Key rotation: to add a new key while an old one is still valid, the request is signed by the new
key (``Authorization``) and also by a currently valid key of the same subscriber
(``X-Current-Key-Authorization``), so that nobody else can add keys to a subscriber id.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mercato.protocol.keys import KeyFormatError, KeyPair, decrypt_challenge, load_encryption_public_key
from mercato.protocol.signing import sign, verify, vlookup_signing_string

ROTATION_HEADER = "X-Current-Key-Authorization"

#: ONDC's network_participant ``type`` values and the Beckn roles they stand for.
ONDC_TYPES: dict[str, str] = {"buyerApp": "BAP", "sellerApp": "BPP", "gateway": "BG"}
BECKN_TYPES: dict[str, str] = {v: k for k, v in ONDC_TYPES.items()}
#: ONDC ``context.operation.ops_no``: 1 buyer app, 2 seller app, 4 buyer and seller app.
OPS_NO = {frozenset({"BAP"}): 1, frozenset({"BPP"}): 2, frozenset({"BAP", "BPP"}): 4}


class OnboardingError(ValueError):
    """A registry message the subscriber cannot use (malformed, wrong subscriber, bad signature)."""


def rfc3339(t: datetime) -> str:
    """UTC, millisecond precision, ``Z`` suffix: ``2024-01-02T03:04:05.678Z``."""
    if t.tzinfo is None:
        raise ValueError("naive datetime: give a timezone-aware UTC time")
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.astimezone(UTC).microsecond // 1000:03d}Z"


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


@dataclass(frozen=True)
class Participation:
    """One role in one domain, in some cities (``"*"`` means every city)."""

    type: str  # BAP, BPP or BG
    domain: str
    cities: Sequence[str]
    subscriber_url: str | None = None  # default: the subscriber's main URL


@dataclass(frozen=True)
class SignedRequest:
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def build_subscribe_request(
    *,
    subscriber_id: str,
    unique_key_id: str,
    keys: KeyPair,
    subscriber_url: str,
    participations: Sequence[Participation],
    country: str = "IND",
    callback_url: str | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    request_id: str | None = None,
    now: datetime | None = None,
    current_key: tuple[Ed25519PrivateKey, str] | None = None,
    signature_validity_s: int = 300,
) -> SignedRequest:
    """Build a signed ONDC-shaped ``/subscribe`` request.

    ``subscriber_url`` is the base URL where the participant receives protocol calls;
    ``callback_url`` (default: ``subscriber_url``) is where ``/on_subscribe`` is appended.
    ``current_key`` = (private signing key, its unique key id) of a still-valid registered key,
    needed to add a key to a subscriber that already has one (key rotation).
    """
    if not participations:
        raise ValueError("give at least one participation (type, domain, cities)")
    t = now or datetime.now(UTC)
    vf = valid_from or t
    vu = valid_until or (vf + timedelta(days=365))
    types = frozenset(p.type for p in participations)
    body = {
        "context": {"operation": {"ops_no": OPS_NO.get(types, 4)}},
        "message": {
            "request_id": request_id or str(uuid.uuid4()),
            "timestamp": rfc3339(t),
            "entity": {
                "subscriber_id": subscriber_id,
                "unique_key_id": unique_key_id,
                "country": country,
                "callback_url": callback_url or subscriber_url,
                "key_pair": {
                    "signing_public_key": keys.signing_public_key,
                    "encryption_public_key": keys.encryption_public_key,
                    "valid_from": rfc3339(vf),
                    "valid_until": rfc3339(vu),
                },
            },
            "network_participant": [
                {
                    "subscriber_url": p.subscriber_url or subscriber_url,
                    "domain": p.domain,
                    "type": BECKN_TYPES.get(p.type, p.type),
                    "msn": False,
                    "city_code": list(p.cities),
                }
                for p in participations
            ],
        },
    }
    raw = dumps(body)
    created = int(t.timestamp())
    expires = created + signature_validity_s
    headers = {
        "Content-Type": "application/json",
        "Authorization": sign(
            raw, keys.signing, subscriber_id, unique_key_id, created=created, expires=expires
        ),
    }
    if current_key is not None:
        headers[ROTATION_HEADER] = sign(
            raw, current_key[0], subscriber_id, current_key[1], created=created, expires=expires
        )
    return SignedRequest(raw, headers)


def _as_mapping(body: bytes | str | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(body, Mapping):
        return body
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise OnboardingError(f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise OnboardingError("the body must be a JSON object")
    return data


def answer_on_subscribe(
    body: bytes | str | Mapping[str, Any],
    keys: KeyPair,
    registry_encryption_public_key: str,
    *,
    expected_subscriber_id: str | None = None,
) -> dict[str, str]:
    """Decrypt the registry's ``/on_subscribe`` challenge and return ``{"answer": plaintext}``.

    Raises :class:`OnboardingError` if the body is malformed, names another subscriber, or the
    challenge was not encrypted for this key pair.
    """
    data = _as_mapping(body)
    challenge = data.get("challenge")
    if not isinstance(challenge, str) or not challenge:
        raise OnboardingError("on_subscribe body lacks a 'challenge' string")
    sid = data.get("subscriber_id")
    if expected_subscriber_id is not None and sid is not None and sid != expected_subscriber_id:
        raise OnboardingError(f"challenge is for {sid!r}, not for {expected_subscriber_id!r}")
    try:
        peer = load_encryption_public_key(registry_encryption_public_key)
        return {"answer": decrypt_challenge(keys.encryption, peer, challenge)}
    except KeyFormatError as exc:
        raise OnboardingError(str(exc)) from None


def answer_registry_challenge(
    body: bytes,
    authorization: str | None,
    keys: KeyPair,
    *,
    registry_signing_public_key: str,
    registry_encryption_public_key: str,
    expected_subscriber_id: str,
    registry_id: str | None = None,
) -> dict[str, str]:
    """What every node's ``POST /on_subscribe`` does: check that the registry signed these exact bytes
    (``Authorization``), then answer the challenge. Raises ``SignatureError`` (answer 401) or
    :class:`OnboardingError` (answer 400)."""
    verify(authorization or "", body, registry_signing_public_key, expected_subscriber_id=registry_id)
    return answer_on_subscribe(
        body, keys, registry_encryption_public_key, expected_subscriber_id=expected_subscriber_id
    )


def build_lookup_body(
    *,
    subscriber_id: str | None = None,
    type: str | None = None,  # noqa: A002 - the ONDC field name
    domain: str | None = None,
    city: str | None = None,
    country: str | None = None,
    ukId: str | None = None,  # noqa: N803 - the ONDC field name
) -> bytes:
    """The ``/lookup`` request body; absent parameters are left out."""
    fields = {
        "subscriber_id": subscriber_id,
        "type": type,
        "domain": domain,
        "city": city,
        "country": country,
        "ukId": ukId,
    }
    return dumps({k: v for k, v in fields.items() if v is not None})


def build_vlookup_body(
    *,
    sender_subscriber_id: str,
    signing_key: Ed25519PrivateKey,
    country: str,
    domain: str,
    type: str,  # noqa: A002 - the ONDC field name (buyerApp, sellerApp, gateway)
    city: str,
    subscriber_id: str,
    request_id: str | None = None,
    now: datetime | None = None,
) -> bytes:
    """ONDC ``/vlookup``: search parameters signed as ``country|domain|type|city|subscriber_id``."""
    message = vlookup_signing_string(country, domain, type, city, subscriber_id).encode("utf-8")
    signature = base64.b64encode(signing_key.sign(message)).decode("ascii")
    return dumps(
        {
            "sender_subscriber_id": sender_subscriber_id,
            "request_id": request_id or str(uuid.uuid4()),
            "timestamp": rfc3339(now or datetime.now(UTC)),
            "signature": signature,
            "search_parameters": {
                "country": country,
                "domain": domain,
                "type": type,
                "city": city,
                "subscriber_id": subscriber_id,
            },
        }
    )


def verify_lookup_response(
    body: bytes,
    authorization: str,
    registry_signing_public_key: str,
    *,
    registry_id: str | None = None,
    now: float | None = None,
) -> list[dict[str, Any]]:
    """Check the registry's ``Authorization`` signature over the exact response bytes, then parse.

    Raises a :class:`mercato.protocol.signing.SignatureError` if the signature is wrong and
    :class:`OnboardingError` if the body is not a JSON array of objects.
    """
    verify(authorization, body, registry_signing_public_key, now=now, expected_subscriber_id=registry_id)
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise OnboardingError(f"lookup response is not JSON: {exc}") from None
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise OnboardingError("lookup response must be a JSON array of records")
    return data
